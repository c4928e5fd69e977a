import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  createOperatorSession,
  createShopper,
  createStaff,
  createTenant,
  expectNoSecretsInLogs,
  login,
  type TestShopper,
  type TestTenant,
} from '../support/identity.ts';
import { createRowCounter, type RowCounter, SECURITY_HEADERS } from '../support/fuzz/checks.ts';
import { exampleFor, type Operation, operationsOf } from '../support/fuzz/openapi.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

// CSRF on every cookie-authenticated write, walked from the OpenAPI document (issue 16): every
// POST/PUT/PATCH/DELETE that a session may call, sent with the session cookie but without the
// X-CSRF-Token header (and with a wrong one, and with the token only in its cookie), must be 403
// CSRF_TOKEN_INVALID in the envelope and write nothing. Public writes that read a cookie (the
// shopper refresh and logout) must not act on it without the header either. Routes added later are
// walked too.

let server: TestServer;
let tenant: TestTenant;
let operator: Awaited<ReturnType<typeof login>>;
let owner: Awaited<ReturnType<typeof login>>;
let otherSession: Awaited<ReturnType<typeof login>>;
let shopper: TestShopper;
let counter: RowCounter;
let operations: Operation[] = [];

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

beforeAll(async () => {
  server = await startTestServer({
    env: { SHOPIFY_API_KEY: 'csrf-app', SHOPIFY_API_SECRET: `csrf-${randomBytes(8).toString('hex')}` },
  });
  operator = await createOperatorSession(server);
  tenant = await createTenant(server, {}, operator);
  owner = await login(server, await createStaff(server, tenant, { role: 'owner' }, operator));
  otherSession = await login(server, await createStaff(server, tenant, { role: 'owner' }, operator));
  shopper = await createShopper(server, tenant);
  counter = await createRowCounter(server.deps.database);
  const doc = await (await server.fetch('/api/v1/openapi.json')).json();
  operations = operationsOf(doc).filter((op) => WRITES.has(op.method));
});
afterAll(async () => {
  if (server) expectNoSecretsInLogs(server);
  await server?.close();
});

function pathOf(op: Operation): string {
  return op.path.replace(/\{([^}]+)\}/g, (_m, name: string) =>
    name === 'tenant' ? tenant.id : randomUUID(),
  );
}

/** Sends `op` with a cookie and the given extra headers; the body is a schema example. */
async function send(op: Operation, headers: Record<string, string>) {
  const body = op.body ? exampleFor(op.body) : undefined;
  return call(server, { kind: 'none' }, op.method, pathOf(op), body, headers);
}

describe('CSRF on cookie-authenticated writes', () => {
  it('finds the writes in the OpenAPI document', () => {
    const sessionWrites = operations.filter((op) => op.access?.operator || op.access?.staff);
    expect(sessionWrites.length).toBeGreaterThan(30);
    expect(sessionWrites.map((o) => o.key)).toContain('POST /api/v1/tenants/{tenant}/api-keys');
  });

  it('refuses every one without the X-CSRF-Token header, with a wrong one, or with the token only in its cookie — and writes nothing', async () => {
    const failures: string[] = [];
    let checked = 0;
    const sessionWrites = operations.filter((o) => o.access?.operator || o.access?.staff);
    for (const op of sessionWrites) {
      const session = op.access?.operator ? operator : owner;
      const variants: [string, Record<string, string>][] = [
        ['no header', { cookie: session.cookie }],
        ['another session’s token', { cookie: session.cookie, 'x-csrf-token': otherSession.csrfToken }],
        ['empty header', { cookie: session.cookie, 'x-csrf-token': '' }],
        ['token only in the cookie', { cookie: `${session.cookie}; storeops_csrf=${session.csrfToken}` }],
      ];
      for (const [name, headers] of variants) {
        const before = await counter.snapshot();
        const res = await send(op, headers);
        checked++;
        const where = `${op.key} (${name}) → ${res.status} ${res.text.slice(0, 120)}`;
        if (res.status !== 403 || res.body?.error?.code !== 'CSRF_TOKEN_INVALID')
          failures.push(`${where}: not refused`);
        else if (typeof res.body.error.requestId !== 'string')
          failures.push(`${where}: outside the envelope`);
        for (const [header, ok] of Object.entries(SECURITY_HEADERS))
          if (!ok(res.headers.get(header) ?? '')) failures.push(`${where}: no ${header}`);
        const written = counter.diff(before, await counter.snapshot());
        if (written.length > 0) failures.push(`${where}: wrote ${written.join(', ')}`);
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBe(sessionWrites.length * 4);
  });

  it('accepts the same write with the right token (the refusals were about the token)', async () => {
    const res = await call(server, operator, 'PATCH', `/api/v1/tenants/${tenant.id}`, {
      name: 'Renamed with CSRF',
    });
    expect(res.status, res.text).toBe(200);
    const key = await call(server, owner, 'POST', `/api/v1/tenants/${tenant.id}/api-keys`, {
      name: 'with token',
      scopes: ['data:read'],
    });
    expect(key.status, key.text).toBe(201);
  });

  it('does not let a public write act on a cookie without the header (shopper refresh and logout)', async () => {
    const failures: string[] = [];
    const cookie = `${owner.cookie}; ${shopper.refreshCookie}`;
    for (const op of operations.filter((o) => o.access?.public === true && o.path.startsWith('/api/'))) {
      const before = await counter.snapshot();
      const res = await send(op, { cookie });
      const where = `${op.key} → ${res.status} ${res.text.slice(0, 120)}`;
      if (res.status >= 500) failures.push(`${where}: server error`);
      if (res.body?.error?.code === 'CSRF_TOKEN_INVALID') {
        if (res.status !== 403) failures.push(`${where}: CSRF refusal is not 403`);
        const written = counter.diff(before, await counter.snapshot());
        if (written.length > 0) failures.push(`${where}: wrote ${written.join(', ')}`);
      }
    }
    expect(failures).toEqual([]);
    const base = `/api/v1/stores/${tenant.id}/shoppers`;
    // Neither refresh nor logout ran: the refresh token is unused and still valid…
    const refresh = await call(server, { kind: 'none' }, 'POST', `${base}/refresh`, undefined, {
      cookie: shopper.refreshCookie,
      'x-csrf-token': shopper.csrfToken,
    });
    expect(refresh.status, refresh.text).toBe(200);
    // …and the dashboard session too.
    expect((await call(server, owner, 'GET', '/api/v1/me')).status).toBe(200);
    // The storefront logout itself refuses a missing or wrong header.
    for (const headers of [{}, { 'x-csrf-token': 'forged' }] as Record<string, string>[]) {
      const res = await call(server, { kind: 'none' }, 'POST', `${base}/logout`, undefined, {
        cookie: shopper.refreshCookie,
        ...headers,
      });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('CSRF_TOKEN_INVALID');
    }
  });

  it('needs no token for explicit credentials (Basic, API key), which a browser never sends by itself', async () => {
    const staff = await createStaff(server, tenant, { role: 'owner' }, operator);
    const res = await call(
      server,
      { kind: 'basic', email: staff.email, password: staff.password },
      'POST',
      `/api/v1/tenants/${tenant.id}/api-keys`,
      {
        name: 'basic key',
        scopes: ['data:read'],
      },
    );
    expect(res.status, res.text).toBe(201);
  });
});
