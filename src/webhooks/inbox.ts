import { isUtf8 } from 'node:buffer';
import type { Database } from '../platform/db/client.ts';
import type { Logger } from '../platform/logger.ts';

/** One verified delivery, as a source's intake adapter hands it to the inbox. */
export type InboxDelivery = {
  /** `shopify`, `stripe`, later `pixel`… */
  source: string;
  /** Unique within the source; a repeat of a stored key is a duplicate (Shopify: shop/webhook id). */
  dedupeKey: string;
  /** Null when StoreOps does not hold the sender (shop): the row is stored as `orphaned`. */
  tenantId: string | null;
  shopDomain: string;
  topic: string;
  webhookId: string;
  eventId: string | null;
  triggeredAt: string | null;
  apiVersion: string | null;
  /** The exact bytes Shopify sent (JSON, validated by the database on insert). */
  body: Buffer;
};

/** What became of a delivery: a new inbox row, or a repeat of a stored one (same source and key). */
export type InboxOutcome = { stored: true; id: number } | { stored: false };

/** A stored row, for the live stream and the processor's wake-up. */
export type StoredRow = {
  id: number;
  source: string;
  tenantId: string | null;
  topic: string;
  status: 'pending' | 'orphaned';
};

/** The body was not JSON the database accepts (invalid syntax or encoding): a 400, nothing stored. */
export class InvalidPayloadError extends Error {
  constructor(cause: unknown) {
    super('payload is not valid JSON', { cause });
    this.name = 'InvalidPayloadError';
  }
}

// SQLSTATEs of a body that is not valid JSON text: invalid_text_representation,
// character_not_in_repertoire, untranslatable_character.
const BAD_PAYLOAD_CODES = new Set(['22P02', '22021', '22P05']);
const isBadPayload = (error: unknown) => BAD_PAYLOAD_CODES.has((error as { code?: string })?.code ?? '');

type Pending = {
  delivery: InboxDelivery;
  resolve(outcome: InboxOutcome): void;
  reject(error: unknown): void;
};

const COLUMNS = 12;

/**
 * The durable half of the intake (issue 6): deliveries that arrive together are written by one
 * multi-row `INSERT … ON CONFLICT DO NOTHING` — one statement, one commit, one fsync — and every
 * request waits for that commit before it is answered. While one batch commits the next one fills
 * up, so the batch size follows the load by itself: a lone delivery is written at once, a burst of
 * thousands shares a few commits. This is what lets one process acknowledge many times more
 * deliveries per second than an INSERT per request, without answering before storing.
 *
 * The database validates the JSON (`::json`), so the request path never parses the body; if a batch
 * fails on a bad body, its rows are retried one by one so only the bad delivery is refused.
 */
