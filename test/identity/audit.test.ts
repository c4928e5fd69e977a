import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  basic,
  call,
  type Credentials,
  createApiKey,
  createOperatorSession,
  createStaff,
  createTenant,
  expectNoSecretsInLogs,
  login,
  type TestStaff,
  type TestTenant,
} from '../support/identity.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let operator: Credentials;
let tenant: TestTenant;
let other: TestTenant;
let owner: TestStaff;

beforeAll(async () => {
  server = await startTestServer();
  operator = await createOperatorSession(server);
  tenant = await createTenant(server);
  other = await createTenant(server);
  owner = await createStaff(server, tenant, { role: 'owner' });
  const session = await login(server, owner);
  await call(server, { kind: 'none' }, 'POST', '/api/v1/sessions', {
    email: owner.email,
    password: 'Not-The-Pass-1',
  });
  const key = await createApiKey(server, tenant, { scopes: ['data:read'] }, session);
  await call(server, session, 'DELETE', `/api/v1/tenants/${tenant.id}/api-keys/${key.id}`);
  await createStaff(server, other, { role: 'owner' });
});
afterAll(async () => {
  if (server) expectNoSecretsInLogs(server);
  await server?.close();
});

describe('audit log', () => {
  it("records a tenant's security events, newest first, for operators and owners", async () => {
    const res = await call(server, basic(owner), 'GET', `/api/v1/tenants/${tenant.slug}/audit-log`);
    expect(res.status).toBe(200);
    const actions = res.body.items.map((e: any) => e.action);
    expect(actions).toEqual([
      'api_key.revoked',
      'api_key.created',
      'login.failed',
      'login.succeeded',
      'staff.created',
      'tenant.created',
    ]);
    const failed = res.body.items.find((e: any) => e.action === 'login.failed');
    expect(failed).toMatchObject({
      tenantId: tenant.id,
      actor: { kind: 'anonymous', label: owner.email },
      ip: '127.0.0.1',
    });
    const created = res.body.items.find((e: any) => e.action === 'api_key.created');
    expect(created.actor).toMatchObject({ kind: 'staff', id: owner.id });
    expect(created.details).toMatchObject({ scopes: ['data:read'] });
    const times = res.body.items.map((e: any) => Date.parse(e.occurredAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    // Same answer for the operator.
    const asOperator = await call(server, operator, 'GET', `/api/v1/tenants/${tenant.id}/audit-log`);
    expect(asOperator.body.items.map((e: any) => e.id)).toEqual(res.body.items.map((e: any) => e.id));
  });

  it('filters by action family and time, and pages with a cursor', async () => {
    const logins = await call(server, operator, 'GET', `/api/v1/tenants/${tenant.id}/audit-log?action=login`);
    expect(logins.body.items.map((e: any) => e.action).sort()).toEqual(['login.failed', 'login.succeeded']);
    const future = new Date(Date.now() + 60_000).toISOString();
    const none = await call(
      server,
      operator,
      'GET',
      `/api/v1/tenants/${tenant.id}/audit-log?since=${encodeURIComponent(future)}`,
    );
    expect(none.body.items).toEqual([]);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await call(
        server,
        operator,
        'GET',
        `/api/v1/tenants/${tenant.id}/audit-log?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((e: any) => e.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(6);
    expect(new Set(seen).size).toBe(6);
    const bad = await call(server, operator, 'GET', `/api/v1/tenants/${tenant.id}/audit-log?cursor=garbage!`);
    expect(bad.status).toBe(400);
  });

  it('gives operators a global log (platform events included) and a per-tenant filter', async () => {
    const all = await call(server, operator, 'GET', '/api/v1/audit-log?limit=250');
    expect(all.status).toBe(200);
    const actions = all.body.items.map((e: any) => e.action);
    expect(actions).toContain('operator.bootstrapped');
    expect(all.body.items.some((e: any) => e.tenantId === other.id)).toBe(true);
    const operatorLogin = all.body.items.find(
      (e: any) => e.action === 'login.succeeded' && e.actor.kind === 'operator',
    );
    expect(operatorLogin.tenantId).toBeNull();
    const filtered = await call(server, operator, 'GET', `/api/v1/audit-log?tenant=${other.slug}`);
    expect(filtered.body.items.length).toBeGreaterThan(0);
    expect(filtered.body.items.every((e: any) => e.tenantId === other.id)).toBe(true);
    expect((await call(server, operator, 'GET', '/api/v1/audit-log?tenant=nope-nope')).status).toBe(404);
    // Owners see neither the global log nor platform events in theirs.
    expect((await call(server, basic(owner), 'GET', '/api/v1/audit-log')).status).toBe(403);
    const mine = await call(server, basic(owner), 'GET', `/api/v1/tenants/${tenant.id}/audit-log?limit=250`);
    expect(mine.body.items.every((e: any) => e.tenantId === tenant.id)).toBe(true);
  });
});
