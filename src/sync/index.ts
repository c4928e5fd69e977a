import { z } from 'zod';
import type { Database } from '../platform/db/client.ts';
import { isAppError } from '../platform/errors.ts';
import type { Jobs } from '../platform/jobs.ts';
import type { ScopeDefinition } from '../platform/http/auth.ts';
import type { App, Role } from '../platform/http/server.ts';
import type { Logger } from '../platform/logger.ts';
import type { Mirror } from '../mirror/index.ts';
import type { Shopify } from '../shopify/index.ts';
import { ShopifyAdminError } from '../shopify/index.ts';
import type { RateBudget } from './budget.ts';
import { createDataApi } from './data.ts';
import { createSyncEngine, type SyncMode, type SyncSettings, type SyncTrigger } from './engine.ts';
import { RESOURCES, type Resource } from './queries.ts';
import { registerSyncRoutes } from './routes.ts';
import type { SyncStateRow } from './state.ts';
import type { Subscribe } from '../webhooks/handler-types.ts';
import { bulkFinishedHandler } from './bulk-webhook.ts';

/*
 * The sync module (issue 7): backfill, incremental, reconcile and status for every connected shop,
 * plus the mirrored-data API. Runs are pg-boss jobs (`sync.run`); the `sync.tick` cron (every
 * minute) queues scheduled incremental runs and reconciles per tenant and resumes runs whose
 * process died (their lease expired). A new connection queues a full backfill.
 */

/** Minutes between incremental runs when a tenant has not chosen (issue 7: "configurable"). */
export const DEFAULT_INCREMENTAL_MINUTES = 15;
/** A failed backfill is resumed by the tick after this long. */
const RESUME_FAILED_AFTER_MS = 10 * 60_000;
/** An asked-for run that finds another one in progress is queued again this many seconds later. */
const IN_PROGRESS_RETRY_SECONDS = 2;
/** Hours between reconciles when a tenant has not chosen. */
export const DEFAULT_RECONCILE_HOURS = 24;

const runJobSchema = z.object({
  tenantId: z.uuid(),
  resource: z.enum(RESOURCES),
  mode: z.enum(['full', 'incremental', 'reconcile']),
  trigger: z.enum(['api', 'cli', 'schedule', 'install', 'resume', 'job']),
});
type RunJob = z.infer<typeof runJobSchema>;

/** Schedule of one tenant (null: the default; 0: off). */
export type SyncSchedule = { incrementalEveryMinutes?: number | null; reconcileEveryHours?: number | null };

