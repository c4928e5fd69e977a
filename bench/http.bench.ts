// The full HTTP stack under load: bare Fastify (baseline) vs StoreOps /health (all plugins: ids,
// helmet, CORS, rate limit, metrics, logging) vs /ready (two database round trips), on PGlite and,
// when DATABASE_URL is set, on PostgreSQL. Loopback only; every phase is time-bounded.
import { createTestDatabase } from '../test/support/database.ts';
import { type LoadResult, load, printTable, startProcess, startStoreOps } from './support/harness.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const rows: LoadResult[] = [];

const hello = await startProcess('bench/support/hello-server.ts', [], {});
try {
  rows.push(await load('baseline: bare Fastify GET /hello', `${hello.url}/hello`, { seconds }));
} finally {
  await hello.stop();
}

const engines: [string, Record<string, string | undefined>][] = [['PGlite', { DATABASE_URL: undefined }]];
if (process.env.DATABASE_URL) engines.push(['PostgreSQL', { DATABASE_URL: process.env.DATABASE_URL }]);

for (const [engine, env] of engines) {
  // A fresh database on the server (dropped afterwards) so the bench never touches real data.
  const fresh = env.DATABASE_URL ? await createTestDatabase() : undefined;
  const server = await startStoreOps(fresh ? { DATABASE_URL: fresh.databaseUrl } : env);
  try {
    rows.push(await load(`StoreOps GET /health (${engine})`, `${server.url}/health`, { seconds }));
    rows.push(
      await load(`StoreOps GET /ready, 2 DB queries (${engine})`, `${server.url}/ready`, { seconds }),
    );
  } finally {
    await server.stop();
    await fresh?.drop();
  }
}

printTable(`HTTP stack, ${seconds}s per scenario, 32 connections`, rows);
