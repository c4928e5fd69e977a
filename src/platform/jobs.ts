import PgBoss from 'pg-boss';
import type { ZodType } from 'zod';
import type { Database, Tx } from './db/client.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';

/** A job as a handler sees it. */
export type JobContext<T> = { id: string; queue: string; data: T; retryCount: number };

/** Declares one queue: payload schema, handler, retry/backoff, dead letters, optional cron. */
export type QueueDefinition<T> = {
  /** Letters, digits, `-`, `_` and `.`; the dead-letter queue is `<name>.dead`. */
  name: string;
  /** Validates payloads when sent (bad payloads never reach the queue). */
  schema: ZodType<T>;
  handler: (job: JobContext<T>) => Promise<unknown>;
  /** Attempts after the first (default 5). */
  retryLimit?: number;
  /** First retry delay in seconds (default 2); doubled each time with backoff. */
  retryDelaySeconds?: number;
  retryBackoff?: boolean;
  retryDelayMaxSeconds?: number;
  /** A job running longer than this is failed and retried (default 15 min). */
  expireInSeconds?: number;
  /** pg-boss policy: `singleton` = one active at a time, `stately` = one queued + one active per key. */
  policy?: 'standard' | 'short' | 'singleton' | 'stately';
  /** Move jobs that exhausted their retries to `<name>.dead` (default true). */
  deadLetter?: boolean;
  /** Jobs fetched per poll; each is still handled on its own. */
  batchSize?: number;
  /**
   * Jobs of this queue a process runs at once (default 1). Long jobs (a tenant's backfill) would
   * otherwise hold every other tenant's jobs of the queue until they finish.
   */
  concurrency?: number;
  /** How often an idle worker polls (seconds, ≥ 0.5). */
  pollingIntervalSeconds?: number;
  /** Cron schedules (UTC unless tz is given) that send `data` to this queue. */
  cron?: { schedule: string; data: T; key?: string; tz?: string }[];
};

/** Options when sending; pass `tx` to enqueue atomically with the caller's writes. */
export type SendOptions = {
  tx?: Tx;
  singletonKey?: string;
  singletonSeconds?: number;
  startAfter?: number | Date;
  priority?: number;
  id?: string;
};

/** A defined queue: the typed way for modules to send jobs to it. */
export type Queue<T> = {
  name: string;
  send(data: T, options?: SendOptions): Promise<string | null>;
  /** Many jobs in one statement (bulk writers: the catalog's CSV import); `tx` as for `send`. */
  sendMany(data: readonly T[], options?: { tx?: Tx }): Promise<void>;
};

const QUEUE_NAME = /^[A-Za-z][A-Za-z0-9_.-]*$/;
const NIL_UUID = '00000000-0000-0000-0000-000000000000';

/**
 * Thin typed layer over pg-boss on the application database. Modules `define` queues at wiring
 * time; `start` creates them, and on worker roles also starts the handlers and cron schedules.
 */
