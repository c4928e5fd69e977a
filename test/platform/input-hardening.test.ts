import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Credentials,
  call,
  createOperatorSession,
  createStaff,
  createTenant,
  expectNoSecretsInLogs,
  type TestTenant,
} from '../support/identity.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

// Issue 16's input defects: text PostgreSQL cannot store (NUL, lone surrogates), times that are
// not times, and cursors that decode but were never issued. Each used to reach the database and
// answer 500; each must be refused at validation, in the one envelope, before any SQL runs.

let server: TestServer;
let operator: Credentials;
let tenant: TestTenant;
let userId: string;

beforeAll(async () => {
  server = await startTestServer();
  operator = await createOperatorSession(server);
  tenant = await createTenant(server, {}, operator);
  userId = (await createStaff(server, tenant, { role: 'owner' }, operator)).id;
});
afterAll(async () => {
  if (server) expectNoSecretsInLogs(server);
  await server?.close();
});

/** Sends a raw JSON text (so lone surrogate escapes reach the server as written). */
async function rawJson(method: string, pathname: string, json: string, credentials = operator) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (credentials.kind === 'session') {
    headers.cookie = credentials.cookie;
    headers['x-csrf-token'] = credentials.csrfToken;
  }
  const res = await server.fetch(pathname, { method, headers, body: json });
  return { status: res.status, body: (await res.json()) as any, headers: res.headers };
}

describe('text PostgreSQL cannot store is refused at validation', () => {
  it('422 INVALID_TEXT for a NUL in a path parameter, public storefront routes included', async () => {
    const paths: [string, string, unknown?][] = [
      ['POST', '/api/v1/stores/%00/shoppers/login', { email: 'a@example.test', password: 'x' }],
      ['POST', '/api/v1/stores/acme%00/shoppers/register', { email: 'a@example.test', password: 'x' }],
      ['GET', '/api/v1/stores/%00/shoppers/me'],
      ['GET', '/api/v1/tenants/%00'],
      ['GET', `/api/v1/tenants/${tenant.slug}%00/users`],
      ['GET', `/api/v1/tenants/${tenant.id}/users/%00`],
      ['GET', `/api/v1/stores/${tenant.id}/products/%00`],
    ];
    for (const [method, pathname, body] of paths) {
      for (const who of [operator, { kind: 'none' } as const]) {
        const res = await call(server, who, method, pathname, body);
        expect(res.status, `${method} ${pathname}: ${res.text}`).toBe(422);
        expect(res.body.error.code).toBe('INVALID_TEXT');
        expect(res.body.error.details).toMatchObject({ in: 'params' });
      }
    }
  });

  it('422 INVALID_TEXT for a NUL in a query value (q, vendor, productType, action, status)', async () => {
    const base = `/api/v1/tenants/${tenant.id}`;
    const paths = [
      `${base}/products?q=%00`,
      `${base}/products?q=title:a%00b`,
      `${base}/products?vendor=%00`,
      `${base}/products?productType=x%00`,
      `${base}/orders?q=%00`,
      `${base}/customers?q=%00`,
      `${base}/audit-log?action=login%00`,
      '/api/v1/audit-log?action=%00',
      `/api/v1/tenants?status=%00`,
      `${base}/catalog/products?q=%00`,
      `/api/v1/stores/${tenant.id}/search?q=%00`,
    ];
    for (const pathname of paths) {
      const res = await call(server, operator, 'GET', pathname);
      expect(res.status, `${pathname}: ${res.text}`).toBe(422);
      expect(res.body.error.code).toBe('INVALID_TEXT');
      expect(res.body.error.details).toMatchObject({ in: 'query' });
    }
  });

  it('422 INVALID_TEXT for a NUL or a lone surrogate anywhere in a JSON body', async () => {
    const slug = `nul-${randomBytes(3).toString('hex')}`;
    const bodies: [string, string, string][] = [
      ['POST', '/api/v1/tenants', JSON.stringify({ name: 'Bad\u0000Name', slug })],
      ['POST', '/api/v1/tenants', `{"name":"Lone \\ud800 surrogate","slug":"${slug}"}`],
      ['POST', '/api/v1/tenants', `{"name":"Reversed \\udc00\\ud800 pair","slug":"${slug}"}`],
      ['PATCH', `/api/v1/tenants/${tenant.id}`, JSON.stringify({ name: 'x\u0000' })],
      ['PATCH', `/api/v1/tenants/${tenant.id}/users/${userId}`, JSON.stringify({ name: '\u0000' })],
      // Deep: inside arrays and nested objects, and in keys.
      [
        'POST',
        `/api/v1/tenants/${tenant.id}/api-keys`,
        JSON.stringify({ name: 'k', scopes: ['data:read\u0000'] }),
      ],
      ['POST', `/api/v1/tenants/${tenant.id}/api-keys`, `{"name":"k","scopes":[],"\\u0000":1}`],
    ];
    for (const [method, pathname, json] of bodies) {
      const res = await rawJson(method, pathname, json);
      expect(res.status, `${method} ${pathname} ${json}: ${JSON.stringify(res.body)}`).toBe(422);
      expect(res.body.error.code).toBe('INVALID_TEXT');
      expect(res.body.error.details).toMatchObject({ in: 'body' });
    }
    // Nothing was written.
    const list = await call(server, operator, 'GET', `/api/v1/tenants?limit=250`);
    expect(list.body.items.length).toBeGreaterThan(0);
    expect(list.body.items.map((t: { slug: string }) => t.slug)).not.toContain(slug);
    // A well-formed surrogate pair (an emoji) is text like any other.
    const ok = await rawJson('PATCH', `/api/v1/tenants/${tenant.id}`, '{"name":"Store \\ud83d\\ude00"}');
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.name).toBe('Store 😀');
  });

  it('refuses NUL in Basic credentials as a bad login, never a 500', async () => {
    const encoded = Buffer.from('owner\u0000@example.test:Passw0rd-x').toString('base64');
    const res = await server.fetch(`/api/v1/tenants/${tenant.id}`, {
      headers: { authorization: `Basic ${encoded}` },
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as any).error.code).toBe('INVALID_CREDENTIALS');
  });
});

