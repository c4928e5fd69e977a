import type { Database, Tx } from '../platform/db/client.ts';
import { retryTransient } from '../platform/db/transient.ts';
import type { Logger } from '../platform/logger.ts';
import { applyRunnable, fence, recordOutcomes, reportFailures } from './apply.ts';
import { byTenant, type Claimed, claimDue, toEvent } from './claim.ts';
import type { WebhookMetrics } from './metrics.ts';
import { type RegisteredHandler, takes } from './registry.ts';
import { failure, type Outcome, type RetryPolicy } from './retry.ts';

/** A status change of an inbox row, for the live stream. */
export type StatusChange = {
  id: number;
  source: string;
  tenantId: string;
  topic: string;
  status: string;
  attempts: number;
  error: string | null;
  at: string;
};

/** Tuning of the processing loop. */
export type ProcessorSettings = RetryPolicy & {
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

/**
 * Applies inbox rows (issue 6): claims due rows in batches (claim.ts), applies each tenant's events
 * in one transaction that also records the outcome (apply.ts), retries failures with exponential
 * backoff and dead-letters them after the last attempt (retry.ts). A worker that dies mid-batch
 * loses nothing: its rows come back when their lease expires, and the `claims` fencing token keeps
 * a stalled worker from applying a row twice.
 *
 * Woken at once by the intake in the same process; otherwise it polls every `pollMs`.
 */
export function createProcessor(deps: {
  database: Database;
  logger: Logger;
  metrics: WebhookMetrics;
  settings: ProcessorSettings;
  handlers: () => readonly RegisteredHandler[];
  /** Status changes after each commit (live stream); `origin` lets other processes ignore their own. */
  publish: (changes: StatusChange[]) => void;
  /** Sends changes to other processes inside the transaction (PostgreSQL NOTIFY), if any listen. */
  notify?: (tx: Tx, changes: StatusChange[]) => Promise<void>;
  /** True while deliveries are being stored (see `yieldToIntake`). */
  intakeBusy?: () => boolean;
}) {
  const { database, logger, metrics, settings } = deps;
  let running = false;
  /** Aborted by `stop`: a batch waiting out a database outage gives up at once. */
  let stopping = new AbortController();
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

  /** Outside any transaction: events that cannot run, and the handlers' `prepare` step. */
  async function prepare(
    events: ReturnType<typeof toEvent>[],
    outcomes: Map<number, Outcome>,
  ): Promise<void> {
    const handlers = deps.handlers();
    for (const event of events) {
      if (event.attempt > settings.maxAttempts) {
        // Claimed again and again without an outcome: the worker died each time (a poison message).
        outcomes.set(
          event.id,
          failure(settings, event, new Error('abandoned: workers stopped while applying it')),
        );
        continue;
      }
      if (event.payload === null || event.payload === undefined) {
        outcomes.set(event.id, failure(settings, event, new Error('the payload was pruned by retention')));
        continue;
      }
      for (const handler of handlers) {
        if (!handler.prepare || !takes(handler, event)) continue;
        try {
          event.prepared = await handler.prepare(event);
        } catch (error) {
          outcomes.set(event.id, failure(settings, event, error));
        }
      }
    }
  }

  async function processTenant(tenantId: string, claimed: Claimed[]): Promise<void> {
    const started = new Date();
    const events = claimed.map(toEvent);
    const outcomes = new Map<number, Outcome>();
    await prepare(events, outcomes);

    const changes = await database.withTenant(tenantId, async (tx) => {
      const handlers = deps.handlers();
      // Fencing: only rows still claimed by this claim are ours; the lock keeps anyone else off
      // them until we commit.
      const ours = await fence(
        tx,
        events,
        claimed.map((r) => r.claims),
      );
      const runnable = events.filter((e) => ours.has(e.id) && !outcomes.has(e.id));
      await applyRunnable(tx, tenantId, runnable, handlers, settings, outcomes);

      const results = [...outcomes.values()].filter((o) => ours.has(o.event.id));
      if (results.length === 0) return [];
      await reportFailures(tx, results, handlers);
      await recordOutcomes(tx, tenantId, results, started);
      const at = new Date().toISOString();
      const changed: StatusChange[] = results.map((o) => ({
        id: o.event.id,
        source: o.event.source,
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

    countOutcomes(
      changes.map((c) => outcomes.get(c.id)!),
      tenantId,
    );
    if (changes.length > 0) deps.publish(changes);
  }

  /** Metrics and logs of committed outcomes. */
  function countOutcomes(committed: Outcome[], tenantId: string): void {
    const now = Date.now();
    for (const o of committed) {
      const lag = (now - o.event.receivedAt.getTime()) / 1000;
      const where = {
        inboxId: o.event.id,
        topic: o.event.topic,
        tenantId,
        attempt: o.event.attempt,
        error: o.error,
      };
      switch (o.status) {
        case 'processed':
        case 'skipped':
          metrics.processed.inc({ topic: o.event.topic });
          metrics.lagSeconds.observe(lag);
          break;
        case 'duplicate':
          metrics.duplicate.inc({ topic: o.event.topic, kind: 'event' });
          metrics.lagSeconds.observe(lag);
          break;
        case 'pending':
          metrics.failed.inc({ topic: o.event.topic });
          logger.warn(where, 'webhook event failed; will retry');
          break;
        case 'dead':
          metrics.failed.inc({ topic: o.event.topic });
          metrics.dead.inc({ topic: o.event.topic });
          logger.error(where, 'webhook event dead-lettered');
          break;
      }
    }
  }

  /** Claims and applies one batch; returns how many rows it claimed. */
  async function runOnce(): Promise<number> {
    const claimedAt = Date.now();
    const claimed = await claimDue(database, settings.batchSize, settings.leaseSeconds);
    if (claimed.length === 0) return 0;
    for (const [tenantId, rows] of byTenant(claimed)) {
      const stopTimer = metrics.processBatchSeconds.startTimer();
      try {
        // A database outage (a restart) cuts the batch off. The rows stay ours until the lease
        // ends, so the batch is tried again as soon as the server is back rather than after the
        // lease; the fencing token makes a repeat harmless, even after a COMMIT that went through.
        await retryTransient(() => processTenant(tenantId, rows), {
          maxMs: settings.leaseSeconds * 1000 - (Date.now() - claimedAt) - 1_000,
          signal: stopping.signal,
          onRetry: (error, attempt) =>
            logger.warn(
              { err: error, tenantId, rows: rows.length, attempt },
              'webhook batch cut off by the database; trying again',
            ),
        });
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
      stopping = new AbortController();
      for (let i = 0; i < settings.loops; i++) loops.push(loop());
    },
    /** Wakes idle loops: rows were just stored in this process. */
    wake,
    /** Lets the current batches finish, then stops. */
    async stop(): Promise<void> {
      if (!running) return;
      running = false;
      stopping.abort(new Error('the webhook processor is stopping'));
      wake();
      await Promise.all(loops.splice(0));
    },
    /** Applies whatever is due now, in the caller's flow (CLI and tests). */
    runOnce,
  };
}

/** The webhook processor of one process. */
export type Processor = ReturnType<typeof createProcessor>;
