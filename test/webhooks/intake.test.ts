import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedDelivery, startWebhookStack, type WebhookStack, waitFor } from '../support/webhooks.ts';

// The intake over HTTP (issue 6): HMAC over the raw bytes, header validation, durable storage
// before the 200, once per (shop, webhook id), orphaned shops, rejections that store nothing.

const PREVIOUS_SECRET = 'shpss_previous_secret_still_accepted_during_rotation';
const SHOP = 'intake-shop.myshopify.com';
let stack: WebhookStack;
let tenantId: string;

beforeAll(async () => {
  stack = await startWebhookStack({
    env: { SHOPIFY_API_SECRET_PREVIOUS: PREVIOUS_SECRET, BODY_LIMIT_BYTES: '65536' },
  });
  tenantId = await stack.installShop(SHOP);
});
afterAll(async () => {
  await stack?.close();
});

const rowsFor = (webhookId: string) =>
  stack.q('SELECT * FROM webhook_inbox WHERE webhook_id = $1', [webhookId]);
const product = (id: number, title: string, updatedAt = '2025-03-01T10:00:00-05:00') => ({
  id,
  title,
  status: 'active',
  tags: 'a, b',
  updated_at: updatedAt,
  created_at: '2025-01-01T00:00:00Z',
  variants: [{ id: id * 10, product_id: id, price: '19.90', sku: `SKU-${id}` }],
});
const delivery = (overrides: Partial<Parameters<typeof signedDelivery>[0]> = {}) =>
  signedDelivery({
    secret: stack.apiSecret,
    shop: SHOP,
    topic: 'products/update',
    payload: product(1001, 'Lamp'),
    ...overrides,
  });

async function expectRejected(res: Response, status: number, code: string, webhookId: string) {
  expect(res.status).toBe(status);
  expect(((await res.json()) as any).error.code).toBe(code);
  expect(await rowsFor(webhookId)).toEqual([]);
}

describe('deliveries from the simulator', () => {
  it('stores a verified delivery before answering 200 and applies it', async () => {
    const [sent] = stack.sim.createRecord(SHOP, 'products', { title: 'Walnut Desk' }).deliveries;
    const [done] = await stack.sim.waitForDeliveries({ shop: SHOP, eventId: sent.eventId, count: 1 });
    expect(done.state).toBe('delivered');
    expect(done.attempts.at(-1)?.status).toBe(200);
    const [row] = await rowsFor(sent.webhookId);
    expect(row).toMatchObject({
      tenant_id: tenantId,
      shop_domain: SHOP,
      topic: 'products/create',
      event_id: sent.eventId,
      api_version: sent.apiVersion,
      payload_bytes: Buffer.byteLength(sent.body),
    });
    expect(new Date(row.triggered_at).toISOString()).toBe(new Date(sent.triggeredAt).toISOString());
    expect(row.payload).toEqual(JSON.parse(sent.body));
    await stack.settled(tenantId);
    const [stored] = await stack.q('SELECT title FROM shop_products WHERE tenant_id = $1 AND id = $2', [
      tenantId,
      JSON.parse(sent.body).id,
    ]);
    expect(stored.title).toBe('Walnut Desk');
  });

  it('acknowledges a repeated delivery (same webhook id) with 200 and stores it once', async () => {
    const [sent] = stack.sim.createRecord(SHOP, 'customers', {}).deliveries;
    await stack.sim.waitForDeliveries({ shop: SHOP, eventId: sent.eventId, count: 1 });
    const again = await stack.resend(sent);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ status: 'duplicate' });
    expect(await rowsFor(sent.webhookId)).toHaveLength(1);
  });

  it('takes duplicate copies sent by the simulator (chaos) once', async () => {
    stack.sim.setChaos({ webhookDuplicateRate: 1 }, SHOP);
    try {
      const [sent] = stack.sim.createRecord(SHOP, 'orders', {}).deliveries;
      await waitFor(async () => {
        const [d] = stack.sim.deliveries({ eventId: sent.eventId });
        return (
          d.state === 'delivered' && d.attempts.length === 2 && d.attempts.every((a) => a.status === 200)
        );
      });
      expect(await rowsFor(sent.webhookId)).toHaveLength(1);
    } finally {
      stack.sim.resetChaos();
    }
  });
});

