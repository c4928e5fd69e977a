// `npm run bench scale` — the webhook burst through 1 and then 2 API processes (issue 15).
//
// For each layout, a fresh database on DATABASE_URL's server (default
// postgres://postgres@127.0.0.1:5432/test), `storeops migrate`, N `serve --role api` processes and
// two `serve --role worker` processes, a simulator shop installed through OAuth; then BENCH_N
// (default 3000) signed products/update deliveries from BENCH_C (default 32) concurrent senders,
// spread round-robin over the APIs. Prints acknowledged/s with the p99 acknowledgement latency and
// applied/s (first send → last event processed) with the p99 of received → processed. Everything
// runs on this machine's 2 cores, which bound what a second API process can add.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startShopifySim } from '../src/devtools/shopify-sim/index.ts';
import { createTestDatabase } from '../test/support/database.ts';
import { type CliProcess, spawnCli } from '../test/support/process.ts';
import { signedDelivery } from '../test/support/webhooks.ts';

const N = Number(process.env.BENCH_N ?? 3000);
const C = Number(process.env.BENCH_C ?? 32);
const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const apiSecret = `shpss_${randomBytes(16).toString('hex')}`;

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

const p99 = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0;
};

async function layout(apis: number) {
  const shop = `scale-${apis}-${randomBytes(3).toString('hex')}.myshopify.com`;
  const sim = await startShopifySim({ apiKey: 'scale-app', apiSecret });
  sim.createShop({ shop, products: 5, customers: 5, orders: 5 });
  const database = await createTestDatabase(SERVER_URL);
  const dirs: string[] = [];
  const children: CliProcess[] = [];
  const client = new pg.Client({ connectionString: database.databaseUrl });
  try {
    const ports = await Promise.all(Array.from({ length: apis + 2 }, freePort));
    const env = {
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      // `info`: the harness waits for the "listening" line (access log lines come along).
      LOG_LEVEL: 'info',
      DATABASE_URL: database.databaseUrl!,
      STOREOPS_AUTO_MIGRATE: 'false',
      STOREOPS_PUBLIC_URL: `http://127.0.0.1:${ports[0]}`,
      STOREOPS_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
      STOREOPS_SESSION_SECRET: randomBytes(48).toString('base64url'),
      STOREOPS_API_KEY_PEPPER: randomBytes(48).toString('base64url'),
      SHOPIFY_API_KEY: 'scale-app',
      SHOPIFY_API_SECRET: apiSecret,
      SHOPIFY_ADMIN_URL_TEMPLATE: sim.adminUrlTemplate,
      RATE_LIMIT_PER_MINUTE: '1000000',
    };
    const dataDir = () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'storeops-scale-'));
      dirs.push(dir);
      return dir;
    };
    const migrate = spawnCli(['migrate'], { ...env, STOREOPS_DATA_DIR: dataDir() });
    if ((await migrate.exited).code !== 0) throw new Error(migrate.output.join('\n'));
    ports.forEach((port, i) => {
      const role = i < apis ? 'api' : 'worker';
      children.push(
        spawnCli(['serve', '--role', role], { ...env, PORT: String(port), STOREOPS_DATA_DIR: dataDir() }),
      );
    });
    await Promise.all(children.map((c) => c.waitForLog('StoreOps is listening', 120_000)));
    const urls = ports.slice(0, apis).map((port) => `http://127.0.0.1:${port}`);

    const install = await fetch(`${urls[0]}/shopify/install?shop=${shop}`, { redirect: 'manual' });
    const approve = await fetch(install.headers.get('location') as string, { redirect: 'manual' });
    const callback = await fetch(approve.headers.get('location') as string, { redirect: 'manual' });
    if (callback.status !== 302) throw new Error(`install answered ${callback.status}`);
    await client.connect();
    const {
      rows: [{ tenant_id: tenantId }],
    } = await client.query('SELECT tenant_id FROM shopify_connections WHERE shop_domain = $1', [shop]);

    const deliveries = Array.from({ length: N }, (_, i) =>
      signedDelivery({
        secret: apiSecret,
        shop,
        topic: 'products/update',
        payload: { id: 700_000 + i, title: `Scale ${i}`, updated_at: new Date().toISOString() },
      }),
    );
    const ackMs: number[] = [];
    let next = 0;
    let failed = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: C }, async () => {
        while (next < N) {
          const i = next++;
          const d = deliveries[i];
          const t0 = performance.now();
          const res = await fetch(`${urls[i % urls.length]}/webhooks`, {
            method: 'POST',
            headers: d.headers,
            body: d.body,
          }).catch(() => undefined);
          await res?.arrayBuffer();
          if (res?.status === 200) ackMs.push(performance.now() - t0);
          else failed++;
        }
      }),
    );
    const ackedIn = (performance.now() - started) / 1000;
    for (const deadline = Date.now() + 300_000; Date.now() < deadline; ) {
      const { rows } = await client.query(
        `SELECT count(*)::int AS n FROM webhook_inbox WHERE tenant_id = $1 AND topic = 'products/update' AND status = 'processed'`,
        [tenantId],
      );
      if (rows[0].n >= N - failed) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const appliedIn = (performance.now() - started) / 1000;
    const { rows: latency } = await client.query(
      `SELECT extract(epoch FROM processed_at - received_at) * 1000 AS ms FROM webhook_inbox
        WHERE tenant_id = $1 AND topic = 'products/update' AND status = 'processed'`,
      [tenantId],
    );
    return {
      apis,
      acked: Math.round(ackMs.length / ackedIn),
      ackP99: Math.round(p99(ackMs)),
      applied: Math.round(latency.length / appliedIn),
      applyP99: Math.round(p99(latency.map((r) => Number(r.ms)))),
      failed,
    };
  } finally {
    await client.end().catch(() => {});
    for (const c of children) {
      c.child.kill('SIGTERM');
      await c.exited;
    }
    await sim.close();
    await database.drop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

const results = [];
for (const apis of [1, 2]) results.push(await layout(apis));
console.log(`\n${N} deliveries, ${C} concurrent senders, 2 workers, one PostgreSQL, one 2-core machine`);
console.log('| API processes | acked/s | ack p99 ms | applied/s | received→processed p99 ms | failed |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const r of results)
  console.log(`| ${r.apis} | ${r.acked} | ${r.ackP99} | ${r.applied} | ${r.applyP99} | ${r.failed} |`);
