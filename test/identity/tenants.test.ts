import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  basic,
  call,
  type Credentials,
  createApiKey,
  createOperatorSession,
  createShopper,
  createStaff,
  createTenant,
  expectNoSecretsInLogs,
  login,
} from '../support/identity.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let operator: Credentials;

beforeAll(async () => {
  server = await startTestServer();
  operator = await createOperatorSession(server);
});
afterAll(async () => {
  if (server) expectNoSecretsInLogs(server);
  await server?.close();
});

describe('tenants', () => {
  it('creates, reads by id or slug, lists with a cursor and updates', async () => {
    const created = await call(server, operator, 'POST', '/api/v1/tenants', {
      name: 'Acme Outdoor',
      slug: 'Acme-Outdoor',
      currency: 'EUR',
      timezone: 'Europe/Paris',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ slug: 'acme-outdoor', currency: 'EUR', status: 'active' });
    const bySlug = await call(server, operator, 'GET', '/api/v1/tenants/ACME-OUTDOOR');
    expect(bySlug.body.id).toBe(created.body.id);
    const byId = await call(server, operator, 'GET', `/api/v1/tenants/${created.body.id}`);
    expect(byId.body.slug).toBe('acme-outdoor');

    await createTenant(server);
    await createTenant(server);
    const first = await call(server, operator, 'GET', '/api/v1/tenants?limit=2');
    expect(first.body.items).toHaveLength(2);
    const rest = await call(
      server,
      operator,
      'GET',
      `/api/v1/tenants?limit=2&cursor=${first.body.nextCursor}`,
    );
    const ids = [...first.body.items, ...rest.body.items].map((t: any) => t.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toContain(created.body.id);

    const updated = await call(server, operator, 'PATCH', `/api/v1/tenants/${created.body.id}`, {
      name: 'Acme Outdoor & Co',
      timezone: 'America/New_York',
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ name: 'Acme Outdoor & Co', timezone: 'America/New_York' });
  });

  it('validates input and refuses taken slugs', async () => {
    const tenant = await createTenant(server);
    const dup = await call(server, operator, 'POST', '/api/v1/tenants', { name: 'Dup', slug: tenant.slug });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('TENANT_SLUG_TAKEN');
    const bad = await call(server, operator, 'POST', '/api/v1/tenants', {
      name: 'Bad',
      slug: 'no spaces!',
      currency: 'euro',
      timezone: 'Mars/Olympus',
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.issues.map((i: any) => i.path).sort()).toEqual([
      'currency',
      'slug',
      'timezone',
    ]);
    expect((await call(server, operator, 'GET', '/api/v1/tenants/no-such-store')).status).toBe(404);
  });

  it('deactivation shuts out staff, API keys, shoppers and the storefront; operators still see it', async () => {
    const tenant = await createTenant(server);
    const owner = await createStaff(server, tenant, { role: 'owner' });
    const session = await login(server, owner);
    const key = await createApiKey(server, tenant, { scopes: ['data:read'] });
    const shopper = await createShopper(server, tenant);
    expect((await call(server, key.credentials, 'GET', '/api/v1/me')).status).toBe(200);

    const off = await call(server, operator, 'PATCH', `/api/v1/tenants/${tenant.id}`, {
      status: 'deactivated',
    });
    expect(off.status).toBe(200);
    expect(off.body.status).toBe('deactivated');

    for (const credentials of [session, basic(owner), key.credentials]) {
      const res = await call(server, credentials, 'GET', `/api/v1/tenants/${tenant.id}`);
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('TENANT_DEACTIVATED');
    }
    const me = await call(server, shopper.credentials, 'GET', `/api/v1/stores/${tenant.id}/shoppers/me`);
    expect(me.status).toBe(403);
    const login401 = await call(server, { kind: 'none' }, 'POST', '/api/v1/sessions', owner);
    expect(login401.status).toBe(403);
    const storefront = await call(
      server,
      { kind: 'none' },
      'POST',
      `/api/v1/stores/${tenant.slug}/shoppers/login`,
      {
        email: shopper.email,
        password: shopper.password,
      },
    );
    expect(storefront.status).toBe(404);
    expect(storefront.body.error.code).toBe('TENANT_NOT_FOUND');
    expect((await call(server, operator, 'GET', `/api/v1/tenants/${tenant.id}`)).body.status).toBe(
      'deactivated',
    );

    const on = await call(server, operator, 'PATCH', `/api/v1/tenants/${tenant.id}`, { status: 'active' });
    expect(on.body.status).toBe('active');
    expect((await call(server, key.credentials, 'GET', '/api/v1/me')).status).toBe(200);
    expect((await call(server, session, 'GET', '/api/v1/me')).status).toBe(200);

    const log = await call(server, operator, 'GET', `/api/v1/tenants/${tenant.id}/audit-log?action=tenant`);
    expect(log.body.items.map((e: any) => e.action)).toEqual([
      'tenant.reactivated',
      'tenant.deactivated',
      'tenant.created',
    ]);
  });

  it('lets only operators create, list and update tenants', async () => {
    const tenant = await createTenant(server);
    const owner = await createStaff(server, tenant, { role: 'owner' });
    const key = await createApiKey(server, tenant);
    for (const credentials of [basic(owner), key.credentials]) {
      expect((await call(server, credentials, 'GET', '/api/v1/tenants')).status).toBe(403);
      expect(
        (await call(server, credentials, 'POST', '/api/v1/tenants', { name: 'x', slug: 'xx' })).status,
      ).toBe(403);
      expect(
        (await call(server, credentials, 'PATCH', `/api/v1/tenants/${tenant.id}`, { name: 'x' })).status,
      ).toBe(403);
      expect((await call(server, credentials, 'GET', `/api/v1/tenants/${tenant.id}`)).status).toBe(200);
    }
  });
});
