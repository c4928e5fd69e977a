import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type ShopifySim, startShopifySim } from '../../src/devtools/shopify-sim/index.ts';
import { createTestDatabase } from '../support/database.ts';
import {
  installThroughOAuth,
  probeReady,
  readyWithin,
  type ServeProcess,
  spawnServe,
  sql,
} from '../support/faults.ts';
import { call, createOperatorSession, type Credentials } from '../support/identity.ts';
import { type PgCluster, postgresBinDir, startPgCluster } from '../support/pg-cluster.ts';
import { waitFor } from '../support/shopify.ts';
import { type FaultLoad, syncRun, webhookBurst } from './loads.ts';

/*
 * Faults (issue 16): PostgreSQL restarted under load. The test runs its own cluster (initdb into a
 * temporary directory, its own port), so the shared server is never touched, and restarts it twice
 * while StoreOps takes a webhook burst and runs a sync: `pg_ctl restart -m fast`, then a stop, three
 * seconds down, and a start. StoreOps must answer /ready with 503 (never hang) while the database
 * is away, be ready again within 5 s of it coming back, lose no acknowledged delivery, apply
 * nothing twice, and finish the sync, all unattended.
 */

/** The recovery bound: ready again within 5 s of the database being back. */
const RECOVERY_MS = 5_000;
const DOWN_MS = 3_000;

const skipReason = !process.env.DATABASE_URL
  ? 'PostgreSQL run only (DATABASE_URL unset): the PGlite run has no database server to restart'
  : !postgresBinDir()
    ? 'no PostgreSQL binaries under /usr/lib/postgresql/*/bin to run a private cluster'
    : undefined;

if (skipReason) it.skip(`PostgreSQL restart: skipped, ${skipReason}`, () => {});

