import { createHmac } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShopifySim } from '../../../src/devtools/shopify-sim/index.ts';
import { API_KEY, API_SECRET, asAny, gql, startSim } from './helpers.ts';

const SHOP = 'oauth-shop.myshopify.com';
let sim: ShopifySim;

beforeAll(async () => {
  sim = await startSim();
});
afterAll(async () => {
  await sim.close();
});

async function authorize(scope = 'read_products,read_orders', extra = ''): Promise<URL> {
  const res = await fetch(
    `${sim.url}/${SHOP}/admin/oauth/authorize?client_id=${API_KEY}&scope=${scope}&redirect_uri=${encodeURIComponent('http://127.0.0.1:9/auth/callback')}&state=nonce-123${extra}`,
    { redirect: 'manual' },
  );
  expect(res.status).toBe(302);
  return new URL(res.headers.get('location') as string);
}

function tokenRequest(body: Record<string, unknown>, form = false) {
  return fetch(`${sim.url}/${SHOP}/admin/oauth/access_token`, {
    method: 'POST',
    headers: { 'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json' },
    body: form ? new URLSearchParams(body as Record<string, string>).toString() : JSON.stringify(body),
  });
}

async function codeFor(scope?: string): Promise<string> {
  return (await authorize(scope)).searchParams.get('code') as string;
}

describe('authorize redirect', () => {
  // https://shopify.dev/docs/apps/build/authentication-authorization/get-access-tokens/authorization-code-grant
  // (Step 3/4: the redirect carries code, hmac, host, shop, state, timestamp; verify the hmac by
  // removing it, sorting the remaining key=value pairs, joining with & and HMAC-SHA256 hex with the secret.)
  it('redirects to redirect_uri with code, hmac, host, shop, state and timestamp', async () => {
    const url = await authorize();
    expect(`${url.origin}${url.pathname}`).toBe('http://127.0.0.1:9/auth/callback');
    expect([...url.searchParams.keys()].sort()).toEqual([
      'code',
      'hmac',
      'host',
      'shop',
      'state',
      'timestamp',
    ]);
    expect(url.searchParams.get('shop')).toBe(SHOP);
    expect(url.searchParams.get('state')).toBe('nonce-123');
    expect(Number(url.searchParams.get('timestamp'))).toBeGreaterThan(1_600_000_000);
    expect(Buffer.from(url.searchParams.get('host') as string, 'base64url').toString()).toBe(
      'admin.shopify.com/store/oauth-shop',
    );
  });

  it('signs the other parameters exactly as Shopify does', async () => {
    const url = await authorize();
    const params = Object.fromEntries(url.searchParams);
    const { hmac, ...rest } = params;
    const message = Object.keys(rest)
      .sort()
      .map((k) => `${k}=${rest[k]}`)
      .join('&');
    expect(hmac).toBe(createHmac('sha256', API_SECRET).update(message).digest('hex'));
  });

  it('refuses an unknown client_id', async () => {
    const res = await fetch(
      `${sim.url}/${SHOP}/admin/oauth/authorize?client_id=nope&scope=read_products&redirect_uri=http://127.0.0.1:9/cb`,
      {
        redirect: 'manual',
      },
    );
    expect(res.status).toBe(400);
  });
});

