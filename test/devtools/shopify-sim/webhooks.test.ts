import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RETRY_DELAYS_SECONDS, type ShopifySim } from '../../../src/devtools/shopify-sim/index.ts';
import { eventually, fullToken, gql, startReceiver, startSim, API_SECRET } from './helpers.ts';

const SHOP = 'hooks-shop.myshopify.com';
let sim: ShopifySim;
let token: string;

beforeAll(async () => {
  // 4 hours of retries compressed to under 1.5 s.
  sim = await startSim({ timeScale: 0.0001 });
  sim.createShop({ shop: SHOP, products: 10, customers: 10, orders: 10 });
  token = fullToken(sim, SHOP);
});
afterAll(async () => {
  await sim.close();
});

async function subscribe(topic: string, uri: string): Promise<string> {
  const res = await gql(
    sim,
    SHOP,
    token,
    `mutation($topic: WebhookSubscriptionTopic!, $uri: String!) {
      webhookSubscriptionCreate(topic: $topic, webhookSubscription: { uri: $uri, format: JSON }) {
        webhookSubscription { id topic uri format apiVersion { handle } }
        userErrors { field message }
      }
    }`,
    { topic, uri },
  );
  expect(res.body.data.webhookSubscriptionCreate.userErrors).toEqual([]);
  return res.body.data.webhookSubscriptionCreate.webhookSubscription.id;
}