describe.skipIf(skipReason !== undefined)('faults: PostgreSQL restart mid-load', () => {
  const SHOP = 'pg-restart.myshopify.com';
  const apiSecret = `shpss_${randomBytes(16).toString('hex')}`;
  let dataDir: string | undefined;
  let cluster: PgCluster | undefined;
  let sim: ShopifySim | undefined;
  let server: ServeProcess | undefined;

  afterAll(async () => {
    // A StoreOps that died on its own says why in its last lines.
    if (server && (server.child.exitCode !== null || server.child.signalCode !== null))
      console.log(`StoreOps exited:\n${server.output.slice(-40).join('\n')}`);
    await server?.kill();
    await sim?.close();
    await cluster?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('recovers unattended within 5 s, answers 503 while down, loses and doubles nothing', async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'storeops-pgfault-'));
    cluster = await startPgCluster();
    const { databaseUrl } = await createTestDatabase(cluster.url);
    if (!databaseUrl) throw new Error('no database');
    // Shopify's 8 retries over 4 hours, compressed to about 30 seconds.
    sim = await startShopifySim({ apiKey: 'pg-fault-app', apiSecret, timeScale: 0.002 });
    sim.createShop({ shop: SHOP, products: 5, customers: 5, orders: 2500 });
    server = await spawnServe({
      STOREOPS_DATA_DIR: dataDir,
      DATABASE_URL: databaseUrl,
      SHOPIFY_API_KEY: 'pg-fault-app',
      SHOPIFY_API_SECRET: apiSecret,
      SHOPIFY_ADMIN_URL_TEMPLATE: sim.adminUrlTemplate,
    });
    const current = () => server as ServeProcess;
    await installThroughOAuth(server, sim, SHOP);
    const [{ id: tenantId }] = await sql<{ id: string }>(
      databaseUrl,
      'SELECT tenant_id AS id FROM shopify_connections WHERE shop_domain = $1',
      [SHOP],
    );
    // The install's backfill first (it would otherwise share the sync lease with ours).
    await waitFor(async () => {
      const rows = await sql<{ ok: boolean }>(
        databaseUrl,
        `SELECT backfilled_at IS NOT NULL AND run_id IS NULL AS ok FROM sync_state WHERE tenant_id = $1`,
        [tenantId],
      );
      return rows.length === 3 && rows.every((r) => r.ok);
    }, 120_000);
    const operator: Credentials = await createOperatorSession(server.http);
    const operatorSession = async () => operator;

    const burst = webhookBurst({ sim, shop: SHOP, databaseUrl, total: 500, paceMs: 15 });
    const sync = syncRun({
      sim,
      shop: SHOP,
      tenantId,
      server: current,
      operator: operatorSession,
      databaseUrl,
      // About 1,200 of 2,500 orders (about 3 lines each): past the first 1,000-order batch.
      holdLines: 3_600,
    });
    // Checkout (issue 12) adds `checkoutLoad(...)` here.
    const loads: FaultLoad[] = [sync, burst];
    for (const load of loads) await load.start();

    // Fault 1: a fast restart (every connection is terminated, the server is back at once).
    await new Promise((r) => setTimeout(r, 1_000));
    await cluster.restart();
    const afterRestart = await readyWithin(server.url, RECOVERY_MS);

    // Fault 2: stopped for three seconds, the sync's next batches arriving meanwhile.
    await new Promise((r) => setTimeout(r, 1_000));
    await cluster.stop('fast');
    const downSince = Date.now();
    sync.release();
    const whileDown: Awaited<ReturnType<typeof probeReady>>[] = [];
    while (Date.now() - downSince < DOWN_MS) {
      // The readiness checks give up after 2 s; the rest is slack for a loaded machine.
      whileDown.push(await probeReady(server.url, 4_000));
      await new Promise((r) => setTimeout(r, 200));
    }
    await cluster.start();
    const afterStart = await readyWithin(server.url, RECOVERY_MS);

    expect(whileDown.length).toBeGreaterThan(0);
    expect(
      whileDown.map((p) => p.status),
      '/ready while the database is down',
    ).toEqual(whileDown.map(() => 503));

    // Every loop came back by itself: a new delivery is applied (the webhook processor) and a
    // new job runs (pg-boss), with nobody restarting anything.
    const upAt = Date.now();
    const probe = sim.createRecord(SHOP, 'customers', {});
    await waitFor(async () => {
      const rows = await sql(
        databaseUrl,
        `SELECT 1 FROM webhook_inbox WHERE webhook_id = ANY($1::text[]) AND status = 'processed'`,
        [probe.deliveries.map((d) => d.webhookId)],
      );
      return rows.length === probe.deliveries.length;
    });
    const deliveryAppliedMs = Date.now() - upAt;
    const job = await call(server.http, operator, 'POST', `/api/v1/tenants/${tenantId}/sync`, {
      mode: 'incremental',
      resources: ['customers'],
    });
    expect(job.status, job.text).toBe(202);
    await waitFor(async () => {
      const rows = await sql(
        databaseUrl,
        `SELECT 1 FROM sync_runs WHERE tenant_id = $1 AND resource = 'customers' AND status = 'completed'
            AND started_at >= $2`,
        [tenantId, new Date(upAt - 1000)],
      );
      return rows.length > 0;
    });
    const jobRanMs = Date.now() - upAt;

    for (const load of loads) await load.settle();
    const figures: Record<string, Record<string, number>> = {};
    for (const load of loads) figures[load.name] = await load.verify();
    // StoreOps itself never died: the same process recovered.
    expect(server.child.exitCode).toBeNull();
    expect(server.child.signalCode).toBeNull();

    const report = {
      recoveryMs: {
        afterFastRestart: afterRestart,
        afterStop3sStart: afterStart,
        deliveryAppliedMs,
        jobRanMs,
      },
      readyWhileDown: { probes: whileDown.length, slowestMs: Math.max(...whileDown.map((p) => p.ms)) },
      ...figures,
    };
    console.log(`faults: PostgreSQL restart ${JSON.stringify(report)}`);
  }, 300_000);
});
