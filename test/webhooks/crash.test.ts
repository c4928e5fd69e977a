import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { type ShopifySim, startShopifySim } from '../../src/devtools/shopify-sim/index.ts';
import { createTestDatabase } from '../support/database.ts';
import { call, createOperatorSession } from '../support/identity.ts';
import { reservedPort } from '../support/faults.ts';
import { type CliProcess, spawnCli } from '../support/process.ts';
import type { TestServer } from '../support/server.ts';
import { waitFor } from '../support/webhooks.ts';

// The crash test (issue 6): `storeops serve` is killed with SIGKILL in the middle of a burst from
// the simulator's sender, then started again on the same data. Shopify's retries (compressed by the
// simulator's time scale) bring every unacknowledged delivery back; afterwards every event the
// simulator sent is stored once and applied exactly once.

const SHOP = 'crash-shop.myshopify.com';
const PRODUCTS = 600;
const ORDERS = 400;
const apiSecret = `shpss_${randomBytes(16).toString('hex')}`;
const dataDir = mkdtempSync(path.join(tmpdir(), 'storeops-crash-'));
let sim: ShopifySim | undefined;
let server: CliProcess | undefined;
let database: { databaseUrl?: string; drop(): Promise<void> } | undefined;

afterAll(async () => {
  if (server && server.child.exitCode === null && server.child.signalCode === null) {
    server.child.kill('SIGKILL');
    await server.exited;
  }
  await sim?.close();
  await database?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

it('applies every event exactly once after a SIGKILL in the middle of a burst', async () => {
  // 8 retries over "4 hours", compressed to about 145 seconds: more than a restart takes even on a
  // loaded machine (a shorter budget fails deliveries for good while the server is still starting,
  // which Shopify's real 4 hours never would). Backoff keeps the wait after the restart about as
  // long as the restart itself.
  sim = await startShopifySim({ apiKey: 'crash-app', apiSecret, timeScale: 0.01 });
  database = await createTestDatabase();
  // The restarted server must come back on the same address (the subscriptions name it): a port
  // below the ephemeral range, which no other test's listen(0) can take while it is down.
  const port = await reservedPort();
  const url = `http://127.0.0.1:${port}`;
  const env = {
    NODE_ENV: 'test',
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    STOREOPS_DATA_DIR: dataDir,
    STOREOPS_PUBLIC_URL: url,
    SHOPIFY_API_KEY: 'crash-app',
    SHOPIFY_API_SECRET: apiSecret,
    SHOPIFY_ADMIN_URL_TEMPLATE: sim.adminUrlTemplate,
    // A killed worker's claims come back after two seconds.
    WEBHOOK_LEASE_SECONDS: '2',
    // Shopify delivers from many addresses; here the whole 1,000-delivery burst (undici keeps each
    // socket open) and the test's own calls come from 127.0.0.1, which the per-address cap is not for.
    HTTP_MAX_CONNECTIONS_PER_IP: '0',
    ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}),
  };
  const start = async () => {
    const child = spawnCli(['serve'], env);
    await child.waitForLog('StoreOps is listening', 120_000);
    return child;
  };
  server = await start();

  // Install through OAuth, then wait until the subscriptions point at the server.
  const install = await fetch(`${url}/shopify/install?shop=${SHOP}`, { redirect: 'manual' });
  const approve = await fetch(install.headers.get('location') as string, { redirect: 'manual' });
  const callback = await fetch(approve.headers.get('location') as string, { redirect: 'manual' });
  expect(callback.status).toBe(302);
  await waitFor(async () => {
    const probe = sim!.createRecord(SHOP, 'customers', {});
    const [d] = probe.deliveries;
    if (!d) return false;
    await sim!.waitForDeliveries({ eventId: d.eventId, count: 1, timeoutMs: 5_000 });
    return sim!.deliveries({ eventId: d.eventId })[0].state === 'delivered';
  }, 30_000);
  const warmup = sim.deliveries({ shop: SHOP }).length;

  // The burst: creates fire one delivery per subscription at once; the server dies in the middle.
  const created: number[] = [];
  for (let i = 0; i < PRODUCTS; i++)
    created.push(sim.createRecord(SHOP, 'products', { title: `Crash ${i}` }).id);
  const orders: number[] = [];
  for (let i = 0; i < ORDERS; i++) orders.push(sim.createRecord(SHOP, 'orders', {}).id);
  // Killed once some of the burst is acknowledged (a bound, not a timing: a loaded machine is slow).
  const burstAcknowledged = () =>
    sim!
      .deliveries({ shop: SHOP })
      .slice(warmup)
      .filter((d) => d.state === 'delivered').length;
  const deadline = Date.now() + 120_000;
  while (burstAcknowledged() < 20) {
    if (Date.now() > deadline) throw new Error('the server acknowledged none of the burst in 120 s');
    await new Promise((r) => setTimeout(r, 1));
  }
  server.child.kill('SIGKILL');
  const killed = await server.exited;
  expect(killed.signal).toBe('SIGKILL');
  const burst = sim.deliveries({ shop: SHOP }).slice(warmup);
  const unacknowledged = burst.filter((d) => d.state !== 'delivered').length;
  // In the middle: some of the burst was acknowledged before the kill, some never answered.
  expect(unacknowledged).toBeGreaterThan(0);
  expect(unacknowledged).toBeLessThan(burst.length);

  const restartedAt = Date.now();
  server = await start();
  const restartMs = Date.now() - restartedAt;
  const all = await sim.waitForDeliveries({ shop: SHOP, count: warmup + burst.length, timeoutMs: 180_000 });
  expect(all.filter((d) => d.state !== 'delivered')).toEqual([]);
  // Shopify had to retry the deliveries the dead server never answered.
  expect(all.filter((d) => d.attempts.length > 1).length).toBeGreaterThan(0);
  const sentIds = all.map((d) => d.webhookId);

  // Let the server apply what it holds, then stop it cleanly and look at its database.
  const dbQuery = async <T>(text: string, params: unknown[] = []): Promise<T[]> => {
    if (database?.databaseUrl) {
      const client = new pg.Client({ connectionString: database.databaseUrl });
      await client.connect();
      try {
        return (await client.query(text, params)).rows as T[];
      } finally {
        await client.end();
      }
    }
    const db = await PGlite.create(path.join(dataDir, 'pglite'));
    try {
      return (await db.query<T>(text, params)).rows;
    } finally {
      await db.close();
    }
  };
  // PGlite belongs to the running process, so ask the server (as an operator) until nothing waits.
  const http = { fetch: (p: string, init?: RequestInit) => fetch(new URL(p, url), init) } as TestServer;
  const operator = await createOperatorSession(http);
  await waitFor(async () => {
    // `:tenant` takes the slug, which the install derived from the shop name.
    const waiting = await call(
      http,
      operator,
      'GET',
      '/api/v1/tenants/crash-shop/events?status=pending,processing',
    );
    return waiting.status === 200 && waiting.body.events.length === 0;
  }, 60_000);
  server.child.kill('SIGTERM');
  expect((await server.exited).code).toBe(0);

  const stored = await dbQuery<{ webhook_id: string; status: string; processed: number }>(
    `SELECT i.webhook_id, i.status,
            (SELECT count(*)::int FROM webhook_attempts a WHERE a.inbox_id = i.id AND a.outcome = 'processed') AS processed
       FROM webhook_inbox i WHERE i.shop_domain = $1`,
    [SHOP],
  );
  const byId = new Map(stored.map((r) => [r.webhook_id, r]));
  // Each delivery is stored once. Other deliveries may land meanwhile (the install starts a
  // backfill whose bulk_operations/finish webhook can arrive after the burst), so count only
  // the burst's ids, and check separately that no webhook id is stored twice.
  expect(byId.size).toBe(stored.length);
  const sentSet = new Set(sentIds);
  expect(stored.filter((r) => sentSet.has(r.webhook_id))).toHaveLength(sentSet.size);
  for (const id of sentIds) {
    const row = byId.get(id);
    expect(row, `delivery ${id} stored`).toBeDefined();
    expect(row).toMatchObject({ status: 'processed', processed: 1 });
  }
  const [counts] = await dbQuery<{ products: number; orders: number }>(
    `SELECT (SELECT count(*)::int FROM shop_products WHERE id = ANY($1::bigint[])) AS products,
            (SELECT count(*)::int FROM shop_orders WHERE id = ANY($2::bigint[])) AS orders`,
    [created, orders],
  );
  expect(counts).toEqual({ products: PRODUCTS, orders: ORDERS });
  const figures = {
    deliveries: burst.length,
    acknowledgedBeforeKill: burst.length - unacknowledged,
    unacknowledgedAtKill: unacknowledged,
    retried: all.filter((d) => d.attempts.length > 1).length,
    lost: 0,
    appliedTwice: 0,
    restartMs,
  };
  console.log(
    `faults: API SIGKILL mid-burst (${database?.databaseUrl ? 'PostgreSQL' : 'PGlite'}) ${JSON.stringify(figures)}`,
  );
}, 400_000);
