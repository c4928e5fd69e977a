import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShopifySim } from '../../../src/devtools/shopify-sim/index.ts';
import { fullToken, gql, startSim } from './helpers.ts';

// All arithmetic here follows https://shopify.dev/docs/api/usage/rate-limits :
// requested cost up front, refund of (requested − actual) afterwards, restore rate per second,
// single query max 1,000, THROTTLED with HTTP 200, extensions.cost on every response.
const SHOP = 'cost-shop.myshopify.com';
let sim: ShopifySim;
let now = Date.UTC(2026, 0, 1);
let token: string;

beforeAll(async () => {
  sim = await startSim({ clock: () => now });
  sim.createShop({ shop: SHOP, products: 5, customers: 10, orders: 20 });
  token = fullToken(sim, SHOP);
});
afterAll(async () => {
  await sim.close();
});

describe('extensions.cost', () => {
  it('reports requested and actual cost with throttleStatus on every response', async () => {
    sim.setBucket(SHOP, 2000);
    // 2 + first × (1 per node): Shopify's documented example `products(first: 10)` costs 12.
    const res = await gql(sim, SHOP, token, '{ products(first: 10) { edges { node { id title } } } }');
    expect(res.status).toBe(200);
    expect(res.body.extensions.cost).toEqual({
      requestedQueryCost: 12,
      actualQueryCost: 7, // only 5 products exist: 2 + 5 × 1
      throttleStatus: { maximumAvailable: 2000, currentlyAvailable: 1993, restoreRate: 100 },
    });
  });

  it('charges nested connections by first × node cost and refunds short pages', async () => {
    sim.setBucket(SHOP, 2000);
    const q = '{ orders(first: 10) { nodes { id lineItems(first: 5) { nodes { title } } } } }';
    const res = await gql(sim, SHOP, token, q);
    const cost = res.body.extensions.cost;
    expect(cost.requestedQueryCost).toBe(2 + 10 * (1 + 2 + 5));
    const lines = res.body.data.orders.nodes.reduce((s: number, o: any) => s + o.lineItems.nodes.length, 0);
    expect(cost.actualQueryCost).toBe(2 + 10 * (1 + 2) + lines);
    expect(cost.throttleStatus.currentlyAvailable).toBe(2000 - cost.actualQueryCost);
  });

  it('restores restoreRate points per second, up to the bucket size', async () => {
    sim.setBucket(SHOP, 1000);
    now += 3000;
    const res = await gql(sim, SHOP, token, '{ shop { name } }');
    expect(res.body.extensions.cost.throttleStatus.currentlyAvailable).toBe(1000 + 300 - 1);
    now += 3_600_000;
    const full = await gql(sim, SHOP, token, '{ shop { name } }');
    expect(full.body.extensions.cost.throttleStatus.currentlyAvailable).toBe(1999);
  });

  it('charges mutations 10 points', async () => {
    sim.setBucket(SHOP, 2000);
    const res = await gql(
      sim,
      SHOP,
      token,
      'mutation { webhookSubscriptionCreate(topic: ORDERS_CREATE, webhookSubscription: { callbackUrl: "http://127.0.0.1:1/hooks" }) { webhookSubscription { id } userErrors { message } } }',
    );
    expect(res.body.extensions.cost.requestedQueryCost).toBe(10);
    expect(res.body.extensions.cost.actualQueryCost).toBe(10);
  });
});

describe('throttling', () => {
  it('answers THROTTLED with HTTP 200 when the bucket holds less than the requested cost', async () => {
    sim.setBucket(SHOP, 11);
    const res = await gql(sim, SHOP, token, '{ products(first: 10) { edges { node { id } } } }');
    expect(res.status).toBe(200);
    expect(res.body.data).toBeUndefined();
    expect(res.body.errors).toEqual([
      {
        message: 'Throttled',
        extensions: { code: 'THROTTLED', documentation: 'https://shopify.dev/api/usage/rate-limits' },
      },
    ]);
    expect(res.body.extensions.cost).toEqual({
      requestedQueryCost: 12,
      actualQueryCost: null,
      throttleStatus: { maximumAvailable: 2000, currentlyAvailable: 11, restoreRate: 100 },
    });
    // One second later 100 points are back and the same query runs.
    now += 1000;
    const ok = await gql(sim, SHOP, token, '{ products(first: 10) { edges { node { id } } } }');
    expect(ok.body.data.products.edges).toHaveLength(5);
    expect(ok.body.extensions.cost.throttleStatus.currentlyAvailable).toBe(111 - 7);
  });

  it('refuses queries above the single-query max cost of 1,000', async () => {
    sim.setBucket(SHOP, 2000);
    const res = await gql(
      sim,
      SHOP,
      token,
      '{ orders(first: 250) { nodes { id lineItems(first: 10) { nodes { id } } } } }',
    );
    expect(res.status).toBe(200);
    expect(res.body.errors[0].extensions).toMatchObject({
      code: 'MAX_COST_EXCEEDED',
      cost: 2 + 250 * 13,
      maxCost: 1000,
    });
    expect(res.body.extensions.cost.throttleStatus.currentlyAvailable).toBe(2000);
  });

  it('sizes the bucket by plan (Plus: 20,000 points, 1,000/s)', async () => {
    sim.createShop({ shop: 'plus-shop.myshopify.com', plan: 'plus', orders: 1 });
    const t = fullToken(sim, 'plus-shop.myshopify.com');
    const res = await gql(sim, 'plus-shop.myshopify.com', t, '{ shop { name } }');
    expect(res.body.extensions.cost.throttleStatus).toEqual({
      maximumAvailable: 20000,
      currentlyAvailable: 19999,
      restoreRate: 1000,
    });
  });
});

describe('auth and scopes', () => {
  // https://shopify.dev/docs/api/usage/response-codes (401 Unauthorized)
  it('answers 401 for a missing or unknown token', async () => {
    expect((await gql(sim, SHOP, undefined, '{ shop { name } }')).status).toBe(401);
    expect((await gql(sim, SHOP, 'shpat_nope', '{ shop { name } }')).status).toBe(401);
  });

  // https://shopify.dev/docs/api/usage/access-scopes
  it('answers ACCESS_DENIED when the token lacks the scope', async () => {
    const t = sim.issueAccessToken(SHOP, { scopes: ['read_products'] }).access_token as string;
    const res = await gql(sim, SHOP, t, '{ orders(first: 1) { nodes { id } } }');
    expect(res.status).toBe(200);
    expect(res.body.errors[0].extensions).toMatchObject({
      code: 'ACCESS_DENIED',
      requiredAccess: '`read_orders` access scope.',
    });
    expect(res.body.errors[0].path).toEqual(['orders']);
  });
});