describe('times are validated as times', () => {
  it('422 for numeric and impossible dates on the mirrored lists', async () => {
    const values = [
      '-1',
      '0',
      '1.5',
      '1e3',
      '2025-02-30T00:00:00Z',
      '0000-01-01T00:00:00Z',
      '2025-01-01T00:00:00+23:00',
    ];
    for (const resource of ['products', 'customers', 'orders']) {
      for (const field of ['createdAtMin', 'createdAtMax', 'updatedAtMin', 'updatedAtMax']) {
        for (const value of values) {
          const pathname = `/api/v1/tenants/${tenant.id}/${resource}?${field}=${encodeURIComponent(value)}`;
          const res = await call(server, operator, 'GET', pathname);
          expect(res.status, `${pathname}: ${res.text}`).toBe(422);
          expect(res.body.error.code).toBe('VALIDATION_FAILED');
        }
      }
    }
  });

  it('422 for bad times on every other time filter (audit since, events)', async () => {
    for (const pathname of [
      `/api/v1/tenants/${tenant.id}/audit-log?since=0000-01-01T00:00:00Z`,
      '/api/v1/audit-log?since=2025-01-01T00:00:00%2B20:00',
      `/api/v1/tenants/${tenant.id}/events?from=0000-01-01T00:00:00Z`,
    ]) {
      const res = await call(server, operator, 'GET', pathname);
      expect(res.status, `${pathname}: ${res.text}`).toBe(422);
    }
  });

  it('400 INVALID_QUERY for a time in the text query that is not one', async () => {
    for (const q of ['created_at:>-1', 'updated_at:<=1.5', 'created_at:0', 'processed_at:>0000-01-01']) {
      const res = await call(
        server,
        operator,
        'GET',
        `/api/v1/tenants/${tenant.id}/orders?q=${encodeURIComponent(q)}`,
      );
      expect(res.status, `${q}: ${res.text}`).toBe(400);
      expect(res.body.error.code).toBe('INVALID_QUERY');
    }
    const ok = await call(
      server,
      operator,
      'GET',
      `/api/v1/tenants/${tenant.id}/orders?q=created_at:>=2024-01-01`,
    );
    expect(ok.status, ok.text).toBe(200);
  });

  it('accepts ISO 8601 date-times with an offset (and Z)', async () => {
    for (const value of ['2025-01-31T09:00:00Z', '2025-01-31T09:00:00.123+02:00']) {
      const res = await call(
        server,
        operator,
        'GET',
        `/api/v1/tenants/${tenant.id}/orders?createdAtMin=${encodeURIComponent(value)}`,
      );
      expect(res.status, res.text).toBe(200);
    }
  });
});

describe('cursors are validated after decoding', () => {
  const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const wrong = [
    cursor({ createdAt: 'bad', id: 'zz' }),
    cursor({ t: 'bad', id: 'zz' }),
    cursor({ t: '2025-02-30 00:00:00+00', id: '00000000-0000-4000-8000-000000000000' }),
    cursor({ t: '0000-01-01 00:00:00+00', id: '00000000-0000-4000-8000-000000000000' }),
    cursor({ at: 'bad', id: 'zz' }),
    cursor({ s: 'newest', v: 'bad', id: 'zz' }),
    cursor({ s: 'price-asc', v: 'bad', id: '00000000-0000-4000-8000-000000000000' }),
    cursor({ s: 'price-asc', v: 1.5, id: '00000000-0000-4000-8000-000000000000' }),
    cursor({ id: 'zz' }),
    cursor({ id: 1.5 }),
    cursor({ before: 'bad' }),
    cursor({ before: -1.5 }),
    Buffer.from('{"id":1e400}').toString('base64url'),
    cursor([1, 2]),
    'not-a-cursor!',
  ];

  it('400 INVALID_CURSOR on every list', async () => {
    const base = `/api/v1/tenants/${tenant.id}`;
    const lists = [
      '/api/v1/tenants',
      `${base}/users`,
      `${base}/api-keys`,
      `${base}/audit-log`,
      '/api/v1/audit-log',
      `${base}/products`,
      `${base}/orders`,
      `${base}/customers`,
      `${base}/events`,
      `${base}/compliance-requests`,
      `${base}/catalog/products`,
      `${base}/catalog/inventory`,
      `${base}/catalog/inventory/ledger`,
      `/api/v1/stores/${tenant.id}/products`,
      `/api/v1/stores/${tenant.id}/products?sort=price-asc`,
    ];
    for (const list of lists) {
      for (const value of wrong) {
        const pathname = `${list}${list.includes('?') ? '&' : '?'}cursor=${value}`;
        const res = await call(server, operator, 'GET', pathname);
        expect(res.status, `${pathname}: ${res.text}`).toBe(400);
        expect(res.body.error.code).toBe('INVALID_CURSOR');
      }
    }
  });
});
