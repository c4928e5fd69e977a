import type { Database } from '../platform/db/client.ts';
import type { Logger } from '../platform/logger.ts';

/** Retention settings. */
export type RetentionSettings = {
  /** Payloads of finished events (processed, duplicate, skipped, orphaned) are removed after this. */
  payloadRetentionMs: number;
  /** Event rows (and their attempts and receipts) are deleted after this; daily counts stay. */
  eventRetentionMs: number;
};

/** What one retention run did. */
export type RetentionResult = { payloadsPruned: number; eventsDeleted: number; receiptsDeleted: number };

const CHUNK = 5000;

/**
 * Retention (issue 6): two stages, each in short chunks so no run holds locks for long.
 *  1. Payloads of finished events older than `payloadRetentionMs` are set to NULL; the rows stay, so
 *     the event log still lists and counts them. Dead letters keep theirs (they may be redriven).
 *  2. Rows older than `eventRetentionMs` are deleted after their counts are added to
 *     `webhook_event_counts` (per tenant, day, topic, status), so totals survive.
 */
export async function runRetention(
  database: Database,
  logger: Logger,
  settings: RetentionSettings,
  now = new Date(),
): Promise<RetentionResult> {
  const payloadCutoff = new Date(now.getTime() - settings.payloadRetentionMs);
  const eventCutoff = new Date(now.getTime() - settings.eventRetentionMs);
  // Both stages walk the table in id order (arrival order) in chunks, and stop at the first chunk
  // that reaches rows received after the cutoff: a run costs what it removes, not the table's size.
  let payloadsPruned = 0;
  for (let after = 0; ; ) {
    const { rows } = await database.query<{ n: number; last_id: string | null; last_received: Date | null }>(
      `WITH chunk AS (
         SELECT id, received_at, coalesce(processed_at, received_at) AS finished_at FROM webhook_inbox
          WHERE payload IS NOT NULL AND status IN ('processed', 'duplicate', 'skipped', 'orphaned') AND id > $3
          ORDER BY id LIMIT $2),
       pruned AS (
         UPDATE webhook_inbox AS i SET payload = NULL, payload_pruned_at = now()
           FROM chunk WHERE i.id = chunk.id AND chunk.finished_at < $1
         RETURNING 1)
       SELECT (SELECT count(*)::int FROM pruned) AS n, (SELECT max(id) FROM chunk) AS last_id,
              (SELECT max(received_at) FROM chunk) AS last_received`,
      [payloadCutoff, CHUNK, after],
    );
    payloadsPruned += rows[0].n;
    if (rows[0].last_id === null || (rows[0].last_received as Date) >= payloadCutoff) break;
    after = Number(rows[0].last_id);
  }
  let eventsDeleted = 0;
  for (let after = 0; ; ) {
    const { rows } = await database.query<{ n: number; last_id: string | null; last_received: Date | null }>(
      `WITH chunk AS (
         SELECT id, received_at, status FROM webhook_inbox WHERE id > $3 ORDER BY id LIMIT $2),
       doomed AS (
         DELETE FROM webhook_inbox AS i USING chunk
          WHERE i.id = chunk.id AND chunk.received_at < $1 AND chunk.status NOT IN ('pending', 'processing')
         RETURNING i.tenant_id, (i.received_at AT TIME ZONE 'UTC')::date AS day, i.topic, i.status),
       counted AS (
         INSERT INTO webhook_event_counts AS c (tenant_id, day, topic, status, count)
         SELECT tenant_id, day, topic, status, count(*) FROM doomed GROUP BY tenant_id, day, topic, status
         ON CONFLICT ((coalesce(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid)), day, topic, status)
         DO UPDATE SET count = c.count + excluded.count
         RETURNING 1)
       SELECT (SELECT count(*)::int FROM doomed) AS n, (SELECT count(*) FROM counted) AS groups,
              (SELECT max(id) FROM chunk) AS last_id, (SELECT max(received_at) FROM chunk) AS last_received`,
      [eventCutoff, CHUNK, after],
    );
    eventsDeleted += rows[0].n;
    if (rows[0].last_id === null || (rows[0].last_received as Date) >= eventCutoff) break;
    after = Number(rows[0].last_id);
  }
  const { rows: receipts } = await database.query<{ n: number }>(
    `WITH gone AS (DELETE FROM webhook_event_receipts WHERE applied_at < $1 RETURNING 1)
     SELECT count(*)::int AS n FROM gone`,
    [eventCutoff],
  );
  const result = { payloadsPruned, eventsDeleted, receiptsDeleted: receipts[0].n };
  if (payloadsPruned + eventsDeleted + result.receiptsDeleted > 0)
    logger.info(result, 'webhook retention ran');
  return result;
}