describe('signature', () => {
  it('refuses a tampered body with 401 and stores nothing', async () => {
    const d = delivery();
    const tampered = (d.body as string).replace('Lamp', 'Lump');
    const res = await stack.post({ headers: d.headers, body: tampered });
    await expectRejected(res, 401, 'INVALID_HMAC', d.webhookId);
  });

  it('refuses a signature made with another secret', async () => {
    const d = delivery({ secret: 'shpss_not_our_secret_at_all_000000' });
    await expectRejected(await stack.post(d), 401, 'INVALID_HMAC', d.webhookId);
  });

  it('refuses a missing or malformed signature header with 401, before looking at anything else', async () => {
    const d = delivery();
    const { 'X-Shopify-Hmac-Sha256': _, ...noHmac } = d.headers;
    await expectRejected(
      await stack.post({ headers: noHmac, body: d.body }),
      401,
      'INVALID_HMAC',
      d.webhookId,
    );
    const garbage = { ...d.headers, 'X-Shopify-Hmac-Sha256': 'not-base64!!' };
    await expectRejected(
      await stack.post({ headers: garbage, body: d.body }),
      401,
      'INVALID_HMAC',
      d.webhookId,
    );
    // Bad signature and bad headers: still 401.
    const both = { ...noHmac, 'X-Shopify-Shop-Domain': 'nope' };
    await expectRejected(await stack.post({ headers: both, body: d.body }), 401, 'INVALID_HMAC', d.webhookId);
  });

  it('accepts the previous app secret while it is being rotated', async () => {
    const d = delivery({ secret: PREVIOUS_SECRET });
    const res = await stack.post(d);
    expect(res.status).toBe(200);
    expect(await rowsFor(d.webhookId)).toHaveLength(1);
  });
});

describe('headers and body', () => {
  it.each([
    ['X-Shopify-Topic'],
    ['X-Shopify-Shop-Domain'],
    ['X-Shopify-Webhook-Id'],
    ['X-Shopify-API-Version'],
  ])('refuses a delivery without %s (400, nothing stored)', async (name) => {
    const d = delivery();
    const headers = { ...d.headers };
    delete headers[name as keyof typeof headers];
    const res = await stack.post({ headers, body: d.body });
    expect(res.status).toBe(400);
    const body: any = await res.json();
    expect(body.error.code).toBe('INVALID_WEBHOOK_HEADERS');
    expect(body.error.details.issues).toContainEqual({ header: name, message: 'missing' });
    expect(await rowsFor(d.webhookId)).toEqual([]);
  });

  it('refuses malformed header values', async () => {
    for (const [name, value] of [
      // Not a host name at all (a well-formed host outside *.myshopify.com is orphaned, below).
      ['X-Shopify-Shop-Domain', 'evil example.com'],
      ['X-Shopify-Topic', 'ORDERS CREATE'],
      ['X-Shopify-Webhook-Id', 'has spaces in it'],
      ['X-Shopify-API-Version', 'latest'],
      ['X-Shopify-Triggered-At', 'yesterday'],
    ]) {
      const d = delivery();
      const res = await stack.post({ headers: { ...d.headers, [name]: value }, body: d.body });
      await expectRejected(res, 400, 'INVALID_WEBHOOK_HEADERS', d.webhookId);
    }
  });

  it('accepts the un-prefixed Shopify-* header names', async () => {
    const d = delivery();
    const headers = Object.fromEntries(
      Object.entries(d.headers).map(([k, v]) => [k.replace(/^X-Shopify-/, 'Shopify-'), v]),
    );
    const res = await stack.post({ headers, body: d.body });
    expect(res.status).toBe(200);
    const [row] = await rowsFor(d.webhookId);
    expect(row).toMatchObject({ topic: 'products/update', shop_domain: SHOP, event_id: d.eventId });
  });

  it('takes the topic from /webhooks/:topic/:action and refuses a mismatching header', async () => {
    const d = delivery();
    const { 'X-Shopify-Topic': _, ...withoutTopic } = d.headers;
    const res = await stack.post({ headers: withoutTopic, body: d.body }, '/webhooks/products/update');
    expect(res.status).toBe(200);
    expect((await rowsFor(d.webhookId))[0].topic).toBe('products/update');

    const other = delivery();
    const mismatch = await stack.post(other, '/webhooks/orders/create');
    await expectRejected(mismatch, 400, 'INVALID_WEBHOOK_HEADERS', other.webhookId);
  });

  it('refuses bodies that are not a JSON object, even when correctly signed', async () => {
    for (const body of ['not json', '[1,2,3]', '{"unterminated": ', '']) {
      const d = delivery({ body });
      await expectRejected(await stack.post(d), 400, 'INVALID_WEBHOOK_BODY', d.webhookId);
    }
    const invalidUtf8 = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]);
    const d = delivery({ body: invalidUtf8 });
    await expectRejected(await stack.post(d), 400, 'INVALID_WEBHOOK_BODY', d.webhookId);
  });

  it('refuses a non-JSON content type with 415', async () => {
    const d = delivery();
    const res = await stack.post({ headers: { ...d.headers, 'Content-Type': 'text/plain' }, body: d.body });
    await expectRejected(res, 415, 'UNSUPPORTED_MEDIA_TYPE', d.webhookId);
  });

  it('refuses an oversized body with 413 and stores nothing', async () => {
    const d = delivery({ payload: { ...product(1002, 'Big'), body_html: 'x'.repeat(70_000) } });
    await expectRejected(await stack.post(d), 413, 'PAYLOAD_TOO_LARGE', d.webhookId);
  });
});

