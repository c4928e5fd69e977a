import type { Database, Tx } from '../platform/db/client.ts';
import { retryTransient } from '../platform/db/transient.ts';
import type { Logger } from '../platform/logger.ts';
import type {
  CustomerRow,
  EncodedOrder,
  Mirror,
  OrderWithItems,
  ProductWithVariants,
  Resource,
  ResourceRow,
  ResourceSpec,
} from '../mirror/index.ts';
import { mapNodesWith } from '../mirror/index.ts';
import type { AdminClient } from '../shopify/index.ts';
import { windowQuery } from './queries.ts';
import type { SyncStateRow, SyncStateStore } from './state.ts';

/*
 * What every sync mode shares (issue 7): the types of a run, and the tools a mode works with —
 * writing a batch into the mirror in a tenant transaction, the lease heartbeat with progress, and
 * counting and mapping Shopify's records.
 */

/** What a run is asked to do. */
export type SyncMode = 'full' | 'incremental' | 'reconcile';

/** Who asked: the status page shows it. */
export type SyncTrigger = 'api' | 'cli' | 'schedule' | 'install' | 'resume' | 'job';

/** Tunables (defaults suit Shopify; tests shrink them). */
export type SyncSettings = {
  /** A run that does not heartbeat for this long loses its lease (crash detection). */
  leaseSeconds: number;
  /** Incremental runs re-read this much before the cursor (clock skew, same-second updates). */
  overlapSeconds: number;
  /** Incremental runs with more changes than this use a bulk operation. */
  bulkThreshold: number;
  /** Root records per written batch. */
  batchSize: number;
  /** Concurrent batch writers. */
  writers: number;
  /** First poll interval while a bulk operation runs (grows to 5 s). */
  bulkPollMs: number;
  /** Reconcile compares ids once a window holds at most this many records. */
  drillLimit: number;
  /** A backfill exports about this many records per bulk operation (export overlaps writing). */
  bulkChunkSize: number;
  /**
   * How long a run waits out a database outage (connection lost, server restarting) before it
   * fails: its writes are keyed upserts and keyed updates, safe to repeat.
   */
  databaseOutageMs: number;
};

/** What a run did. */
export type SyncReport = {
  resource: Resource;
  mode: SyncMode;
  runId: string;
  /** Records written (inserted or updated). */
  written: number;
  /** Records skipped because the mirror already held a newer version or a tombstone. */
  skipped: number;
  /** Tombstones written. */
  deleted: number;
  /** Bulk operation used, if any. */
  bulkOperationId?: string;
  /** True when a backfill continued from a checkpoint. */
  resumed?: boolean;
  /** Where the time went: waiting for Shopify's bulk files, and streaming + writing them. */
  timings?: { exportMs: number; writeMs: number };
  /** Reconcile: windows compared, windows compared id by id, and what was repaired. */
  reconcile?: {
    windows: number;
    drilled: number;
    missing: number;
    stale: number;
    deleted: number;
    repairedIds: number[];
  };
  durationMs: number;
};

/** Progress callback (CLI bar). */
export type Progress = { done: number; total: number | null; rate: number | null; phase: string };

/** One run in progress: what it works on, its lease, and its counters. */
export type RunContext = {
  tenantId: string;
  resource: Resource;
  spec: ResourceSpec;
  runId: string;
  mode: SyncMode;
  client: AdminClient;
  state: SyncStateRow;
  signal: AbortSignal;
  report: SyncReport;
  started: number;
  done: number;
  total: number | null;
  onProgress?: (p: Progress) => void;
};

/** The run's lease went to another run (its heartbeat stopped for too long). */
export class LeaseLost extends Error {}

/** Sleeps unless the run is aborted first. */
export const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });

/** Builds the tools of one engine. */
export function createRunTools(deps: {
  database: Database;
  logger: Logger;
  mirror: Mirror;
  settings: SyncSettings;
  store: SyncStateStore;
}) {
  const { database, mirror, settings, store } = deps;
  const orderFormat = database.kind === 'postgres' ? 'copy' : 'json';

  /**
   * What `write` takes: orders encoded by `mirror.encodeOrder` as soon as they are mapped (so only
   * their strings wait for a batch and a connection), other resources as mapped rows.
   */
  const forWrite = (resource: Resource, row: ResourceRow): ResourceRow | EncodedOrder =>
    resource === 'orders' ? mirror.encodeOrder(row as OrderWithItems, orderFormat) : row;
  const allForWrite = (resource: Resource, rows: ResourceRow[]) => rows.map((r) => forWrite(resource, r));

  /** Writes a batch (made with `forWrite`) in a tenant transaction. */
  async function write(
    tenantId: string,
    resource: Resource,
    rows: (ResourceRow | EncodedOrder)[],
    report: SyncReport,
  ) {
    if (rows.length === 0) return;
    const orders = resource === 'orders' ? mirror.batchOfEncoded(rows as EncodedOrder[], orderFormat) : null;
    // Only the encoded strings wait for a connection.
    if (orders) rows = [];
    // Upserts keyed by id that keep the newer version: a batch cut off by an outage is written again.
    const result = await retryTransient(
      () =>
        database.withTenant(tenantId, async (tx: Tx) => {
          // Batches are replayable from the checkpoint, which is committed synchronously after them
          // (WAL is sequential), so they need not wait for their own flush.
          if (database.kind === 'postgres') await tx.query('SET LOCAL synchronous_commit = off');
          if (orders) return mirror.writePreparedOrders(tx, tenantId, orders);
          if (resource === 'products')
            return mirror.upsertProducts(tx, tenantId, rows as ProductWithVariants[], { source: 'sync' });
          return mirror.upsertCustomers(tx, tenantId, rows as CustomerRow[], { source: 'sync' });
        }),
      { maxMs: settings.databaseOutageMs },
    );
    report.written += result.applied.length;
    report.skipped += result.skipped.length;
  }

  async function heartbeat(ctx: RunContext) {
    const seconds = (Date.now() - ctx.started) / 1000;
    const rate = seconds > 0 ? ctx.done / seconds : null;
    const alive = await store.heartbeat(ctx.tenantId, ctx.runId, settings.leaseSeconds, {
      done: ctx.done,
      total: ctx.total,
      rate,
    });
    if (!alive) throw new LeaseLost('the sync lease was taken over by another run');
    ctx.onProgress?.({ done: ctx.done, total: ctx.total, rate, phase: ctx.mode });
  }

  async function exactCount(ctx: RunContext, search?: string): Promise<number> {
    const { data } = await ctx.client.request<{ count: { count: number } | null }>(windowQuery(ctx.spec), {
      query: search ?? null,
    });
    return data.count?.count ?? 0;
  }

  const mapNodes = (ctx: RunContext, nodes: Record<string, any>[]) =>
    mapNodesWith(ctx.client, ctx.spec, nodes);

  return {
    database,
    mirror,
    settings,
    store,
    logger: deps.logger,
    forWrite,
    allForWrite,
    write,
    heartbeat,
    exactCount,
    mapNodes,
  };
}

/** The shared tools of one engine's modes. */
export type RunTools = ReturnType<typeof createRunTools>;
