import { createHmac } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ShopifyStack, startShopifyStack, waitFor } from '../support/shopify.ts';

let stack: ShopifyStack;
beforeAll(async () => {
  stack = await startShopifyStack();
});
afterAll(async () => {
  await stack?.close();
});

const q = <T = Record<string, unknown>>(text: string, params: unknown[] = []) =>
  stack.server.deps.database.query<T>(text, params).then((r) => r.rows);
const connection = async (shop: string) =>
  (await q<Record<string, any>>('SELECT * FROM shopify_connections WHERE shop_domain = $1', [shop]))[0];
const jobsFor = (queue: string, shop: string) =>
  q<{ data: any; start_after: Date }>(
    `SELECT data, start_after FROM pgboss.job WHERE name = $1 AND data->>'shop' = $2`,
    [queue, shop],
  );
const expectError = async (res: Response, status: number, code: string) => {
  expect(res.status).toBe(status);
  const body: any = await res.json();
  expect(body.error.code).toBe(code);
  return body;
};

describe('install (authorization-code grant) through the simulator', () => {
  it('installs: state → authorize → callback → encrypted token, tenant, events, dashboard', async () => {
    const shop = 'happy-path.myshopify.com';
    const callbackUrl = await stack.authorize(shop);
    expect(callbackUrl.pathname).toBe('/shopify/callback');
    const res = await stack.callback(callbackUrl);
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location') as string, 'http://x');
    expect(location.pathname).toBe('/app');
    expect(location.searchParams.get('shop')).toBe(shop);
    expect(location.searchParams.get('host')).toBe(callbackUrl.searchParams.get('host'));
    // The landing page it sends the merchant to knows the shop is now held.
    const landing = await (await stack.server.fetch(`${location.pathname}${location.search}`)).text();
    expect(landing).toContain(`StoreOps is connected to ${shop}`);

    const row = await connection(shop);
    expect(row).toMatchObject({ status: 'active', source: 'oauth', token_key_id: expect.any(String) });
    expect(row.access_token_enc).toMatch(/^v1\./);
    expect(row.refresh_token_enc).toMatch(/^v1\./);
    expect(row.scopes).toBe('read_products,read_orders,read_customers');
    expect(new Date(row.expires_at).getTime()).toBeGreaterThan(Date.now() + 50 * 60_000);
    const [tenant] = await q<any>('SELECT * FROM tenants WHERE id = $1', [row.tenant_id]);
    expect(tenant).toMatchObject({ status: 'active', slug: 'happy-path' });
    expect(tenant.name).toEqual(expect.any(String));

    const [event] = await jobsFor('shopify.connection-installed', shop);
    expect(event.data).toEqual({
      tenantId: row.tenant_id,
      shop,
      connectionId: row.id,
      source: 'oauth',
      reinstalled: false,
    });
    const [state] = await q<any>('SELECT used_at FROM shopify_oauth_states WHERE shop_domain = $1', [shop]);
    expect(state.used_at).not.toBeNull();

    const client = await stack.server.deps.shopify.adminClient(row.tenant_id);
    const answer = await client.request<{ shop: { myshopifyDomain: string } }>(
      '{ shop { myshopifyDomain } }',
    );
    expect(answer.data.shop.myshopifyDomain).toBe(shop);
    expect(answer.extensions?.cost?.throttleStatus.maximumAvailable).toBeGreaterThan(0);
  });

  it('rejects shops that are not *.myshopify.com with 400 INVALID_SHOP_DOMAIN (HTML for browsers)', async () => {
    for (const shop of [
      'evil.com',
      'a.myshopify.com.evil.com',
      '-x.myshopify.com',
      'x_y.myshopify.com',
      '',
    ]) {
      await expectError(
        await stack.server.fetch(`/shopify/install?shop=${encodeURIComponent(shop)}`),
        400,
        'INVALID_SHOP_DOMAIN',
      );
    }
    await expectError(await stack.server.fetch('/shopify/install'), 400, 'INVALID_SHOP_DOMAIN');
    const page = await stack.server.fetch('/shopify/install?shop=evil.com', {
      headers: { accept: 'text/html' },
    });
    expect(page.status).toBe(400);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('INVALID_SHOP_DOMAIN');
  });

  it('refuses a tampered hmac without consuming the state or storing anything', async () => {
    const shop = 'tampered.myshopify.com';
    const url = await stack.authorize(shop);
    const tampered = new URL(url);
    tampered.searchParams.set('code', 'f'.repeat(32));
    await expectError(await stack.callback(tampered), 401, 'INVALID_HMAC');
    const missing = new URL(url);
    missing.searchParams.delete('hmac');
    await expectError(await stack.callback(missing), 400, 'OAUTH_CALLBACK_INVALID');
    expect(await connection(shop)).toBeUndefined();
    const page = await stack.callback(tampered, { headers: { accept: 'text/html,application/xhtml+xml' } });
    expect(page.status).toBe(401);
    expect(await page.text()).toContain(`/shopify/install?shop=${shop}`);
    // The genuine callback still completes: the forged one consumed nothing.
    expect((await stack.callback(url)).status).toBe(302);
  });

  it('refuses a state issued for another shop', async () => {
    const url = await stack.authorize('state-owner.myshopify.com');
    const forged = stack.resign(url, { shop: 'someone-else.myshopify.com' });
    await expectError(await stack.callback(forged), 400, 'OAUTH_STATE_SHOP_MISMATCH');
    expect(await connection('someone-else.myshopify.com')).toBeUndefined();
    expect(await connection('state-owner.myshopify.com')).toBeUndefined();
  });

  it('refuses a replayed state', async () => {
    const shop = 'replayed.myshopify.com';
    const url = await stack.authorize(shop);
    expect((await stack.callback(url)).status).toBe(302);
    const version = (await connection(shop)).token_version;
    await expectError(await stack.callback(url), 400, 'OAUTH_STATE_USED');
    await expectError(
      await stack.callback(stack.resign(url, { state: 'never-issued' })),
      400,
      'OAUTH_STATE_UNKNOWN',
    );
    expect((await connection(shop)).token_version).toBe(version);
  });

  it('refuses an expired state (10 minutes)', async () => {
    const shop = 'slow-merchant.myshopify.com';
    const url = await stack.authorize(shop);
    // Ten minutes pass.
    await q(
      `UPDATE shopify_oauth_states SET expires_at = now() - interval '1 second' WHERE shop_domain = $1`,
      [shop],
    );
    await expectError(await stack.callback(url), 400, 'OAUTH_STATE_EXPIRED');
    expect(await connection(shop)).toBeUndefined();
  });

  it('refuses a stale timestamp', async () => {
    const url = await stack.authorize('stale.myshopify.com');
    const old = String(Math.floor(Date.now() / 1000) - 3600);
    await expectError(
      await stack.callback(stack.resign(url, { timestamp: old })),
      400,
      'OAUTH_TIMESTAMP_STALE',
    );
  });

  it('accepts extra signed parameters Shopify adds, the space encoded %20 (hmac over all of them)', async () => {
    const shop = 'extra-params.myshopify.com';
    const url = await stack.authorize(shop);
    const params = Object.fromEntries(url.searchParams);
    delete params.hmac;
    Object.assign(params, { custom: 'hello world', locale: 'fr', embedded: '1', session: 'abc' });
    // Every parameter but hmac, sorted, percent-encoded as the URL carries it (hello%20world).
    const pairs = Object.keys(params)
      .sort()
      .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(params[k])}`);
    const message = pairs.join('&');
    expect(message).toContain('custom=hello%20world');
    const hmac = createHmac('sha256', stack.apiSecret).update(message).digest('hex');
    const res = await stack.server.fetch(`/shopify/callback?${message}&hmac=${hmac}`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect((await connection(shop))?.status).toBe('active');
  });

  it('refuses an unsigned extra parameter and an upper-case hex hmac (compared exactly)', async () => {
    const shop = 'exact-hmac.myshopify.com';
    const url = await stack.authorize(shop);
    const added = new URL(url);
    added.searchParams.set('custom', 'unsigned');
    await expectError(await stack.callback(added), 401, 'INVALID_HMAC');
    const upper = new URL(url);
    upper.searchParams.set('hmac', (url.searchParams.get('hmac') as string).toUpperCase());
    await expectError(await stack.callback(upper), 401, 'INVALID_HMAC');
    expect(await connection(shop)).toBeUndefined();
    expect((await stack.callback(url)).status).toBe(302);
  });

  it('refuses a reused authorization code (Shopify rejects it) and keeps the existing token', async () => {
    const shop = 'reused-code.myshopify.com';
    const first = await stack.authorize(shop);
    expect((await stack.callback(first)).status).toBe(302);
    const before = await connection(shop);
    const second = await stack.authorize(shop);
    const reused = stack.resign(second, { code: first.searchParams.get('code') as string });
    await expectError(await stack.callback(reused), 400, 'OAUTH_CODE_REJECTED');
    const after = await connection(shop);
    expect(after.token_version).toBe(before.token_version);
    expect(after.access_token_enc).toBe(before.access_token_enc);
  });
});

describe('token exchange (embedded apps)', () => {
  const exchange = (token: string) =>
    stack.server.fetch('/shopify/token-exchange', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });

  it('exchanges a valid session token for a stored expiring offline token', async () => {
    const shop = 'embedded.myshopify.com';
    const res = await exchange(await stack.sim.mintSessionToken({ shop }));
    expect(res.status).toBe(200);
    const body: any = await res.json();
    expect(body).toEqual({ shop, tenantId: expect.any(String), status: 'active', reinstalled: false });
    expect(JSON.stringify(body)).not.toContain('shpat_');
    const row = await connection(shop);
    expect(row).toMatchObject({ status: 'active', source: 'token_exchange', tenant_id: body.tenantId });
    expect(row.expires_at).not.toBeNull();
    // Again with a usable token: no new exchange.
    const again = await exchange(await stack.sim.mintSessionToken({ shop }));
    expect(await again.json()).toMatchObject({ tenantId: body.tenantId });
    expect((await connection(shop)).token_version).toBe(row.token_version);
  });

  it('rejects expired, foreign, wrong-audience and missing session tokens, storing nothing', async () => {
    const shop = 'embedded-bad.myshopify.com';
    const expired = await stack.sim.mintSessionToken({ shop, expiresInSeconds: -60 });
    expect(
      (await expectError(await exchange(expired), 401, 'INVALID_SESSION_TOKEN')).error.message,
    ).toContain('expired');

    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: `https://${shop}/admin`,
      dest: `https://${shop}`,
      aud: stack.apiKey,
      sub: '1',
      sid: 's',
    };
    const sign = (payload: object, secret: string) =>
      new SignJWT({ ...payload })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuedAt(now)
        .setNotBefore(now)
        .setExpirationTime(now + 60)
        .sign(new TextEncoder().encode(secret));
    await expectError(
      await exchange(await sign(claims, 'another-apps-secret')),
      401,
      'INVALID_SESSION_TOKEN',
    );
    await expectError(
      await exchange(await sign({ ...claims, aud: 'other-app' }, stack.apiSecret)),
      401,
      'INVALID_SESSION_TOKEN',
    );
    await expectError(
      await exchange(await sign({ ...claims, dest: 'https://evil.example.com' }, stack.apiSecret)),
      401,
      'INVALID_SESSION_TOKEN',
    );
    await expectError(
      await exchange(await sign({ ...claims, iss: 'https://other.myshopify.com/admin' }, stack.apiSecret)),
      401,
      'INVALID_SESSION_TOKEN',
    );
    await expectError(
      await stack.server.fetch('/shopify/token-exchange', { method: 'POST' }),
      401,
      'INVALID_SESSION_TOKEN',
    );
    expect(await connection(shop)).toBeUndefined();
  });
});

