import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchFrom, freshLoopbackAddress } from '../support/addresses.ts';
import {
  authHeaders,
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

// Issue 16: the /api request budget on the real server, access layer included. Refused requests
// (401, 403, 404) used to skip the limiter because the access guard answered first. Each test
// speaks from its own loopback address, so its budget is its own.

const BUDGET = 20;
let server: TestServer;
let operator: Credentials;
let tenant: TestTenant;
let staff: TestStaff;
let apiKey: Credentials;

beforeAll(async () => {
  server = await startTestServer({ env: { RATE_LIMIT_PER_MINUTE: String(BUDGET) } });
  operator = await createOperatorSession(server);
  tenant = await createTenant(server, {}, operator);
  staff = await createStaff(server, tenant, { role: 'staff' }, operator);
  apiKey = (await createApiKey(server, tenant, { scopes: ['data:read'] }, operator)).credentials;
});
afterAll(async () => {
  if (server) expectNoSecretsInLogs(server);
  await server?.close();
});

async function statusOf(
  res: Response,
): Promise<{ status: number; code?: string; retryAfter: string | null }> {
  const body = (await res.json().catch(() => undefined)) as any;
  return { status: res.status, code: body?.error?.code, retryAfter: res.headers.get('retry-after') };
}

describe('every /api request is charged, refused or not', () => {
  it('anonymous 401 and 404 probes exhaust the address budget: 429 with Retry-After', async () => {
    const from = fetchFrom(freshLoopbackAddress());
    try {
      const probes = ['/api/v1/tenants', `/api/v1/tenants/${tenant.id}/users`, '/api/v1/no-such-route'];
      const seen: number[] = [];
      for (let i = 0; i < BUDGET; i++) seen.push((await statusOf(await from(server, probes[i % 3]))).status);
      expect(new Set(seen)).toEqual(new Set([401, 404]));
      for (const probe of probes) {
        const over = await statusOf(await from(server, probe));
        expect(over.status, probe).toBe(429);
        expect(over.code).toBe('RATE_LIMITED');
        expect(Number(over.retryAfter)).toBeGreaterThan(0);
      }
    } finally {
      await from.close();
    }
  });

  it('wrong credentials are charged to the address', async () => {
    const from = fetchFrom(freshLoopbackAddress());
    try {
      const headers = { 'x-api-key': `sok_${'A'.repeat(12)}_${'b'.repeat(43)}` };
      for (let i = 0; i < BUDGET; i++)
        expect((await from(server, '/api/v1/me', { headers })).status).toBe(401);
      expect((await statusOf(await from(server, '/api/v1/me', { headers }))).status).toBe(429);
      // The same address without credentials: the same (spent) budget.
      expect((await statusOf(await from(server, '/api/v1/tenants'))).status).toBe(429);
    } finally {
      await from.close();
    }
  });

  it("a principal's refused requests (403) spend its own budget, not its address's", async () => {
    const address = freshLoopbackAddress();
    const from = fetchFrom(address);
    try {
      const session = await login(server, staff);
      const headers = authHeaders(session);
      for (let i = 0; i < BUDGET; i++)
        expect((await from(server, '/api/v1/tenants', { headers })).status).toBe(403);
      const over = await statusOf(await from(server, `/api/v1/tenants/${tenant.id}`, { headers }));
      expect(over.status).toBe(429);
      // The address itself is untouched: an anonymous caller from it is refused for what it is.
      expect((await from(server, '/api/v1/tenants')).status).toBe(401);
    } finally {
      await from.close();
    }
  });

  it('an address spent by anonymous probes does not stop the principals behind it', async () => {
    const from = fetchFrom(freshLoopbackAddress());
    try {
      for (let i = 0; i < BUDGET + 1; i++) await (await from(server, '/api/v1/tenants')).body?.cancel();
      expect((await from(server, '/api/v1/tenants')).status).toBe(429);
      expect((await from(server, '/api/v1/me', { headers: authHeaders(operator) })).status).toBe(200);
      expect((await from(server, '/api/v1/me', { headers: authHeaders(apiKey) })).status).toBe(200);
      // Logins are throttled by identity's own rules, not by the address budget.
      const session = await from(server, '/api/v1/sessions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: staff.email, password: staff.password }),
      });
      expect(session.status).toBe(201);
    } finally {
      await from.close();
    }
  });
});
