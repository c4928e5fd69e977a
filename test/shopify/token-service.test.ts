import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  basic,
  type Credentials,
  call,
  createApiKey,
  createOperatorSession,
  createStaff,
  createTenant,
  expectNoSecretsInLogs,
  rememberSecret,
  type TestStaff,
} from '../support/identity.ts';
import { type ShopifyStack, startShopifyStack } from '../support/shopify.ts';

// The token service (seed 000), manual tokens (seed 001 set-token), disconnect and the OAuth debug
// endpoint, over HTTP with identity's principals.
let stack: ShopifyStack;
let operator: Credentials;
const shopA = 'service-a.myshopify.com';
const shopB = 'service-b.myshopify.com';
let tenantA: string;
let tenantB: string;
let keyA: Credentials;
let keyAData: Credentials;
let keyB: Credentials;
let ownerA: TestStaff;
let staffA: TestStaff;

const server = () => stack.server;

/** A `shop` query straight to the simulator with a given token (what any holder of it could do). */
async function shopQuery(shop: string, token: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${stack.sim.url}/${shop}/admin/api/2025-10/graphql.json`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-shopify-access-token': token },
    body: JSON.stringify({ query: '{ shop { myshopifyDomain } }' }),
  });
  return { status: res.status, body: await res.json() };
}

beforeAll(async () => {
  stack = await startShopifyStack();
  operator = await createOperatorSession(server());
  tenantA = await stack.install(shopA);
  tenantB = await stack.install(shopB);
  keyA = (await createApiKey(server(), { id: tenantA }, { scopes: ['tokens:read'] })).credentials;
  keyAData = (await createApiKey(server(), { id: tenantA }, { scopes: ['data:read'] })).credentials;
  keyB = (await createApiKey(server(), { id: tenantB }, { scopes: ['tokens:read'] })).credentials;
  ownerA = await createStaff(server(), { id: tenantA }, { role: 'owner' });
  staffA = await createStaff(server(), { id: tenantA }, { role: 'staff' });
});
afterAll(async () => {
  await stack?.close();
});

describe('GET /api/v1/shops/:shop/token', () => {
  it("hands the shop's token to its tenant's API key with tokens:read, audited and uncached", async () => {
    const res = await call(server(), keyA, 'GET', `/api/v1/shops/${shopA}/token`);
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body).toEqual({
      shop: shopA,
      accessToken: expect.stringMatching(/^shpat_/),
      scopes: ['read_products', 'read_orders', 'read_customers'],
      expiresAt: expect.any(String),
      apiVersion: '2025-10',
      graphqlUrl: `${stack.sim.url}/${shopA}/admin/api/2025-10/graphql.json`,
    });
    rememberSecret(res.body.accessToken);
    // The token is the real thing: it works against the shop.
    const direct = await fetch(res.body.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-shopify-access-token': res.body.accessToken },
      body: JSON.stringify({ query: '{ shop { myshopifyDomain } }' }),
    });
    expect(((await direct.json()) as any).data.shop.myshopifyDomain).toBe(shopA);

    const audit = await call(
      server(),
      operator,
      'GET',
      `/api/v1/tenants/${tenantA}/audit-log?action=shopify.token`,
    );
    expect(audit.status, audit.text).toBe(200);
    expect(audit.body.items[0]).toMatchObject({
      action: 'shopify.token.read',
      actor: { kind: 'api_key' },
      target: { kind: 'shop', id: shopA },
    });
    expect(JSON.stringify(audit.body)).not.toContain(res.body.accessToken);
  });

  it('refuses everyone else: other scopes, other tenants, staff, operators, anonymous', async () => {
    expect((await call(server(), keyAData, 'GET', `/api/v1/shops/${shopA}/token`)).status).toBe(403);
    const foreign = await call(server(), keyB, 'GET', `/api/v1/shops/${shopA}/token`);
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('SHOP_NOT_FOUND');
    const unknown = await call(server(), keyB, 'GET', '/api/v1/shops/nobody-here.myshopify.com/token');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('SHOP_NOT_FOUND');
    expect((await call(server(), basic(ownerA), 'GET', `/api/v1/shops/${shopA}/token`)).status).toBe(403);
    expect((await call(server(), operator, 'GET', `/api/v1/shops/${shopA}/token`)).status).toBe(403);
    expect((await call(server(), { kind: 'none' }, 'GET', `/api/v1/shops/${shopA}/token`)).status).toBe(401);
    expect((await call(server(), keyA, 'GET', '/api/v1/shops/not-a-shop.com/token')).status).toBe(422);
    for (const res of [foreign, unknown]) expect(res.text).not.toContain('shpat_');
  });
});

describe('GET /api/v1/shopify/status', () => {
  it('shows each caller the shops it can act for, never a token', async () => {
    const asOperator = await call(server(), operator, 'GET', '/api/v1/shopify/status');
    expect(asOperator.status).toBe(200);
    expect(asOperator.body.shops.map((s: any) => s.shop)).toEqual(expect.arrayContaining([shopA, shopB]));
    for (const credentials of [keyA, basic(staffA)]) {
      const res = await call(server(), credentials, 'GET', '/api/v1/shopify/status');
      expect(res.status, res.text).toBe(200);
      expect(res.body.shops).toEqual([
        expect.objectContaining({
          shop: shopA,
          tenantId: tenantA,
          status: 'active',
          source: 'oauth',
          health: 'ok',
          scopes: ['read_products', 'read_orders', 'read_customers'],
          expiresAt: expect.any(String),
        }),
      ]);
      expect(res.text).not.toMatch(/shpat_|shprt_|v1\./);
    }
    expect((await call(server(), { kind: 'none' }, 'GET', '/api/v1/shopify/status')).status).toBe(401);
  });

  it("reads a tenant's connection only within that tenant", async () => {
    const own = await call(server(), basic(staffA), 'GET', `/api/v1/tenants/${tenantA}/shopify/connection`);
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ shop: shopA, status: 'active' });
    // Basic auth picks the account by the path's tenant, so A's staff are simply unknown there.
    expect([401, 404]).toContain(
      (await call(server(), basic(staffA), 'GET', `/api/v1/tenants/${tenantB}/shopify/connection`)).status,
    );
    expect((await call(server(), keyB, 'GET', `/api/v1/tenants/${tenantA}/shopify/connection`)).status).toBe(
      404,
    );
  });
});

describe('manual token and disconnect', () => {
  it('validates a custom-app token with a shop query before storing it; owners and operators only', async () => {
    const tenant = await createTenant(server());
    const owner = await createStaff(server(), tenant, { role: 'owner' });
    const staff = await createStaff(server(), tenant, { role: 'staff' });
    const shop = 'custom-app.myshopify.com';
    const path = `/api/v1/tenants/${tenant.id}/shopify/connection`;

    const bad = await call(server(), basic(owner), 'PUT', path, {
      shop,
      accessToken: `shpat_${'1'.repeat(32)}`,
    });
    expect(bad.status, bad.text).toBe(422);
    expect(bad.body.error.code).toBe('INVALID_SHOPIFY_TOKEN');
    expect(await server().deps.shopify.resolveShop(shop)).toBeUndefined();

    const otherShopsToken = stack.sim.issueAccessToken('someone-elses.myshopify.com', {
      scopes: ['read_products'],
    });
    rememberSecret(otherShopsToken.access_token as string);
    const wrongShop = await call(server(), basic(owner), 'PUT', path, {
      shop,
      accessToken: otherShopsToken.access_token,
    });
    expect(wrongShop.status).toBe(422);

    const issued = stack.sim.issueAccessToken(shop, { scopes: ['read_products', 'read_orders'] });
    rememberSecret(issued.access_token as string);
    expect(
      (await call(server(), basic(staff), 'PUT', path, { shop, accessToken: issued.access_token })).status,
    ).toBe(403);
    expect(
      (
        await call(server(), basic(owner), 'PUT', path, {
          shop: 'evil.com',
          accessToken: issued.access_token,
        })
      ).status,
    ).toBe(422);

    const ok = await call(server(), basic(owner), 'PUT', path, { shop, accessToken: issued.access_token });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body).toMatchObject({
      shop,
      tenantId: tenant.id,
      status: 'active',
      source: 'manual',
      expiresAt: null,
    });
    expect(ok.text).not.toContain(issued.access_token as string);
    const client = await server().deps.shopify.adminClient(tenant.id);
    expect((await client.request<any>('{ shop { myshopifyDomain } }')).data.shop.myshopifyDomain).toBe(shop);

    // A shop belongs to one tenant.
    const stolen = stack.sim.issueAccessToken(shopA, { scopes: ['read_products'] });
    rememberSecret(stolen.access_token as string);
    const taken = await call(server(), operator, 'PUT', path, {
      shop: shopA,
      accessToken: stolen.access_token,
    });
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe('SHOP_CONNECTED_TO_ANOTHER_TENANT');

    // Disconnect: tokens erased, tenant uninstalled, redaction in 48 h; a key can no longer get the token.
    const key = (await createApiKey(server(), tenant, { scopes: ['tokens:read'] })).credentials;
    expect((await call(server(), key, 'GET', `/api/v1/shops/${shop}/token`)).status).toBe(200);
    expect((await call(server(), basic(staff), 'DELETE', path)).status).toBe(403);
    const gone = await call(server(), basic(owner), 'DELETE', path);
    expect(gone.status, gone.text).toBe(200);
    expect(gone.body).toEqual({
      shop,
      status: 'uninstalled',
      revokedAtShopify: false,
      redactAt: expect.any(String),
    });
    const row = await server().deps.shopify.connections.findByShop(shop);
    expect(row).toMatchObject({ status: 'uninstalled', access_token_enc: null, refresh_token_enc: null });
    const after = await call(server(), key, 'GET', `/api/v1/shops/${shop}/token`);
    expect(after.status).toBe(409);
    expect(after.body.error.code).toBe('SHOPIFY_REAUTH_REQUIRED');
    const tenantNow = await call(server(), operator, 'GET', `/api/v1/tenants/${tenant.id}`);
    expect(tenantNow.body.status).toBe('uninstalled');
    const audit = await call(
      server(),
      operator,
      'GET',
      `/api/v1/tenants/${tenant.id}/audit-log?action=shopify.connection`,
    );
    expect(audit.body.items.map((e: any) => e.action)).toEqual([
      'shopify.connection.disconnected',
      'shopify.connection.manual_token',
    ]);
  });

  it('disconnects an OAuth install: appUninstall at Shopify revokes the token, then tokens are erased', async () => {
    const before = await call(server(), keyB, 'GET', `/api/v1/shops/${shopB}/token`);
    expect(before.status, before.text).toBe(200);
    const oldToken = before.body.accessToken as string;
    rememberSecret(oldToken);
    expect((await shopQuery(shopB, oldToken)).status).toBe(200);

    const res = await call(server(), operator, 'DELETE', `/api/v1/tenants/${tenantB}/shopify/connection`);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({
      shop: shopB,
      status: 'uninstalled',
      revokedAtShopify: true,
      redactAt: expect.any(String),
    });
    // Shopify (the simulator) no longer accepts the old token.
    const rejected = await shopQuery(shopB, oldToken);
    expect(rejected).toEqual({
      status: 401,
      body: { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' },
    });
    expect(stack.sim.shopInfo(shopB)).toMatchObject({ installed: false });
    const row = await server().deps.shopify.connections.findByShop(shopB);
    expect(row).toMatchObject({ status: 'uninstalled', access_token_enc: null, refresh_token_enc: null });
    expect((await call(server(), keyB, 'GET', `/api/v1/shops/${shopB}/token`)).status).toBe(409);
    const status = await call(server(), keyB, 'GET', '/api/v1/shopify/status');
    expect(status.body.shops[0]).toMatchObject({ status: 'uninstalled', health: 'disconnected' });
  });

  it('still erases the tokens locally when Shopify fails, and says revokedAtShopify: false', async () => {
    const shop = 'service-c.myshopify.com';
    const tenant = await stack.install(shop);
    const key = (await createApiKey(server(), { id: tenant }, { scopes: ['tokens:read'] })).credentials;
    const token = (await call(server(), key, 'GET', `/api/v1/shops/${shop}/token`)).body
      .accessToken as string;
    rememberSecret(token);
    stack.sim.setChaos({ http5xxRate: 1 }, shop);
    try {
      const res = await call(server(), operator, 'DELETE', `/api/v1/tenants/${tenant}/shopify/connection`);
      expect(res.status, res.text).toBe(200);
      expect(res.body).toMatchObject({ shop, status: 'uninstalled', revokedAtShopify: false });
    } finally {
      stack.sim.setChaos({ http5xxRate: 0 }, shop);
    }
    const row = await server().deps.shopify.connections.findByShop(shop);
    expect(row).toMatchObject({ status: 'uninstalled', access_token_enc: null, refresh_token_enc: null });
    // Shopify never heard of it: the app is still installed there and the token still works.
    expect((await shopQuery(shop, token)).status).toBe(200);
  });
});

describe('GET /api/v1/shopify/oauth-config', () => {
  it('shows operators the OAuth setup with every secret masked', async () => {
    const res = await call(server(), operator, 'GET', '/api/v1/shopify/oauth-config');
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({
      configured: true,
      apiKey: stack.apiKey,
      apiSecret: { set: true, fingerprint: expect.stringMatching(/^sha256:[0-9a-f]{12}$/) },
      previousApiSecret: { set: false, fingerprint: null },
      scopes: ['read_products', 'read_orders', 'read_customers'],
      adminUrlTemplate: stack.sim.adminUrlTemplate,
      redirectUri: expect.stringMatching(/\/shopify\/callback$/),
      expiringOfflineTokens: true,
    });
    expect(res.body.encryptionKeys).toEqual([{ id: expect.any(String), current: true }]);
    expect(res.text).not.toContain(stack.apiSecret);
    expect((await call(server(), basic(ownerA), 'GET', '/api/v1/shopify/oauth-config')).status).toBe(403);
    expect((await call(server(), keyA, 'GET', '/api/v1/shopify/oauth-config')).status).toBe(403);
  });

  it('never logged a secret', () => {
    expectNoSecretsInLogs(server(), [stack.apiSecret]);
  });
});