describe('expiring offline tokens', () => {
  it('the scheduled job refreshes a token before it expires', async () => {
    const shop = 'refresh-job.myshopify.com';
    const tenantId = await stack.install(shop);
    const before = await connection(shop);
    // Fifty-five minutes pass (here: the stored expiry moves close).
    await q(`UPDATE shopify_connections SET expires_at = now() + interval '2 minutes' WHERE id = $1`, [
      before.id,
    ]);
    await stack.server.deps.jobs.send('shopify.refresh-due', {});
    const after = await waitFor(async () => {
      const row = await connection(shop);
      return row.last_refreshed_at ? row : undefined;
    });
    expect(after.token_version).toBe(before.token_version + 1);
    expect(after.access_token_enc).not.toBe(before.access_token_enc);
    expect(after.refresh_token_enc).not.toBe(before.refresh_token_enc);
    expect(new Date(after.expires_at).getTime()).toBeGreaterThan(Date.now() + 50 * 60_000);
    const client = await stack.server.deps.shopify.adminClient(tenantId);
    expect((await client.request<any>('{ shop { name } }')).data.shop.name).toEqual(expect.any(String));
  });

  it('a call that gets 401 refreshes once and retries', async () => {
    const shop = 'refresh-401.myshopify.com';
    const tenantId = await stack.install(shop);
    const before = await connection(shop);
    // An hour passes at Shopify while our clock (and stored expiry) say the token is fine.
    stack.advanceSimClock(61 * 60_000);
    try {
      const client = await stack.server.deps.shopify.adminClient(tenantId);
      const answer = await client.request<any>('{ shop { myshopifyDomain } }');
      expect(answer.data.shop.myshopifyDomain).toBe(shop);
    } finally {
      stack.resetSimClock();
    }
    const after = await connection(shop);
    expect(after.token_version).toBe(before.token_version + 1);
    expect(after.last_refreshed_at).not.toBeNull();
    expect(after.status).toBe('active');
  });

  it('concurrent 401s refresh only once (row lock)', async () => {
    const shop = 'refresh-race.myshopify.com';
    const tenantId = await stack.install(shop);
    const before = await connection(shop);
    stack.advanceSimClock(61 * 60_000);
    try {
      const client = await stack.server.deps.shopify.adminClient(tenantId);
      const answers = await Promise.all([1, 2, 3, 4].map(() => client.request<any>('{ shop { name } }')));
      expect(answers).toHaveLength(4);
    } finally {
      stack.resetSimClock();
    }
    const after = await connection(shop);
    expect(after.token_version).toBe(before.token_version + 1);
    expect(after.status).toBe('active');
  });

  it('a refresh Shopify rejects marks the connection needs_reauth and does not loop', async () => {
    const shop = 'refresh-dead.myshopify.com';
    const tenantId = await stack.install(shop);
    // 91 days pass at Shopify: the refresh token is dead too.
    stack.advanceSimClock(91 * 24 * 3600_000);
    try {
      await q(
        `UPDATE shopify_connections SET expires_at = now() + interval '1 minute' WHERE shop_domain = $1`,
        [shop],
      );
      await stack.server.deps.jobs.send('shopify.refresh-due', {});
      const row = await waitFor(async () => {
        const r = await connection(shop);
        return r.status === 'needs_reauth' ? r : undefined;
      });
      expect(row.access_token_enc).toBeNull();
      expect(row.refresh_token_enc).toBeNull();
      expect(row.last_error).toContain('refresh rejected');
      expect(await stack.server.deps.shopify.connections.dueForRefresh()).not.toContain(row.id);
      await expect(stack.server.deps.shopify.adminClient(tenantId)).rejects.toMatchObject({
        status: 409,
        code: 'SHOPIFY_REAUTH_REQUIRED',
      });
    } finally {
      stack.resetSimClock();
    }
    // Opening the app again (a new install) heals it.
    await stack.install(shop);
    expect((await connection(shop)).status).toBe('active');
  });
});

