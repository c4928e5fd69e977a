import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShopifySim } from '../../../src/devtools/shopify-sim/index.ts';
import { fullToken, gql, startSim } from './helpers.ts';

// Cursor pagination as documented at https://shopify.dev/docs/api/usage/pagination-graphql
// and search syntax at https://shopify.dev/docs/api/usage/search-syntax, on a 1,000,000-order shop
// that is generated lazily (nothing is materialised up front).
const BIG = 'million.myshopify.com';
let sim: ShopifySim;
let token: string;

beforeAll(async () => {
  sim = await startSim({ seed: 7 });
  sim.createShop({ shop: BIG, products: 500, customers: 50_000, orders: 1_000_000 });
  token = fullToken(sim, BIG);
});
afterAll(async () => {
  await sim.close();
});

const PAGE = `query($after: String, $before: String, $first: Int, $last: Int, $sortKey: OrderSortKeys, $query: String, $reverse: Boolean) {
  orders(first: $first, after: $after, last: $last, before: $before, sortKey: $sortKey, query: $query, reverse: $reverse) {
    edges { cursor node { id name createdAt updatedAt displayFinancialStatus } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;

async function page(vars: Record<string, unknown>) {
  sim.setBucket(BIG, 2000);
  const res = await gql(sim, BIG, token, PAGE, vars);
  expect(res.body.errors).toBeUndefined();
  return res.body.data.orders;
}

describe('a 1,000,000-order shop', () => {
  it('counts exactly without a limit and caps at the limit otherwise', async () => {
    const res = await gql(
      sim,
      BIG,
      token,
      '{ exact: ordersCount(limit: null) { count precision } capped: ordersCount { count precision } }',
    );
    expect(res.body.data.exact).toEqual({ count: 1_000_000, precision: 'EXACT' });
    expect(res.body.data.capped).toEqual({ count: 10_000, precision: 'AT_LEAST' });
  });

  it('pages forward with after cursors and back with before cursors', async () => {
    const first = await page({ first: 250 });
    expect(first.edges).toHaveLength(250);
    expect(first.pageInfo.hasNextPage).toBe(true);
    expect(first.pageInfo.hasPreviousPage).toBe(false);
    const second = await page({ first: 250, after: first.pageInfo.endCursor });
    expect(second.edges[0].node.name).toBe('#1251');
    expect(second.pageInfo.hasPreviousPage).toBe(true);
    const back = await page({ last: 250, before: second.pageInfo.startCursor });
    expect(back.edges.map((e: any) => e.node.id)).toEqual(first.edges.map((e: any) => e.node.id));
  });

  it('jumps to the end with last (the newest order) and pages in reverse', async () => {
    const last = await page({ last: 1 });
    expect(last.edges[0].node.name).toBe(`#${1000 + 1_000_000}`);
    const rev = await page({ first: 2, reverse: true });
    expect(rev.edges.map((e: any) => e.node.name)).toEqual(['#1001000', '#1000999']);
  });

  it('sorts by UPDATED_AT and filters updated_at:>= with a binary-searched start', async () => {
    const since = '2024-12-31T00:00:00Z';
    const res = await page({ first: 50, sortKey: 'UPDATED_AT', query: `updated_at:>='${since}'` });
    const times = res.edges.map((e: any) => Date.parse(e.node.updatedAt));
    expect(times.every((t: number) => t >= Date.parse(since))).toBe(true);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    const next = await page({
      first: 50,
      sortKey: 'UPDATED_AT',
      query: `updated_at:>='${since}'`,
      after: res.pageInfo.endCursor,
    });
    expect(Date.parse(next.edges[0].node.updatedAt)).toBeGreaterThanOrEqual(times[times.length - 1]);
  });

  it('filters by financial_status and created_at ranges', async () => {
    const res = await page({ first: 100, query: 'financial_status:paid created_at:<2023-02-01' });
    expect(res.edges.length).toBeGreaterThan(0);
    for (const e of res.edges) {
      expect(e.node.displayFinancialStatus).toBe('PAID');
      expect(Date.parse(e.node.createdAt)).toBeLessThan(Date.parse('2023-02-01T00:00:00Z'));
    }
  });

  it('moves updated records to the end of UPDATED_AT order and hides deleted ones', async () => {
    const target = (await page({ first: 3 })).edges;
    const updatedId = Number(target[0].node.id.split('/').pop());
    const deletedId = Number(target[1].node.id.split('/').pop());
    sim.updateRecord(BIG, 'orders', updatedId, { tags: ['vip'] });
    sim.deleteRecord(BIG, 'orders', deletedId);
    const newest = await page({ last: 1, sortKey: 'UPDATED_AT' });
    expect(newest.edges[0].node.id).toBe(target[0].node.id);
    const head = await page({ first: 3 });
    expect(head.edges.map((e: any) => e.node.id)).not.toContain(target[1].node.id);
    const node = await gql(sim, BIG, token, `{ node(id: "${target[1].node.id}") { id } }`);
    expect(node.body.data.node).toBeNull();
  });

  it('rejects pages larger than 250 and requires first or last', async () => {
    const big = await gql(sim, BIG, token, '{ orders(first: 251) { nodes { id } } }');
    expect(big.body.errors[0].message).toMatch(/first cannot exceed 250/);
    const none = await gql(sim, BIG, token, '{ orders { nodes { id } } }');
    expect(none.body.errors[0].message).toBe('you must provide one of first or last');
  });
});

