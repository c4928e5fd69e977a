import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installAccessControl } from '../../src/platform/http/auth.ts';
import { createHttpServer } from '../../src/platform/http/server.ts';
import {
  basic,
  call,
  createApiKey,
  createOperatorSession,
  createStaff,
  createTenant,
  expectNoSecretsInLogs,
  login,
} from '../support/identity.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  if (server) expectNoSecretsInLogs(server);
  await server?.close();
});

async function bareApp() {
  const app = await createHttpServer(server.deps);
  installAccessControl(app, {
    authenticator: server.deps.identity.authenticator,
    database: server.deps.database,
    scopes: server.deps.scopes,
  });
  return app;
}

describe('the authorization layer', () => {
  it('refuses to start when an /api route declares no access (fails closed)', async () => {
    const app = await bareApp();
    let error: unknown;
    try {
      app.get('/api/v1/forgotten', async () => ({ secret: true }));
      await app.ready();
    } catch (e) {
      error = e;
    }
    expect(String(error)).toMatch(/GET \/api\/v1\/forgotten declares no access/);
    await app.close().catch(() => {});
  });

  it('refuses a declaration that allows nobody, and accepts routes outside /api without one', async () => {
    const app = await bareApp();
    let error: unknown;
    try {
      app.get('/api/v1/nobody', { config: { access: {} } }, async () => ({}));
      await app.ready();
    } catch (e) {
      error = e;
    }
    expect(String(error)).toMatch(/allows nobody/);
    await app.close().catch(() => {});
    const other = await bareApp();
    other.post('/hooks/elsewhere', async () => ({ ok: true }));
    await other.ready();
    await other.close();
  });

  it('refuses a route naming an API-key scope no module declared (a typo would lock every key out)', async () => {
    const app = await bareApp();
    let error: unknown;
    try {
      app.get('/api/v1/typo', { config: { access: { apiKey: ['data:raed'] } } }, async () => ({}));
      await app.ready();
    } catch (e) {
      error = e;
    }
    expect(String(error)).toMatch(/undeclared API-key scope data:raed/);
    await app.close().catch(() => {});
  });

  it('lists the scopes the modules declare, and refuses keys with undeclared ones', async () => {
    const operator = await createOperatorSession(server);
    const listed = await call(server, operator, 'GET', '/api/v1/api-key-scopes');
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((s: { name: string }) => s.name)).toEqual(
      expect.arrayContaining(['tokens:read', 'data:read', 'events:read', 'events:replay']),
    );
    const tenant = await createTenant(server, {}, operator);
    const path = `/api/v1/tenants/${tenant.id}/api-keys`;
    const refused = await call(server, operator, 'POST', path, {
      name: 'typo',
      scopes: ['data:read', 'nothing:here'],
    });
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('UNKNOWN_SCOPE');
    expect(refused.body.error.details.unknown).toEqual(['nothing:here']);
    expect((await call(server, operator, 'GET', path)).body.items).toEqual([]);
  });

  it('publishes each declaration in the OpenAPI document', async () => {
    const doc: any = await (await server.fetch('/api/v1/openapi.json')).json();
    const users = doc.paths['/api/v1/tenants/{tenant}/users'].get;
    expect(users['x-storeops-access']).toEqual({ operator: true, staff: 'owner' });
    expect(users.security).toEqual([{ session: [] }, { basic: [] }]);
    expect(users.description).toMatch(/Access: operators, staff owners/);
    const login = doc.paths['/api/v1/sessions'].post;
    expect(login['x-storeops-access']).toEqual({ public: true });
    expect(login.security).toEqual([]);
    const me = doc.paths['/api/v1/stores/{tenant}/shoppers/me'].get;
    expect(me.security).toEqual([{ bearer: [] }]);
  });

  it('reads credentials in a fixed order: X-API-Key, Authorization, then the cookie', async () => {
    const operator = await createOperatorSession(server);
    const tenant = await createTenant(server, {}, operator);
    const owner = await createStaff(server, tenant, { role: 'owner' }, operator);
    const key = await createApiKey(server, tenant, { scopes: ['data:read'] }, operator);
    const session = await login(server, owner);
    const both = await call(server, key.credentials, 'GET', '/api/v1/me', undefined, {
      cookie: session.cookie,
    });
    expect(both.body.kind).toBe('api_key');
    // A wrong header is a 401 even with a valid cookie alongside.
    const wrong = await call(server, { kind: 'apiKey', key: 'sok_nope' }, 'GET', '/api/v1/me', undefined, {
      cookie: session.cookie,
    });
    expect(wrong.status).toBe(401);
    const scheme = await call(server, { kind: 'none' }, 'GET', '/api/v1/me', undefined, {
      authorization: 'Digest abc',
    });
    expect(scheme.status).toBe(401);
    const basicWins = await call(server, basic(owner), 'GET', '/api/v1/me', undefined, {
      cookie: 'storeops_session=junk',
    });
    expect(basicWins.body).toMatchObject({ kind: 'staff', via: 'basic' });
    // A cookie nobody issued is an ended session.
    const junk = await call(server, { kind: 'none' }, 'GET', '/api/v1/me', undefined, {
      cookie: 'storeops_session=junk',
    });
    expect(junk.body.error.code).toBe('SESSION_EXPIRED');
  });

  it('answers 403 for a principal the route does not list, 401 for nobody, before looking at the body', async () => {
    const operator = await createOperatorSession(server);
    const tenant = await createTenant(server, {}, operator);
    const staff = await createStaff(server, tenant, {}, operator);
    // Invalid body, but the caller may not call the route at all: 403, not 422.
    const forbidden = await call(server, basic(staff), 'POST', `/api/v1/tenants/${tenant.id}/api-keys`, {
      junk: 1,
    });
    expect(forbidden.status).toBe(403);
    const anonymous = await call(server, { kind: 'none' }, 'POST', `/api/v1/tenants/${tenant.id}/api-keys`, {
      junk: 1,
    });
    expect(anonymous.status).toBe(401);
  });

  it('lets operators see every tenant, deactivated ones included, by id or slug', async () => {
    const operator = await createOperatorSession(server);
    const tenant = await createTenant(server, {}, operator);
    await call(server, operator, 'PATCH', `/api/v1/tenants/${tenant.id}`, { status: 'deactivated' });
    for (const ref of [tenant.id, tenant.slug, tenant.slug.toUpperCase()]) {
      const res = await call(server, operator, 'GET', `/api/v1/tenants/${ref}/users`);
      expect(res.status, ref).toBe(200);
    }
    expect(
      (await call(server, operator, 'GET', '/api/v1/tenants/00000000-0000-0000-0000-000000000000')).status,
    ).toBe(404);
  });
});
