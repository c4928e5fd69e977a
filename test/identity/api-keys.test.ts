import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allScopes,
  call,
  type Credentials,
  createApiKey,
  createOperatorSession,
  createStaff,
  createTenant,
  expectNoSecretsInLogs,
  login,
  type TestTenant,
} from '../support/identity.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let operator: Credentials;
let tenant: TestTenant;
let owner: Credentials;

beforeAll(async () => {
  server = await startTestServer();
  operator = await createOperatorSession(server);
  tenant = await createTenant(server);
  owner = await login(server, await createStaff(server, tenant, { role: 'owner' }));
});
afterAll(async () => {
  if (server) expectNoSecretsInLogs(server);
  await server?.close();
});

const keys = () => `/api/v1/tenants/${tenant.id}/api-keys`;

describe('API keys', () => {
  it('shows the key once, stores only a peppered hash, and lists without secrets', async () => {
    const created = await call(server, owner, 'POST', keys(), {
      name: 'warehouse sync',
      scopes: ['data:read', 'events:read'],
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('cache-control')).toBe('no-store');
    expect(created.body.key).toMatch(/^sok_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    expect(created.body.key).toContain(created.body.prefix);
    expect(created.body).toMatchObject({
      name: 'warehouse sync',
      scopes: ['data:read', 'events:read'],
      lastUsedAt: null,
    });
    const { rows } = await server.deps.database.query<{ key_hash: string }>(
      'SELECT key_hash FROM api_keys WHERE id = $1',
      [created.body.id],
    );
    expect(rows[0].key_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[0].key_hash).not.toContain(created.body.key.split('_')[2]);
    const list = await call(server, owner, 'GET', keys());
    expect(list.text).not.toContain(created.body.key);
    expect(list.body.items[0]).not.toHaveProperty('key');
    const one = await call(server, owner, 'GET', `${keys()}/${created.body.id}`);
    expect(one.body.prefix).toBe(created.body.prefix);
    expect(one.text).not.toContain(created.body.key);
  });

  it('authenticates with X-API-Key, records last_used_at, and shows the key in me', async () => {
    const key = await createApiKey(server, tenant, { scopes: ['events:replay'] }, owner);
    const me = await call(server, key.credentials, 'GET', '/api/v1/me');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ kind: 'api_key', scopes: ['events:replay'], tenant: { id: tenant.id } });
    const read = await call(server, owner, 'GET', `${keys()}/${key.id}`);
    expect(read.body.lastUsedAt).toEqual(expect.any(String));
  });

  it('enforces scopes and keeps keys out of management routes', async () => {
    const narrow = await createApiKey(server, tenant, { scopes: ['data:read'] });
    const full = await createApiKey(server, tenant, { scopes: allScopes(server) });
    for (const credentials of [narrow.credentials, full.credentials]) {
      expect((await call(server, credentials, 'GET', keys())).status).toBe(403);
      expect(
        (await call(server, credentials, 'POST', keys(), { name: 'x', scopes: ['data:read'] })).status,
      ).toBe(403);
      expect((await call(server, credentials, 'GET', `/api/v1/tenants/${tenant.id}/users`)).status).toBe(403);
    }
  });

  it('refuses revoked, expired, malformed and forged keys with 401', async () => {
    const key = await createApiKey(server, tenant, { scopes: ['data:read'] });
    const revoked = await call(server, owner, 'DELETE', `${keys()}/${key.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).toEqual(expect.any(String));
    const after = await call(server, key.credentials, 'GET', '/api/v1/me');
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('API_KEY_REVOKED');

    const expiring = await createApiKey(server, tenant, { scopes: ['data:read'] });
    await server.deps.database.query(
      `UPDATE api_keys SET expires_at = now() - interval '1 minute' WHERE id = $1`,
      [expiring.id],
    );
    const expired = await call(server, expiring.credentials, 'GET', '/api/v1/me');
    expect(expired.status).toBe(401);
    expect(expired.body.error.code).toBe('API_KEY_EXPIRED');

    const good = await createApiKey(server, tenant, { scopes: ['data:read'] });
    const forged = `${good.key.slice(0, -4)}AAAA`;
    for (const bad of ['nope', forged, `sok_${'a'.repeat(12)}_${'b'.repeat(43)}`]) {
      const res = await call(server, { kind: 'apiKey', key: bad }, 'GET', '/api/v1/me');
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('INVALID_API_KEY');
    }
    const log = await call(server, operator, 'GET', `/api/v1/tenants/${tenant.id}/audit-log?action=api_key`);
    expect(log.body.items.map((e: any) => e.action)).toContain('api_key.revoked');
    expect(log.text).not.toContain(key.key);
  });

  it('validates scopes and expiry', async () => {
    const bad = await call(server, owner, 'POST', keys(), { name: 'x', scopes: ['everything'] });
    expect(bad.status).toBe(422);
    const past = await call(server, owner, 'POST', keys(), {
      name: 'x',
      scopes: ['data:read'],
      expiresAt: '2001-01-01T00:00:00Z',
    });
    expect(past.status).toBe(422);
    expect(past.body.error.code).toBe('EXPIRY_IN_PAST');
  });
});
