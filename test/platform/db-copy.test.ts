import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.ts';
import { fingerprint } from '../support/fingerprint.ts';
import { call, type Credentials } from '../support/identity.ts';
import { spawnCli } from '../support/process.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { startSyncStack, type SyncStack } from '../support/sync.ts';
import { signedDelivery } from '../support/webhooks.ts';

// `storeops db copy` both ways (issue 15): a PostgreSQL database populated through the product
// (install + backfill, webhooks, catalog, operator sessions, jobs) → a new embedded database →
// a second, empty PostgreSQL database; every table's contents compared, tokens decrypted, HTTP reads.
// The embedded side needs no server, but the copy needs a PostgreSQL one: skipped without DATABASE_URL.

const serverUrl = process.env.DATABASE_URL;

async function runCli(args: string[], env: Record<string, string | undefined> = {}) {
  const cli = spawnCli(args, { NODE_ENV: 'test', LOG_LEVEL: 'warn', ...env });
  const { code } = await cli.exited;
  return { code, output: cli.output.join('\n') };
}

describe.skipIf(!serverUrl)('storeops db copy (needs PostgreSQL: DATABASE_URL)', () => {
  let stack: SyncStack;
  let shop: string;
  let tenantId: string;
  let operator: Credentials;
  let token: string;
  let original: Record<string, string>;
  let embeddedDir: string;
  let secondDb: { databaseUrl?: string; drop(): Promise<void> };
  const extra: TestServer[] = [];

  beforeAll(async () => {
    stack = await startSyncStack();
    ({ shop, tenantId } = await stack.installShop({ products: 4, customers: 3, orders: 12 }));
    operator = stack.operator;
    const cat = `/api/v1/tenants/${tenantId}/catalog`;
    const category = await stack.api('POST', `${cat}/categories`, { name: 'Copied' });
    expect(category.status, category.text).toBe(201);
    const product = await stack.api('POST', `${cat}/products`, {
      title: 'Copied product',
      categoryId: category.body.id,
    });
    expect(product.status, product.text).toBe(201);
    for (let i = 0; i < 3; i++) {
      const delivery = signedDelivery({
        secret: stack.apiSecret,
        shop,
        topic: 'products/update',
        payload: {
          id: 9_000 + i,
          admin_graphql_api_id: `gid://shopify/Product/${9_000 + i}`,
          title: `p${i}`,
        },
      });
      const res = await stack.server.fetch('/webhooks', {
        method: 'POST',
        headers: delivery.headers,
        body: delivery.body,
      });
      expect(res.status).toBe(200);
    }
    token = (await stack.server.deps.shopify.tokenForShop(shop)).accessToken;
    await stack.server.close();
    original = await fingerprint({ databaseUrl: stack.storage.databaseUrl });
    embeddedDir = mkdtempSync(path.join(tmpdir(), 'storeops-copy-'));
    secondDb = await createTestDatabase();
  });
  afterAll(async () => {
    for (const s of extra) await s.close().catch(() => {});
    await secondDb?.drop();
    if (embeddedDir) rmSync(embeddedDir, { recursive: true, force: true });
    await stack?.sim.close();
    await stack?.storage.drop();
  });

  /** A server on copied data, with the original's secrets (they live in its data dir's secrets.json). */
  async function serverOn(location: { dataDir: string; databaseUrl?: string }) {
    const server = await startTestServer({
      env: stack.env,
      storage: { ...location, drop: async () => {} },
    });
    extra.push(server);
    return server;
  }

  async function checkServes(server: TestServer) {
    expect((await server.deps.shopify.tokenForShop(shop)).accessToken).toBe(token);
    const products = await call(server, operator, 'GET', `/api/v1/tenants/${tenantId}/catalog/products`);
    expect(products.status, products.text).toBe(200);
    expect(products.body.items.map((p: any) => p.title)).toContain('Copied product');
    const events = await call(server, operator, 'GET', `/api/v1/tenants/${tenantId}/events`);
    expect(events.status, events.text).toBe(200);
    expect(events.body.events.length).toBeGreaterThanOrEqual(3);
  }

  it('the source has rows in the tables that matter', () => {
    for (const table of [
      'public.tenants',
      'public.shopify_connections',
      'public.webhook_inbox',
      'public.shop_orders',
      'public.shop_products',
      'public.sync_runs',
      'public.catalog_products',
      'public.catalog_categories',
      'public.operators',
      'public.sessions',
      'pgboss.job',
      'pgboss.queue',
    ]) {
      expect(Number(original[table]?.split(':')[0]), table).toBeGreaterThan(0);
    }
  });

  it('--from copies PostgreSQL into a new embedded database, identical table by table', async () => {
    const result = await runCli([
      'db',
      'copy',
      '--from',
      stack.storage.databaseUrl!,
      '--data-dir',
      embeddedDir,
    ]);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/every row count matches/);
    expect(await fingerprint({ dataDir: embeddedDir })).toEqual(original);
    copyFileSync(path.join(stack.storage.dataDir, 'secrets.json'), path.join(embeddedDir, 'secrets.json'));
    const server = await serverOn({ dataDir: embeddedDir });
    await checkServes(server);
    await server.close();
    extra.pop();
  });

  it('--from refuses a data dir that already holds an embedded database', async () => {
    const result = await runCli([
      'db',
      'copy',
      '--from',
      stack.storage.databaseUrl!,
      '--data-dir',
      embeddedDir,
    ]);
    expect(result.code).toBe(1);
    expect(result.output).toMatch(/already holds an embedded database/);
  });

  it('--to copies the embedded database into an empty PostgreSQL database; tokens still decrypt', async () => {
    const embedded = await fingerprint({ dataDir: embeddedDir });
    // One heap page per slice: many slices per table, joined into one binary COPY each.
    const result = await runCli(['db', 'copy', '--to', secondDb.databaseUrl!, '--data-dir', embeddedDir], {
      STOREOPS_COPY_SLICE_PAGES: '1',
    });
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/public\.webhook_inbox\s+[1-9]\d* rows ✓/);
    expect(await fingerprint({ databaseUrl: secondDb.databaseUrl })).toEqual(embedded);
    const server = await serverOn({ dataDir: stack.storage.dataDir, databaseUrl: secondDb.databaseUrl });
    await checkServes(server);
    // Sequences came along: a new event gets an id after the copied ones.
    const delivery = signedDelivery({
      secret: stack.apiSecret,
      shop,
      topic: 'products/update',
      payload: { id: 1 },
    });
    const res = await server.fetch('/webhooks', {
      method: 'POST',
      headers: delivery.headers,
      body: delivery.body,
    });
    expect(res.status).toBe(200);
    await server.close();
    extra.pop();
  });

  it('--to refuses a database that holds rows, and leaves it untouched', async () => {
    const before = await fingerprint({ databaseUrl: stack.storage.databaseUrl });
    const result = await runCli([
      'db',
      'copy',
      '--to',
      stack.storage.databaseUrl!,
      '--data-dir',
      embeddedDir,
    ]);
    expect(result.code).toBe(1);
    expect(result.output).toMatch(/target database is not empty/);
    expect(await fingerprint({ databaseUrl: stack.storage.databaseUrl })).toEqual(before);
  });

  it('--to an unreachable server and bad arguments fail clearly', async () => {
    const unreachable = await runCli([
      'db',
      'copy',
      '--to',
      'postgres://postgres@127.0.0.1:1/none',
      '--data-dir',
      embeddedDir,
    ]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.output).toMatch(/cannot reach the target database/);
    const both = await runCli(['db', 'copy', '--to', 'postgres://a/b', '--from', 'postgres://c/d']);
    expect(both.code).toBe(2);
    expect(both.output).toMatch(/exactly one of --to and --from/);
    const missing = await runCli([
      'db',
      'copy',
      '--to',
      secondDb.databaseUrl!,
      '--data-dir',
      path.join(embeddedDir, 'nope'),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.output).toMatch(/no embedded database/);
  });
});
