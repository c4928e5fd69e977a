import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  basic,
  call,
  type Credentials,
  createOperatorSession,
  createStaff,
  createTenant,
  expectNoSecretsInLogs,
  login,
  newEmail,
  newPassword,
  type TestStaff,
  type TestTenant,
} from '../support/identity.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let operator: Credentials;
let tenant: TestTenant;
let owner: TestStaff;
let ownerSession: Credentials;

beforeAll(async () => {
  server = await startTestServer();
  operator = await createOperatorSession(server);
  tenant = await createTenant(server, { name: 'Staff Store' });
  owner = await createStaff(server, tenant, { role: 'owner', name: 'Olivia Owner' });
  ownerSession = await login(server, owner);
});
afterAll(async () => {
  if (server) expectNoSecretsInLogs(server);
  await server?.close();
});

const users = () => `/api/v1/tenants/${tenant.id}/users`;

describe('staff accounts', () => {
  it('lets an owner add staff and list users with their roles, never their password hashes', async () => {
    const created = await call(server, ownerSession, 'POST', users(), {
      email: newEmail('clerk'),
      password: newPassword(),
      name: 'Carl Clerk',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ role: 'staff', name: 'Carl Clerk', tenantId: tenant.id });
    const list = await call(server, ownerSession, 'GET', `${users()}?limit=1`);
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(1);
    expect(list.body.nextCursor).toEqual(expect.any(String));
    const next = await call(
      server,
      ownerSession,
      'GET',
      `${users()}?limit=10&cursor=${list.body.nextCursor}`,
    );
    const all = [...list.body.items, ...next.body.items];
    expect(all.map((u: any) => u.role).sort()).toEqual(['owner', 'staff']);
    expect(JSON.stringify(all)).not.toMatch(/password|argon2/i);
  });

  it('refuses duplicate e-mails within a tenant and weak passwords', async () => {
    const dup = await call(server, ownerSession, 'POST', users(), {
      email: owner.email,
      password: newPassword(),
    });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('STAFF_EMAIL_TAKEN');
    const weak = await call(server, ownerSession, 'POST', users(), {
      email: newEmail(),
      password: 'Welcome1',
    });
    expect(weak.status).toBe(422);
    expect(weak.body.error.code).toBe('WEAK_PASSWORD');
  });

  it('lets staff log in with a session or HTTP Basic, and me shows tenant and role', async () => {
    const member = await createStaff(server, tenant, { role: 'staff' });
    const session = await login(server, member);
    const me = await call(server, session, 'GET', '/api/v1/me');
    expect(me.body).toMatchObject({
      kind: 'staff',
      role: 'staff',
      via: 'session',
      tenant: { id: tenant.id, slug: tenant.slug },
    });
    const viaBasic = await call(server, basic(member), 'GET', '/api/v1/me');
    expect(viaBasic.status).toBe(200);
    expect(viaBasic.body).toMatchObject({ kind: 'staff', via: 'basic', id: member.id });
    expect(viaBasic.body.csrfToken).toBeUndefined();
    const wrong = await call(
      server,
      basic({ email: member.email, password: 'Nope12345x' }),
      'GET',
      '/api/v1/me',
    );
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('INVALID_CREDENTIALS');
  });

  it('keeps staff (non-owners) away from user and key management', async () => {
    const member = await createStaff(server, tenant, { role: 'staff' });
    for (const [method, path] of [
      ['GET', users()],
      ['POST', users()],
      ['GET', `/api/v1/tenants/${tenant.id}/api-keys`],
      ['GET', `/api/v1/tenants/${tenant.id}/audit-log`],
      ['GET', '/api/v1/tenants'],
      ['PATCH', `/api/v1/tenants/${tenant.id}`],
    ] as const) {
      const res = await call(server, basic(member), method, path, method === 'GET' ? undefined : {});
      expect(res.status, `${method} ${path}`).toBe(403);
    }
    // Reading their own tenant is fine.
    expect((await call(server, basic(member), 'GET', `/api/v1/tenants/${tenant.slug}`)).status).toBe(200);
  });

  it('changes roles (user groups) and applies them on the next request', async () => {
    const member = await createStaff(server, tenant, { role: 'staff' });
    expect((await call(server, basic(member), 'GET', users())).status).toBe(403);
    const promoted = await call(server, ownerSession, 'PATCH', `${users()}/${member.id}`, { role: 'owner' });
    expect(promoted.status).toBe(200);
    expect(promoted.body.role).toBe('owner');
    expect((await call(server, basic(member), 'GET', users())).status).toBe(200);
    const demoted = await call(server, operator, 'PATCH', `${users()}/${member.id}`, { role: 'staff' });
    expect(demoted.body.role).toBe('staff');
    expect((await call(server, basic(member), 'GET', users())).status).toBe(403);
    const log = await call(
      server,
      operator,
      'GET',
      `/api/v1/tenants/${tenant.id}/audit-log?action=staff.role_changed`,
    );
    expect(log.body.items.slice(0, 2).map((e: any) => e.details)).toEqual([
      expect.objectContaining({ from: 'owner', to: 'staff' }),
      expect.objectContaining({ from: 'staff', to: 'owner' }),
    ]);
  });

  it('never leaves a tenant without an owner', async () => {
    const solo = await createTenant(server);
    const only = await createStaff(server, solo, { role: 'owner' });
    const demote = await call(server, operator, 'PATCH', `/api/v1/tenants/${solo.id}/users/${only.id}`, {
      role: 'staff',
    });
    expect(demote.status).toBe(409);
    expect(demote.body.error.code).toBe('LAST_OWNER');
    const remove = await call(server, operator, 'DELETE', `/api/v1/tenants/${solo.id}/users/${only.id}`);
    expect(remove.status).toBe(409);
  });

  it('ends sessions when a password is changed, and removes users with their sessions', async () => {
    const member = await createStaff(server, tenant);
    const session = await login(server, member);
    const password = newPassword();
    const changed = await call(server, ownerSession, 'PATCH', `${users()}/${member.id}`, { password });
    expect(changed.status).toBe(200);
    expect((await call(server, session, 'GET', '/api/v1/me')).status).toBe(401);
    expect((await call(server, basic(member), 'GET', '/api/v1/me')).status).toBe(401);
    const again = await login(server, { email: member.email, password });
    const removed = await call(server, ownerSession, 'DELETE', `${users()}/${member.id}`);
    expect(removed.status).toBe(204);
    expect((await call(server, again, 'GET', '/api/v1/me')).status).toBe(401);
    expect((await call(server, ownerSession, 'GET', `${users()}/${member.id}`)).status).toBe(404);
  });

  it('asks for the tenant when one e-mail has accounts in two tenants with the same password', async () => {
    const other = await createTenant(server);
    const email = newEmail('twin');
    const password = newPassword();
    await createStaff(server, tenant, { email, password });
    await createStaff(server, other, { email, password, role: 'owner' });
    const ambiguous = await call(server, { kind: 'none' }, 'POST', '/api/v1/sessions', { email, password });
    expect(ambiguous.status).toBe(422);
    expect(ambiguous.body.error.code).toBe('TENANT_REQUIRED');
    const chosen = await login(server, { email, password, tenant: other.slug });
    const me = await call(server, chosen, 'GET', '/api/v1/me');
    expect(me.body).toMatchObject({ role: 'owner', tenant: { id: other.id } });
    // Basic auth on a tenant route picks the account of that tenant.
    const viaBasic = await call(
      server,
      basic({ email, password }),
      'GET',
      `/api/v1/tenants/${other.id}/users`,
    );
    expect(viaBasic.status).toBe(200);
  });

  it('locks an account after repeated failures (429 + Retry-After), even for the right password', async () => {
    const member = await createStaff(server, tenant);
    for (let i = 0; i < 5; i++) {
      const res = await call(server, { kind: 'none' }, 'POST', '/api/v1/sessions', {
        email: member.email,
        password: `Wrong-${i}-Pass9`,
      });
      expect(res.status).toBe(401);
    }
    const locked = await call(server, { kind: 'none' }, 'POST', '/api/v1/sessions', member);
    expect(locked.status).toBe(429);
    expect(locked.body.error.code).toBe('RATE_LIMITED');
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    // The lock covers Basic too, and other accounts are unaffected.
    expect((await call(server, basic(member), 'GET', '/api/v1/me')).status).toBe(429);
    expect((await call(server, basic(owner), 'GET', '/api/v1/me')).status).toBe(200);
    const log = await call(server, operator, 'GET', `/api/v1/tenants/${tenant.id}/audit-log?action=login`);
    expect(log.body.items.map((e: any) => e.action)).toContain('login.locked');
  });
});
