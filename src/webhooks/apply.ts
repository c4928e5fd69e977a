import type { Tx } from '../platform/db/client.ts';
import type { WebhookEvent } from './handler-types.ts';
import { type RegisteredHandler, takes } from './registry.ts';
import { failure, type Outcome, type RetryPolicy } from './retry.ts';

/*
 * Applying one tenant's claimed events inside its transaction (the processor's middle step):
 * fencing, de-duplication by Shopify event id, the handlers in registration order, and the record
 * of each outcome in the same transaction as the effect.
 */

/** Locks the rows still claimed by this claim (fencing token); returns their ids. */
export async function fence(tx: Tx, events: WebhookEvent[], claims: number[]): Promise<Set<number>> {
  const { rows } = await tx.query<{ id: string }>(
    `SELECT i.id FROM webhook_inbox AS i
       JOIN unnest($1::bigint[], $2::int[]) AS c(id, claims) ON c.id = i.id AND c.claims = i.claims
      WHERE i.status = 'processing'
        FOR UPDATE OF i`,
    [events.map((e) => e.id), claims],
  );
  return new Set(rows.map((r) => Number(r.id)));
}

/** Applies events in the open transaction; throws if any handler does. */
async function applyAll(
  tx: Tx,
  tenantId: string,
  events: WebhookEvent[],
  handlers: readonly RegisteredHandler[],
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
  for (const handler of handlers) {
    const mine = toApply.filter((e) => takes(handler, e));
    if (mine.length === 0) continue;
    for (const e of mine) handled.add(e.id);
    if (handler.apply) await handler.apply(tx, mine);
  }
  for (const e of toApply) statuses.set(e.id, handled.has(e.id) ? 'processed' : 'skipped');
  return statuses;
}

/**
 * Applies `runnable` as one batch under a savepoint; if the batch fails, one event at a time so
 * only the bad ones fail. Adds each event's outcome to `outcomes`.
 */
export async function applyRunnable(
  tx: Tx,
  tenantId: string,
  runnable: WebhookEvent[],
  handlers: readonly RegisteredHandler[],
  policy: RetryPolicy,
  outcomes: Map<number, Outcome>,
): Promise<void> {
  let statuses: Map<number, Outcome['status']> | undefined;
  if (runnable.length > 1) {
    await tx.query('SAVEPOINT webhook_batch');
    try {
      statuses = await applyAll(tx, tenantId, runnable, handlers);
      await tx.query('RELEASE SAVEPOINT webhook_batch');
    } catch {
      await tx.query('ROLLBACK TO SAVEPOINT webhook_batch');
      statuses = undefined;
    }
  }
  if (statuses) {
    for (const e of runnable)
      outcomes.set(e.id, { event: e, status: statuses.get(e.id)!, error: null, runAt: null });
    return;
  }
  for (const e of runnable) {
    await tx.query('SAVEPOINT webhook_event');
    try {
      const one = await applyAll(tx, tenantId, [e], handlers);
      await tx.query('RELEASE SAVEPOINT webhook_event');
      outcomes.set(e.id, { event: e, status: one.get(e.id)!, error: null, runAt: null });
    } catch (error) {
      await tx.query('ROLLBACK TO SAVEPOINT webhook_event');
      outcomes.set(e.id, failure(policy, e, error));
    }
  }
}

/** Tells the handlers of failed events (compliance log), in the transaction recording the failure. */
export async function reportFailures(
  tx: Tx,
  results: Outcome[],
  handlers: readonly RegisteredHandler[],
): Promise<void> {
  for (const o of results) {
    if (o.status !== 'pending' && o.status !== 'dead') continue;
    for (const handler of handlers) {
      if (!handler.failed || !takes(handler, o.event)) continue;
      await handler.failed(tx, o.event, o.error ?? 'failed', o.status === 'dead');
    }
  }
}

/** Writes each outcome to its row and to the attempt history. */
export async function recordOutcomes(
  tx: Tx,
  tenantId: string,
  results: Outcome[],
  started: Date,
): Promise<void> {
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
}
