import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allScopes,
  authHeaders,
  basic,
  type Credentials,
  call,
  createApiKey,
  createOperatorSession,
  createShopper,
  createStaff,
  createTenant,
  expectNoSecretsInLogs,
  login,
  type TestTenant,
} from '../support/identity.ts';
import { picture, uploadImage } from '../support/images.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

// The cross-tenant probe (issue 4): walk EVERY operation of the OpenAPI document and, as each kind
// of principal of tenant A, aim it at tenant B (B's id and slug for `{tenant}`, B's resource ids for
// the other parameters). Non-public routes must refuse (401/403/404) and no response may carry B's
// data (marker strings planted in B's records). Routes added by later modules are covered because
// the list comes from the running server's OpenAPI document.

let server: TestServer;
let tenantA: TestTenant;
let tenantB: TestTenant;
/** Planted in B's private records (staff, keys, shoppers and, through them, B's audit log). */
const privateMarker = `bsecret${randomBytes(4).toString('hex')}`;
/** Planted in B's tenant name (visible to B's principals, never to A's). */
const tenantMarker = `btenant${randomBytes(4).toString('hex')}`;

type Principal = { name: string; credentials: Credentials };
let principals: Principal[] = [];
/** Ids of B's resources by path-parameter name, for routes that take them. */
let resourcesB: Record<string, string> = {};
let resourcesA: Record<string, string> = {};

type Operation = { method: string; path: string; access: any; params: string[] };
const operations: Operation[] = [];

beforeAll(async () => {
  // Shopify configured, so its routes run their real checks instead of answering 503.
  server = await startTestServer({
    env: {
      SHOPIFY_API_KEY: 'probe-app-key',
      SHOPIFY_API_SECRET: `probe-secret-${randomBytes(8).toString('hex')}`,
    },
  });
  const operator = await createOperatorSession(server);
  tenantA = await createTenant(server, { name: 'Alpha Store' }, operator);
  tenantB = await createTenant(server, { name: `Tenant ${tenantMarker}` }, operator);

  // Tenant B, full of marked data.
  const ownerB = await createStaff(
    server,
    tenantB,
    { role: 'owner', name: `${privateMarker} Owner`, email: `${privateMarker}-owner@example.test` },
    operator,
  );
  const staffB = await createStaff(
    server,
    tenantB,
    { role: 'staff', name: `${privateMarker} Clerk`, email: `${privateMarker}-clerk@example.test` },
    operator,
  );
  const keyB = await createApiKey(server, tenantB, { name: `${privateMarker} key` }, operator);
  const shopperB = await createShopper(server, tenantB, {
    email: `${privateMarker}-shopper@example.test`,
    name: `${privateMarker} Shopper`,
  });
  // Some audit events of B (failed logins against B's owner).
  await call(server, { kind: 'none' }, 'POST', '/api/v1/sessions', {
    email: ownerB.email,
    password: 'Wrong-Pass-42',
  });
  expect((await call(server, basic(ownerB), 'GET', '/api/v1/me')).status).toBe(200);
  expect(
    (await call(server, shopperB.credentials, 'GET', `/api/v1/stores/${tenantB.id}/shoppers/me`)).status,
  ).toBe(200);
  // A draft product of B with an image (catalog routes take B's product and image ids).
  const productB = await call(server, operator, 'POST', `/api/v1/tenants/${tenantB.id}/catalog/products`, {
    title: `${privateMarker} Product`,
    variants: [{ price: 100 }],
  });
  expect(productB.status, productB.text).toBe(201);
  const imageB = await uploadImage(
    server,
    operator,
    tenantB.id,
    productB.body.id,
    { bytes: await picture('png', 200, 200), name: 'b.png', type: 'image/png' },
    { alt: `${privateMarker} image` },
  );
  expect(imageB.status, imageB.text).toBe(201);
  resourcesB = {
    user: staffB.id,
    key: keyB.id,
    shopper: (await call(server, shopperB.credentials, 'GET', `/api/v1/stores/${tenantB.id}/shoppers/me`))
      .body.id,
    product: productB.body.id,
    image: imageB.body.image.id,
  };

  // Tenant A's principals: every kind except operators (who may see all tenants).
  const ownerA = await createStaff(server, tenantA, { role: 'owner' }, operator);
  const staffA = await createStaff(server, tenantA, { role: 'staff' }, operator);
  const keyA = await createApiKey(server, tenantA, { scopes: allScopes(server) }, operator);
  const shopperA = await createShopper(server, tenantA);
  resourcesA = { user: staffA.id, key: keyA.id };
  principals = [
    { name: 'anonymous', credentials: { kind: 'none' } },
    { name: 'owner (session + CSRF)', credentials: await login(server, ownerA) },
    { name: 'owner (Basic)', credentials: basic(ownerA) },
    { name: 'staff (session + CSRF)', credentials: await login(server, staffA) },
    { name: 'staff (Basic)', credentials: basic(staffA) },
    { name: 'api key (all scopes)', credentials: keyA.credentials },
    { name: 'shopper (Bearer)', credentials: shopperA.credentials },
  ];

  const doc: any = await (await server.fetch('/api/v1/openapi.json')).json();
  for (const [path, item] of Object.entries<any>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      operations.push({
        method: method.toUpperCase(),
        path,
        access: op['x-storeops-access'],
        params: [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]),
      });
    }
  }
});
afterAll(async () => {
  if (server) expectNoSecretsInLogs(server);
  await server?.close();
});

