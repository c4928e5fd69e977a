import { randomUUID } from 'node:crypto';
import type { Database } from '../platform/db/client.ts';
import type { Logger } from '../platform/logger.ts';
import { type Mirror, type Resource, SPECS } from '../mirror/index.ts';
import { type AdminClient, ShopifyAdminError } from '../shopify/index.ts';
import { createBackfill } from './backfill.ts';
import { createBulkOperations } from './bulk-operations.ts';
import { createIncremental } from './incremental.ts';
import { createReconcile } from './reconcile.ts';
import {
  createRunTools,
  LeaseLost,
  type Progress,
  type RunContext,
  type SyncMode,
  type SyncReport,
  type SyncSettings,
  type SyncTrigger,
} from './run-context.ts';
import { createSyncStateStore, ridingOutOutages } from './state.ts';

export type { Progress, SyncMode, SyncReport, SyncSettings, SyncTrigger } from './run-context.ts';

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
  const direct = createSyncStateStore(database);
  const store = ridingOutOutages(direct, settings.databaseOutageMs);
  const tools = createRunTools({ database, logger, mirror, settings, store });
  const { heartbeat } = tools;
  const bulk = createBulkOperations(tools, { fetch: deps.fetch });
  const backfill = createBackfill(tools, bulk);
  const incremental = createIncremental(tools, bulk);
  const reconcile = createReconcile(tools);

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
        // The background heartbeat tries once per tick (the next tick tries again).
        direct.heartbeat(tenantId, runId, settings.leaseSeconds).then(
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
      bulk.finished(bulkOperationId);
    },
  };
}

/** The sync engine of one process. */
export type SyncEngine = ReturnType<typeof createSyncEngine>;
