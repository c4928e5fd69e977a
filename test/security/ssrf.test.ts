import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createOperatorSession, type Credentials } from '../support/identity.ts';
import { exampleFor, fieldsOf, type Operation, operationsOf } from '../support/fuzz/openapi.ts';
import { startWebhookStack, type WebhookStack } from '../support/webhooks.ts';

// The SSRF guard on every URL a tenant can set (issue 16), end to end with private addresses
// refused (ALLOW_PRIVATE_URLS=false, as in production). The URL inputs are found in the OpenAPI
// document — any body field with a URI format or a URL-ish name — so an input added later (an image
// import URL, a notification hook) is tested without editing this file, and fails until it goes
// through `assertPublicUrl` (src/platform/net/ssrf.ts).

let stack: WebhookStack;
let tenantId: string;
let operator: Credentials;
const inputs: { op: Operation; field: string[] }[] = [];

const URLISH = /(^|[a-z_])(url|uri|href|endpoint|callback|webhook|address)$/i;

/** Addresses no tenant may point StoreOps (or Shopify, on StoreOps's behalf) at. */
const PRIVATE = [
  'http://127.0.0.1:9/hook',
  'http://localhost:3000/hook',
  'http://2130706433/hook',
  'http://0x7f.0.0.1/hook',
  'http://[::1]/hook',
  'http://[::ffff:127.0.0.1]/hook',
  'http://10.0.0.8/hook',
  'http://192.168.1.1/hook',
  'http://100.64.0.1/hook',
  'http://169.254.169.254/latest/meta-data/',
  'http://[fd00:ec2::254]/latest/meta-data/',
  'http://[fe80::1]/hook',
  'http://0.0.0.0/hook',
  'http://224.0.0.1/hook',
];
const NOT_HTTP = ['file:///etc/passwd', 'gopher://example.com/', 'ftp://example.com/hook'];

beforeAll(async () => {
  stack = await startWebhookStack({ env: { ALLOW_PRIVATE_URLS: 'false' } });
  // Our own callback address is on 127.0.0.1 here: configuration, not tenant input, so the install
  // still subscribes to it.
  tenantId = await stack.installShop(`ssrf-${randomBytes(4).toString('hex')}.myshopify.com`);
  operator = await createOperatorSession(stack.server);
  const doc = await (await stack.server.fetch('/api/v1/openapi.json')).json();
  for (const op of operationsOf(doc)) {
    for (const f of fieldsOf(op.body)) {
      const name = f.path[f.path.length - 1];
      const format = f.schema.format ?? f.schema.anyOf?.find((s: any) => s.format)?.format;
      if (format === 'uri' || format === 'url' || URLISH.test(name)) inputs.push({ op, field: f.path });
    }
  }
});
afterAll(async () => {
  await stack?.close();
});

function set(body: any, path: string[], value: string) {
  let node = body;
  for (const key of path.slice(0, -1)) node = node[key] ??= {};
  node[path[path.length - 1]] = value;
}

describe('SSRF guard on tenant-set URLs', () => {
  it('finds the URL inputs in the OpenAPI document (the webhook subscription address among them)', () => {
    expect(inputs.map((i) => `${i.op.key} ${i.field.join('.')}`)).toContain(
      'POST /api/v1/tenants/{tenant}/webhook-subscriptions uri',
    );
  });

  it('refuses loopback, private, link-local and metadata addresses and other schemes on every one', async () => {
    const failures: string[] = [];
    for (const { op, field } of inputs) {
      for (const url of [...PRIVATE, ...NOT_HTTP]) {
        const body: any = exampleFor(op.body ?? {}, undefined, { tenant: tenantId });
        set(body, field, url);
        const path = op.path.replace('{tenant}', tenantId);
        const res = await call(stack.server, operator, op.method, path, body);
        const code = res.body?.error?.code;
        const refused =
          res.status === 422 &&
          ['URL_NOT_ALLOWED', 'URL_SCHEME_NOT_ALLOWED', 'VALIDATION_FAILED'].includes(code);
        if (!refused)
          failures.push(`${op.key} ${field.join('.')}=${url} → ${res.status} ${res.text.slice(0, 160)}`);
        // The reason names the kind of address, never what it resolved to.
        if (
          code === 'URL_NOT_ALLOWED' &&
          !/^uri: /.test(res.body.error.message) &&
          !res.body.error.details?.field
        )
          failures.push(`${op.key}: refusal does not name the field`);
      }
    }
    expect(failures).toEqual([]);
    // Nothing reached Shopify: no subscription points anywhere but at this server.
    const subs = await call(
      stack.server,
      operator,
      'GET',
      `/api/v1/tenants/${tenantId}/webhook-subscriptions`,
    );
    expect(subs.status).toBe(200);
    expect(subs.body.subscriptions.length).toBeGreaterThan(0);
    for (const s of subs.body.subscriptions) expect(s.uri).toBe(`${stack.server.url}/webhooks`);
  });

  it('still lets a tenant name this server itself', async () => {
    const res = await call(
      stack.server,
      operator,
      'POST',
      `/api/v1/tenants/${tenantId}/webhook-subscriptions`,
      {
        topic: 'shop/update',
        uri: `${stack.server.url}/webhooks`,
      },
    );
    expect(res.status, res.text).toBe(201);
  });
});