export function createJobs(deps: { database: Database; logger: Logger; metrics: Metrics }) {
  const { database, logger, metrics } = deps;
  const boss = new PgBoss({
    // pg-boss 11.0.0 only lets its own Db class fetch jobs (Manager.assertDb checks `_pgbdb` and
    // `opened`), so the adapter presents itself as an opened one. It never opens or closes it.
    db: {
      _pgbdb: true,
      opened: true,
      events: {},
      on: () => {},
      executeSql: (text: string, values: unknown[]) => database.executeSql(text, values),
    } as PgBoss.Db,
    schema: 'pgboss',
    // Maintenance and cron are cheap single-statement jobs; pg-boss elects one runner itself.
    superviseIntervalSeconds: 30,
    cronMonitorIntervalSeconds: 30,
  });
  const definitions = new Map<string, QueueDefinition<any>>();
  /** pg-boss worker ids per queue (pg-boss 11 runs one job at a time per worker). */
  const workerIds = new Map<string, string[]>();
  let started = false;

  boss.on('error', (error) => logger.error({ err: error }, 'job system error'));

  function define<T>(definition: QueueDefinition<T>): Queue<T> {
    if (!QUEUE_NAME.test(definition.name)) throw new Error(`invalid queue name "${definition.name}"`);
    if (definitions.has(definition.name)) throw new Error(`queue "${definition.name}" defined twice`);
    definitions.set(definition.name, definition);
    return {
      name: definition.name,
      send: (data, options) => send(definition.name, data, options),
      sendMany: (data, options) => sendMany(definition.name, data, options),
    };
  }

  async function sendMany<T>(name: string, data: readonly T[], options: { tx?: Tx } = {}): Promise<void> {
    const definition = definitions.get(name);
    if (!definition) throw new Error(`unknown queue "${name}"`);
    if (data.length === 0) return;
    const jobs = data.map((item) => ({ name, data: definition.schema.parse(item) as object }));
    const { tx } = options;
    // One INSERT … SELECT FROM json_to_recordset for all of them (queue defaults apply as for send).
    await boss.insert(
      name,
      // pg-boss 11's type wants deleteAfterSeconds; its SQL falls back to the queue's own setting.
      jobs as PgBoss.JobInsert[],
      tx ? { db: { executeSql: (text: string, values: unknown[]) => tx.query(text, values) } } : {},
    );
    metrics.jobsSent.inc({ queue: name }, jobs.length);
    if (!tx) for (const workerId of workerIds.get(name) ?? []) boss.notifyWorker(workerId);
  }

  async function send<T>(name: string, data: T, options: SendOptions = {}): Promise<string | null> {
    const definition = definitions.get(name);
    if (!definition) throw new Error(`unknown queue "${name}"`);
    const payload = definition.schema.parse(data) as object;
    const { tx, ...rest } = options;
    const id = await boss.send(name, payload, {
      ...rest,
      // Inside a transaction the job row is written on the caller's connection and commits with it.
      ...(tx ? { db: { executeSql: (text: string, values: unknown[]) => tx.query(text, values) } } : {}),
    });
    metrics.jobsSent.inc({ queue: name });
    // Wake the local workers instead of waiting for their next poll (same process only); a busy
    // one ignores it. Inside a transaction the job is not visible until the caller commits.
    if (!tx) for (const workerId of workerIds.get(name) ?? []) boss.notifyWorker(workerId);
    return id;
  }

  async function createQueues(): Promise<void> {
    const existing = new Set((await boss.getQueues()).map((q) => q.name));
    for (const def of definitions.values()) {
      const deadLetter = def.deadLetter === false ? undefined : `${def.name}.dead`;
      if (deadLetter && !existing.has(deadLetter)) await boss.createQueue(deadLetter, { name: deadLetter });
      const options: PgBoss.Queue = {
        name: def.name,
        policy: def.policy ?? 'standard',
        retryLimit: def.retryLimit ?? 5,
        retryDelay: def.retryDelaySeconds ?? 2,
        retryBackoff: def.retryBackoff ?? true,
        // pg-boss only accepts a maximum delay together with backoff.
        ...(def.retryBackoff === false ? {} : { retryDelayMax: def.retryDelayMaxSeconds ?? 600 }),
        expireInSeconds: def.expireInSeconds ?? 900,
        deadLetter,
      };
      if (existing.has(def.name)) await boss.updateQueue(def.name, options);
      else await boss.createQueue(def.name, options);
    }
  }

  async function work(def: QueueDefinition<any>): Promise<string> {
    return await boss.work(
      def.name,
      {
        batchSize: def.batchSize ?? 1,
        pollingIntervalSeconds: def.pollingIntervalSeconds ?? 2,
        includeMetadata: true,
      },
      async (jobs: PgBoss.JobWithMetadata<unknown>[]) => {
        for (const job of jobs) {
          const stopTimer = metrics.jobDuration.startTimer({ queue: def.name });
          try {
            await def.handler({ id: job.id, queue: def.name, data: job.data, retryCount: job.retryCount });
            metrics.jobsProcessed.inc({ queue: def.name, outcome: 'completed' });
          } catch (error) {
            metrics.jobsProcessed.inc({ queue: def.name, outcome: 'failed' });
            logger.warn(
              { err: error, queue: def.name, jobId: job.id, retryCount: job.retryCount },
              'job failed',
            );
            throw error;
          } finally {
            stopTimer();
          }
        }
      },
    );
  }

  return {
    define,
    send,
    /** Starts pg-boss (installing its schema if needed). Workers and cron only when `work` is true. */
    async start(options: { work: boolean }): Promise<void> {
      await boss.start();
      await grantJobTablesToAppRole(database);
      await createQueues();
      // pg-boss looks a queue up the first time something is sent to it (outside any transaction)
      // and caches it. On PGlite's single connection that lookup would wait forever behind the
      // caller's open transaction (send with `tx`), so every queue is looked up once here instead,
      // with the cheapest call that does it (a primary-key probe for a job that never exists).
      for (const def of definitions.values()) await boss.getJobById(def.name, NIL_UUID);
      if (options.work) {
        for (const def of definitions.values()) {
          const concurrency = Math.max(1, def.concurrency ?? 1);
          const ids: string[] = [];
          for (let i = 0; i < concurrency; i++) ids.push(await work(def));
          workerIds.set(def.name, ids);
          for (const cron of def.cron ?? []) {
            await boss.schedule(def.name, cron.schedule, cron.data as object, { key: cron.key, tz: cron.tz });
          }
        }
      }
      started = true;
    },
    /** Stops fetching, lets running handlers finish within `timeoutMs`, then fails what is left. */
    async stop(timeoutMs: number): Promise<void> {
      if (!started) return;
      started = false;
      await boss.stop({ graceful: true, timeout: timeoutMs, close: false, wait: true });
    },
    /** True when the job tables answer. */
    async healthy(): Promise<boolean> {
      if (!started) return false;
      try {
        await database.query('SELECT 1 FROM pgboss.version LIMIT 1');
        return true;
      } catch {
        return false;
      }
    },
    /** Queue sizes for status pages and tests. */
    async queueStats(name: string) {
      return boss.getQueue(name);
    },
    /** Reads one job (state, output, retries) — for status pages and tests. */
    async getJob(name: string, id: string) {
      return boss.getJobById(name, id);
    },
    /** The underlying pg-boss, for the rare feature this layer does not cover. */
    boss,
  };
}

/** The job system of one process. */
export type Jobs = ReturnType<typeof createJobs>;

/**
 * Tenant-scoped transactions run as the restricted app role, and they enqueue jobs in the same
 * transaction, so that role needs the job tables (pg-boss creates one per queue, hence the
 * default privileges).
 */
async function grantJobTablesToAppRole(database: Database): Promise<void> {
  await database.query(`DO $$ BEGIN
    GRANT USAGE ON SCHEMA pgboss TO storeops_app;
    GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA pgboss TO storeops_app;
    GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA pgboss TO storeops_app;
    ALTER DEFAULT PRIVILEGES IN SCHEMA pgboss GRANT SELECT, INSERT, UPDATE ON TABLES TO storeops_app;
  EXCEPTION WHEN undefined_object THEN NULL; END $$`);
}
