import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type Database, openDatabase } from '../../src/platform/db/client.ts';
import { migrate } from '../../src/platform/db/migrate.ts';
import { createJobs, type Jobs } from '../../src/platform/jobs.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { createMetrics, type Metrics } from '../../src/platform/metrics.ts';
import { createTestDatabase } from '../support/database.ts';

let database: Database;
let jobs: Jobs;
let metrics: Metrics;
let drop: () => Promise<void>;

/** Resolves when `predicate` holds, polling every 50 ms (bounded so a failure cannot hang). */
async function eventually<T>(
  read: () => Promise<T> | T,
  predicate: (v: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (predicate(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const handled: string[] = [];
/** The `test.parallel` queue: how many of its jobs ran at once, and which finished. */
const parallel = { running: 0, max: 0, finished: [] as number[] };
const slowFinished: string[] = [];
let flakyAttempts = 0;

beforeAll(async () => {
  const test = await createTestDatabase();
  drop = test.drop;
  database = await openDatabase({
    databaseUrl: test.databaseUrl,
    dataDir: mkdtempSync(path.join(tmpdir(), 'storeops-jobs-')),
  });
  await migrate(database);
  metrics = createMetrics();
  jobs = createJobs({ database, logger: createLogger({ level: 'silent' }), metrics });
  jobs.define({
    name: 'test.greet',
    schema: z.object({ name: z.string().min(1) }),
    pollingIntervalSeconds: 0.5,
    handler: async (job) => {
      handled.push(job.data.name);
    },
  });
  jobs.define({
    name: 'test.always-fails',
    schema: z.object({ n: z.number() }),
    retryLimit: 2,
    retryDelaySeconds: 1,
    retryBackoff: false,
    pollingIntervalSeconds: 0.5,
    handler: async () => {
      flakyAttempts++;
      throw new Error('upstream is down');
    },
  });
  jobs.define({
    name: 'test.slow',
    schema: z.object({ id: z.string() }),
    pollingIntervalSeconds: 0.5,
    handler: async (job) => {
      await new Promise((r) => setTimeout(r, 1500));
      slowFinished.push(job.data.id);
    },
  });
  jobs.define({
    name: 'test.parallel',
    schema: z.object({ n: z.number() }),
    concurrency: 2,
    pollingIntervalSeconds: 0.5,
    handler: async (job) => {
      parallel.running++;
      parallel.max = Math.max(parallel.max, parallel.running);
      // Hold the job until a second one runs beside it (bounded, so one worker alone still ends).
      const deadline = Date.now() + 5_000;
      while (parallel.max < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      parallel.running--;
      parallel.finished.push(job.data.n);
    },
  });
  jobs.define({
    name: 'test.nightly',
    schema: z.object({ scope: z.string() }),
    cron: [{ schedule: '0 3 * * *', data: { scope: 'all' } }],
    handler: async () => {},
  });
  await jobs.start({ work: true });
});
afterAll(async () => {
  await jobs?.stop(2000);
  await database?.close();
  await drop?.();
});

describe('jobs', () => {
  it('runs a sent job through its handler', async () => {
    await jobs.send('test.greet', { name: 'ada' });
    await eventually(
      () => handled,
      (h) => h.includes('ada'),
    );
    expect(await metrics.registry.getSingleMetricAsString('storeops_jobs_processed_total')).toMatch(
      /queue="test.greet",outcome="completed"\} 1/,
    );
  });

  it('rejects a payload that does not match the queue schema', async () => {
    await expect(jobs.send('test.greet', { name: '' })).rejects.toThrow();
    await expect(jobs.send('test.unknown', {})).rejects.toThrow(/unknown queue/);
  });

  it('enqueues atomically with the surrounding transaction', async () => {
    await expect(
      database.transaction(async (tx) => {
        await jobs.send('test.greet', { name: 'rolled-back' }, { tx });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    await database.transaction(async (tx) => {
      await jobs.send('test.greet', { name: 'committed' }, { tx });
    });
    await eventually(
      () => handled,
      (h) => h.includes('committed'),
    );
    const { rows } = await database.query(
      `SELECT 1 FROM pgboss.job WHERE name = 'test.greet' AND data->>'name' = 'rolled-back'`,
    );
    expect(rows).toHaveLength(0);
  });

  it('retries a failing job and then moves it to the dead-letter queue', async () => {
    const id = await jobs.send('test.always-fails', { n: 1 });
    const job = await eventually(
      () => jobs.getJob('test.always-fails', id!),
      (j) => j?.state === 'failed',
    );
    expect(job!.retryCount).toBe(2);
    expect(flakyAttempts).toBe(3);
    const dead = await eventually(
      async () =>
        (
          await database.query<{ data: { n: number } }>(
            `SELECT data FROM pgboss.job WHERE name = 'test.always-fails.dead'`,
          )
        ).rows,
      (rows) => rows.length === 1,
    );
    expect(dead[0].data).toEqual({ n: 1 });
  });

  it('registers cron schedules', async () => {
    const schedules = await jobs.boss.getSchedules();
    expect(schedules.find((s) => s.name === 'test.nightly')).toMatchObject({ cron: '0 3 * * *' });
  });

  it('runs up to `concurrency` jobs of one queue at once in a process', async () => {
    await jobs.send('test.parallel', { n: 1 });
    await jobs.send('test.parallel', { n: 2 });
    await eventually(
      () => parallel.finished,
      (f) => f.length === 2,
    );
    expect(parallel.max).toBe(2);
  });

  it('lets a running job finish on graceful stop', async () => {
    await jobs.send('test.slow', { id: 'in-flight' });
    await eventually(
      async () =>
        (await database.query(`SELECT state FROM pgboss.job WHERE name = 'test.slow'`)).rows as {
          state: string;
        }[],
      (rows) => rows[0]?.state === 'active',
    );
    await jobs.stop(10_000);
    expect(slowFinished).toEqual(['in-flight']);
    const { rows } = await database.query<{ state: string }>(
      `SELECT state FROM pgboss.job WHERE name = 'test.slow'`,
    );
    expect(rows[0].state).toBe('completed');
  });
});

describe('jobs in a process that does not work them (serve --role api)', () => {
  it('sends inside a transaction on a queue created at start', async () => {
    // Regression: on PGlite pg-boss's first look-up of a new queue waited behind the open
    // transaction on the one connection, so an install callback hung in `--role api`.
    const apiJobs = createJobs({ database, logger: createLogger({ level: 'silent' }), metrics });
    apiJobs.define({ name: 'test.api-only', schema: z.object({ n: z.number() }), handler: async () => {} });
    await apiJobs.start({ work: false });
    try {
      const sent = database.transaction((tx) => apiJobs.send('test.api-only', { n: 1 }, { tx }));
      const hung = new Promise((_, reject) =>
        setTimeout(() => reject(new Error('send in a transaction did not return within 15 s')), 15_000),
      );
      expect(await Promise.race([sent, hung])).toEqual(expect.any(String));
      const { rows } = await database.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'test.api-only'`,
      );
      expect(rows[0].n).toBe(1);
    } finally {
      await apiJobs.stop(1000);
    }
  });
});