describe('search, nodes and counts on a small shop', () => {
  const SHOP = 'search-shop.myshopify.com';
  it('finds products by a bare title word and by vendor, and looks up nodes', async () => {
    sim.createShop({ shop: SHOP, products: 60 });
    const t = fullToken(sim, SHOP);
    const all = await gql(sim, SHOP, t, '{ products(first: 60) { nodes { id title vendor } } }');
    const sample = all.body.data.products.nodes[3];
    const word = sample.title.split(' ')[1];
    const byWord = await gql(
      sim,
      SHOP,
      t,
      `{ products(first: 60, query: "${word}") { nodes { title } } productsCount(query: "${word}") { count precision } }`,
    );
    const expected = all.body.data.products.nodes.filter((p: any) =>
      p.title.toLowerCase().includes(word.toLowerCase()),
    );
    expect(byWord.body.data.products.nodes).toHaveLength(expected.length);
    expect(byWord.body.data.productsCount).toEqual({ count: expected.length, precision: 'EXACT' });
    const byVendor = await gql(
      sim,
      SHOP,
      t,
      `{ products(first: 60, query: "vendor:'${sample.vendor}'") { nodes { vendor } } }`,
    );
    expect(byVendor.body.data.products.nodes.every((p: any) => p.vendor === sample.vendor)).toBe(true);
    const nodes = await gql(
      sim,
      SHOP,
      t,
      `{ nodes(ids: ["${sample.id}", "gid://shopify/Product/1"]) { id ... on Product { title } } }`,
    );
    expect(nodes.body.data.nodes).toEqual([{ id: sample.id, title: sample.title }, null]);
  });

  it('is deterministic: same seed and shop give the same data', async () => {
    const other = await startSim({ seed: 7 });
    try {
      other.createShop({ shop: BIG, products: 500, customers: 50_000, orders: 1_000_000 });
      const q =
        '{ orders(first: 3) { nodes { id name totalPriceSet { shopMoney { amount currencyCode } } } } }';
      const a = await gql(sim, BIG, token, `{ o: order(id: "gid://shopify/Order/1") { id } }`);
      expect(a.body.data.o).toBeNull();
      const mine = await gql(other, BIG, fullToken(other, BIG), q);
      const fresh = await startSim({ seed: 7 });
      fresh.createShop({ shop: BIG, products: 500, customers: 50_000, orders: 1_000_000 });
      const again = await gql(fresh, BIG, fullToken(fresh, BIG), q);
      await fresh.close();
      expect(again.body.data).toEqual(mine.body.data);
    } finally {
      await other.close();
    }
  });
});
