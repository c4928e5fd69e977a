import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Database, Tx } from '../platform/db/client.ts';
import type { Logger } from '../platform/logger.ts';
import type { Mirror } from '../mirror/index.ts';
import { idFromGid } from '../mirror/index.ts';
import type { CustomerRow, EncodedOrder, OrderWithItems, ProductWithVariants } from '../mirror/index.ts';
import { type AdminClient, type ConnectionPage, paginate, ShopifyAdminError } from '../shopify/index.ts';
import { readLines, type StitchedRecord, stitchedBatches } from './jsonl.ts';
import { mapNodesWith } from './live.ts';
import {
  BULK_RUN,
  BULK_STATUS,
  bulkQuery,
  idsQuery,
  nodesQuery,
  oldestQuery,
  PRODUCT_DELETIONS,
  pageQuery,
  type Resource,
  type ResourceRow,
  type ResourceSpec,
  SPECS,
  timeFilter,
  windowQuery,
} from './queries.ts';
import { type BackfillCheckpoint, createSyncStateStore, type SyncStateRow } from './state.ts';

/*
 * The sync engine (issue 7, DESIGN.md main flow 3). Three modes per tenant and resource:
 *  - full: a Bulk Operations backfill. The JSONL file is streamed and stitched line by line,
 *    mapped, and written in batches by a few concurrent writers; after each contiguous batch the
 *    checkpoint (`lastId`) is stored, so a crashed run resumes by re-attaching to the same bulk
 *    operation (skipping what is stored) or, if it is gone, by a new one filtered `id:>lastId`.
 *  - incremental: records with `updated_at` ≥ cursor − overlap, page by page (cursor saved after
 *    each page), or through a filtered bulk operation when many changed; product deletions from
 *    `deletionEvents` (orders and customers have no deletion feed: reconcile finds those).
 *  - reconcile: counts and newest `updated_at` per creation-time window, compared with the mirror;
 *    windows that differ are split until small, then compared id by id and repaired.
 * Runs are singletons per tenant and resource through the `sync_state` lease.
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

type RunContext = {
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

class LeaseLost extends Error {}

const sleep = (ms: number, signal: AbortSignal) =>
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

const MAX_REPAIRED_IDS = 100;

/** Builds the engine; `run` is the only entry point (jobs, routes and the CLI all call it). */
export function createSyncEngine(deps: {
  database: Database;
  logger: Logger;
  mirror: Mirror;
  adminClient: (tenantId: string) => Promise<AdminClient>;
  settings: SyncSettings;
  fetch?: typeof fetch;
}) {
  const { database, mirror, settings } = deps;
  const logger = deps.logger.child({ module: 'sync' });
  const store = createSyncStateStore(database);
  const doFetch = deps.fetch ?? fetch;
  /** Wakes bulk waiters when `bulk_operations/finish` arrives (same process; others poll). */
  const bulkFinished = new EventEmitter();
  bulkFinished.setMaxListeners(0);

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
    const result = await database.withTenant(tenantId, async (tx: Tx) => {
      // Batches are replayable from the checkpoint, which is committed synchronously after them
      // (WAL is sequential), so they need not wait for their own flush.
      if (database.kind === 'postgres') await tx.query('SET LOCAL synchronous_commit = off');
      if (orders) return mirror.writePreparedOrders(tx, tenantId, orders);
      if (resource === 'products')
        return mirror.upsertProducts(tx, tenantId, rows as ProductWithVariants[], { source: 'sync' });
      return mirror.upsertCustomers(tx, tenantId, rows as CustomerRow[], { source: 'sync' });
    });
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

  // ---- Bulk operations -------------------------------------------------------------------

  type BulkStatus = {
    id: string;
    status: string;
    errorCode: string | null;
    objectCount: string;
    rootObjectCount: string;
    url: string | null;
    createdAt: string;
  };

  async function bulkStatus(client: AdminClient, id: string): Promise<BulkStatus | null> {
    const { data } = await client.request<{ bulkOperation: BulkStatus | null }>(BULK_STATUS, { id });
    return data.bulkOperation;
  }

  /** Starts a bulk query; waits while another bulk query of the shop runs (one at a time per shop). */
  async function startBulk(ctx: RunContext, query: string): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      const { data } = await ctx.client.request<{
        bulkOperationRunQuery: {
          bulkOperation: { id: string } | null;
          userErrors: { code: string | null; message: string }[];
        };
      }>(BULK_RUN, { query });
      const result = data.bulkOperationRunQuery;
      if (result.bulkOperation) return result.bulkOperation.id;
      const busy = result.userErrors.some((e) => e.code === 'OPERATION_IN_PROGRESS');
      if (!busy || attempt > 3600) {
        throw new Error(
          `bulkOperationRunQuery refused: ${result.userErrors.map((e) => e.message).join('; ')}`,
        );
      }
      // Another resource's export (or a leftover one) holds the shop's single bulk slot.
      await sleep(Math.min(5000, settings.bulkPollMs * 2 ** Math.min(attempt, 4)), ctx.signal);
      await heartbeat(ctx);
    }
  }

  /** Waits until the operation leaves CREATED/RUNNING, polling (and woken by the finish webhook). */
  async function waitForBulk(
    ctx: RunContext,
    id: string,
    checkpoint?: BackfillCheckpoint,
  ): Promise<BulkStatus> {
    let delay = settings.bulkPollMs;
    for (;;) {
      const op = await bulkStatus(ctx.client, id);
      if (!op) throw new Error(`bulk operation ${id} not found`);
      if (op.status !== 'CREATED' && op.status !== 'RUNNING' && op.status !== 'CANCELING') return op;
      if (checkpoint) {
        checkpoint.exported = Number(op.objectCount);
        await store.saveBackfill(ctx.tenantId, ctx.runId, checkpoint);
      }
      await heartbeat(ctx);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(done, delay);
        function done() {
          clearTimeout(timer);
          bulkFinished.off(id, done);
          ctx.signal.removeEventListener('abort', aborted);
          resolve();
        }
        function aborted() {
          done();
          reject(ctx.signal.reason);
        }
        bulkFinished.on(id, done);
        ctx.signal.addEventListener('abort', aborted, { once: true });
      });
      delay = Math.min(5000, Math.round(delay * 1.5));
    }
  }

  /**
   * Streams a finished operation's file and writes it in batches with `settings.writers` writers.
   * `onCommitted(lastId, count)` runs in file order for each contiguous written prefix.
   */
  async function streamBulk(
    ctx: RunContext,
    url: string,
    skipThroughId: number,
    onCommitted: (lastId: number, count: number) => Promise<void>,
  ) {
    const response = await doFetch(url, { signal: ctx.signal });
    if (!response.ok || !response.body) throw new Error(`bulk file download answered ${response.status}`);
    const inflight = new Set<Promise<void>>();
    const finished = new Map<number, { lastId: number; count: number }>();
    let nextToCommit = 0;
    let sequence = 0;
    let failure: unknown;
    let committing = Promise.resolve();

    const commitReady = () => {
      committing = committing.then(async () => {
        while (finished.has(nextToCommit)) {
          const item = finished.get(nextToCommit) as { lastId: number; count: number };
          finished.delete(nextToCommit);
          nextToCommit++;
          await onCommitted(item.lastId, item.count);
        }
      });
      return committing;
    };

    // Each record is mapped (and an order encoded) as soon as its children are in.
    const complete = (r: StitchedRecord): ResourceRow | EncodedOrder | null => {
      if (skipThroughId > 0 && idFromGid(r.node.id as string) <= skipThroughId) return null;
      return forWrite(ctx.resource, ctx.spec.map(r.node, r.children));
    };
    for await (const rows of stitchedBatches(readLines(response.body), settings.batchSize, complete)) {
      if (failure) break;
      ctx.signal.throwIfAborted();
      if (rows.length === 0) continue;
      const lastId = rows.reduce((max, r) => Math.max(max, r.id), 0);
      const seq = sequence++;
      const count = rows.length;
      const task = write(ctx.tenantId, ctx.resource, rows, ctx.report)
        .then(() => {
          finished.set(seq, { lastId, count });
          return commitReady();
        })
        .catch((error) => {
          failure ??= error;
        })
        .finally(() => inflight.delete(task));
      inflight.add(task);
      if (inflight.size >= settings.writers) await Promise.race(inflight);
    }
    await Promise.all(inflight);
    await committing;
    if (failure) throw failure;
  }

  // ---- Modes ------------------------------------------------------------------------------

  async function exactCount(ctx: RunContext, search?: string): Promise<number> {
    const { data } = await ctx.client.request<{ count: { count: number } | null }>(windowQuery(ctx.spec), {
      query: search ?? null,
    });
    return data.count?.count ?? 0;
  }

  /** Creation-time ranges of a backfill: about `bulkChunkSize` records each, oldest first. */
  async function planRanges(ctx: RunContext, total: number, asOf: Date): Promise<string[]> {
    const chunks = Math.max(1, Math.min(64, Math.ceil(total / settings.bulkChunkSize)));
    if (chunks === 1) return [];
    const { data } = await ctx.client.request<Record<string, any>>(oldestQuery(ctx.spec));
    const oldest = data[ctx.spec.connection].nodes[0]?.createdAt as string | undefined;
    if (!oldest) return [];
    const from = Math.floor(Date.parse(oldest) / 1000) * 1000;
    const step = Math.max(1000, Math.ceil((asOf.getTime() - from) / chunks / 1000) * 1000);
    const bounds: string[] = [];
    for (let at = from + step; at < asOf.getTime(); at += step) bounds.push(new Date(at).toISOString());
    return bounds;
  }

  /** The search of range `k` given inner boundaries (first range open below, last open above). */
  function rangeSearch(bounds: string[], k: number): string | undefined {
    const parts: string[] = [];
    if (k > 0) parts.push(`created_at:>='${bounds[k - 1]}'`);
    if (k < bounds.length) parts.push(`created_at:<'${bounds[k]}'`);
    return parts.length ? parts.join(' ') : undefined;
  }

  async function usableOperation(ctx: RunContext, id: string | null | undefined): Promise<string | null> {
    if (!id) return null;
    const op = await bulkStatus(ctx.client, id).catch(() => null);
    return op && ['CREATED', 'RUNNING', 'COMPLETED'].includes(op.status) ? op.id : null;
  }

  /**
   * Full backfill. Large resources are exported in creation-time ranges so that Shopify builds the
   * next range's file while this one streams in (one bulk query per shop at a time, but export and
   * write overlap). The checkpoint names the range, its operation, the prefetched next operation
   * and the last id written within the range; a resumed run re-attaches to both operations when
   * they still exist and skips what is stored.
   */
  async function backfill(ctx: RunContext) {
    const resumed = ctx.state.backfill;
    ctx.report.resumed = Boolean(resumed && (resumed.written > 0 || resumed.range > 0));
    ctx.total = await exactCount(ctx);
    const asOf = resumed ? new Date(resumed.startedAt) : new Date();
    const checkpoint: BackfillCheckpoint = resumed ?? {
      ranges: await planRanges(ctx, ctx.total, asOf),
      range: 0,
      bulkOperationId: null,
      nextOperationId: null,
      lastId: 0,
      written: 0,
      phase: 'starting',
      startedAt: asOf.toISOString(),
    };
    ctx.done = checkpoint.written;
    const save = () => store.saveBackfill(ctx.tenantId, ctx.runId, checkpoint);
    const timings = { exportMs: 0, writeMs: 0 };
    const rangeCount = checkpoint.ranges.length + 1;
    for (let k = checkpoint.range; k < rangeCount; k++) {
      const exportStarted = Date.now();
      checkpoint.range = k;
      checkpoint.bulkOperationId =
        (await usableOperation(ctx, checkpoint.bulkOperationId)) ??
        (await startBulk(ctx, bulkQuery(ctx.spec, rangeSearch(checkpoint.ranges, k))));
      checkpoint.phase = 'exporting';
      ctx.report.bulkOperationId = checkpoint.bulkOperationId;
      await save();
      const op = await waitForBulk(ctx, checkpoint.bulkOperationId, checkpoint);
      timings.exportMs += Date.now() - exportStarted;
      if (op.status !== 'COMPLETED') {
        // Keep what is stored; the next attempt exports this range again and skips it.
        checkpoint.bulkOperationId = null;
        await save();
        throw new Error(
          `bulk operation ${op.id} ended ${op.status}${op.errorCode ? ` (${op.errorCode})` : ''}`,
        );
      }
      // Let Shopify build the next range's file while this one is written.
      if (k + 1 < rangeCount) {
        checkpoint.nextOperationId =
          (await usableOperation(ctx, checkpoint.nextOperationId)) ??
          (await startBulk(ctx, bulkQuery(ctx.spec, rangeSearch(checkpoint.ranges, k + 1))));
      }
      checkpoint.phase = 'writing';
      await save();
      const writeStarted = Date.now();
      if (op.url) {
        await streamBulk(ctx, op.url, checkpoint.lastId, async (lastId, count) => {
          checkpoint.lastId = Math.max(checkpoint.lastId, lastId);
          checkpoint.written += count;
          ctx.done = checkpoint.written;
          await save();
          logger.debug(
            {
              tenantId: ctx.tenantId,
              resource: ctx.resource,
              range: k,
              lastId: checkpoint.lastId,
              written: checkpoint.written,
            },
            'sync checkpoint saved',
          );
          await heartbeat(ctx);
        });
      }
      timings.writeMs += Date.now() - writeStarted;
      checkpoint.bulkOperationId = checkpoint.nextOperationId;
      checkpoint.nextOperationId = null;
      checkpoint.lastId = 0;
      checkpoint.range = k + 1;
      await save();
    }
    ctx.report.timings = timings;
    // Everything changed since the backfill began is the incremental run's job.
    await store.saveCursor(ctx.tenantId, ctx.runId, asOf);
    await store.saveBackfill(ctx.tenantId, ctx.runId, null);
    ctx.done = Math.max(ctx.total ?? 0, checkpoint.written);
  }

  const mapNodes = (ctx: RunContext, nodes: Record<string, any>[]) =>
    mapNodesWith(ctx.client, ctx.spec, nodes);

  async function incremental(ctx: RunContext) {
    const cursor = ctx.state.updated_at_cursor as Date;
    const from = new Date(cursor.getTime() - settings.overlapSeconds * 1000);
    const search = timeFilter('updated_at', '>=', from);
    const startedAt = new Date();
    ctx.total = await exactCount(ctx, search);
    if (ctx.total > settings.bulkThreshold) {
      const id = await startBulk(ctx, bulkQuery(ctx.spec, search));
      ctx.report.bulkOperationId = id;
      const op = await waitForBulk(ctx, id);
      if (op.status !== 'COMPLETED') throw new Error(`bulk operation ${op.id} ended ${op.status}`);
      if (op.url) {
        await streamBulk(ctx, op.url, 0, async (_lastId, count) => {
          ctx.done += count;
          await heartbeat(ctx);
        });
      }
      await store.saveCursor(ctx.tenantId, ctx.runId, new Date(op.createdAt));
    } else {
      const pages = paginate(
        ctx.client,
        pageQuery(ctx.spec, 'UPDATED_AT'),
        { first: ctx.spec.pageSize, query: search },
        (d: Record<string, ConnectionPage<Record<string, any>>>) => d[ctx.spec.connection],
        { signal: ctx.signal },
      );
      for await (const nodes of pages) {
        const rows = await mapNodes(ctx, nodes);
        await write(ctx.tenantId, ctx.resource, allForWrite(ctx.resource, rows), ctx.report);
        ctx.done += rows.length;
        const newest = rows.reduce((max, r) => Math.max(max, Date.parse(r.updatedAt)), 0);
        // Pages come in updated_at order, so everything up to this page's newest is stored.
        if (newest > 0) await store.saveCursor(ctx.tenantId, ctx.runId, new Date(newest));
        await heartbeat(ctx);
      }
      // Nothing newer than the start can have been missed by this run's own listing.
      if (ctx.total === 0)
        await store.saveCursor(
          ctx.tenantId,
          ctx.runId,
          new Date(Math.min(startedAt.getTime(), Date.now()) - settings.overlapSeconds * 1000),
        );
    }
    if (ctx.resource === 'products') await productDeletions(ctx, from);
  }

  async function productDeletions(ctx: RunContext, from: Date) {
    type Deletions = { deletionEvents: ConnectionPage<{ subjectId: string; occurredAt: string }> };
    const pages = paginate(
      ctx.client,
      PRODUCT_DELETIONS,
      { query: timeFilter('occurred_at', '>=', from) },
      (d: Deletions) => d.deletionEvents,
      { signal: ctx.signal },
    );
    for await (const events of pages) {
      for (const e of events) {
        const { deleted } = await database.withTenant(ctx.tenantId, (tx) =>
          mirror.markDeleted(tx, ctx.tenantId, 'products', [idFromGid(e.subjectId)], {
            deletedAt: e.occurredAt,
            source: 'sync',
          }),
        );
        ctx.report.deleted += deleted;
      }
    }
  }

  // ---- Reconcile --------------------------------------------------------------------------

  const TABLE: Record<Resource, string> = {
    products: 'shop_products',
    customers: 'shop_customers',
    orders: 'shop_orders',
  };

  async function localWindow(ctx: RunContext, from: Date, to: Date) {
    const { rows } = await database.withTenant(ctx.tenantId, (tx) =>
      tx.query<{ n: string; newest: Date | null }>(
        `SELECT count(*) AS n, max(shopify_updated_at) AS newest FROM ${TABLE[ctx.resource]}
          WHERE tenant_id = $1 AND deleted_at IS NULL AND shopify_created_at >= $2 AND shopify_created_at < $3`,
        [ctx.tenantId, from, to],
      ),
    );
    return { count: Number(rows[0].n), newest: rows[0].newest ? rows[0].newest.getTime() : 0 };
  }

  async function remoteWindow(ctx: RunContext, search: string) {
    const { data } = await ctx.client.request<{
      count: { count: number } | null;
      newest: { nodes: { updatedAt: string }[] };
    }>(windowQuery(ctx.spec), { query: search });
    const newest = data.newest.nodes[0]?.updatedAt;
    return { count: data.count?.count ?? 0, newest: newest ? Date.parse(newest) : 0 };
  }

  const windowSearch = (from: Date, to: Date) =>
    `${timeFilter('created_at', '>=', from)} ${timeFilter('created_at', '<', to)}`;

  async function fetchByIds(ctx: RunContext, ids: number[]): Promise<Map<number, ResourceRow>> {
    const found = new Map<number, ResourceRow>();
    for (let i = 0; i < ids.length; i += ctx.spec.pageSize) {
      const chunk = ids
        .slice(i, i + ctx.spec.pageSize)
        .map((id) => `gid://shopify/${ctx.spec.typeName}/${id}`);
      const { data } = await ctx.client.request<{ nodes: (Record<string, any> | null)[] }>(
        nodesQuery(ctx.spec),
        {
          ids: chunk,
        },
      );
      const nodes = data.nodes.filter((n): n is Record<string, any> => Boolean(n?.id));
      for (const row of await mapNodes(ctx, nodes)) found.set(row.id, row);
    }
    return found;
  }

  async function drill(ctx: RunContext, from: Date, to: Date) {
    const rec = ctx.report.reconcile as NonNullable<SyncReport['reconcile']>;
    rec.drilled++;
    const listedAt = new Date();
    const remote = new Map<number, number>();
    const pages = paginate(
      ctx.client,
      idsQuery(ctx.spec),
      { query: windowSearch(from, to) },
      (d: Record<string, ConnectionPage<{ id: string; updatedAt: string }>>) => d[ctx.spec.connection],
      { signal: ctx.signal },
    );
    for await (const nodes of pages) {
      for (const n of nodes) remote.set(idFromGid(n.id), Date.parse(n.updatedAt));
    }
    const { rows: local } = await database.withTenant(ctx.tenantId, (tx) =>
      tx.query<{ id: string; updated: Date | null; synced_at: Date }>(
        `SELECT id, shopify_updated_at AS updated, synced_at FROM ${TABLE[ctx.resource]}
          WHERE tenant_id = $1 AND deleted_at IS NULL AND shopify_created_at >= $2 AND shopify_created_at < $3`,
        [ctx.tenantId, from, to],
      ),
    );
    const localById = new Map(local.map((r) => [Number(r.id), r]));
    const missing: number[] = [];
    const stale: number[] = [];
    for (const [id, updated] of remote) {
      const mine = localById.get(id);
      if (!mine) missing.push(id);
      else if (!mine.updated || mine.updated.getTime() < updated) stale.push(id);
    }
    // Rows written after the listing may be newer than it: only older rows can be "gone".
    const candidates = local
      .filter((r) => !remote.has(Number(r.id)) && r.synced_at < listedAt)
      .map((r) => Number(r.id));
    const repair = [...missing, ...stale];
    if (repair.length > 0) {
      const rows = [...(await fetchByIds(ctx, repair)).values()];
      await write(ctx.tenantId, ctx.resource, allForWrite(ctx.resource, rows), ctx.report);
      rec.missing += missing.length;
      rec.stale += stale.length;
      for (const id of repair) if (rec.repairedIds.length < MAX_REPAIRED_IDS) rec.repairedIds.push(id);
    }
    if (candidates.length > 0) {
      // Confirm with Shopify before writing tombstones: a record may just have moved windows.
      const stillThere = await fetchByIds(ctx, candidates);
      const gone = candidates.filter((id) => !stillThere.has(id));
      if (stillThere.size > 0)
        await write(
          ctx.tenantId,
          ctx.resource,
          allForWrite(ctx.resource, [...stillThere.values()]),
          ctx.report,
        );
      if (gone.length > 0) {
        const { deleted } = await database.withTenant(ctx.tenantId, (tx) =>
          mirror.markDeleted(tx, ctx.tenantId, ctx.resource, gone, { source: 'sync' }),
        );
        ctx.report.deleted += deleted;
        rec.deleted += gone.length;
        for (const id of gone) if (rec.repairedIds.length < MAX_REPAIRED_IDS) rec.repairedIds.push(id);
      }
    }
  }

  async function checkWindow(ctx: RunContext, from: Date, to: Date, depth: number): Promise<void> {
    ctx.signal.throwIfAborted();
    const rec = ctx.report.reconcile as NonNullable<SyncReport['reconcile']>;
    rec.windows++;
    const [remote, local] = [
      await remoteWindow(ctx, windowSearch(from, to)),
      await localWindow(ctx, from, to),
    ];
    ctx.done += 1;
    await heartbeat(ctx);
    // Times have whole seconds: a deletion and a creation in the same window, within the second of
    // its newest update, cancel out in count and newest. The whole range is therefore always split
    // (old deletions and new creations fall in different parts), only parts are trusted as equal.
    const same =
      remote.count === local.count && Math.floor(remote.newest / 1000) === Math.floor(local.newest / 1000);
    if (same && depth > 0) return;
    const span = to.getTime() - from.getTime();
    if (Math.max(remote.count, local.count) <= settings.drillLimit || depth >= 24 || span <= 2000) {
      await drill(ctx, from, to);
      return;
    }
    const parts = 4;
    const step = Math.ceil(span / parts / 1000) * 1000;
    for (let start = from.getTime(); start < to.getTime(); start += step) {
      await checkWindow(ctx, new Date(start), new Date(Math.min(to.getTime(), start + step)), depth + 1);
    }
  }

  async function reconcile(ctx: RunContext) {
    ctx.report.reconcile = { windows: 0, drilled: 0, missing: 0, stale: 0, deleted: 0, repairedIds: [] };
    const { data } = await ctx.client.request<Record<string, any>>(oldestQuery(ctx.spec));
    const remoteOldest = data[ctx.spec.connection].nodes[0]?.createdAt as string | undefined;
    const { rows } = await database.withTenant(ctx.tenantId, (tx) =>
      tx.query<{ oldest: Date | null }>(
        `SELECT min(shopify_created_at) AS oldest FROM ${TABLE[ctx.resource]} WHERE tenant_id = $1 AND deleted_at IS NULL`,
        [ctx.tenantId],
      ),
    );
    const candidates = [
      remoteOldest ? Date.parse(remoteOldest) : Number.POSITIVE_INFINITY,
      rows[0].oldest?.getTime() ?? Number.POSITIVE_INFINITY,
    ];
    const oldest = Math.min(...candidates);
    if (!Number.isFinite(oldest)) return;
    const from = new Date(Math.floor(oldest / 1000) * 1000);
    // One second past now: the newest records sit in the last window.
    const to = new Date(Math.ceil(Date.now() / 1000) * 1000 + 1000);
    await checkWindow(ctx, from, to, 0);
  }

  // ---- Entry point ------------------------------------------------------------------------

  /**
   * Runs one mode for one resource of a tenant; throws 409 SYNC_IN_PROGRESS when a run holds the
   * lease. An incremental run of a resource never backfilled is a full one. Aborting `signal`
   * stops the run at the next batch and keeps its checkpoint (as a crash would).
   */
  async function run(
    tenantId: string,
    resource: Resource,
    options: {
      mode: SyncMode;
      trigger: SyncTrigger;
      signal?: AbortSignal;
      onProgress?: (p: Progress) => void;
    },
  ): Promise<SyncReport> {
    const runId = randomUUID();
    const previous = await store.readOne(tenantId, resource);
    const mode: SyncMode =
      options.mode === 'incremental' && (!previous?.updated_at_cursor || previous.backfill)
        ? 'full'
        : options.mode;
    const state = await store.acquire(tenantId, resource, {
      runId,
      mode,
      trigger: options.trigger,
      leaseSeconds: settings.leaseSeconds,
    });
    const controller = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
    const report: SyncReport = { resource, mode, runId, written: 0, skipped: 0, deleted: 0, durationMs: 0 };
    const started = Date.now();
    const ticker = setInterval(
      () => {
        store.heartbeat(tenantId, runId, settings.leaseSeconds).then(
          (alive) => alive || controller.abort(new LeaseLost('the sync lease was taken over')),
          () => {},
        );
      },
      Math.max(1000, (settings.leaseSeconds * 1000) / 3),
    );
    ticker.unref();
    const log = logger.child({ tenantId, resource, mode, runId });
    log.info({ trigger: options.trigger }, 'sync run started');
    try {
      const client = await deps.adminClient(tenantId);
      const ctx: RunContext = {
        tenantId,
        resource,
        spec: SPECS[resource],
        runId,
        mode,
        client,
        state,
        signal,
        report,
        started,
        done: 0,
        total: null,
        onProgress: options.onProgress,
      };
      if (mode === 'full') await backfill(ctx);
      else if (mode === 'incremental') await incremental(ctx);
      else await reconcile(ctx);
      await heartbeat(ctx);
      report.durationMs = Date.now() - started;
      await store.finish(tenantId, runId, { status: 'completed', mode, report });
      log.info(
        { written: report.written, deleted: report.deleted, ms: report.durationMs },
        'sync run completed',
      );
      return report;
    } catch (error) {
      report.durationMs = Date.now() - started;
      const interrupted = signal.aborted;
      const message = (error as Error).message ?? String(error);
      const paused = error instanceof ShopifyAdminError && error.kind === 'reauth_required';
      await store
        .finish(tenantId, runId, {
          status: interrupted ? 'interrupted' : 'failed',
          mode,
          report,
          error: message.slice(0, 1000),
          paused,
        })
        .catch((e) => log.warn({ err: e }, 'could not record the end of a sync run'));
      log.warn({ err: error, interrupted }, 'sync run did not complete');
      throw error;
    } finally {
      clearInterval(ticker);
    }
  }

  return {
    run,
    store,
    /** The `bulk_operations/finish` hand-over: wakes this process's waiter for that operation. */
    bulkOperationFinished(bulkOperationId: string) {
      bulkFinished.emit(bulkOperationId);
    },
  };
}

/** The sync engine of one process. */
export type SyncEngine = ReturnType<typeof createSyncEngine>;
