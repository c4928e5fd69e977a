import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { createAdminClient, parseRetryAfter, ShopifyAdminError } from '../../src/shopify/admin-client.ts';
import { normalizeShopDomain } from '../../src/shopify/api.ts';
import { verifySessionToken } from '../../src/shopify/oauth.ts';

// Pure parts of the Shopify module: the Admin client's error mapping (fed canned answers in
// Shopify's documented shapes) and session-token verification. The real thing runs end to end
// against the simulator in install.test.ts.
const shop = 'unit.myshopify.com';
const cost = (requested: number, available: number) => ({
  requestedQueryCost: requested,
  actualQueryCost: null,
  throttleStatus: { maximumAvailable: 2000, currentlyAvailable: available, restoreRate: 100 },
});

function clientWith(answers: Response[], tokens = { versions: [1, 2], refreshed: 0 }) {
  const seen: { url: string; token: string | null }[] = [];
  const client = createAdminClient({
    shop,
    apiVersion: '2025-10',
    adminUrlTemplate: 'https://{shop}',
    tokens: {
      get: async () => ({
        token: `token-v${tokens.versions[tokens.refreshed]}`,
        version: tokens.versions[tokens.refreshed],
      }),
      onUnauthorized: async () => {
        if (tokens.refreshed + 1 >= tokens.versions.length) return false;
        tokens.refreshed++;
        return true;
      },
    },
    fetch: (async (url: string, init: RequestInit) => {
      seen.push({ url, token: new Headers(init.headers).get('x-shopify-access-token') });
      const next = answers.shift();
      if (!next) throw new TypeError('fetch failed');
      return next;
    }) as typeof fetch,
  });
  return { client, seen, tokens };
}
const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

describe('Admin GraphQL client', () => {
  it('posts to the templated URL with the token and returns data plus extensions.cost', async () => {
    const { client, seen } = clientWith([
      json(200, { data: { shop: { name: 'Unit' } }, extensions: { cost: cost(1, 1999) } }),
    ]);
    const answer = await client.request<{ shop: { name: string } }>('{ shop { name } }');
    expect(answer.data.shop.name).toBe('Unit');
    expect(answer.extensions?.cost?.throttleStatus.currentlyAvailable).toBe(1999);
    expect(seen).toEqual([{ url: `https://${shop}/admin/api/2025-10/graphql.json`, token: 'token-v1' }]);
  });

  it('refreshes once on 401 and retries with the new token; a second 401 means re-auth', async () => {
    const ok = clientWith([
      json(401, { errors: 'Invalid API key or access token' }),
      json(200, { data: { ok: true } }),
    ]);
    expect((await ok.client.request('{ ok }')).data).toEqual({ ok: true });
    expect(ok.seen.map((s) => s.token)).toEqual(['token-v1', 'token-v2']);

    const dead = clientWith([json(401, {}), json(401, {})]);
    const error = await dead.client.request('{ ok }').catch((e) => e);
    expect(error).toBeInstanceOf(ShopifyAdminError);
    expect(error).toMatchObject({ kind: 'reauth_required', status: 409, code: 'SHOPIFY_REAUTH_REQUIRED' });
    const noRefresh = clientWith([json(401, {})], { versions: [1], refreshed: 0 });
    expect(await noRefresh.client.request('{ ok }').catch((e) => e.kind)).toBe('reauth_required');
    expect(noRefresh.seen).toHaveLength(1);
  });

  it('maps THROTTLED (HTTP 200) to a wait computed from the bucket, 429 to its Retry-After', async () => {
    const throttled = clientWith([
      json(200, {
        errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED' } }],
        extensions: { cost: cost(502, 2) },
      }),
    ]);
    const t = await throttled.client.request('{ x }').catch((e) => e);
    expect(t).toMatchObject({ kind: 'throttled', status: 503, retryAfterSeconds: 5 });
    expect(t.cost.requestedQueryCost).toBe(502);
    expect(t.headers).toEqual({ 'retry-after': '5' });

    const limited = clientWith([
      json(429, { errors: 'Exceeded 2 calls per second' }, { 'retry-after': '2.0' }),
    ]);
    expect(await limited.client.request('{ x }').catch((e) => e)).toMatchObject({
      kind: 'rate_limited',
      retryAfterSeconds: 2,
    });
    expect(parseRetryAfter('1.5')).toBe(1.5);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });

  it('keeps GraphQL errors (with partial data), ACCESS_DENIED, 5xx and network failures apart', async () => {
    const partial = clientWith([
      json(200, {
        data: { a: 1, b: null },
        errors: [{ message: 'b failed', path: ['b'] }],
        extensions: { cost: cost(2, 1998) },
      }),
    ]);
    expect(await partial.client.request('{ a b }').catch((e) => e)).toMatchObject({
      kind: 'graphql',
      data: { a: 1, b: null },
    });
    const denied = clientWith([
      json(200, {
        data: null,
        errors: [{ message: 'Access denied', extensions: { code: 'ACCESS_DENIED' } }],
      }),
    ]);
    expect(await denied.client.request('{ orders }').catch((e) => e.kind)).toBe('access_denied');
    const down = clientWith([new Response('Service Unavailable', { status: 503 })]);
    expect(await down.client.request('{ x }').catch((e) => e)).toMatchObject({
      kind: 'unavailable',
      httpStatus: 503,
    });
    const unreachable = clientWith([]);
    expect(await unreachable.client.request('{ x }').catch((e) => e.kind)).toBe('unavailable');
    const notJson = clientWith([new Response('<html>', { status: 200 })]);
    expect(await notJson.client.request('{ x }').catch((e) => e.kind)).toBe('invalid_response');
    const frozen = clientWith([json(402, { errors: 'Unavailable Shop' })]);
    expect(await frozen.client.request('{ x }').catch((e) => e)).toMatchObject({
      kind: 'http',
      httpStatus: 402,
    });
  });
});

