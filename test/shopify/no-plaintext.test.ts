import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createApiKey, createTenant, expectNoSecretsInLogs } from '../support/identity.ts';
import { type ShopifyStack, startShopifyStack } from '../support/shopify.ts';

// Issue 5 "done means": no token is stored in plaintext (scan the whole database) and none appears
// in the logs. The flows below put every kind of secret through the server first.
let stack: ShopifyStack;
const secrets = new Set<string>();

beforeAll(async () => {
  stack = await startShopifyStack();
});
afterAll(async () => {
  await stack?.close();
});

/** Every row of every table (public and the job schema) as text. */
async function dumpDatabase(): Promise<string> {
  const { database } = stack.server.deps;
  const { rows: tables } = await database.query<{ table_schema: string; table_name: string }>(
    `SELECT table_schema, table_name FROM information_schema.tables
      WHERE table_schema IN ('public', 'pgboss', 'drizzle') AND table_type = 'BASE TABLE'`,
  );
  expect(tables.map((t) => t.table_name)).toContain('shopify_connections');
  const chunks: string[] = [];
  for (const t of tables) {
    const { rows } = await database.query<{ row: string }>(
      `SELECT t::text AS row FROM "${t.table_schema}"."${t.table_name}" t`,
    );
    for (const r of rows) chunks.push(r.row);
  }
  return chunks.join('\n');
}

describe('secrets at rest and in logs', () => {
  it('holds no token, refresh token, code, state or hmac in the database or the logs', async () => {
    const { shopify } = stack.server.deps;
    // OAuth installs (expiring tokens), including a refresh and a reinstall.
    for (const shop of ['scan-a.myshopify.com', 'scan-b.myshopify.com']) {
      const url = await stack.authorize(shop);
      for (const name of ['code', 'state', 'hmac']) secrets.add(url.searchParams.get(name) as string);
      expect((await stack.callback(url)).status).toBe(302);
    }
    await stack.server.deps.database.query(
      `UPDATE shopify_connections SET expires_at = now() + interval '30 seconds' WHERE shop_domain = 'scan-a.myshopify.com'`,
    );
    // Token exchange.
    const sessionToken = await stack.sim.mintSessionToken({ shop: 'scan-c.myshopify.com' });
    secrets.add(sessionToken);
    const exchanged = await stack.server.fetch('/shopify/token-exchange', {
      method: 'POST',
      headers: { authorization: `Bearer ${sessionToken}` },
    });
    expect(exchanged.status).toBe(200);
    // A manual (custom app) token, and a refused one.
    const tenantId = (await createTenant(stack.server)).id;
    const manual = stack.sim.issueAccessToken('scan-d.myshopify.com', { scopes: ['read_products'] });
    secrets.add(manual.access_token as string);
    await shopify.setManualToken(tenantId, {
      shop: 'scan-d.myshopify.com',
      accessToken: manual.access_token as string,
    });
    const bogus = `shpat_${'0'.repeat(32)}`;
    secrets.add(bogus);
    await expect(
      shopify.setManualToken(tenantId, { shop: 'scan-d.myshopify.com', accessToken: bogus }),
    ).rejects.toMatchObject({
      code: 'INVALID_SHOPIFY_TOKEN',
    });

    // Use every connection (scan-a refreshes on use), and collect the plaintexts StoreOps holds now.
    for (const shop of [
      'scan-a.myshopify.com',
      'scan-b.myshopify.com',
      'scan-c.myshopify.com',
      'scan-d.myshopify.com',
    ]) {
      const resolved = await shopify.resolveShop(shop);
      const client = await shopify.adminClient(resolved?.tenantId as string);
      await client.request('{ shop { name } }');
      secrets.add((await shopify.tokenForShop(shop)).accessToken);
      const row = await shopify.connections.findByShop(shop);
      if (row?.refresh_token_enc) {
        secrets.add(shopify.vault.open(row.refresh_token_enc, `shopify_connections:${row.id}:refresh_token`));
      }
    }
    expect((await shopify.connections.findByShop('scan-a.myshopify.com'))?.last_refreshed_at).not.toBeNull();
    // The token service hands one out over HTTP (the one response allowed to carry it).
    const key = await createApiKey(stack.server, { id: tenantId }, { scopes: ['tokens:read'] });
    const served = await call(
      stack.server,
      key.credentials,
      'GET',
      '/api/v1/shops/scan-d.myshopify.com/token',
    );
    expect(served.status).toBe(200);
    secrets.add(served.body.accessToken);
    // Uninstall one: its tokens are erased, not just hidden.
    await shopify.handleAppUninstalled('scan-b.myshopify.com');

    expect(secrets.size).toBeGreaterThanOrEqual(14);
    const dump = await dumpDatabase();
    // Positive control: the scan does see the sealed values.
    const sealed = (await shopify.connections.findByShop('scan-c.myshopify.com'))?.access_token_enc as string;
    expect(dump).toContain(sealed);
    const logs = stack.server.logs.text();
    expect(logs).toContain('shopify connection stored');
    for (const secret of secrets) {
      expect(dump.includes(secret), 'secret found in the database').toBe(false);
      expect(logs.includes(secret), 'secret found in the logs').toBe(false);
    }
    const tokenShape = /shp(at|rt|ua|ss)_[0-9a-f]{32}/;
    expect(tokenShape.test(dump)).toBe(false);
    expect(tokenShape.test(logs)).toBe(false);
    expect(logs.includes(stack.apiSecret)).toBe(false);
    expectNoSecretsInLogs(stack.server, [...secrets, stack.apiSecret]);
  });
});
