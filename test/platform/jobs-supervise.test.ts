import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type Database, openDatabase } from '../../src/platform/db/client.ts';
import { migrate } from '../../src/platform/db/migrate.ts';
import { createJobs, type Jobs } from '../../src/platform/jobs.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { createMetrics } from '../../src/platform/metrics.ts';
import { createTestDatabase } from '../support/database.ts';

// pg-boss's supervisor (queue monitoring and maintenance) sends multi-statement scripts and reads
// one result per statement, as node-postgres returns them. On PGlite it used to get a single
// result and failed every 30 s with "results.flatMap is not a function".

let database: Database;
let jobs: Jobs;
let drop: () => Promise<void>;
const logged: { level: number; msg: string; err?: { message: string } }[] = [];

beforeAll(async () => {
  const test = await createTestDatabase();
  drop = test.drop;
  database = await openDatabase({
    databaseUrl: test.databaseUrl,
    dataDir: mkdtempSync(path.join(tmpdir(), 'storeops-supervise-')),
  });
  await migrate(database);
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) logged.push(JSON.parse(line));
      done();
    },
  });
  jobs = createJobs({
    database,
    logger: createLogger({ level: 'info', destination }),
    metrics: createMetrics(),
  });
  jobs.define({ name: 'test.monitored', schema: z.object({ n: z.number() }), handler: async () => {} });
  await jobs.start({ work: false });
});
afterAll(async () => {
  await jobs?.stop(2000);
  await database?.close();
  await drop?.();
});

describe('pg-boss supervisor', () => {
  it('monitors and maintains every queue without an error on this engine', async () => {
    await jobs.send('test.monitored', { n: 1 });
    await jobs.send('test.monitored', { n: 2 });
    // What the 30-second supervise timer runs: monitor (cache queue stats, expire jobs), maintain.
    await jobs.boss.supervise();
    const errors = logged.filter((line) => line.level >= 50);
    expect(errors).toEqual([]);
    // Monitoring really ran: the queue's cached counts were refreshed from the job table.
    expect(await jobs.queueStats('test.monitored')).toMatchObject({ queuedCount: 2 });
  });
});