describe('delivery format', () => {
  // https://shopify.dev/docs/apps/build/webhooks/subscribe/https (headers; HMAC is base64 of
  // HMAC-SHA256 over the raw body with the app's client secret)
  it('sends exactly Shopify’s headers and signs the exact bytes', async () => {
    const rx = await startReceiver();
    try {
      const subId = await subscribe('PRODUCTS_CREATE', rx.url);
      const { id } = sim.createRecord(SHOP, 'products', { title: 'Sim Tee — “quoted” ünïcode' });
      const [r] = await eventually(() => rx.received.length >= 1 && rx.received);
      const h = r.headers;
      expect(h['content-type']).toBe('application/json');
      expect(h['x-shopify-topic']).toBe('products/create');
      expect(h['x-shopify-shop-domain']).toBe(SHOP);
      expect(h['x-shopify-api-version']).toBe('2025-10');
      expect(h['x-shopify-webhook-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(h['x-shopify-event-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(Number.isNaN(Date.parse(h['x-shopify-triggered-at'] as string))).toBe(false);
      expect(h['x-shopify-hmac-sha256']).toBe(
        createHmac('sha256', API_SECRET).update(r.raw).digest('base64'),
      );
      const payload = JSON.parse(r.raw.toString('utf8'));
      expect(payload).toMatchObject({
        id,
        title: 'Sim Tee — “quoted” ünïcode',
        admin_graphql_api_id: `gid://shopify/Product/${id}`,
      });
      expect(typeof payload.variants[0].price).toBe('string');
      expect(payload.variants[0].price).toMatch(/^\d+\.\d{2}$/);
      // The receiver has the request before the simulator has read the answer and marked it.
      const log = await eventually(() => {
        const all = sim.deliveries({ topic: 'products/create' });
        return all.at(-1)?.state !== 'pending' && all;
      });
      expect(log.at(-1)).toMatchObject({
        state: 'delivered',
        subscriptionId: Number(subId.split('/').pop()),
      });
    } finally {
      await rx.close();
    }
  });

  // https://shopify.dev/docs/api/webhooks?reference=toml&topic=orders-delete : delete payloads carry only the id
  it('sends one request per subscription per event; delete payloads are { id }', async () => {
    const a = await startReceiver();
    const b = await startReceiver();
    try {
      await subscribe('ORDERS_DELETE', a.url);
      await subscribe('ORDERS_DELETE', b.url);
      const order = sim.createRecord(SHOP, 'orders', {
        lineItems: [{ title: 'Gift card', quantity: 1, price: '25.00' }],
      });
      sim.deleteRecord(SHOP, 'orders', order.id);
      await eventually(() => a.received.length === 1 && b.received.length === 1);
      expect(JSON.parse(a.received[0].raw.toString())).toEqual({ id: order.id });
      expect(a.received[0].headers['x-shopify-event-id']).toBe(b.received[0].headers['x-shopify-event-id']);
      expect(a.received[0].headers['x-shopify-webhook-id']).not.toBe(
        b.received[0].headers['x-shopify-webhook-id'],
      );
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('uses decimal strings with currency for order money', async () => {
    const rx = await startReceiver();
    try {
      await subscribe('ORDERS_CREATE', rx.url);
      sim.createRecord(SHOP, 'orders', { lineItems: [{ title: 'Mug', quantity: 3, price: '12.50' }] });
      const [r] = await eventually(() => rx.received.length >= 1 && rx.received);
      const o = JSON.parse(r.raw.toString());
      expect(o.subtotal_price).toBe('37.50');
      expect(o.line_items[0]).toMatchObject({ price: '12.50', quantity: 3 });
      expect(o.total_price_set.shop_money).toEqual({ amount: o.total_price, currency_code: o.currency });
    } finally {
      await rx.close();
    }
  });
});

describe('retries', () => {
  // https://shopify.dev/changelog/updates-to-webhook-retry-mechanism : 8 retries over 4 hours, exponential backoff
  it('schedules 8 exponential retries that add up to 4 hours', () => {
    expect(RETRY_DELAYS_SECONDS).toHaveLength(8);
    expect(RETRY_DELAYS_SECONDS.reduce((s, d) => s + d, 0)).toBe(4 * 3600);
    for (let i = 1; i < RETRY_DELAYS_SECONDS.length; i++)
      expect(RETRY_DELAYS_SECONDS[i]).toBeGreaterThan(RETRY_DELAYS_SECONDS[i - 1]);
  });

  it('retries a failing endpoint with the same webhook id until it answers 2xx', async () => {
    const rx = await startReceiver((n) => (n <= 3 ? 500 : 200));
    try {
      await subscribe('CUSTOMERS_CREATE', rx.url);
      sim.createRecord(SHOP, 'customers', { email: 'retry@example.com' });
      const d = await eventually(() =>
        sim.deliveries({ topic: 'customers/create' }).find((x) => x.state === 'delivered'),
      );
      expect(d.attempts.map((a) => a.status)).toEqual([500, 500, 500, 200]);
      expect(new Set(rx.received.map((r) => r.headers['x-shopify-webhook-id'])).size).toBe(1);
      expect(new Set(rx.received.map((r) => r.raw.toString())).size).toBe(1);
    } finally {
      await rx.close();
    }
  });

  it('gives up after 1 try + 8 retries, logs the failure and removes the subscription', async () => {
    const rx = await startReceiver(() => 503);
    try {
      const subId = await subscribe('CUSTOMERS_UPDATE', rx.url);
      const c = sim.createRecord(SHOP, 'customers', {});
      sim.updateRecord(SHOP, 'customers', c.id, { note: 'changed' });
      const d = await eventually(
        () => sim.deliveries({ topic: 'customers/update' }).find((x) => x.state === 'failed'),
        15_000,
      );
      expect(d.attempts).toHaveLength(9);
      const list = await gql(sim, SHOP, token, `{ webhookSubscription(id: "${subId}") { id } }`);
      expect(list.body.data.webhookSubscription).toBeNull();
    } finally {
      await rx.close();
    }
  });
});

describe('compliance and uninstall', () => {
  // https://shopify.dev/docs/apps/build/compliance/privacy-law-compliance (payload examples)
  it('sends customers/data_request, customers/redact and shop/redact with the documented shapes', async () => {
    const rx = await startReceiver();
    try {
      for (const topic of ['customers/data_request', 'customers/redact', 'shop/redact'])
        sim.setAppWebhook(topic, rx.url);
      const c = sim.createRecord(SHOP, 'customers', { email: 'gdpr@example.com' });
      sim.triggerCompliance(SHOP, 'customers/data_request', { customerId: c.id, orderIds: [1, 2] });
      sim.triggerCompliance(SHOP, 'customers/redact', { customerId: c.id, orderIds: [3] });
      sim.triggerCompliance(SHOP, 'shop/redact');
      await eventually(() => rx.received.length === 3);
      const byTopic = Object.fromEntries(
        rx.received.map((r) => [r.headers['x-shopify-topic'], JSON.parse(r.raw.toString())]),
      );
      expect(Object.keys(byTopic['customers/data_request']).sort()).toEqual([
        'customer',
        'data_request',
        'orders_requested',
        'shop_domain',
        'shop_id',
      ]);
      expect(byTopic['customers/data_request'].customer).toEqual({
        id: c.id,
        email: 'gdpr@example.com',
        phone: expect.anything(),
      });
      expect(byTopic['customers/data_request'].orders_requested).toEqual([1, 2]);
      expect(Object.keys(byTopic['customers/redact']).sort()).toEqual([
        'customer',
        'orders_to_redact',
        'shop_domain',
        'shop_id',
      ]);
      expect(byTopic['shop/redact']).toEqual({ shop_id: expect.any(Number), shop_domain: SHOP });
    } finally {
      for (const topic of ['customers/data_request', 'customers/redact', 'shop/redact'])
        sim.setAppWebhook(topic, null);
      await rx.close();
    }
  });

  it('fires app/uninstalled and then revokes the shop’s tokens', async () => {
    const rx = await startReceiver();
    try {
      await subscribe('APP_UNINSTALLED', rx.url);
      sim.uninstall(SHOP);
      const [r] = await eventually(() => rx.received.length >= 1 && rx.received);
      expect(JSON.parse(r.raw.toString())).toMatchObject({ myshopify_domain: SHOP, domain: SHOP });
      expect((await gql(sim, SHOP, token, '{ shop { name } }')).status).toBe(401);
      token = fullToken(sim, SHOP);
    } finally {
      await rx.close();
    }
  });
});