/** Operations that would end the prober's own credentials rather than reach anyone else's data. */
const SELF_ONLY = new Set(['DELETE /api/v1/sessions/current']);
const REFUSED = [401, 403, 404];

function fill(path: string, values: Record<string, string>): string {
  return path.replace(/\{([^}]+)\}/g, (_m, name: string) => encodeURIComponent(values[name] ?? randomUUID()));
}

/** Fetches with a deadline; a stream that starts (SSE) is cut off after its status line. */
async function probe(op: Operation, url: string, credentials: Credentials) {
  const hasBody = ['POST', 'PUT', 'PATCH'].includes(op.method);
  const res = await server.fetch(url, {
    method: op.method,
    headers: { ...authHeaders(credentials), ...(hasBody ? { 'content-type': 'application/json' } : {}) },
    body: hasBody ? JSON.stringify({}) : undefined,
    signal: AbortSignal.timeout(15_000),
  });
  if ((res.headers.get('content-type') ?? '').includes('text/event-stream')) {
    await res.body?.cancel();
    return { status: res.status, text: '' };
  }
  return { status: res.status, text: await res.text() };
}

const leaks = (text: string, markers: string[]) => markers.filter((m) => text.toLowerCase().includes(m));

describe('cross-tenant probe', () => {
  it('finds the identity routes (and whatever later modules added) in the OpenAPI document', () => {
    const keys = operations.map((o) => `${o.method} ${o.path}`);
    for (const expected of [
      'GET /api/v1/tenants/{tenant}',
      'GET /api/v1/tenants/{tenant}/users',
      'PATCH /api/v1/tenants/{tenant}/users/{user}',
      'DELETE /api/v1/tenants/{tenant}/api-keys/{key}',
      'GET /api/v1/tenants/{tenant}/audit-log',
      'GET /api/v1/stores/{tenant}/shoppers/me',
      'POST /api/v1/tenants/{tenant}/catalog/products/{product}/images',
      'PATCH /api/v1/tenants/{tenant}/catalog/products/{product}/images/{image}',
      'DELETE /api/v1/tenants/{tenant}/catalog/products/{product}/images/{image}',
    ]) {
      expect(keys).toContain(expected);
    }
    // Every /api route declares its access (the server would not start otherwise).
    for (const op of operations.filter((o) => o.path.startsWith('/api/'))) {
      expect(op.access, `${op.method} ${op.path}`).toBeDefined();
    }
  });

  it("refuses every principal of tenant A on every route aimed at tenant B, and never returns B's data", async () => {
    const failures: string[] = [];
    let probes = 0;
    for (const op of operations) {
      const key = `${op.method} ${op.path}`;
      if (SELF_ONLY.has(key)) continue;
      const isPublic = op.access?.public === true;
      const targetsTenant = op.params.includes('tenant');
      const urls = targetsTenant
        ? [
            fill(op.path, { ...resourcesB, tenant: tenantB.id }),
            fill(op.path, { ...resourcesB, tenant: tenantB.slug }),
          ]
        : [fill(op.path, resourcesB)];
      // Tenant A in the URL but B's resource ids: row-level security must hide B's rows.
      const foreignIds = op.params.filter((p) => p !== 'tenant' && resourcesB[p] !== undefined);
      if (targetsTenant && foreignIds.length > 0)
        urls.push(fill(op.path, { ...resourcesB, tenant: tenantA.id }));

      for (const principal of principals) {
        for (const url of urls) {
          probes++;
          const { status, text } = await probe(op, url, principal.credentials);
          const where = `${op.method} ${url} as ${principal.name} → ${status}`;
          // 503 is a feature that is not configured here (e.g. Stripe); anything else 5xx is a bug.
          if (status >= 500 && status !== 503) failures.push(`${where}: server error`);
          const found = leaks(text, isPublic ? [privateMarker] : [privateMarker, tenantMarker]);
          if (found.length > 0) failures.push(`${where}: response contains B's data`);
          if (!targetsTenant || isPublic) continue;
          if (!url.includes(tenantA.id)) {
            // Aimed at B: refused before anything else happens.
            if (!REFUSED.includes(status)) failures.push(`${where}: not refused`);
          } else if (status < 400) {
            // A's own tenant with B's resource ids: the principal may be allowed on A, so a
            // validation error is fine, but it must never succeed on B's rows.
            failures.push(`${where}: succeeded on B's resource`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
    expect(probes).toBeGreaterThan(200);
  });

  it("left B's data intact and A's principals still valid (refusals were real, not dead credentials)", async () => {
    const operator = await createOperatorSession(server);
    const b = await call(server, operator, 'GET', `/api/v1/tenants/${tenantB.id}`);
    expect(b.body).toMatchObject({ status: 'active', name: `Tenant ${tenantMarker}` });
    const users = await call(server, operator, 'GET', `/api/v1/tenants/${tenantB.id}/users`);
    expect(users.body.items).toHaveLength(2);
    expect(users.body.items.find((u: any) => u.id === resourcesB.user)?.role).toBe('staff');
    const product = await call(
      server,
      operator,
      'GET',
      `/api/v1/tenants/${tenantB.id}/catalog/products/${resourcesB.product}`,
    );
    expect(product.body.images.map((i: any) => [i.id, i.alt])).toEqual([
      [resourcesB.image, `${privateMarker} image`],
    ]);
    expect((await server.fetch(product.body.images[0].urls.original)).status).toBe(200);
    const key = await call(
      server,
      operator,
      'GET',
      `/api/v1/tenants/${tenantB.id}/api-keys/${resourcesB.key}`,
    );
    expect(key.body.revokedAt).toBeNull();
    for (const principal of principals.slice(1)) {
      const path =
        principal.credentials.kind === 'bearer' ? `/api/v1/stores/${tenantA.id}/shoppers/me` : '/api/v1/me';
      const res = await call(server, principal.credentials, 'GET', path);
      expect(res.status, principal.name).toBe(200);
    }
    // And the same principals do reach their own tenant (the probe's refusals were about B).
    const own = await call(
      server,
      principals[1].credentials,
      'GET',
      `/api/v1/tenants/${tenantA.id}/users/${resourcesA.user}`,
    );
    expect(own.status).toBe(200);
  });
});
