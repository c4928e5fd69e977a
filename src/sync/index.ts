import { z } from 'zod';
import type { Database } from '../platform/db/client.ts';
import { isAppError } from '../platform/errors.ts';
import type { Jobs } from '../platform/jobs.ts';
import type { App, Role } from '../platform/http/server.ts';
import type { Logger } from '../platform/logger.ts';
import { type Shopify, ShopifyAdminError } from '../shopify/index.ts';
import { createSyncEngine, type SyncMode, type SyncSettings, type SyncTrigger } from './engine.ts';
import { type Mirror, RESOURCES, type Resource } from '../mirror/index.ts';
import { registerSyncRoutes } from './routes.ts';
import { dueRuns, type SyncSchedule, setSchedule, statesForTick } from './schedule.ts';
import { readStatus } from './status.ts';
import type { Subscribe } from '../webhooks/index.ts';
import { bulkFinishedHandler } from './bulk-webhook.ts';

/*
 * The sync module (issue 7): backfill, incremental, reconcile and status for every connected shop,
 * writing into the mirror through its door (the mirror serves the data API). Runs are pg-boss jobs (`sync.run`); the `sync.tick` cron (every
 * minute) queues scheduled incremental runs and reconciles per tenant and resumes runs whose
 * process died (their lease expired). A new connection queues a full backfill.
 */

/** An asked-for run that finds another one in progress is queued again this many seconds later. */
const IN_PROGRESS_RETRY_SECONDS = 2;

const runJobSchema = z.object({
  tenantId: z.uuid(),
  resource: z.enum(RESOURCES),
  mode: z.enum(['full', 'incremental', 'reconcile']),
  trigger: z.enum(['api', 'cli', 'schedule', 'install', 'resume', 'job']),
});
type RunJob = z.infer<typeof runJobSchema>;

/** Everything the sync module holds, without its routes. */
function createSyncCore(deps: {
  database: Database;
  jobs: Jobs;
  logger: Logger;
  mirror: Mirror;
  shopify: Pick<Shopify, 'adminClient' | 'events'>;
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
    databaseOutageMs: 30_000,
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

  const tickQueue = jobs.define<Record<string, never>>({
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
    const due = dueRuns(await statesForTick(database), Date.now());
    for (const { tenantId, resource, mode, trigger } of due) {
      await runQueue.send(
        { tenantId, resource, mode, trigger },
        { singletonKey: `${tenantId}:${resource}:${mode}`, singletonSeconds: 60 },
      );
    }
    return { queued: due.length };
  }

  return {
    /** Runs one resource now, in the caller's flow (CLI, tests); throws 409 while a run holds the lease. */
    run: engine.run,
    start,
    status: (tenantId: string) => readStatus({ database, mirror, store: engine.store }, tenantId),
    setSchedule: (tenantId: string, schedule: SyncSchedule) => setSchedule(database, tenantId, schedule),
    tick,
    /**
     * A worker that starts may be replacing one that died mid-run (SIGKILL, OOM, a lost host): one
     * tick a lease after the start resumes such runs then, not at the next minute's tick after
     * their lease ran out.
     */
    tickAfterLease: () => tickQueue.send({}, { startAfter: settings.leaseSeconds + 1 }),
    settings,
    queues: { run: runQueue.name, tick: tickQueue.name },
  };
}

/** The sync module without its routes (what its own routes use). */
export type SyncCore = ReturnType<typeof createSyncCore>;

/** Builds the sync module: the engine, its jobs, and the sync routes (read with the mirror's `data:read`). */
export function createSync(deps: Parameters<typeof createSyncCore>[0]) {
  const sync = createSyncCore(deps);
  return {
    ...sync,
    /** Sync status and runs. */
    routes(app: App, role: Role): void {
      if (role !== 'worker') registerSyncRoutes(app, { sync });
      if (role !== 'api')
        app.addHook('onReady', async () => {
          // Not worth failing a start over: the minute tick does the same, only later.
          await sync
            .tickAfterLease()
            .catch((error) => deps.logger.warn({ err: error }, 'sync: no start-up tick'));
        });
    },
  };
}

/** The sync module of one process. */
export type Sync = ReturnType<typeof createSync>;
