import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/shopify.ts';
import { startSyncStack, type SyncStack } from '../support/sync.ts';

/*
 * Run mechanics (issue 7): a backfill killed midway resumes from its checkpoint without
 * duplicates, a run whose process died is resumed by the tick once its lease expires, runs are
 * singletons per tenant and resource, and a backfill completes with exact counts while the Admin
 * API answers 429/503 to one call in ten.
 */

describe('sync: resume, singletons and chaos', () => {
  let stack: SyncStack;
  let tenantId: string;
  let shop: string;
  const ORDERS = 400;
  beforeAll(async () => {
    stack = await startSyncStack();
    ({ tenantId, shop } = await stack.installShop({ products: 10, customers: 10, orders: ORDERS }));
    // Small ranges and batches so a 400-order backfill has many checkpoints.
    Object.assign(stack.server.deps.sync.settings, { bulkChunkSize: 100, batchSize: 25 });
  }, 120_000);
  afterAll(() => stack?.close());

  const emptyOrders = () =>
    stack.q(
      `WITH o AS (DELETE FROM shop_orders WHERE tenant_id = $1)
       , l AS (DELETE FROM shop_order_line_items WHERE tenant_id = $1)
       DELETE FROM shop_order_transactions WHERE tenant_id = $1`,
      [tenantId],
    );
  const counts = async () => {
    const [row] = await stack.q<{ orders: string; lines: string; distinct_lines: string }>(
      `SELECT (SELECT count(*) FROM shop_orders WHERE tenant_id = $1 AND deleted_at IS NULL) AS orders,
              (SELECT count(*) FROM shop_order_line_items WHERE tenant_id = $1) AS lines,
              (SELECT count(DISTINCT id) FROM shop_order_line_items WHERE tenant_id = $1) AS distinct_lines`,
      [tenantId],
    );
    return {
      orders: Number(row.orders),
      lines: Number(row.lines),
      distinctLines: Number(row.distinct_lines),
    };
  };
  let expectedLines = 0;

  it('resumes a backfill killed midway from its checkpoint, without duplicates', async () => {
    expectedLines = (await counts()).lines;
    await emptyOrders();
    const { sync } = stack.server.deps;
    const kill = new AbortController();
    const crashed = sync.run(tenantId, 'orders', {
      mode: 'full',
      trigger: 'api',
      signal: kill.signal,
      onProgress: (p) => {
        if (p.done >= 150) kill.abort(new Error('killed midway'));
      },
    });
    await expect(crashed).rejects.toThrow('killed midway');
    const stopped = (await stack.status(tenantId)).resources.find((r: any) => r.resource === 'orders');
    expect(stopped.status).toBe('failed');
    expect(stopped.lastError.message).toContain('killed midway');
    const checkpoint = stopped.checkpoint.backfill;
    expect(checkpoint.written).toBeGreaterThanOrEqual(150);
    expect(checkpoint.written).toBeLessThan(ORDERS);
    expect(checkpoint.ranges.length).toBeGreaterThanOrEqual(2);
    const before = await counts();
    expect(before.orders).toBe(checkpoint.written);

    const report = await sync.run(tenantId, 'orders', { mode: 'full', trigger: 'resume' });
    expect(report.resumed).toBe(true);
    // Only what was missing is written again.
    expect(report.written).toBeLessThanOrEqual(ORDERS - checkpoint.written + 25);
    const after = await counts();
    expect(after).toEqual({ orders: ORDERS, lines: expectedLines, distinctLines: expectedLines });
    const done = (await stack.status(tenantId)).resources.find((r: any) => r.resource === 'orders');
    expect(done.status).toBe('idle');
    expect(done.checkpoint.backfill).toBeNull();
  });

  it('resumes a run whose process died once its lease expires (sync.tick)', async () => {
    await emptyOrders();
    // What a killed process leaves behind: a running row with a lease nobody renews.
    await stack.q(
      `UPDATE sync_state SET status = 'running', run_id = gen_random_uuid(), mode = 'full',
              lease_until = now() - interval '1 second', backfill = NULL
        WHERE tenant_id = $1 AND resource = 'orders'`,
      [tenantId],
    );
    const since = Date.now();
    const tick = await stack.server.deps.sync.tick();
    expect(tick.queued).toBeGreaterThanOrEqual(1);
    await waitFor(async () => {
      const status = await stack.status(tenantId);
      return status.runs.find(
        (r: any) =>
          r.resource === 'orders' &&
          r.trigger === 'resume' &&
          r.status === 'completed' &&
          Date.parse(r.startedAt) >= since,
      );
    }, 60_000);
    expect(await counts()).toEqual({ orders: ORDERS, lines: expectedLines, distinctLines: expectedLines });
  });

  it('runs one sync at a time per tenant and resource', async () => {
    const { sync } = stack.server.deps;
    const first = sync.run(tenantId, 'orders', { mode: 'full', trigger: 'api' });
    first.catch(() => {});
    await waitFor(async () => {
      const s = (await stack.status(tenantId)).resources.find((r: any) => r.resource === 'orders');
      return s.status === 'running' && s.progress.total !== null;
    });
    await expect(sync.run(tenantId, 'orders', { mode: 'incremental', trigger: 'api' })).rejects.toMatchObject(
      {
        code: 'SYNC_IN_PROGRESS',
        status: 409,
      },
    );
    // Another resource of the same tenant is not blocked by it.
    const customers = await sync.run(tenantId, 'customers', { mode: 'incremental', trigger: 'api' });
    expect(customers.mode).toBe('incremental');
    const status = await stack.status(tenantId);
    const running = status.resources.find((r: any) => r.resource === 'orders');
    expect(running.progress.total).toBe(ORDERS);
    await first;
    expect(await counts()).toEqual({ orders: ORDERS, lines: expectedLines, distinctLines: expectedLines });
  });

  it('completes a backfill with exact counts while 10% of Admin API calls fail with 429 or 503', async () => {
    await emptyOrders();
    stack.sim.setChaos({ http429Rate: 0.05, http5xxRate: 0.05, retryAfterSeconds: 0.1 }, shop);
    try {
      for (const resource of ['products', 'customers', 'orders'] as const) {
        await stack.server.deps.sync.run(tenantId, resource, { mode: 'full', trigger: 'api' });
      }
    } finally {
      stack.sim.setChaos({ http429Rate: 0, http5xxRate: 0 }, shop);
    }
    expect(await counts()).toEqual({ orders: ORDERS, lines: expectedLines, distinctLines: expectedLines });
    const status = await stack.status(tenantId);
    const byResource = Object.fromEntries(status.resources.map((r: any) => [r.resource, r.stored.live]));
    expect(byResource).toEqual({ products: 10, customers: 10, orders: ORDERS });
  });
});