describe('uninstall and reinstall', () => {
  it('app/uninstalled erases the tokens, marks tenant uninstalled, schedules redaction; reinstall reattaches', async () => {
    const shop = 'comes-back.myshopify.com';
    const tenantId = await stack.install(shop);
    stack.sim.uninstall(shop);
    expect(await stack.server.deps.shopify.handleAppUninstalled(shop)).toEqual({ changed: true });
    expect(await stack.server.deps.shopify.handleAppUninstalled(shop)).toEqual({ changed: false });

    const row = await connection(shop);
    expect(row).toMatchObject({ status: 'uninstalled', access_token_enc: null, refresh_token_enc: null });
    const hours = (new Date(row.redact_at).getTime() - new Date(row.uninstalled_at).getTime()) / 3600_000;
    expect(hours).toBe(48);
    expect((await q<any>('SELECT status FROM tenants WHERE id = $1', [tenantId]))[0].status).toBe(
      'uninstalled',
    );
    const [uninstalled] = await jobsFor('shopify.connection-uninstalled', shop);
    expect(uninstalled.data).toMatchObject({ tenantId, reason: 'app_uninstalled' });
    const [redactJob] = await q<any>(
      `SELECT data, start_after FROM pgboss.job WHERE name = 'shopify.redact-shop' AND data->>'connectionId' = $1`,
      [row.id],
    );
    expect(new Date(redactJob.start_after).getTime()).toBe(new Date(row.redact_at).getTime());
    expect(await stack.server.deps.shopify.resolveShop(shop)).toEqual({
      tenantId,
      connectionId: row.id,
      status: 'uninstalled',
    });
    await expect(stack.server.deps.shopify.adminClient(tenantId)).rejects.toMatchObject({
      code: 'SHOPIFY_REAUTH_REQUIRED',
    });

    expect(await stack.install(shop)).toBe(tenantId);
    expect((await connection(shop)).status).toBe('active');
    expect((await q<any>('SELECT status FROM tenants WHERE id = $1', [tenantId]))[0].status).toBe('active');
    const installs = await jobsFor('shopify.connection-installed', shop);
    expect(installs.map((j) => j.data.reinstalled).sort()).toEqual([false, true]);
    // The redaction scheduled by the first uninstall no longer applies.
    expect(await stack.server.deps.shopify.connections.redact(redactJob.data, 'scheduled')).toBe(false);
    expect((await connection(shop)).status).toBe('active');
  });

  it('48 hours after an uninstall the shop is redacted (shop-redact event), once', async () => {
    const shop = 'gone-for-good.myshopify.com';
    const tenantId = await stack.install(shop);
    await stack.server.deps.shopify.handleAppUninstalled(shop);
    const row = await connection(shop);
    const job = { connectionId: row.id, uninstalledAt: new Date(row.uninstalled_at).toISOString() };
    expect(await stack.server.deps.shopify.connections.redact(job, 'scheduled')).toBe(true);
    expect(await stack.server.deps.shopify.connections.redact(job, 'scheduled')).toBe(false);
    expect(await stack.server.deps.shopify.handleShopRedact(shop)).toBe(false);
    expect((await connection(shop)).status).toBe('redacted');
    const [event] = await jobsFor('shopify.shop-redact', shop);
    expect(event.data).toEqual({ tenantId, shop, connectionId: row.id, trigger: 'scheduled' });
    expect(await stack.server.deps.shopify.resolveShop(shop)).toMatchObject({ status: 'redacted' });
    expect(await stack.server.deps.shopify.resolveShop('never-seen.myshopify.com')).toBeUndefined();
  });
});
