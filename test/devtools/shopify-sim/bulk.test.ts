import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShopifySim } from '../../../src/devtools/shopify-sim/index.ts';
import { eventually, fullToken, gql, startReceiver, startSim } from './helpers.ts';

// https://shopify.dev/docs/api/usage/bulk-operations/queries : JSONL, one object per line, nested
// connection items on their own lines with __parentId; one bulk query at a time per shop;
// bulk_operations/finish webhook when done.
const SHOP = 'bulk-shop.myshopify.com';
let sim: ShopifySim;
let token: string;

beforeAll(async () => {
  sim = await startSim();
  sim.createShop({ shop: SHOP, products: 20, customers: 50, orders: 400 });
  token = fullToken(sim, SHOP);
});
afterAll(async () => {
  await sim.close();
});

const RUN = `mutation($q: String!) { bulkOperationRunQuery(query: $q) { bulkOperation { id status } userErrors { code field message } } }`;
const ORDERS_QUERY = `{ orders(query: "financial_status:paid") { edges { node { id name totalPriceSet { shopMoney { amount currencyCode } } lineItems { edges { node { id title quantity } } } } } } }`;

async function waitDone(id: string) {
  return pollUntilDone(id);
}

async function pollUntilDone(id: string) {
  for (;;) {
    const res = await gql(
      sim,
      SHOP,
      token,
      `{ bulkOperation(id: "${id}") { id status objectCount rootObjectCount fileSize url errorCode } }`,
    );
    const op = res.body.data.bulkOperation;
    if (op.status === 'COMPLETED' || op.status === 'FAILED') return op;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('bulk operations', () => {
  it('exports JSONL with __parentId lines for nested connections and fires bulk_operations/finish', async () => {
    const rx = await startReceiver();
    try {
      await gql(
        sim,
        SHOP,
        token,
        `mutation { webhookSubscriptionCreate(topic: BULK_OPERATIONS_FINISH, webhookSubscription: { uri: "${rx.url}" }) { userErrors { message } } }`,
      );
      const run = await gql(sim, SHOP, token, RUN, { q: ORDERS_QUERY });
      expect(run.body.data.bulkOperationRunQuery.userErrors).toEqual([]);
      const id = run.body.data.bulkOperationRunQuery.bulkOperation.id;
      expect(id).toMatch(/^gid:\/\/shopify\/BulkOperation\/\d+$/);
      const op = await waitDone(id);
      expect(op.status).toBe('COMPLETED');
      const file = await fetch(op.url);
      const text = await file.text();
      expect(Buffer.byteLength(text)).toBe(Number(op.fileSize));
      const lines = text
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines).toHaveLength(Number(op.objectCount));
      const orders = lines.filter((l) => !('__parentId' in l));
      const items = lines.filter((l) => '__parentId' in l);
      expect(orders).toHaveLength(Number(op.rootObjectCount));
      expect(orders[0]).toEqual({
        id: expect.stringMatching(/^gid:\/\/shopify\/Order\/\d+$/),
        name: expect.any(String),
        totalPriceSet: {
          shopMoney: { amount: expect.stringMatching(/^\d+\.\d{1,2}$/), currencyCode: expect.any(String) },
        },
      });
      const orderIds = new Set(orders.map((o) => o.id));
      expect(items.length).toBeGreaterThan(0);
      for (const item of items) {
        expect(orderIds.has(item.__parentId)).toBe(true);
        expect(Object.keys(item).sort()).toEqual(['__parentId', 'id', 'quantity', 'title']);
      }
      // Every child comes after its parent.
      const seen = new Set<string>();
      for (const l of lines) {
        if ('__parentId' in l) expect(seen.has(l.__parentId)).toBe(true);
        else seen.add(l.id);
      }
      const [hook] = await eventually(() => rx.received.length >= 1 && rx.received);
      expect(hook.headers['x-shopify-topic']).toBe('bulk_operations/finish');
      expect(JSON.parse(hook.raw.toString())).toEqual({
        admin_graphql_api_id: id,
        completed_at: expect.any(String),
        created_at: expect.any(String),
        error_code: null,
        status: 'completed',
        type: 'query',
      });
      const current = await gql(sim, SHOP, token, '{ currentBulkOperation { id status } }');
      expect(current.body.data.currentBulkOperation).toEqual({ id, status: 'COMPLETED' });
    } finally {
      await rx.close();
    }
  });

  it('allows one running bulk query per shop', async () => {
    sim.createShop({ shop: 'bulk-big.myshopify.com', orders: 200_000, products: 50, customers: 100 });
    const t = fullToken(sim, 'bulk-big.myshopify.com');
    const q = '{ orders { edges { node { id lineItems { edges { node { id } } } } } } }';
    const first = await gql(sim, 'bulk-big.myshopify.com', t, RUN, { q });
    expect(first.body.data.bulkOperationRunQuery.userErrors).toEqual([]);
    const second = await gql(sim, 'bulk-big.myshopify.com', t, RUN, { q });
    expect(second.body.data.bulkOperationRunQuery.bulkOperation).toBeNull();
    expect(second.body.data.bulkOperationRunQuery.userErrors[0]).toMatchObject({
      code: 'OPERATION_IN_PROGRESS',
      message: expect.stringContaining('already in progress'),
    });
    const id = first.body.data.bulkOperationRunQuery.bulkOperation.id;
    await gql(
      sim,
      'bulk-big.myshopify.com',
      t,
      `mutation { bulkOperationCancel(id: "${id}") { bulkOperation { status } userErrors { message } } }`,
    );
  });

  it('rejects invalid bulk queries with userErrors', async () => {
    const nested = '{ orders { edges { node { name lineItems { edges { node { id } } } } } } }';
    const res = await gql(sim, SHOP, token, RUN, { q: nested });
    expect(res.body.data.bulkOperationRunQuery.userErrors[0]).toMatchObject({
      code: 'INVALID',
      field: ['query'],
    });
    const node = await gql(sim, SHOP, token, RUN, { q: '{ node(id: "gid://shopify/Order/1") { id } }' });
    expect(node.body.data.bulkOperationRunQuery.userErrors[0].code).toBe('INVALID');
  });
});
