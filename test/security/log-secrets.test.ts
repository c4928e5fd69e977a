import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authHeaders,
  basic,
  call,
  cookieFrom,
  createApiKey,
  createOperatorSession,
  createShopper,
  createStaff,
  createTenant,
  expectNoSecretsInLogs,
  login,
  newEmail,
  newPassword,
  rememberSecret,
  secretsSeen,
  type TestTenant,
  waitForMail,
} from '../support/identity.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

// Every secret-bearing flow of identity, successes and failures, with the most verbose logging,
// then a scan of everything the server logged for every password, cookie, token, key and code
// used. (Each identity and security test file also scans its own server's logs in afterAll.)

let server: TestServer;
let tenant: TestTenant;
const anonymous = { kind: 'none' } as const;

beforeAll(async () => {
  server = await startTestServer({ env: { LOG_LEVEL: 'trace' } });
  tenant = await createTenant(server);
});
afterAll(async () => {
  await server?.close();
});

describe('no secrets in logs', () => {
  it('runs every credential flow, right and wrong', async () => {
    const operator = await createOperatorSession(server);
    const owner = await createStaff(server, tenant, { role: 'owner' });
    const ownerSession = await login(server, owner);
    await call(server, anonymous, 'POST', '/api/v1/sessions', {
      email: owner.email,
      password: `${owner.password}!`,
    });
    await call(server, basic({ email: owner.email, password: `${owner.password}?` }), 'GET', '/api/v1/me');
    await call(server, basic(owner), 'GET', `/api/v1/tenants/${tenant.id}/users`);
    await call(
      server,
      { kind: 'none' },
      'POST',
      '/api/v1/tenants',
      { name: 'x', slug: 'x-csrf' },
      {
        cookie: ownerSession.cookie,
        'x-csrf-token': 'forged-csrf-value',
      },
    );

    const replacement = newPassword();
    const staff = await createStaff(server, tenant, {}, ownerSession);
    await call(server, ownerSession, 'PATCH', `/api/v1/tenants/${tenant.id}/users/${staff.id}`, {
      password: replacement,
    });
    await call(server, ownerSession, 'POST', `/api/v1/tenants/${tenant.id}/users`, {
      email: newEmail(),
      password: 'weakpassword',
    });
    rememberSecret('weakpassword');

    const key = await createApiKey(server, tenant, {}, ownerSession);
    await call(server, key.credentials, 'GET', '/api/v1/me');
    const bad = `${key.key.slice(0, -5)}XXXXX`;
    rememberSecret(bad);
    await call(server, { kind: 'apiKey', key: bad }, 'GET', '/api/v1/me');
    await call(server, ownerSession, 'DELETE', `/api/v1/tenants/${tenant.id}/api-keys/${key.id}`);
    await call(server, key.credentials, 'GET', '/api/v1/me');

    const shopper = await createShopper(server, tenant);
    const base = `/api/v1/stores/${tenant.id}/shoppers`;
    await call(server, anonymous, 'POST', `${base}/verify`, { email: shopper.email, code: '000001' });
    await call(server, anonymous, 'POST', `${base}/login`, {
      email: shopper.email,
      password: `${shopper.password}#`,
    });
    const refreshed = await call(server, anonymous, 'POST', `${base}/refresh`, undefined, {
      cookie: shopper.refreshCookie,
      'x-csrf-token': shopper.csrfToken,
    });
    rememberSecret(refreshed.body.accessToken);
    rememberSecret(cookieFrom(refreshed.headers, `storeops_refresh_${tenant.id}`)?.split('=')[1]);
    // Reuse of the old refresh token, then a tampered access token.
    await call(server, anonymous, 'POST', `${base}/refresh`, undefined, {
      cookie: shopper.refreshCookie,
      'x-csrf-token': shopper.csrfToken,
    });
    await call(server, { kind: 'bearer', token: `${refreshed.body.accessToken}x` }, 'GET', `${base}/me`);
    await call(server, anonymous, 'POST', `${base}/password-reset`, { email: shopper.email });
    const reset = await waitForMail(server, shopper.email, 2);
    const newShopperPassword = newPassword();
    await call(server, anonymous, 'POST', `${base}/password-reset/confirm`, {
      email: shopper.email,
      code: reset.code,
      newPassword: newShopperPassword,
    });
    const again = await call(server, anonymous, 'POST', `${base}/login`, {
      email: shopper.email,
      password: newShopperPassword,
    });
    rememberSecret(again.body.accessToken);
    await call(server, anonymous, 'POST', `${base}/logout`, undefined, {
      cookie: cookieFrom(again.headers, `storeops_refresh_${tenant.id}`)!,
      'x-csrf-token': again.body.csrfToken,
    });
    await call(server, operator, 'DELETE', '/api/v1/sessions/current');
    expect(secretsSeen.size).toBeGreaterThan(15);
  });

  it('logged none of them, nor any stored hash', async () => {
    // The server logged plenty (trace level): the scan is not vacuous.
    expect(server.logs.lines.length).toBeGreaterThan(30);
    const hashes: string[] = [];
    for (const sql of [
      'SELECT password_hash AS h FROM operators',
      'SELECT password_hash AS h FROM tenant_users',
      'SELECT password_hash AS h FROM shoppers',
      'SELECT token_hash AS h FROM sessions',
      'SELECT key_hash AS h FROM api_keys',
      'SELECT token_hash AS h FROM shopper_refresh_tokens',
    ]) {
      const { rows } = await server.deps.database.query<{ h: string }>(sql);
      hashes.push(...rows.map((r) => r.h));
    }
    expect(hashes.length).toBeGreaterThan(10);
    expectNoSecretsInLogs(server, hashes);
  });

  it('would notice a leak (the scan itself works)', () => {
    const secret = newPassword();
    const header = authHeaders({ kind: 'basic', email: 'a@b.c', password: secret }).authorization;
    for (const line of [`{"password":"${secret}"}`, `{"authorization":"${header}"}`]) {
      const leaky = { logs: { lines: [line], text: () => line } } as unknown as TestServer;
      expect(() => expectNoSecretsInLogs(leaky)).toThrow();
    }
  });
});
