/**
 * Sync benchmark (issue 7). Backfills a simulator shop of 1,000,000 orders (with line items and
 * transactions) + 50,000 products + 200,000 customers into PostgreSQL through the real sync engine
 * (Bulk Operations, streamed JSONL, batched writes, paced client) and prints rows/s, the sync
 * process's peak RSS and the THROTTLED count. In the same run: a naive baseline (paginated
 * 250-per-page GraphQL, one INSERT per row) on a sample, extrapolated, for the ratio; and a chaos
 * run (10% of Admin API answers 429 or 503) on a smaller shop that must still end with exact counts.
 *
 * The simulator runs in a child process (this file with --serve) so its memory is not counted.
 * A fresh database is created on DATABASE_URL's server (default postgres://postgres@127.0.0.1:5432)
 * and dropped at the end. Loopback only; exits by itself.
 *   npm run bench:sync                       full size
 *   SYNC_BENCH_ORDERS=100000 npm run bench:sync   smaller
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDatabase } from '../test/support/database.ts';
import { preferSmallHeap } from '../src/devtools/shopify-sim/cli.ts';
import { startShopifySim } from '../src/devtools/shopify-sim/index.ts';

if (process.argv.includes('--serve')) {
  // The simulator stands in for Shopify: its memory is not measured, and --optimize-for-size
  // (preferSmallHeap) made its export ~60% slower on the CPU it shares with the sync process.
  if (process.env.SIM_SMALL_HEAP) preferSmallHeap();
  const served = await startShopifySim({
    apiKey: 'bench-key',
    apiSecret: 'bench-secret',
    seed: 7,
    plan: 'standard',
  });
  process.send?.({ url: served.url, adminUrlTemplate: served.adminUrlTemplate });
  // The simulator's CPU time on request: the bench splits the backfill's cost by process.
  process.on('message', (m) => {
    if (m === 'cpu') process.send?.({ cpu: process.cpuUsage() });
  });
  process.on('disconnect', () => {
    served.close().then(() => process.exit(0));
  });
  await new Promise(() => {});
}

// The sync process runs with a bounded V8 heap, as a worker should be deployed: without a limit V8
// lets garbage pile up to hundreds of MB on a machine with plenty of RAM before it collects.
// A 32 MB young generation halves the scavenges of a backfill's short-lived JSON (-12 % CPU of the
// sync process on 200,000 orders) for ~40 MB more RSS.
const HEAP_FLAGS = ['--max-old-space-size=256', '--max-semi-space-size=32'];
// Extra V8 flags for both processes, e.g. SYNC_BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/p"
// (NODE_OPTIONS refuses --cpu-prof); the simulator child inherits them.
const EXTRA_FLAGS = (process.env.SYNC_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
if (!process.env.STOREOPS_SYNC_BENCH_CHILD && !process.argv.includes('--serve')) {
  const { spawn } = await import('node:child_process');
  const self = spawn(process.execPath, [...HEAP_FLAGS, ...EXTRA_FLAGS, import.meta.filename], {
    env: { ...process.env, STOREOPS_SYNC_BENCH_CHILD: '1' },
    stdio: 'inherit',
  });
  process.exit(await new Promise<number>((resolve) => self.on('exit', (code) => resolve(code ?? 1))));
}

const ORDERS = Number(process.env.SYNC_BENCH_ORDERS ?? 1_000_000);
const PRODUCTS = Number(process.env.SYNC_BENCH_PRODUCTS ?? 50_000);
const CUSTOMERS = Number(process.env.SYNC_BENCH_CUSTOMERS ?? 200_000);
const NAIVE_SAMPLE = Number(process.env.SYNC_BENCH_NAIVE_SAMPLE ?? 2_500);
const CHAOS_ORDERS = Number(process.env.SYNC_BENCH_CHAOS_ORDERS ?? 20_000);
const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SCOPES = ['read_products', 'read_orders', 'read_customers'];

// The simulator stands in for Shopify: not the worker's heap limits, a young generation sized for
// its export's garbage.
const child = fork(import.meta.filename, ['--serve'], {
  execArgv: ['--max-semi-space-size=64', ...EXTRA_FLAGS],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const sim = await new Promise<{ url: string; adminUrlTemplate: string }>((resolve, reject) => {
  child.once('message', (m: any) => resolve(m));
  child.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
});

async function control(method: string, pathname: string, body?: unknown) {
  const res = await fetch(`${sim.url}${pathname}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${pathname}: ${res.status} ${await res.text()}`);
  return (await res.json()) as any;
}

// A fresh database on the server, dropped at the end.
const fresh = await createTestDatabase(SERVER_URL);
const dbUrl = new URL(fresh.databaseUrl as string);
const dbName = dbUrl.pathname.slice(1);
const dataDir = mkdtempSync(path.join(tmpdir(), 'storeops-sync-bench-'));

let peakRss = 0;
let peakHeap = 0;
// rss() alone is cheap; the full memoryUsage() (heap statistics) every 20 ms cost ~1 % of the CPU.
let ticks = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  if (++ticks % 10 === 0) peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
}, 20);
const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
const cpuSeconds = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;
/** The simulator's CPU seconds so far. */
const simCpu = () =>
  new Promise<number>((resolve) => {
    const onMessage = (m: any) => {
      if (!m?.cpu) return;
      child.off('message', onMessage);
      resolve(cpuSeconds(m.cpu));
    };
    child.on('message', onMessage);
    child.send('cpu');
  });