describe('shops StoreOps does not hold', () => {
  it('acknowledges a verified delivery for an unknown shop and records it as orphaned, never applied', async () => {
    const d = delivery({ shop: 'never-installed.myshopify.com', payload: product(1003, 'Ghost') });
    const res = await stack.post(d);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'orphaned' });
    const [row] = await rowsFor(d.webhookId);
    expect(row).toMatchObject({
      tenant_id: null,
      status: 'orphaned',
      shop_domain: 'never-installed.myshopify.com',
    });
    await stack.server.deps.webhooks.processDue();
    expect((await rowsFor(d.webhookId))[0].status).toBe('orphaned');
    expect(await stack.q('SELECT 1 FROM shop_products WHERE id = 1003')).toEqual([]);
  });
});

describe('shop domains outside *.myshopify.com', () => {
  it('acknowledges a verified delivery for shop1.myshopify.io with 200, records it as orphaned, applies nothing', async () => {
    const d = delivery({ shop: 'shop1.myshopify.io', payload: product(1004, 'Elsewhere') });
    const res = await stack.post(d);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'orphaned' });
    const [row] = await rowsFor(d.webhookId);
    expect(row).toMatchObject({
      tenant_id: null,
      status: 'orphaned',
      source: 'shopify',
      shop_domain: 'shop1.myshopify.io',
    });
    await stack.server.deps.webhooks.processDue();
    expect((await rowsFor(d.webhookId))[0].status).toBe('orphaned');
    expect(await stack.q('SELECT 1 FROM shop_products WHERE id = 1004')).toEqual([]);
    // Shopify's retry of it is a duplicate, not a second row.
    const again = await stack.post(d);
    expect(await again.json()).toEqual({ status: 'duplicate' });
    expect(await rowsFor(d.webhookId)).toHaveLength(1);
  });

  it('still answers 401 to such a delivery when its HMAC is missing or malformed', async () => {
    for (const hmac of [null, 'not-base64!', 'AAAA']) {
      const d = delivery({ shop: 'shop1.myshopify.io' });
      const headers: Record<string, string> = { ...d.headers };
      if (hmac === null) delete headers['X-Shopify-Hmac-Sha256'];
      else headers['X-Shopify-Hmac-Sha256'] = hmac;
      await expectRejected(await stack.post({ headers, body: d.body }), 401, 'INVALID_HMAC', d.webhookId);
    }
  });
});

describe('observability', () => {
  it('counts received, duplicate, rejected and orphaned deliveries and times the intake', async () => {
    const metrics = await (await stack.server.fetch('/metrics')).text();
    expect(metrics).toMatch(/storeops_webhooks_received_total\{topic="products\/create"\} [1-9]/);
    expect(metrics).toMatch(
      /storeops_webhooks_duplicate_total\{topic="customers\/create",kind="delivery"\} [1-9]/,
    );
    expect(metrics).toMatch(/storeops_webhooks_rejected_total\{reason="hmac"\} [1-9]/);
    expect(metrics).toMatch(/storeops_webhooks_rejected_total\{reason="headers"\} [1-9]/);
    expect(metrics).toMatch(/storeops_webhooks_rejected_total\{reason="body"\} [1-9]/);
    expect(metrics).toMatch(/storeops_webhooks_rejected_total\{reason="too_large"\} [1-9]/);
    expect(metrics).toMatch(/storeops_webhooks_orphaned_total\{topic="products\/update"\} [1-9]/);
    expect(metrics).toMatch(/storeops_webhooks_intake_seconds_count [1-9]/);
    expect(metrics).toMatch(/storeops_webhooks_processed_total\{topic="products\/create"\} [1-9]/);
    expect(metrics).toMatch(/storeops_webhooks_lag_seconds_count [1-9]/);
  });

  it('never writes a signature or the app secret to the logs', async () => {
    const logs = stack.server.logs.text();
    const signatures = stack.sim.deliveries().map((d) => d.headers['X-Shopify-Hmac-Sha256']);
    expect(signatures.length).toBeGreaterThan(0);
    for (const secret of [stack.apiSecret, PREVIOUS_SECRET, ...signatures])
      expect(logs).not.toContain(secret);
    expect(logs).toContain('webhook rejected: HMAC');
  });
});