describe('shop domains and session tokens', () => {
  it('follows the *.myshopify.com rule', () => {
    expect(normalizeShopDomain(' My-Store.MYSHOPIFY.com ')).toBe('my-store.myshopify.com');
    for (const bad of [
      'my-store.myshopify.com.evil.com',
      'evil.com',
      '-a.myshopify.com',
      'a_b.myshopify.com',
      'a.b.myshopify.com',
      42,
    ]) {
      expect(normalizeShopDomain(bad)).toBeUndefined();
    }
  });

  const app = { apiKey: 'app-key', secrets: ['current-secret', 'previous-secret'] };
  const now = Math.floor(Date.now() / 1000);
  const sign = (
    claims: Record<string, unknown>,
    secret = 'current-secret',
    times = { iat: now, nbf: now, exp: now + 60 },
  ) =>
    new SignJWT({
      iss: `https://${shop}/admin`,
      dest: `https://${shop}`,
      aud: 'app-key',
      sub: '42',
      ...times,
      ...claims,
    })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .sign(new TextEncoder().encode(secret));

  it('accepts a valid token signed with the current or the previous secret', async () => {
    expect(await verifySessionToken(app, await sign({}))).toMatchObject({
      ok: true,
      claims: { shop, sub: '42' },
    });
    expect(await verifySessionToken(app, await sign({}, 'previous-secret'))).toMatchObject({ ok: true });
  });

  it('allows 10 s of clock skew on exp and nbf, no more', async () => {
    const late = { iat: now - 70, nbf: now - 70, exp: now - 5 };
    expect(await verifySessionToken(app, await sign({}, 'current-secret', late))).toMatchObject({ ok: true });
    const expired = { iat: now - 90, nbf: now - 90, exp: now - 30 };
    expect(await verifySessionToken(app, await sign({}, 'current-secret', expired))).toEqual({
      ok: false,
      reason: 'session token expired',
    });
    const early = { iat: now + 60, nbf: now + 60, exp: now + 120 };
    expect(await verifySessionToken(app, await sign({}, 'current-secret', early))).toMatchObject({
      ok: false,
      reason: expect.stringContaining('nbf'),
    });
  });

  it('rejects a foreign secret, another app, a bad dest/iss and a wrong algorithm', async () => {
    expect(await verifySessionToken(app, await sign({}, 'another-app'))).toMatchObject({
      ok: false,
      reason: expect.stringContaining('signature'),
    });
    expect(await verifySessionToken(app, await sign({ aud: 'other' }))).toMatchObject({
      ok: false,
      reason: expect.stringContaining('aud'),
    });
    expect(await verifySessionToken(app, await sign({ dest: 'https://evil.com' }))).toMatchObject({
      ok: false,
    });
    expect(await verifySessionToken(app, await sign({ dest: `http://${shop}` }))).toMatchObject({
      ok: false,
    });
    expect(
      await verifySessionToken(app, await sign({ iss: 'https://other.myshopify.com/admin' })),
    ).toMatchObject({ ok: false });
    expect(await verifySessionToken(app, await sign({ dest: undefined }))).toMatchObject({ ok: false });
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ dest: `https://${shop}`, aud: 'app-key' })).toString('base64url')}.`;
    expect(await verifySessionToken(app, none)).toMatchObject({ ok: false });
  });
});