/**
 * CPU seconds of the PostgreSQL backends serving the bench database, from /proc (Linux, loopback
 * server): sampled every 500 ms so backends that close in between are still counted.
 */
const pgCpu = new Map<string, { first: number; last: number }>();
const TICK = 100; // USER_HZ on Linux
function samplePg() {
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return;
  }
  for (const pid of pids) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dbName)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cpu = (Number(f[11]) + Number(f[12])) / TICK;
      const seen = pgCpu.get(pid);
      if (seen) seen.last = cpu;
      else pgCpu.set(pid, { first: cpu, last: cpu });
    } catch {}
  }
}
const pgSeconds = () => [...pgCpu.values()].reduce((sum, v) => sum + v.last - v.first, 0);
const pgSampler = setInterval(samplePg, 500);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const { loadConfig } = await import('../src/platform/config.ts');
const { createDeps } = await import('../src/deps.ts');
const { migrate } = await import('../src/platform/db/migrate.ts');
const config = loadConfig({
  NODE_ENV: 'development',
  LOG_LEVEL: 'warn',
  STOREOPS_DATA_DIR: dataDir,
  DATABASE_URL: dbUrl.toString(),
  SHOPIFY_API_KEY: 'bench-key',
  SHOPIFY_API_SECRET: 'bench-secret',
  SHOPIFY_ADMIN_URL_TEMPLATE: sim.adminUrlTemplate,
});
const deps = await createDeps(config);
const baselineRss = process.memoryUsage.rss();
// Optional tuning knobs (defaults are the product's): batch size, writers, records per bulk range.
for (const [name, key] of [
  ['SYNC_BENCH_BATCH', 'batchSize'],
  ['SYNC_BENCH_WRITERS', 'writers'],
  ['SYNC_BENCH_CHUNK', 'bulkChunkSize'],
] as const) {
  if (process.env[name]) deps.sync.settings[key] = Number(process.env[name]);
}

type Counts = { products: number; customers: number; orders: number; lines: number; variants: number };

async function connect(shop: string) {
  const { access_token } = await control('POST', `/_sim/shops/${shop}/tokens`, { scopes: SCOPES });
  const stored = await deps.shopify.connections.storeGrant({
    shop,
    source: 'manual',
    info: { name: shop, currencyCode: 'USD', ianaTimezone: 'UTC' },
    grant: {
      accessToken: access_token,
      scopes: SCOPES,
      expiresAt: null,
      refreshToken: null,
      refreshTokenExpiresAt: null,
    },
  });
  return stored.tenantId;
}

async function stored(tenantId: string): Promise<Counts> {
  const one = async (sql: string) =>
    Number((await deps.database.query<{ n: string }>(sql, [tenantId])).rows[0].n);
  return {
    products: await one(
      'SELECT count(*) AS n FROM shop_products WHERE tenant_id = $1 AND deleted_at IS NULL',
    ),
    variants: await one('SELECT count(*) AS n FROM shop_product_variants WHERE tenant_id = $1'),
    customers: await one(
      'SELECT count(*) AS n FROM shop_customers WHERE tenant_id = $1 AND deleted_at IS NULL',
    ),
    orders: await one('SELECT count(*) AS n FROM shop_orders WHERE tenant_id = $1 AND deleted_at IS NULL'),
    lines: await one('SELECT count(*) AS n FROM shop_order_line_items WHERE tenant_id = $1'),
  };
}

