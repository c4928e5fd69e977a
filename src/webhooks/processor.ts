import type { Database, Tx } from '../platform/db/client.ts';
import type { Logger } from '../platform/logger.ts';
import { isPermanent, type TopicHandler, type WebhookEvent } from './handlers.ts';
import type { WebhookMetrics } from './metrics.ts';

/** A status change of an inbox row, for the live stream. */
export type StatusChange = {
  id: number;
  tenantId: string;
  topic: string;
  status: string;
  attempts: number;
  error: string | null;
  at: string;
};

/** Tuning of the processing loop. */
export type ProcessorSettings = {
  /** Attempts before an event is dead-lettered. */
  maxAttempts: number;
  /** First retry delay; doubled per attempt (±20 % jitter), capped by `retryMaxMs`. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** How long a claim holds a row before another worker may take it (a crashed worker's rows). */
  leaseSeconds: number;
  /** Rows claimed per round. */
  batchSize: number;
  /** Claiming loops per process. */
  loops: number;
  /** Idle poll interval: how soon rows stored by another process are seen. */
  pollMs: number;
  /**
   * Single-connection engines (PGlite), where applying a batch holds the only connection and the
   * only thread: while deliveries are arriving, wait up to this many times the last batch's
   * duration before the next one, so acknowledging comes first (the processor still gets at least
   * 1/(1+n) of the time, and all of it when the intake is quiet). 0 (PostgreSQL) never waits.
   */
  yieldToIntake: number;
};

type Claimed = {
  id: string;
  tenant_id: string;
  shop_domain: string;
  topic: string;
  webhook_id: string;
  event_id: string | null;
  triggered_at: Date | null;
  api_version: string | null;
  payload: unknown;
  attempts: number;
  claims: number;
  trigger: WebhookEvent['trigger'];
  received_at: Date;
};

type Outcome = {
  event: WebhookEvent;
  /** Final or retry state of the row. */
  status: 'processed' | 'duplicate' | 'skipped' | 'pending' | 'dead';
  error: string | null;
  runAt: Date | null;
};

const errorText = (error: unknown) =>
  (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 2000);

/**
 * Applies inbox rows (issue 6): claims due rows in batches (`FOR UPDATE SKIP LOCKED`, so any number
 * of worker processes share the inbox), applies each tenant's events in one transaction that also
 * records the outcome, retries failures with exponential backoff and dead-letters them after the
 * last attempt. A worker that dies mid-batch loses nothing: its rows come back when their lease
 * expires, and the `claims` fencing token keeps a stalled worker from applying a row twice.
 *
 * Woken at once by the intake in the same process; otherwise it polls every `pollMs`.
 */
