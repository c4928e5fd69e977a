// `npm run bench webhooks-inbox` — the webhook inbox's durable write alone, without HTTP (issue 6).
//
// What does storing a delivery cost the database, and how much does micro-batching save? In one run,
// on a fresh database on DATABASE_URL's server (default postgres://postgres@127.0.0.1:5432/test),
// 64 concurrent callers store realistic 4.5 KB orders/create bodies (the peer baseline's generator):
//  1. baseline: one INSERT … ON CONFLICT per delivery on a pool of 10 (what the peer does);
//  2. StoreOps's inbox writer (src/webhooks/inbox.ts): micro-batched, 3 connections, as `serve` runs it;
//  3. the same with synchronous_commit=off — NOT durable, a diagnostic only: if it is no faster, the
//     write is bound by CPU, not by waiting for the WAL flush.
// Prints deliveries/s and the CPU each delivery costs PostgreSQL (all its processes) and this Node
// process, and checks that every delivery was stored exactly once. Env: BENCH_N (30000), BENCH_C (64).
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openDatabase } from '../src/platform/db/client.ts';
import { migrate } from '../src/platform/db/migrate.ts';
import { createLogger } from '../src/platform/logger.ts';
import { createInboxWriter } from '../src/webhooks/inbox.ts';
import { createTestDatabase } from '../test/support/database.ts';

const N = Number(process.env.BENCH_N ?? 30_000);
const C = Number(process.env.BENCH_C ?? 64);
const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const PEER = path.resolve(import.meta.dirname, '../../shared/peers/webhook-baseline/shopify-payload.mjs');
const SHOP = 'bench-inbox.myshopify.com';
const TENANT = '00000000-0000-4000-8000-000000000001';

const { makeRng, buildOrder } = (await import(PEER)) as {
  makeRng(seed: number): () => number;
  buildOrder(rng: () => number, options: { shopDomain: string }): unknown;
};
const rng = makeRng(1);
const bodies = Array.from({ length: 2_000 }, () =>
  Buffer.from(JSON.stringify(buildOrder(rng, { shopDomain: SHOP }))),
);

/** CPU ticks of every PostgreSQL process on this machine by pid (Linux /proc). */
function postgresTicks(): Map<string, number> {
  const ticks = new Map<string, number>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'postgres') continue;
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks.set(pid, Number(fields[11]) + Number(fields[12]));
    } catch {
      // The process ended while we read it.
    }
  }
  return ticks;
}

/** CPU seconds PostgreSQL spent since `before`, per process (processes that ended meanwhile drop out). */
function postgresCpuSince(before: Map<string, number>): number {
  let ticks = 0;
  for (const [pid, now] of postgresTicks()) ticks += now - (before.get(pid) ?? 0);
  return ticks / 100;
}

type Store = (i: number, run: string) => Promise<unknown>;

/** Runs N stores from C closed-loop callers; returns throughput and CPU per delivery. */
async function measure(name: string, store: Store, databaseUrl: string) {
  const run = name.replace(/\W+/g, '-');
  let next = 0;
  const pgBefore = postgresTicks();
  const nodeBefore = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (next < N) await store(next++, run);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const pgCpu = postgresCpuSince(pgBefore);
  const nodeCpu = process.cpuUsage(nodeBefore);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const { rows } = await client.query<{ n: number; ids: number }>(
    `SELECT count(*)::int AS n, count(DISTINCT webhook_id)::int AS ids FROM webhook_inbox WHERE webhook_id LIKE $1`,
    [`${run}-%`],
  );
  await client.end();
  return {
    name,
    perSecond: Math.round(N / seconds),
    postgresUsPerDelivery: Math.round((pgCpu / N) * 1e6),
    nodeUsPerDelivery: Math.round(((nodeCpu.user + nodeCpu.system) / N) * 10) / 10,
    storedOnce: rows[0].n === N && rows[0].ids === N,
  };
}

const fresh = await createTestDatabase(SERVER_URL);
const url = fresh.databaseUrl as string;
const database = await openDatabase({ databaseUrl: url, dataDir: tmpdir() });
const logger = createLogger({ level: 'warn' });
const results = [];
try {
  await migrate(database);
  const delivery = (i: number, run: string) => ({
    source: 'shopify',
    dedupeKey: `${SHOP}/${run}-${i}`,
    tenantId: TENANT,
    shopDomain: SHOP,
    topic: 'orders/create',
    webhookId: `${run}-${i}`,
    eventId: `${run}-event-${i}`,
    triggeredAt: new Date().toISOString(),
    apiVersion: '2025-10',
    body: bodies[i % bodies.length],
  });

  // 1. One INSERT per delivery, as the peer baseline does.
  const single = new pg.Pool({ connectionString: url, max: 10 });
  results.push(
    await measure(
      'baseline: one INSERT per delivery (pool 10)',
      (i, run) => {
        const d = delivery(i, run);
        return single.query(
          `INSERT INTO webhook_inbox (tenant_id, shop_domain, topic, webhook_id, event_id, triggered_at,
                                      api_version, payload, payload_bytes, status, source, dedupe_key)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8::json, $9, 'pending', $10, $11)
           ON CONFLICT (source, dedupe_key) DO NOTHING RETURNING id`,
          [
            d.tenantId,
            d.shopDomain,
            d.topic,
            d.webhookId,
            d.eventId,
            d.triggeredAt,
            d.apiVersion,
            d.body,
            d.body.length,
            d.source,
            d.dedupeKey,
          ],
        );
      },
      url,
    ),
  );
  await single.end();

  // 2 and 3. The inbox writer exactly as the intake uses it (src/webhooks/index.ts).
  for (const [name, options] of [
    ['StoreOps inbox writer: micro-batched (3 connections)', undefined],
    ['  same, synchronous_commit=off (NOT durable; diagnostic)', '-c synchronous_commit=off'],
  ] as const) {
    const pool = new pg.Pool({ connectionString: url, max: 3, options });
    const inbox = createInboxWriter({ database, logger, maxInFlight: 3, execute: (s) => pool.query(s) });
    results.push(await measure(name, (i, run) => inbox.store(delivery(i, run)), url));
    await inbox.close();
    await pool.end();
  }
} finally {
  await database.close();
  await fresh.drop();
}

console.log(`\nWebhook inbox writes without HTTP: N=${N} per row, ${C} concurrent callers, 4.5 KB bodies`);
console.log(
  `${'writer'.padEnd(58)}${'/s'.padStart(8)}${'PG µs'.padStart(8)}${'Node µs'.padStart(9)}  stored once`,
);
for (const r of results)
  console.log(
    `${r.name.padEnd(58)}${String(r.perSecond).padStart(8)}${String(r.postgresUsPerDelivery).padStart(8)}${String(r.nodeUsPerDelivery).padStart(9)}  ${r.storedOnce ? 'yes' : 'NO'}`,
  );
console.log(`micro-batched vs baseline: ${(results[1].perSecond / results[0].perSecond).toFixed(2)}x`);
console.log(`\n${JSON.stringify({ n: N, concurrency: C, results })}`);
process.exitCode = results.every((r) => r.storedOnce) ? 0 : 1;