let exitCode = 0;
try {
  await migrate(deps.database);
  await deps.jobs.start({ work: false });

  // ---- 1. The paced bulk backfill -------------------------------------------------------------
  const shop = `bench-${randomBytes(3).toString('hex')}.myshopify.com`;
  await control('POST', '/_sim/shops', { shop, products: PRODUCTS, customers: CUSTOMERS, orders: ORDERS });
  const tenantId = await connect(shop);
  console.log(
    `sync bench: ${fmt(ORDERS)} orders, ${fmt(PRODUCTS)} products, ${fmt(CUSTOMERS)} customers → PostgreSQL ${dbName}`,
  );
  console.log(`  (2 shared cores: figures may be depressed by other work on this machine)`);
  console.log(`  sync process V8 flags: ${HEAP_FLAGS.join(' ')}`);
  const timings: Record<string, number> = {};
  const phases: Record<string, string> = {};
  const cpu: Record<string, { sync: number; sim: number; pg: number }> = {};
  for (const resource of ['products', 'customers', 'orders'] as const) {
    samplePg();
    const before = { sync: process.cpuUsage(), sim: await simCpu(), pg: pgSeconds() };
    const started = performance.now();
    const report = await deps.sync.run(tenantId, resource, { mode: 'full', trigger: 'cli' });
    timings[resource] = (performance.now() - started) / 1000;
    samplePg();
    cpu[resource] = {
      sync: cpuSeconds(process.cpuUsage(before.sync)),
      sim: (await simCpu()) - before.sim,
      pg: pgSeconds() - before.pg,
    };
    const t = report.timings;
    phases[resource] = t
      ? ` [export ${(t.exportMs / 1000).toFixed(1)} s, stream+write ${(t.writeMs / 1000).toFixed(1)} s]`
      : '';
  }
  const counts = await stored(tenantId);
  const throttled = await deps.shopify.throttledCount(shop);
  const rssAfterMain = peakRss;
  console.log('\n  paced bulk backfill (export + stream + write, end to end)');
  console.log(
    `    products   ${fmt(counts.products)} (+${fmt(counts.variants)} variants) in ${timings.products.toFixed(1)} s → ${fmt(counts.products / timings.products)} products/s${phases.products}`,
  );
  console.log(
    `    customers  ${fmt(counts.customers)} in ${timings.customers.toFixed(1)} s → ${fmt(counts.customers / timings.customers)} customers/s${phases.customers}`,
  );
  console.log(
    `    orders     ${fmt(counts.orders)} (+${fmt(counts.lines)} line items) in ${timings.orders.toFixed(1)} s → ${fmt(counts.orders / timings.orders)} orders/s, ${fmt((counts.orders + counts.lines) / timings.orders)} rows/s${phases.orders}`,
  );
  const c = cpu.orders;
  console.log(
    `    CPU of the orders backfill: sync process ${c.sync.toFixed(1)} s, simulator (export + serving) ${c.sim.toFixed(1)} s, ` +
      `PostgreSQL backends ${c.pg.toFixed(1)} s = ${(c.sync + c.sim + c.pg).toFixed(1)} s on 2 cores ` +
      `(≥ ${((c.sync + c.sim + c.pg) / 2).toFixed(1)} s of wall time even with nothing else running)`,
  );
  console.log(
    `    peak RSS of the sync process: ${mb(rssAfterMain)} MB (after start-up, before syncing: ${mb(baselineRss)} MB; peak JS heap ${mb(peakHeap)} MB)`,
  );
  console.log(`    THROTTLED answers: ${throttled}`);
  const exact = counts.orders === ORDERS && counts.products === PRODUCTS && counts.customers === CUSTOMERS;
  console.log(`    counts exact: ${exact ? 'yes' : 'NO'}`);
  if (!exact) exitCode = 1;

  // ---- 2. Naive baseline: 250 per page, one INSERT per row (sample, extrapolated) --------------
  const naiveTenant = await connect(`naive-${randomBytes(3).toString('hex')}.myshopify.com`);
  const client = await deps.shopify.adminClient(tenantId);
  const naiveQuery = `query($after: String) { orders(first: 250, after: $after, sortKey: ID) {
    nodes { id name email createdAt updatedAt displayFinancialStatus currencyCode totalPriceSet { shopMoney { amount } } }
    pageInfo { hasNextPage endCursor } } }`;
  const naiveStarted = performance.now();
  let after: string | null = null;
  let naiveRows = 0;
  while (naiveRows < NAIVE_SAMPLE) {
    const { data }: { data: any } = await client.request<any>(naiveQuery, { after });
    for (const o of data.orders.nodes) {
      await deps.database.withTenant(naiveTenant, (tx) =>
        tx.query(
          `INSERT INTO shop_orders (tenant_id, id, name, email, currency, financial_status, total_price,
                  shopify_created_at, shopify_updated_at, source)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'sync') ON CONFLICT DO NOTHING`,
          [
            naiveTenant,
            Number(o.id.split('/').pop()),
            o.name,
            o.email,
            o.currencyCode,
            o.displayFinancialStatus?.toLowerCase(),
            o.totalPriceSet.shopMoney.amount,
            o.createdAt,
            o.updatedAt,
          ],
        ),
      );
      naiveRows++;
    }
    if (!data.orders.pageInfo.hasNextPage) break;
    after = data.orders.pageInfo.endCursor;
  }
  const naiveSeconds = (performance.now() - naiveStarted) / 1000;
  const naiveRate = naiveRows / naiveSeconds;
  const pacedRate = counts.orders / timings.orders;
  console.log('\n  naive baseline (paginated 250-per-page GraphQL, one INSERT per row, no line items)');
  console.log(
    `    sample ${fmt(naiveRows)} orders in ${naiveSeconds.toFixed(1)} s → ${naiveRate.toFixed(1)} orders/s; ` +
      `extrapolated to ${fmt(ORDERS)} orders: ${(ORDERS / naiveRate / 3600).toFixed(1)} h`,
  );
  console.log(
    `    (bounded by the cost bucket: a 250-order page costs ~750 points against a 100 points/s restore)`,
  );
  console.log(`    bulk path is ${Math.round(pacedRate / naiveRate)}× faster (and includes line items)`);

  // ---- 3. Chaos: 10% of Admin API answers are 429 or 503 ---------------------------------------
  const chaosShop = `chaos-${randomBytes(3).toString('hex')}.myshopify.com`;
  const chaosSizes = {
    products: Math.min(PRODUCTS, 2000),
    customers: Math.min(CUSTOMERS, 5000),
    orders: CHAOS_ORDERS,
  };
  await control('POST', '/_sim/shops', { shop: chaosShop, ...chaosSizes });
  const chaosTenant = await connect(chaosShop);
  await control('PUT', `/_sim/shops/${chaosShop}/chaos`, {
    http429Rate: 0.05,
    http5xxRate: 0.05,
    retryAfterSeconds: 1,
  });
  const chaosStarted = performance.now();
  for (const resource of ['products', 'customers', 'orders'] as const) {
    await deps.sync.run(chaosTenant, resource, { mode: 'full', trigger: 'cli' });
  }
  const chaosSeconds = (performance.now() - chaosStarted) / 1000;
  await control('PUT', `/_sim/shops/${chaosShop}/chaos`, { http429Rate: 0, http5xxRate: 0 });
  const chaosCounts = await stored(chaosTenant);
  const chaosExact =
    chaosCounts.orders === chaosSizes.orders &&
    chaosCounts.products === chaosSizes.products &&
    chaosCounts.customers === chaosSizes.customers;
  console.log('\n  chaos (5% 429 + 5% 503 on every Admin API call)');
  console.log(
    `    ${fmt(chaosCounts.orders)} orders, ${fmt(chaosCounts.products)} products, ${fmt(chaosCounts.customers)} customers in ${chaosSeconds.toFixed(1)} s; counts exact: ${chaosExact ? 'yes' : 'NO'}`,
  );
  if (!chaosExact) exitCode = 1;
  console.log(`\n  peak RSS of the sync process over the whole run: ${mb(peakRss)} MB`);
} catch (error) {
  console.error('sync bench failed:', error);
  exitCode = 1;
} finally {
  clearInterval(sampler);
  clearInterval(pgSampler);
  await deps.jobs.stop(1000).catch(() => {});
  await deps.database.close().catch(() => {});
  child.disconnect();
  await fresh.drop();
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(exitCode);