describe('access token endpoint', () => {
  // https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/offline-access-tokens
  it('issues a non-expiring offline token with only access_token and scope', async () => {
    const res = await tokenRequest({ client_id: API_KEY, client_secret: API_SECRET, code: await codeFor() });
    expect(res.status).toBe(200);
    const body = await res.json().then(asAny);
    expect(Object.keys(body).sort()).toEqual(['access_token', 'scope']);
    expect(body.scope).toBe('read_products,read_orders');
    expect(body.access_token).toMatch(/^shpat_[0-9a-f]{32}$/);
    // Re-authorising with offline access returns the same token.
    const again = await (
      await tokenRequest({ client_id: API_KEY, client_secret: API_SECRET, code: await codeFor() }, true)
    )
      .json()
      .then(asAny);
    expect(again.access_token).toBe(body.access_token);
  });

  // https://shopify.dev/changelog/offline-access-tokens-now-support-expiry-and-refresh
  it('issues an expiring offline token with expires_in, refresh_token and refresh_token_expires_in when expiring=1', async () => {
    const res = await tokenRequest(
      { client_id: API_KEY, client_secret: API_SECRET, code: await codeFor(), expiring: '1' },
      true,
    );
    const body = await res.json().then(asAny);
    expect(res.status).toBe(200);
    expect(Object.keys(body).sort()).toEqual([
      'access_token',
      'expires_in',
      'refresh_token',
      'refresh_token_expires_in',
      'scope',
    ]);
    expect(body.expires_in).toBe(3600);
    expect(body.refresh_token_expires_in).toBe(7_776_000);
    expect(body.refresh_token).toMatch(/^shprt_/);
  });

  it('rejects a reused code with invalid_request', async () => {
    const code = await codeFor();
    expect((await tokenRequest({ client_id: API_KEY, client_secret: API_SECRET, code })).status).toBe(200);
    const res = await tokenRequest({ client_id: API_KEY, client_secret: API_SECRET, code });
    expect(res.status).toBe(400);
    expect(await res.json().then(asAny)).toEqual({
      error: 'invalid_request',
      error_description: 'The authorization code was not found or was already used',
    });
  });

  it('rejects a wrong client secret with invalid_client', async () => {
    const res = await tokenRequest({ client_id: API_KEY, client_secret: 'wrong', code: await codeFor() });
    expect(res.status).toBe(400);
    expect((await res.json().then(asAny)).error).toBe('invalid_client');
  });

  // https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/offline-access-tokens#refresh
  it('rotates tokens on refresh and refuses revoked refresh tokens with invalid_grant', async () => {
    const first = await (
      await tokenRequest({
        client_id: API_KEY,
        client_secret: API_SECRET,
        code: await codeFor(),
        expiring: 1,
      })
    )
      .json()
      .then(asAny);
    const res = await tokenRequest({
      client_id: API_KEY,
      client_secret: API_SECRET,
      grant_type: 'refresh_token',
      refresh_token: first.refresh_token,
    });
    const second = await res.json().then(asAny);
    expect(res.status).toBe(200);
    expect(second.access_token).not.toBe(first.access_token);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.expires_in).toBe(3600);
    // Using the replacement retires its predecessor.
    await tokenRequest({
      client_id: API_KEY,
      client_secret: API_SECRET,
      grant_type: 'refresh_token',
      refresh_token: second.refresh_token,
    });
    const stale = await tokenRequest({
      client_id: API_KEY,
      client_secret: API_SECRET,
      grant_type: 'refresh_token',
      refresh_token: first.refresh_token,
    });
    expect(stale.status).toBe(400);
    expect((await stale.json().then(asAny)).error).toBe('invalid_grant');
  });

  it('expired and revoked access tokens get 401 from the Admin API', async () => {
    const body = await (
      await tokenRequest({
        client_id: API_KEY,
        client_secret: API_SECRET,
        code: await codeFor(),
        expiring: 1,
      })
    )
      .json()
      .then(asAny);
    expect((await gql(sim, SHOP, body.access_token, '{ shop { name } }')).status).toBe(200);
    sim.expireToken(body.access_token);
    const expired = await gql(sim, SHOP, body.access_token, '{ shop { name } }');
    expect(expired.status).toBe(401);
    expect(expired.body).toEqual({
      errors: '[API] Invalid API key or access token (unrecognized login or wrong password)',
    });
    const other = sim.issueAccessToken(SHOP, { scopes: ['read_products'] }).access_token as string;
    sim.revokeToken(other);
    expect((await gql(sim, SHOP, other, '{ shop { name } }')).status).toBe(401);
  });
});

describe('session tokens and token exchange', () => {
  // https://shopify.dev/docs/apps/build/authentication-authorization/session-tokens (payload claims)
  it('mints HS256 session tokens with Shopify’s claims', async () => {
    const jwt = await sim.mintSessionToken({ shop: SHOP, userId: '42' });
    expect(decodeProtectedHeader(jwt).alg).toBe('HS256');
    const claims = decodeJwt(jwt);
    expect(Object.keys(claims).sort()).toEqual([
      'aud',
      'dest',
      'exp',
      'iat',
      'iss',
      'jti',
      'nbf',
      'sid',
      'sig',
      'sub',
    ]);
    expect(claims.iss).toBe(`https://${SHOP}/admin`);
    expect(claims.dest).toBe(`https://${SHOP}`);
    expect(claims.aud).toBe(API_KEY);
    expect(claims.sub).toBe('42');
    expect((claims.exp as number) - (claims.iat as number)).toBe(60);
  });

  // https://shopify.dev/docs/apps/build/authentication-authorization/get-access-tokens/exchange-tokens
  it('exchanges a session token for offline (expiring) and online tokens', async () => {
    const base = {
      client_id: API_KEY,
      client_secret: API_SECRET,
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
    };
    const offline = await tokenRequest({
      ...base,
      subject_token: await sim.mintSessionToken({ shop: SHOP }),
      requested_token_type: 'urn:shopify:params:oauth:token-type:offline-access-token',
      expiring: '1',
    });
    const ob = await offline.json().then(asAny);
    expect(offline.status).toBe(200);
    expect(ob.expires_in).toBe(3600);
    expect(ob.refresh_token).toMatch(/^shprt_/);
    const online = await tokenRequest({
      ...base,
      subject_token: await sim.mintSessionToken({ shop: SHOP, userId: '77' }),
      requested_token_type: 'urn:shopify:params:oauth:token-type:online-access-token',
    });
    const onb = await online.json().then(asAny);
    expect(online.status).toBe(200);
    expect(onb.associated_user.id).toBe(77);
    expect(typeof onb.associated_user_scope).toBe('string');
    expect((await gql(sim, SHOP, onb.access_token, '{ shop { name } }')).status).toBe(200);
  });

  it('rejects an expired session token with 400 invalid_subject_token', async () => {
    const res = await tokenRequest({
      client_id: API_KEY,
      client_secret: API_SECRET,
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
      subject_token: await sim.mintSessionToken({ shop: SHOP, expiresInSeconds: -120 }),
      requested_token_type: 'urn:shopify:params:oauth:token-type:offline-access-token',
    });
    expect(res.status).toBe(400);
    expect((await res.json().then(asAny)).error).toBe('invalid_subject_token');
  });
});