export function createProcessor(deps: {
  database: Database;
  logger: Logger;
  metrics: WebhookMetrics;
  settings: ProcessorSettings;
  handlers: () => readonly TopicHandler[];
  /** Status changes after each commit (live stream); `origin` lets other processes ignore their own. */
  publish: (changes: StatusChange[]) => void;
  /** Sends changes to other processes inside the transaction (PostgreSQL NOTIFY), if any listen. */
  notify?: (tx: Tx, changes: StatusChange[]) => Promise<void>;
  /** True while deliveries are being stored (see `yieldToIntake`). */
  intakeBusy?: () => boolean;
}) {
  const { database, logger, metrics, settings } = deps;
  let running = false;
  const loops: Promise<void>[] = [];
  let wakers: (() => void)[] = [];

  function wake(): void {
    const current = wakers;
    wakers = [];
    for (const w of current) w();
  }

  function idle(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        wakers = wakers.filter((w) => w !== done);
        resolve();
      }, settings.pollMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      wakers.push(done);
    });
  }

  function backoffMs(attempt: number): number {
    const base = Math.min(settings.retryBaseMs * 2 ** (attempt - 1), settings.retryMaxMs);
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  async function claim(): Promise<Claimed[]> {
    const { rows } = await database.query<Claimed>(
      `UPDATE webhook_inbox AS i
          SET status = 'processing', attempts = i.attempts + 1, claims = i.claims + 1,
              run_at = now() + make_interval(secs => $2)
         FROM (SELECT id FROM webhook_inbox
                WHERE status IN ('pending', 'processing') AND run_at <= now()
                ORDER BY run_at
                LIMIT $1
                  FOR UPDATE SKIP LOCKED) AS due
        WHERE i.id = due.id
      RETURNING i.id, i.tenant_id, i.shop_domain, i.topic, i.webhook_id, i.event_id, i.triggered_at,
                i.api_version, i.payload, i.attempts, i.claims, i.trigger, i.received_at`,
      [settings.batchSize, settings.leaseSeconds],
    );
    return rows;
  }

  const toEvent = (row: Claimed): WebhookEvent => ({
    id: Number(row.id),
    tenantId: row.tenant_id,
    shopDomain: row.shop_domain,
    topic: row.topic,
    webhookId: row.webhook_id,
    eventId: row.event_id,
    triggeredAt: row.triggered_at,
    apiVersion: row.api_version,
    payload: row.payload,
    attempt: row.attempts,
    trigger: row.trigger,
    receivedAt: row.received_at,
  });

  /** Applies events in the open transaction; throws if any handler does. */
  async function applyAll(
    tx: Tx,
    tenantId: string,
    events: WebhookEvent[],
  ): Promise<Map<number, Outcome['status']>> {
    const statuses = new Map<number, Outcome['status']>();
    // One Shopify event through several subscriptions is applied once: the first copy to commit
    // its receipt wins. A replay applies regardless (and still leaves a receipt).
    const withEventId = events.filter((e) => e.eventId !== null);
    const firsts = new Set<number>();
    if (withEventId.length > 0) {
      const { rows } = await tx.query<{ inbox_id: string }>(
        `INSERT INTO webhook_event_receipts (tenant_id, event_id, inbox_id)
         SELECT $1, t.event_id, t.inbox_id FROM unnest($2::text[], $3::bigint[]) AS t(event_id, inbox_id)
         ON CONFLICT DO NOTHING
         RETURNING inbox_id`,
        [tenantId, withEventId.map((e) => e.eventId), withEventId.map((e) => e.id)],
      );
      for (const r of rows) firsts.add(Number(r.inbox_id));
    }
    const toApply: WebhookEvent[] = [];
    for (const e of events) {
      if (e.eventId !== null && e.trigger !== 'replay' && !firsts.has(e.id)) statuses.set(e.id, 'duplicate');
      else toApply.push(e);
    }
    const handled = new Set<number>();
    for (const handler of deps.handlers()) {
      const mine = toApply.filter((e) => handler.topics.has(e.topic));
      if (mine.length === 0) continue;
      for (const e of mine) handled.add(e.id);
      if (handler.apply) await handler.apply(tx, mine);
    }
    for (const e of toApply) statuses.set(e.id, handled.has(e.id) ? 'processed' : 'skipped');
    return statuses;
  }

  function failure(event: WebhookEvent, error: unknown): Outcome {
    const final = isPermanent(error) || event.attempt >= settings.maxAttempts;
    return {
      event,
      status: final ? 'dead' : 'pending',
      error: errorText(error),
      runAt: final ? null : new Date(Date.now() + backoffMs(event.attempt)),
    };
  }

  async function processTenant(tenantId: string, claimed: Claimed[]): Promise<void> {
    const started = new Date();
    const events = claimed.map(toEvent);
    const outcomes = new Map<number, Outcome>();

    for (const event of events) {
      if (event.attempt > settings.maxAttempts) {
        // Claimed again and again without an outcome: the worker died each time (a poison message).
        outcomes.set(event.id, failure(event, new Error('abandoned: workers stopped while applying it')));
        continue;
      }
      if (event.payload === null || event.payload === undefined) {
        outcomes.set(event.id, failure(event, new Error('the payload was pruned by retention')));
        continue;
      }
      for (const handler of deps.handlers()) {
        if (!handler.prepare || !handler.topics.has(event.topic)) continue;
        try {
          event.prepared = await handler.prepare(event);
        } catch (error) {
          outcomes.set(event.id, failure(event, error));
        }
      }
    }

    const changes = await database.withTenant(tenantId, async (tx) => {
      // Fencing: only rows still claimed by this claim are ours; the lock keeps anyone else off
      // them until we commit.
      const { rows: owned } = await tx.query<{ id: string }>(
        `SELECT i.id FROM webhook_inbox AS i
           JOIN unnest($1::bigint[], $2::int[]) AS c(id, claims) ON c.id = i.id AND c.claims = i.claims
          WHERE i.status = 'processing'
            FOR UPDATE OF i`,
        [events.map((e) => e.id), claimed.map((r) => r.claims)],
      );
      const ours = new Set(owned.map((r) => Number(r.id)));
      const runnable = events.filter((e) => ours.has(e.id) && !outcomes.has(e.id));

      let statuses: Map<number, Outcome['status']> | undefined;
      if (runnable.length > 1) {
        await tx.query('SAVEPOINT webhook_batch');
        try {
          statuses = await applyAll(tx, tenantId, runnable);
          await tx.query('RELEASE SAVEPOINT webhook_batch');
        } catch {
          await tx.query('ROLLBACK TO SAVEPOINT webhook_batch');
          statuses = undefined;
        }
      }
      if (statuses) {
        for (const e of runnable)
          outcomes.set(e.id, { event: e, status: statuses.get(e.id)!, error: null, runAt: null });
      } else {
        // One at a time, so one bad event fails alone.
        for (const e of runnable) {
          await tx.query('SAVEPOINT webhook_event');
          try {
            const one = await applyAll(tx, tenantId, [e]);
            await tx.query('RELEASE SAVEPOINT webhook_event');
            outcomes.set(e.id, { event: e, status: one.get(e.id)!, error: null, runAt: null });
          } catch (error) {
            await tx.query('ROLLBACK TO SAVEPOINT webhook_event');
            outcomes.set(e.id, failure(e, error));
          }
        }
      }

      const results = [...outcomes.values()].filter((o) => ours.has(o.event.id));
      if (results.length === 0) return [];
      for (const o of results) {
        if (o.status !== 'pending' && o.status !== 'dead') continue;
        for (const handler of deps.handlers()) {
          if (!handler.failed || !handler.topics.has(o.event.topic)) continue;
          await handler.failed(tx, o.event, o.error ?? 'failed', o.status === 'dead');
        }
      }
      await tx.query(
        `UPDATE webhook_inbox AS i
            SET status = o.status, run_at = coalesce(o.run_at, i.run_at), last_error = o.error,
                processed_at = CASE WHEN o.status = 'pending' THEN NULL ELSE now() END
           FROM jsonb_to_recordset($1::jsonb) AS o(id bigint, status text, run_at timestamptz, error text)
          WHERE i.id = o.id`,
        [
          JSON.stringify(
            results.map((o) => ({ id: o.event.id, status: o.status, run_at: o.runAt, error: o.error })),
          ),
        ],
      );
      await tx.query(
        `INSERT INTO webhook_attempts (tenant_id, inbox_id, attempt, trigger, outcome, error, started_at)
         SELECT $1, a.inbox_id, a.attempt, a.trigger, a.outcome, a.error, $3
           FROM jsonb_to_recordset($2::jsonb) AS a(inbox_id bigint, attempt int, trigger text, outcome text, error text)`,
        [
          tenantId,
          JSON.stringify(
            results.map((o) => ({
              inbox_id: o.event.id,
              attempt: o.event.attempt,
              trigger: o.event.trigger,
              outcome: o.status === 'pending' ? 'failed' : o.status,
              error: o.error,
            })),
          ),
          started,
        ],
      );
      const at = new Date().toISOString();
      const changed: StatusChange[] = results.map((o) => ({
        id: o.event.id,
        tenantId,
        topic: o.event.topic,
        status: o.status,
        attempts: o.event.attempt,
        error: o.error,
        at,
      }));
      if (deps.notify) await deps.notify(tx, changed);
      return changed;
    });

    const now = Date.now();
    for (const change of changes) {
      const o = outcomes.get(change.id)!;
      switch (o.status) {
        case 'processed':
        case 'skipped':
          metrics.processed.inc({ topic: o.event.topic });
          metrics.lagSeconds.observe((now - o.event.receivedAt.getTime()) / 1000);
          break;
        case 'duplicate':
          metrics.duplicate.inc({ topic: o.event.topic, kind: 'event' });
          metrics.lagSeconds.observe((now - o.event.receivedAt.getTime()) / 1000);
          break;
        case 'pending':
          metrics.failed.inc({ topic: o.event.topic });
          logger.warn(
            { inboxId: o.event.id, topic: o.event.topic, tenantId, attempt: o.event.attempt, error: o.error },
            'webhook event failed; will retry',
          );
          break;
        case 'dead':
          metrics.failed.inc({ topic: o.event.topic });
          metrics.dead.inc({ topic: o.event.topic });
          logger.error(
            { inboxId: o.event.id, topic: o.event.topic, tenantId, attempt: o.event.attempt, error: o.error },
            'webhook event dead-lettered',
          );
          break;
      }
    }
    if (changes.length > 0) deps.publish(changes);
  }

  /** Claims and applies one batch; returns how many rows it claimed. */
  async function runOnce(): Promise<number> {
    const claimed = await claim();
    if (claimed.length === 0) return 0;
    const byTenant = new Map<string, Claimed[]>();
    for (const row of claimed) {
      const list = byTenant.get(row.tenant_id);
      if (list) list.push(row);
      else byTenant.set(row.tenant_id, [row]);
    }
    for (const [tenantId, rows] of byTenant) {
      const stopTimer = metrics.processBatchSeconds.startTimer();
      try {
        await processTenant(tenantId, rows);
        stopTimer();
      } catch (error) {
        // The transaction rolled back: the rows stay claimed and come back when the lease expires.
        logger.error(
          { err: error, tenantId, rows: rows.length },
          'webhook batch failed; rows return after the lease',
        );
      }
    }
    return claimed.length;
  }

  /** Waits while the intake is busy, at most `yieldToIntake` times the last batch's duration. */
  async function yieldToIntake(lastBatchMs: number): Promise<void> {
    if (settings.yieldToIntake <= 0 || !deps.intakeBusy) return;
    // Let the requests that arrived during the last batch be read first, or the intake looks idle.
    await new Promise((r) => setImmediate(r));
    const until = performance.now() + Math.min(1_000, Math.max(10, lastBatchMs * settings.yieldToIntake));
    while (running && deps.intakeBusy() && performance.now() < until) {
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async function loop(): Promise<void> {
    let lastBatchMs = 0;
    while (running) {
      await yieldToIntake(lastBatchMs);
      const started = performance.now();
      let claimed = 0;
      try {
        claimed = await runOnce();
        lastBatchMs = performance.now() - started;
      } catch (error) {
        logger.error({ err: error }, 'webhook processor: claim failed');
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      if (claimed < settings.batchSize && running) await idle();
    }
  }

  return {
    /** Starts the claiming loops (worker roles). */
    start(): void {
      if (running) return;
      running = true;
      for (let i = 0; i < settings.loops; i++) loops.push(loop());
    },
    /** Wakes idle loops: rows were just stored in this process. */
    wake,
    /** Lets the current batches finish, then stops. */
    async stop(): Promise<void> {
      if (!running) return;
      running = false;
      wake();
      await Promise.all(loops.splice(0));
    },
    /** Applies whatever is due now, in the caller's flow (CLI and tests). */
    runOnce,
  };
}

/** The webhook processor of one process. */
export type Processor = ReturnType<typeof createProcessor>;
