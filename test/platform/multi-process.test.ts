import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ShopifySim, startShopifySim } from '../../src/devtools/shopify-sim/index.ts';
import { createTestDatabase } from '../support/database.ts';
import { call, createOperatorSession, type Credentials } from '../support/identity.ts';
import { type CliProcess, spawnCli } from '../support/process.ts';
import type { TestServer } from '../support/server.ts';
import { signedDelivery, waitFor } from '../support/webhooks.ts';

// Many processes on one PostgreSQL (issue 15): two `--role api` and two `--role worker` processes,
// a burst of 400 signed deliveries spread over both APIs and sync runs requested through both,
// while one API is stopped (SIGTERM) and one worker killed (SIGKILL) in the middle and both are
// started again. Afterwards: every delivery stored once and applied once, its product mirrored,
// the event log complete, no sync run of a resource overlapping another.

const serverUrl = process.env.DATABASE_URL;
const SHOP = 'multi-proc.myshopify.com';
const DELIVERIES = 400;
const apiSecret = `shpss_${randomBytes(16).toString('hex')}`;

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

type Proc = { role: 'api' | 'worker'; port: number; cli?: CliProcess; dataDir: string };

describe.skipIf(!serverUrl)('two API and two worker processes on one PostgreSQL (needs DATABASE_URL)', () => {
  let sim: ShopifySim;
  let database: { databaseUrl?: string; drop(): Promise<void> };
  let env: Record<string, string>;
  const procs: Proc[] = [];
  let tenantId: string;
  let operator: Credentials;
  const http = (p: Proc) =>
    ({
      fetch: (u: string, init?: RequestInit) => fetch(`http://127.0.0.1:${p.port}${u}`, init),
    }) as TestServer;
  const q = async <T = any>(text: string, params: unknown[] = []): Promise<T[]> => {
    const client = new pg.Client({ connectionString: database.databaseUrl });
    await client.connect();
    try {
      return (await client.query(text, params)).rows as T[];
    } finally {
      await client.end();
    }
  };
  const start = async (p: Proc) => {
    p.cli = spawnCli(['serve', '--role', p.role], {
      ...env,
      PORT: String(p.port),
      STOREOPS_DATA_DIR: p.dataDir,
    });
    await p.cli.waitForLog('StoreOps is listening', 90_000);
  };
  const stop = async (p: Proc, signal: 'SIGTERM' | 'SIGKILL') => {
    p.cli?.child.kill(signal);
    return p.cli?.exited;
  };

  beforeAll(async () => {
    sim = await startShopifySim({ apiKey: 'multi-app', apiSecret });
    sim.createShop({ shop: SHOP, products: 10, customers: 5, orders: 20 });
    database = await createTestDatabase();
    for (const role of ['api', 'api', 'worker', 'worker'] as const)
      procs.push({ role, port: await freePort(), dataDir: mkdtempSync(path.join(tmpdir(), 'storeops-mp-')) });
    env = {
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      DATABASE_URL: database.databaseUrl!,
      STOREOPS_AUTO_MIGRATE: 'false',
      STOREOPS_PUBLIC_URL: `http://127.0.0.1:${procs[0].port}`,
      STOREOPS_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
      STOREOPS_SESSION_SECRET: randomBytes(48).toString('base64url'),
      STOREOPS_API_KEY_PEPPER: randomBytes(48).toString('base64url'),
      SHOPIFY_API_KEY: 'multi-app',
      SHOPIFY_API_SECRET: apiSecret,
      SHOPIFY_ADMIN_URL_TEMPLATE: sim.adminUrlTemplate,
      WEBHOOK_LEASE_SECONDS: '2',
      WEBHOOK_RETRY_BASE_MS: '50',
    };
    const migrate = spawnCli(['migrate'], { ...env, STOREOPS_DATA_DIR: procs[0].dataDir });
    expect((await migrate.exited).code, migrate.output.join('\n')).toBe(0);
    await Promise.all(procs.map(start));

    const [apiA] = procs;
    const install = await http(apiA).fetch(`/shopify/install?shop=${SHOP}`, { redirect: 'manual' });
    const approve = await fetch(install.headers.get('location') as string, { redirect: 'manual' });
    const callbackUrl = new URL(approve.headers.get('location') as string);
    const callback = await http(apiA).fetch(`${callbackUrl.pathname}${callbackUrl.search}`, {
      redirect: 'manual',
    });
    expect(callback.status).toBe(302);
    [{ tenant_id: tenantId }] = await q('SELECT tenant_id FROM shopify_connections WHERE shop_domain = $1', [
      SHOP,
    ]);
    operator = await createOperatorSession(http(apiA));
    // The install's backfill runs on one of the workers.
    await waitFor(async () => {
      const rows = await q(
        `SELECT count(*)::int AS n FROM sync_state WHERE tenant_id = $1 AND backfilled_at IS NOT NULL`,
        [tenantId],
      );
      return rows[0].n === 3;
    }, 90_000);
  }, 300_000);
  afterAll(async () => {
    for (const p of procs) {
      if (p.cli && p.cli.child.exitCode === null && p.cli.child.signalCode === null) {
        p.cli.child.kill('SIGKILL');
        await p.cli.exited;
      }
      rmSync(p.dataDir, { recursive: true, force: true });
    }
    await sim?.close();
    await database?.drop();
  });

  it('applies a burst exactly once through restarts, and never runs a sync twice at once', async () => {
    const [apiA, apiB, worker1] = procs;
    const deliveries = Array.from({ length: DELIVERIES }, (_, i) =>
      signedDelivery({
        secret: apiSecret,
        shop: SHOP,
        topic: 'products/update',
        payload: { id: 500_000 + i, title: `Burst ${i}`, updated_at: new Date().toISOString() },
      }),
    );
    /** Shopify's side: deliver to one API, on failure retry (bounded) on the other. */
    const deliver = async (i: number) => {
      const d = deliveries[i];
      for (let attempt = 0; attempt < 60; attempt++) {
        const target = (i + attempt) % 2 === 0 ? apiA : apiB;
        const res = await http(target)
          .fetch('/webhooks', { method: 'POST', headers: d.headers, body: d.body })
          .catch(() => undefined);
        if (res?.status === 200) return attempt;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`delivery ${i} never acknowledged`);
    };
    const syncThrough = (p: Proc) =>
      call(http(p), operator, 'POST', `/api/v1/tenants/${tenantId}/sync`, { mode: 'incremental' }).catch(
        () => undefined,
      );

    let next = 0;
    const retried: number[] = [];
    const sender = async () => {
      while (next < DELIVERIES) {
        const i = next++;
        retried.push(await deliver(i));
      }
    };
    const senders = Array.from({ length: 8 }, sender);
    await Promise.all([syncThrough(apiA), syncThrough(apiB)]);
    await waitFor(async () => next >= DELIVERIES / 4, 60_000);
    const [termed, killed] = await Promise.all([stop(apiA, 'SIGTERM'), stop(worker1, 'SIGKILL')]);
    expect(termed?.code).toBe(0);
    expect(killed?.signal).toBe('SIGKILL');
    await Promise.all([syncThrough(apiB), syncThrough(apiB)]);
    await waitFor(async () => next >= DELIVERIES / 2, 60_000);
    await Promise.all([start(apiA), start(worker1)]);
    await Promise.all([syncThrough(apiA), syncThrough(apiB)]);
    await Promise.all(senders);

    await waitFor(async () => {
      const [row] = await q(
        `SELECT count(*)::int AS n FROM webhook_inbox WHERE tenant_id = $1 AND status IN ('pending', 'processing')`,
        [tenantId],
      );
      return row.n === 0;
    }, 90_000);
    const ids = deliveries.map((d) => d.webhookId);
    const stored = await q<{ webhook_id: string; status: string; processed: number }>(
      `SELECT i.webhook_id, i.status,
              (SELECT count(*)::int FROM webhook_attempts a WHERE a.inbox_id = i.id AND a.outcome = 'processed') AS processed
         FROM webhook_inbox i WHERE i.webhook_id = ANY($1)`,
      [ids],
    );
    expect(stored).toHaveLength(DELIVERIES);
    expect(stored.filter((r) => r.status !== 'processed' || r.processed !== 1)).toEqual([]);
    const [mirrored] = await q(
      'SELECT count(*)::int AS n FROM shop_products WHERE tenant_id = $1 AND id >= 500000 AND id < $2',
      [tenantId, 500_000 + DELIVERIES],
    );
    expect(mirrored.n).toBe(DELIVERIES);

    // The event log, read through the other API, holds every one of them.
    const stats = await call(http(apiB), operator, 'GET', `/api/v1/tenants/${tenantId}/events/stats`);
    expect(stats.status, stats.text).toBe(200);
    const updates = stats.body.counts.filter((c: any) => c.topic === 'products/update');
    expect(updates).toEqual([{ topic: 'products/update', status: 'processed', count: DELIVERIES }]);

    // Sync: the runs of one resource never overlap. A run whose worker was SIGKILLed stays
    // 'running' in the log without an end; its lease expired before any later run could start.
    const runs = await q<{ resource: string; started: number; finished: number | null; status: string }>(
      `SELECT resource, extract(epoch FROM started_at)::float8 AS started,
              extract(epoch FROM finished_at)::float8 AS finished, status
         FROM sync_runs WHERE tenant_id = $1 ORDER BY resource, started_at`,
      [tenantId],
    );
    expect(runs.length).toBeGreaterThan(3);
    for (let i = 1; i < runs.length; i++) {
      const [before, after] = [runs[i - 1], runs[i]];
      if (before.resource !== after.resource || before.finished === null) continue;
      expect(before.finished, `${after.resource} runs overlap`).toBeLessThanOrEqual(after.started);
    }
    const orphans = runs.filter((r, i) => r.status === 'running' && runs[i + 1]?.resource === r.resource);
    expect(orphans.length).toBeLessThanOrEqual(3);

    for (const p of procs) expect((await stop(p, 'SIGTERM'))?.code, p.role).toBe(0);
  }, 300_000);
});