/** Everything the sync module holds, without its routes. */
function createSyncCore(deps: {
  database: Database;
  jobs: Jobs;
  logger: Logger;
  mirror: Mirror;
  shopify: Pick<Shopify, 'adminClient' | 'events'>;
  budget: RateBudget;
  /** The webhooks door's `subscribe`, passed in by deps.ts so sync never imports the pipeline. */
  subscribe: Subscribe;
  settings?: Partial<SyncSettings>;
  /** Runs this process carries out at once (SYNC_CONCURRENCY). */
  concurrency?: number;
}) {
  const { database, jobs, mirror, shopify } = deps;
  const logger = deps.logger.child({ module: 'sync' });
  const pglite = database.kind === 'pglite';
  const settings: SyncSettings = {
    leaseSeconds: 60,
    overlapSeconds: 60,
    bulkThreshold: 1000,
    batchSize: pglite ? 250 : 1000,
    // PGlite runs one statement at a time: more writers would only queue.
    writers: pglite ? 1 : 3,
    bulkPollMs: 250,
    drillLimit: 500,
    bulkChunkSize: 50_000,
    ...deps.settings,
  };
  const engine = createSyncEngine({
    database,
    logger,
    mirror,
    adminClient: (tenantId) => shopify.adminClient(tenantId),
    settings,
  });

  const runQueue = jobs.define<RunJob>({
    name: 'sync.run',
    schema: runJobSchema,
    retryLimit: 5,
    retryDelaySeconds: 30,
    retryBackoff: true,
    // A million-order backfill takes minutes; the lease, not this, detects dead runs.
    expireInSeconds: 4 * 3600,
    // Runs of other tenants (and resources) go on while one tenant's backfill takes minutes.
    concurrency: deps.concurrency ?? 4,
    handler: async ({ data, retryCount }) => {
      try {
        const report = await engine.run(data.tenantId, data.resource, {
          mode: data.mode,
          trigger: retryCount > 0 ? 'job' : data.trigger,
        });
        return { written: report.written, deleted: report.deleted, reconcile: report.reconcile };
      } catch (error) {
        if (isAppError(error) && error.code === 'SYNC_IN_PROGRESS' && data.mode !== 'full') {
          // Another run holds the lease. A scheduled one is simply skipped (the next tick comes);
          // one someone asked for may concern changes the running one started too early to see,
          // so it is queued again behind it instead of being dropped. A full run retries.
          if (data.trigger === 'schedule') return { skipped: 'in progress' };
          await runQueue.send(data, { startAfter: IN_PROGRESS_RETRY_SECONDS });
          return { requeued: 'in progress' };
        }
        if (error instanceof ShopifyAdminError && error.kind === 'reauth_required')
          return { paused: error.message };
        if (isAppError(error) && error.code === 'SHOPIFY_CONNECTION_NOT_FOUND')
          return { skipped: 'not connected' };
        throw error;
      }
    },
  });

  jobs.define<Record<string, never>>({
    name: 'sync.tick',
    schema: z.object({}).strict() as z.ZodType<Record<string, never>>,
    policy: 'singleton',
    retryLimit: 1,
    cron: [{ schedule: '* * * * *', data: {} }],
    handler: async () => tick(),
  });

  shopify.events.subscribe('connection-installed', {
    name: 'sync-backfill',
    handler: async ({ data }) => {
      // A reinstall keeps the mirror: an incremental run catches up (a full one if never backfilled).
      await start(data.tenantId, { mode: data.reinstalled ? 'incremental' : 'full', trigger: 'install' });
    },
  });

  const bulkHandover = bulkFinishedHandler((op) => engine.bulkOperationFinished(op.bulkOperationId));
  deps.subscribe('shopify', bulkHandover.topics, bulkHandover);

  /** Queues runs (one job per resource); the lease keeps each tenant+resource to one run at a time. */
  async function start(
    tenantId: string,
    options: { mode: SyncMode; resources?: readonly Resource[]; trigger: SyncTrigger },
  ) {
    const queued: { resource: Resource; jobId: string | null }[] = [];
    for (const resource of options.resources ?? RESOURCES) {
      const jobId = await runQueue.send({ tenantId, resource, mode: options.mode, trigger: options.trigger });
      queued.push({ resource, jobId });
    }
    return { mode: options.mode, queued };
  }

  /** Queues due scheduled runs and resumes runs whose lease expired (their process died). */
  async function tick() {
    const { rows } = await database.query<SyncStateRow & { expired: boolean }>(
      `SELECT *, (run_id IS NOT NULL AND lease_until < now()) AS expired FROM sync_state`,
    );
    let queued = 0;
    const now = Date.now();
    for (const row of rows) {
      const send = (mode: SyncMode, trigger: SyncTrigger) =>
        runQueue
          .send(
            { tenantId: row.tenant_id, resource: row.resource, mode, trigger },
            { singletonKey: `${row.tenant_id}:${row.resource}:${mode}`, singletonSeconds: 60 },
          )
          .then(() => {
            queued++;
          });
      if (row.expired) {
        await send((row.mode as SyncMode) ?? 'incremental', 'resume');
        continue;
      }
      if (row.run_id || row.status === 'paused' || !row.backfilled_at) {
        // A backfill that failed (its job retries exhausted, or interrupted) resumes at most every
        // ten minutes, so a shop that keeps failing does not spin.
        const failedAt = row.last_error_at?.getTime() ?? 0;
        if (
          !row.run_id &&
          row.status === 'failed' &&
          row.backfill &&
          now - failedAt >= RESUME_FAILED_AFTER_MS
        )
          await send('full', 'resume');
        continue;
      }
      const every = row.incremental_every_minutes ?? DEFAULT_INCREMENTAL_MINUTES;
      const last = row.last_incremental_at?.getTime() ?? 0;
      if (every > 0 && now - last >= every * 60_000) await send('incremental', 'schedule');
      const hours = row.reconcile_every_hours ?? DEFAULT_RECONCILE_HOURS;
      const reconciled = row.last_reconcile_at?.getTime() ?? row.backfilled_at.getTime();
      if (hours > 0 && now - reconciled >= hours * 3_600_000) await send('reconcile', 'schedule');
    }
    return { queued };
  }

  /** Sets a tenant's schedule for every resource. */
  async function setSchedule(tenantId: string, schedule: SyncSchedule) {
    await database.withTenant(tenantId, async (tx) => {
      for (const resource of RESOURCES) {
        await tx.query(
          `INSERT INTO sync_state (tenant_id, resource, incremental_every_minutes, reconcile_every_hours)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (tenant_id, resource) DO UPDATE SET
             incremental_every_minutes = CASE WHEN $5 THEN excluded.incremental_every_minutes
                                              ELSE sync_state.incremental_every_minutes END,
             reconcile_every_hours = CASE WHEN $6 THEN excluded.reconcile_every_hours
                                          ELSE sync_state.reconcile_every_hours END,
             updated_at = now()`,
          [
            tenantId,
            resource,
            schedule.incrementalEveryMinutes ?? null,
            schedule.reconcileEveryHours ?? null,
            schedule.incrementalEveryMinutes !== undefined,
            schedule.reconcileEveryHours !== undefined,
          ],
        );
      }
    });
  }

  /** Per-resource state, progress, checkpoints, counts and recent runs of a tenant. */
  async function status(tenantId: string) {
    const states = new Map((await engine.store.read(tenantId)).map((s) => [s.resource, s]));
    const { counts, runs } = await database.withTenant(tenantId, async (tx) => {
      const { rows: c } = await tx.query<{ resource: Resource; live: string; deleted: string }>(
        `SELECT 'products' AS resource, count(*) FILTER (WHERE deleted_at IS NULL) AS live,
                count(*) FILTER (WHERE deleted_at IS NOT NULL) AS deleted FROM shop_products WHERE tenant_id = $1
         UNION ALL
         SELECT 'customers', count(*) FILTER (WHERE deleted_at IS NULL), count(*) FILTER (WHERE deleted_at IS NOT NULL)
           FROM shop_customers WHERE tenant_id = $1
         UNION ALL
         SELECT 'orders', count(*) FILTER (WHERE deleted_at IS NULL), count(*) FILTER (WHERE deleted_at IS NOT NULL)
           FROM shop_orders WHERE tenant_id = $1`,
        [tenantId],
      );
      const { rows: r } = await tx.query<{
        id: string;
        resource: string;
        mode: string;
        status: string;
        trigger: string;
        started_at: Date;
        finished_at: Date | null;
        report: Record<string, unknown>;
        error: string | null;
      }>(
        `SELECT id, resource, mode, status, trigger, started_at, finished_at, report, error FROM sync_runs
          WHERE tenant_id = $1 ORDER BY started_at DESC LIMIT 20`,
        [tenantId],
      );
      return { counts: new Map(c.map((x) => [x.resource, x])), runs: r };
    });
    const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);
    return {
      resources: RESOURCES.map((resource) => {
        const s = states.get(resource);
        const running = Boolean(s?.run_id && s.lease_until && s.lease_until.getTime() > Date.now());
        const done = Number(s?.done ?? 0);
        const total = s?.total === null || s?.total === undefined ? null : Number(s.total);
        const rate = s?.rate ?? null;
        const c = counts.get(resource);
        return {
          resource,
          status: running ? 'running' : s?.status === 'running' ? 'interrupted' : (s?.status ?? 'never'),
          mode: s?.mode ?? null,
          progress: {
            done,
            total,
            percent: total ? Math.min(100, Math.round((done / total) * 1000) / 10) : null,
            ratePerSecond: rate === null ? null : Math.round(rate * 10) / 10,
            etaSeconds:
              running && rate && total !== null && rate > 0
                ? Math.ceil(Math.max(0, total - done) / rate)
                : null,
          },
          checkpoint: { backfill: s?.backfill ?? null, updatedAtCursor: iso(s?.updated_at_cursor) },
          startedAt: iso(s?.started_at),
          finishedAt: iso(s?.finished_at),
          backfilledAt: iso(s?.backfilled_at),
          lastIncrementalAt: iso(s?.last_incremental_at),
          lastReconcileAt: iso(s?.last_reconcile_at),
          lastError: s?.last_error ? { message: s.last_error, at: iso(s.last_error_at) } : null,
          stored: { live: Number(c?.live ?? 0), deleted: Number(c?.deleted ?? 0) },
          schedule: {
            incrementalEveryMinutes: s?.incremental_every_minutes ?? DEFAULT_INCREMENTAL_MINUTES,
            reconcileEveryHours: s?.reconcile_every_hours ?? DEFAULT_RECONCILE_HOURS,
          },
        };
      }),
      runs: runs.map((r) => ({
        id: r.id,
        resource: r.resource,
        mode: r.mode,
        status: r.status,
        trigger: r.trigger,
        startedAt: r.started_at.toISOString(),
        finishedAt: iso(r.finished_at),
        report: r.report,
        error: r.error,
      })),
    };
  }

  return {
    /** Runs one resource now, in the caller's flow (CLI, tests); throws 409 while a run holds the lease. */
    run: engine.run,
    start,
    status,
    setSchedule,
    tick,
    /** Mirrored data reads (and live read-through) for the data API. */
    data: createDataApi({ adminClient: (tenantId) => shopify.adminClient(tenantId), mirror }),
    /** THROTTLED answers seen for a shop (status and benchmark). */
    throttledCount: (shop: string) => deps.budget.throttledCount(shop),
    settings,
    queues: { run: runQueue.name, tick: 'sync.tick' },
  };
}

/** The sync module without its routes (what its own routes use). */
export type SyncCore = ReturnType<typeof createSyncCore>;

/** The API-key scopes of this module's routes. */
export const SYNC_SCOPES: readonly ScopeDefinition[] = [
  { name: 'data:read', description: 'Read mirrored Shopify products, orders and customers, and sync status' },
];

/** Builds the sync module: the engine, its jobs, and the sync and mirrored-data routes. */
export function createSync(deps: Parameters<typeof createSyncCore>[0]) {
  const sync = createSyncCore(deps);
  return {
    ...sync,
    scopes: SYNC_SCOPES,
    /** Sync status and runs, and the mirrored-data API. */
    routes(app: App, role: Role): void {
      if (role !== 'worker') registerSyncRoutes(app, { sync });
    },
  };
}

/** The sync module of one process. */
export type Sync = ReturnType<typeof createSync>;