export function createInboxWriter(deps: {
  database: Database;
  logger: Logger;
  /**
   * Runs the INSERT. With PostgreSQL the intake has a small pool of its own (so a busy API or
   * worker pool never delays an acknowledgement) and names its statements, so each batch size is
   * parsed and planned once per connection.
   */
  execute?: (statement: { name?: string; text: string; values: unknown[] }) => Promise<{ rows: any[] }>;
  /** Rows per INSERT at most. */
  maxBatch?: number;
  /** INSERTs in flight at once (PGlite runs one statement at a time anyway). */
  maxInFlight?: number;
  /** Called after each commit with the new rows (wakes the processor, feeds the live stream). */
  onStored?: (rows: StoredRow[]) => void;
  /** Called with the size and duration of each batch written (metrics). */
  onBatch?: (rows: number, seconds: number) => void;
}) {
  const { database } = deps;
  const maxBatch = deps.maxBatch ?? 500;
  const maxInFlight = deps.maxInFlight ?? (database.kind === 'pglite' ? 1 : 3);
  // node-postgres sends a Buffer as a binary parameter, which `json` accepts as its text: the body
  // goes to the server without being decoded (the server checks the encoding). PGlite's serializer
  // wants text, and decoding would quietly replace invalid bytes, so they are checked first.
  const decodes = database.kind === 'pglite';
  const payloadParam = decodes ? (b: Buffer) => b.toString('utf8') : (b: Buffer) => b;
  const execute = deps.execute ?? ((statement) => database.query(statement.text, statement.values));
  const statements = new Map<number, string>();
  let queue: Pending[] = [];
  let inFlight = 0;
  let scheduled = false;
  let closed = false;
  let lastStore = 0;

  function insertSql(rows: number): string {
    let sql = statements.get(rows);
    if (!sql) {
      const tuples: string[] = [];
      for (let r = 0; r < rows; r++) {
        const p = r * COLUMNS;
        tuples.push(
          `($${p + 1}::uuid, $${p + 2}, $${p + 3}, $${p + 4}, $${p + 5}, $${p + 6}::timestamptz, $${p + 7}, ` +
            `$${p + 8}::json, $${p + 9}::int, $${p + 10}, $${p + 11}, $${p + 12})`,
        );
      }
      sql = `INSERT INTO webhook_inbox (tenant_id, shop_domain, topic, webhook_id, event_id, triggered_at,
               api_version, payload, payload_bytes, status, source, dedupe_key)
             VALUES ${tuples.join(', ')}
             ON CONFLICT (source, dedupe_key) DO NOTHING
             RETURNING id, source, dedupe_key`;
      if (rows <= 64 || rows % 16 === 0) statements.set(rows, sql);
    }
    return sql;
  }

  async function insert(batch: Pending[]): Promise<void> {
    const values: unknown[] = new Array(batch.length * COLUMNS);
    for (let i = 0; i < batch.length; i++) {
      const d = batch[i].delivery;
      const p = i * COLUMNS;
      values[p] = d.tenantId;
      values[p + 1] = d.shopDomain;
      values[p + 2] = d.topic;
      values[p + 3] = d.webhookId;
      values[p + 4] = d.eventId;
      values[p + 5] = d.triggeredAt;
      values[p + 6] = d.apiVersion;
      values[p + 7] = payloadParam(d.body);
      values[p + 8] = d.body.length;
      values[p + 9] = d.tenantId === null ? 'orphaned' : 'pending';
      values[p + 10] = d.source;
      values[p + 11] = d.dedupeKey;
    }
    const started = performance.now();
    const text = insertSql(batch.length);
    const { rows } = (await execute({
      name: statements.get(batch.length) === text ? `webhook_inbox_insert_${batch.length}` : undefined,
      text,
      values,
    })) as { rows: { id: string; source: string; dedupe_key: string }[] };
    deps.onBatch?.(batch.length, (performance.now() - started) / 1000);
    const ids = new Map<string, number>();
    for (const row of rows) ids.set(`${row.source}\n${row.dedupe_key}`, Number(row.id));
    const stored: StoredRow[] = [];
    for (const pending of batch) {
      const d = pending.delivery;
      const key = `${d.source}\n${d.dedupeKey}`;
      const id = ids.get(key);
      if (id === undefined) {
        pending.resolve({ stored: false });
        continue;
      }
      // Two copies of one delivery in the same batch: the first is the row, the second a duplicate.
      ids.delete(key);
      stored.push({
        id,
        source: d.source,
        tenantId: d.tenantId,
        topic: d.topic,
        status: d.tenantId === null ? 'orphaned' : 'pending',
      });
      pending.resolve({ stored: true, id });
    }
    if (stored.length > 0) deps.onStored?.(stored);
  }

  async function flush(): Promise<void> {
    scheduled = false;
    if (queue.length === 0) return;
    const batch = queue.length <= maxBatch ? queue : queue.slice(0, maxBatch);
    queue = queue.length <= maxBatch ? [] : queue.slice(maxBatch);
    inFlight++;
    try {
      await insert(batch);
    } catch (error) {
      if (isBadPayload(error) && batch.length > 1) {
        // Find the bad body: each delivery on its own; only those fail.
        for (const pending of batch) {
          await insert([pending]).catch((e) =>
            pending.reject(isBadPayload(e) ? new InvalidPayloadError(e) : e),
          );
        }
      } else {
        const failure = isBadPayload(error) ? new InvalidPayloadError(error) : error;
        if (!(failure instanceof InvalidPayloadError)) {
          deps.logger.error({ err: error, rows: batch.length }, 'webhook inbox write failed');
        }
        for (const pending of batch) pending.reject(failure);
      }
    } finally {
      inFlight--;
      schedule();
    }
  }

  function schedule(): void {
    if (scheduled || queue.length === 0 || inFlight >= maxInFlight) return;
    scheduled = true;
    // setImmediate, not a microtask: every request parsed in this turn of the event loop joins.
    setImmediate(flush);
  }

  return {
    /** Stores a delivery; resolves once it is committed (or recognised as a repeat). */
    store(delivery: InboxDelivery): Promise<InboxOutcome> {
      if (closed) return Promise.reject(new Error('webhook inbox is closed'));
      if (decodes && !isUtf8(delivery.body)) {
        return Promise.reject(new InvalidPayloadError(new Error('the body is not valid UTF-8')));
      }
      lastStore = performance.now();
      return new Promise<InboxOutcome>((resolve, reject) => {
        queue.push({ delivery, resolve, reject });
        schedule();
      });
    },
    /** True while deliveries are arriving: waiting, being written, or one came in the last 25 ms. */
    busy: () => queue.length > 0 || inFlight > 0 || performance.now() - lastStore < 25,
    /** Stops taking deliveries and waits for the ones under way. */
    async close(): Promise<void> {
      closed = true;
      while (queue.length > 0 || inFlight > 0) await new Promise((r) => setTimeout(r, 5));
    },
  };
}

/** The inbox writer of one process. */
export type InboxWriter = ReturnType<typeof createInboxWriter>;
