import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ShopifySim, startShopifySim } from '../../src/devtools/shopify-sim/index.ts';
import { type AdminClient, createAdminClient, ShopifyAdminError } from '../../src/shopify/admin-client.ts';
import { pacedClient } from '../../src/shopify/paced-client.ts';
import { createRateBudget } from '../../src/shopify/rate-budget.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/*
 * The shared cost budget (issue 7): several workers, each with its own client, spending from one
 * small bucket. Unpaced they run into THROTTLED; paced through the database budget they do not,
 * and every page still arrives. Throttling, 429 and 5xx answers are retried with a bound.
 */

const PAGE = `query($after: String) { orders(first: 50, after: $after, sortKey: ID) {
  nodes { id } pageInfo { hasNextPage endCursor } } }`;

describe('sync: pacing to the shop budget', () => {
  let sim: ShopifySim;
  let server: TestServer;
  let token: string;
  const shop = `pacing-${randomBytes(3).toString('hex')}.myshopify.com`;
  beforeAll(async () => {
    sim = await startShopifySim({ apiKey: 'k', apiSecret: 's', plan: 'standard' });
    sim.createShop({ shop, products: 5, customers: 5, orders: 600 });
    token = sim.issueAccessToken(shop, { scopes: ['read_orders'] }).access_token as string;
    server = await startTestServer();
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await sim?.close();
  });

  const rawClient = (): AdminClient =>
    createAdminClient({
      shop,
      apiVersion: '2025-10',
      adminUrlTemplate: sim.adminUrlTemplate,
      tokens: { get: async () => ({ token, version: 1 }), onUnauthorized: async () => false },
    });

  /** Pages through `pages` pages of orders; returns ids read and THROTTLED answers met. */
  async function worker(client: AdminClient, pages: number) {
    let after: string | null = null;
    let read = 0;
    for (let i = 0; i < pages; i++) {
      const { data }: { data: any } = await client.request<any>(PAGE, { after });
      read += data.orders.nodes.length;
      after = data.orders.pageInfo.endCursor;
    }
    return read;
  }

  it('unpaced workers on a nearly empty bucket get THROTTLED', async () => {
    sim.setBucket(shop, 120);
    const results = await Promise.allSettled([1, 2, 3, 4].map(() => worker(rawClient(), 3)));
    const throttled = results.filter(
      (r) =>
        r.status === 'rejected' && r.reason instanceof ShopifyAdminError && r.reason.kind === 'throttled',
    );
    expect(throttled.length).toBeGreaterThan(0);
  });

  it('paced workers sharing the database budget finish every page without THROTTLED', async () => {
    sim.setBucket(shop, 120);
    const budget = createRateBudget({ database: server.deps.database });
    const retries: string[] = [];
    const client = () =>
      pacedClient(rawClient(), { pacer: budget, onRetry: (e) => retries.push(e.kind), baseDelayMs: 50 });
    // Teach the budget this shop's bucket with one request, as the first call of any sync does.
    await worker(client(), 1);
    sim.setBucket(shop, 120);
    await server.deps.database.query(
      `UPDATE shopify_rate_budgets SET available = 120, pending = 0, at = clock_timestamp() WHERE shop_domain = $1`,
      [shop],
    );
    const read = await Promise.all([1, 2, 3, 4].map(() => worker(client(), 3)));
    expect(read).toEqual([150, 150, 150, 150]);
    expect(retries.filter((k) => k === 'throttled')).toEqual([]);
    expect(await budget.throttledCount(shop)).toBe(0);
    // The bucket never went below zero, so Shopify never had to refuse.
    expect(sim.throttleStatus(shop).currentlyAvailable).toBeGreaterThanOrEqual(0);
  });

  it('a late, stale throttle report never raises the shared balance (answers settle out of order)', async () => {
    const budget = createRateBudget({ database: server.deps.database });
    const other = `stale-${randomBytes(3).toString('hex')}.myshopify.com`;
    await server.deps.database.query(
      `INSERT INTO shopify_rate_budgets (shop_domain, available, maximum, restore_rate, at, pending)
       VALUES ($1, 1000, 1000, 1, clock_timestamp(), 0)`,
      [other],
    );
    const balance = async () =>
      Number(
        (
          await server.deps.database.query<{ available: number }>(
            'SELECT available FROM shopify_rate_budgets WHERE shop_domain = $1',
            [other],
          )
        ).rows[0].available,
      );
    await budget.reserve(other, 100); // A
    await budget.reserve(other, 100); // B
    const report = (currentlyAvailable: number) => ({
      requestedQueryCost: 100,
      actualQueryCost: 100,
      throttleStatus: { maximumAvailable: 1000, currentlyAvailable, restoreRate: 1 },
    });
    // Shopify charged A, then B (800 left); B's answer is settled first, then A's, whose report
    // was taken before B was charged (900).
    await budget.settle(other, { reserved: 100, charged: 100, cost: report(800), throttled: false });
    await budget.settle(other, { reserved: 100, charged: 100, cost: report(900), throttled: false });
    // The truth is 800 (plus a point per second of refill); 900 would hand B's points out again.
    expect(await balance()).toBeLessThanOrEqual(805);
    // A fresh report that is lower than our own accounting (another app spent points) is followed.
    await budget.reserve(other, 100);
    await budget.settle(other, { reserved: 100, charged: 100, cost: report(300), throttled: false });
    expect(await balance()).toBeLessThanOrEqual(300);
  });

  it('retries THROTTLED, 429 (Retry-After) and 5xx with a bound, then gives up', async () => {
    const budget = createRateBudget({ database: server.deps.database });
    const retries: string[] = [];
    const client = pacedClient(rawClient(), {
      pacer: budget,
      onRetry: (e) => retries.push(e.kind),
      baseDelayMs: 10,
      maxAttempts: 4,
    });
    sim.setChaos({ http429Rate: 0.3, http5xxRate: 0.3, throttleRate: 0.2, retryAfterSeconds: 0.05 }, shop);
    try {
      let completed = 0;
      for (let i = 0; i < 8; i++) {
        try {
          await worker(client, 1);
          completed++;
        } catch (error) {
          expect(error).toBeInstanceOf(ShopifyAdminError);
        }
      }
      expect(completed).toBeGreaterThan(0);
      expect(new Set(retries)).toEqual(new Set(['rate_limited', 'unavailable', 'throttled']));
      sim.setChaos({ http5xxRate: 1, http429Rate: 0, throttleRate: 0 }, shop);
      const before = retries.length;
      await expect(worker(client, 1)).rejects.toMatchObject({ kind: 'unavailable' });
      expect(retries.length - before).toBe(3);
    } finally {
      sim.setChaos({ http429Rate: 0, http5xxRate: 0, throttleRate: 0 }, shop);
    }
  });
});
