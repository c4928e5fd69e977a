import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ShopifySim } from '../../../src/devtools/shopify-sim/index.ts';
import { asAny, eventually, fullToken, gql, startReceiver, startSim } from './helpers.ts';

const SHOP = 'chaos-shop.myshopify.com';
const CALM = 'calm-shop.myshopify.com';
let sim: ShopifySim;
let token: string;

beforeAll(async () => {
  sim = await startSim();
  sim.createShop({ shop: SHOP, products: 5, customers: 5, orders: 5 });
  sim.createShop({ shop: CALM, products: 5, customers: 5, orders: 5 });
  token = fullToken(sim, SHOP);
});
afterEach(() => sim.resetChaos());
afterAll(async () => {
  await sim.close();
});

describe('Admin API chaos', () => {
  // https://shopify.dev/docs/api/usage/response-codes (429 Too Many Requests with Retry-After; 5xx)
  it('answers 429 with Retry-After', async () => {
    sim.setChaos({ http429Rate: 1, retryAfterSeconds: 2 });
    const res = await gql(sim, SHOP, token, '{ shop { name } }');
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2.0');
  });

  it('answers 5xx', async () => {
    sim.setChaos({ http5xxRate: 1 });
    expect((await gql(sim, SHOP, token, '{ shop { name } }')).status).toBe(503);
  });

  it('forces THROTTLED even with a full bucket, and only for the chosen shop', async () => {
    sim.setChaos({ throttleRate: 1 }, SHOP);
    const res = await gql(sim, SHOP, token, '{ shop { name } }');
    expect(res.body.errors[0].extensions.code).toBe('THROTTLED');
    const calm = await gql(sim, CALM, fullToken(sim, CALM), '{ shop { name } }');
    expect(calm.body.data.shop.name).toBe('Calm Shop');
  });

  it('can be switched over HTTP on /_sim/chaos', async () => {
    const put = await fetch(`${sim.url}/_sim/chaos`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ http5xxRate: 1 }),
    });
    expect((await put.json().then(asAny)).global.http5xxRate).toBe(1);
    expect((await gql(sim, SHOP, token, '{ shop { name } }')).status).toBe(503);
    const bad = await fetch(`${sim.url}/_sim/chaos`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ http5xxRate: 2 }),
    });
    expect(bad.status).toBe(400);
  });
});

describe('webhook chaos', () => {
  async function subscribe(topic: string, uri: string) {
    await gql(
      sim,
      SHOP,
      token,
      `mutation { webhookSubscriptionCreate(topic: ${topic}, webhookSubscription: { uri: "${uri}" }) { userErrors { message } } }`,
    );
  }

  it('duplicates deliveries with the same X-Shopify-Webhook-Id', async () => {
    const rx = await startReceiver();
    try {
      await subscribe('PRODUCTS_UPDATE', rx.url);
      sim.setChaos({ webhookDuplicateRate: 1 });
      const p = sim.createRecord(SHOP, 'products', {});
      sim.updateRecord(SHOP, 'products', p.id, { title: 'twice' });
      await eventually(() => rx.received.length === 2);
      expect(rx.received[0].headers['x-shopify-webhook-id']).toBe(
        rx.received[1].headers['x-shopify-webhook-id'],
      );
      expect(rx.received[0].raw.equals(rx.received[1].raw)).toBe(true);
    } finally {
      await rx.close();
    }
  });

  it('drops deliveries and says so in the log', async () => {
    const rx = await startReceiver();
    try {
      await subscribe('CUSTOMERS_CREATE', rx.url);
      sim.setChaos({ webhookDropRate: 1 });
      sim.createRecord(SHOP, 'customers', {});
      const d = await eventually(() => sim.deliveries({ topic: 'customers/create', state: 'dropped' })[0]);
      expect(d.attempts).toEqual([]);
      expect(rx.received).toHaveLength(0);
    } finally {
      await rx.close();
    }
  });

  it('delivers out of order: a held-back event arrives after a later one', async () => {
    const rx = await startReceiver();
    try {
      await subscribe('ORDERS_UPDATED', rx.url);
      const o = sim.createRecord(SHOP, 'orders', {});
      sim.setChaos({ webhookOutOfOrderRate: 1, webhookOutOfOrderDelayMs: 300 });
      sim.updateRecord(SHOP, 'orders', o.id, { note: 'first' });
      sim.resetChaos();
      sim.updateRecord(SHOP, 'orders', o.id, { note: 'second' });
      await eventually(() => rx.received.length === 2);
      expect(rx.received.map((r) => JSON.parse(r.raw.toString()).note)).toEqual(['second', 'first']);
    } finally {
      await rx.close();
    }
  });
});
