import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli } from '../support/process.ts';
import { handOverToCli, startSyncStack, type SyncStack } from '../support/sync.ts';

const ORDERS = 3000;

/**
 * A backfill process killed with SIGKILL mid-way (no chance to clean up) and started again: the
 * second run resumes from the stored checkpoint and the mirror ends exact. The kill point is made
 * deterministic by the simulator stalling the bulk file download after about half the orders:
 * the first process writes and checkpoints what it has, then waits for bytes that never come.
 */
describe('sync: crash and resume', () => {
  let stack: SyncStack;
  let shop: string;
  let tenantId: string;
  let env: Record<string, string | undefined>;
  beforeAll(async () => {
    stack = await startSyncStack();
    ({ shop, tenantId } = await stack.installShop({ products: 5, customers: 20, orders: ORDERS }));
    // Forget the orders: the processes below backfill them from nothing.
    for (const table of ['shop_order_line_items', 'shop_order_transactions', 'shop_orders'])
      await stack.q(`DELETE FROM ${table} WHERE tenant_id = $1`, [tenantId]);
    await stack.q(
      `UPDATE sync_state SET backfill = NULL, backfilled_at = NULL, updated_at_cursor = NULL
        WHERE tenant_id = $1 AND resource = 'orders'`,
      [tenantId],
    );
    env = await handOverToCli(stack);
  }, 180_000);
  afterAll(() => stack?.close());

  const orderState = async () => {
    const [state] = await stack.q<{ backfill: any; backfilled_at: Date | null; status: string }>(
      `SELECT backfill, backfilled_at, status FROM sync_state WHERE tenant_id = $1 AND resource = 'orders'`,
      [tenantId],
    );
    return state;
  };

  it('resumes a SIGKILLed backfill from its checkpoint without duplicating anything', async () => {
    // About 1,500 orders (an order and its line items are ~3 lines): more than one batch on
    // either engine (250 on PGlite, 1,000 on PostgreSQL), less than all.
    const release = stack.sim.holdBulkDownloads(4500);
    const first = spawnCli(['sync', shop, '--full', '--resource', 'orders'], { ...env, LOG_LEVEL: 'debug' });
    try {
      await first.waitForLog('sync checkpoint saved', 120_000);
    } finally {
      first.child.kill('SIGKILL');
    }
    expect((await first.exited).signal).toBe('SIGKILL');

    await stack.restartServer();
    const crashed = await orderState();
    const checkpoint = crashed.backfill;
    expect(checkpoint.written).toBeGreaterThan(0);
    expect(checkpoint.written).toBeLessThan(ORDERS);
    expect(checkpoint.lastId).toBeGreaterThan(0);
    expect(crashed.backfilled_at).toBeNull();
    const [{ n: partial }] = await stack.q<{ n: string }>(
      'SELECT count(*) AS n FROM shop_orders WHERE tenant_id = $1',
      [tenantId],
    );
    expect(Number(partial)).toBeGreaterThanOrEqual(checkpoint.written);
    expect(Number(partial)).toBeLessThan(ORDERS);
    // A crash is detected by the dead run's lease running out (60 s); let it have run out.
    await stack.q(
      `UPDATE sync_state SET lease_until = now() - interval '1 second' WHERE tenant_id = $1 AND resource = 'orders'`,
      [tenantId],
    );
    await stack.server.close();
    release();

    const second = spawnCli(['sync', shop, '--full', '--resource', 'orders'], env);
    const { code } = await second.exited;
    const output = second.output.join('\n');
    expect(code, output).toBe(0);
    // Only what came after the checkpoint is written again: it did not start over.
    expect(output).toMatch(new RegExp(`orders: full \\(resumed\\) — ${ORDERS - checkpoint.written} written`));

    await stack.restartServer();
    const done = await orderState();
    expect(done.backfill).toBeNull();
    expect(done.backfilled_at).not.toBeNull();
    const [counts] = await stack.q<Record<string, string>>(
      `SELECT (SELECT count(*) FROM shop_orders WHERE tenant_id = $1) AS orders,
              (SELECT count(DISTINCT id) FROM shop_orders WHERE tenant_id = $1) AS distinct_orders,
              (SELECT count(*) FROM shop_order_line_items WHERE tenant_id = $1) AS lines,
              (SELECT count(DISTINCT id) FROM shop_order_line_items WHERE tenant_id = $1) AS distinct_lines`,
      [tenantId],
    );
    expect(Number(counts.orders)).toBe(ORDERS);
    expect(Number(counts.distinct_orders)).toBe(ORDERS);
    expect(Number(counts.lines)).toBe(Number(counts.distinct_lines));
    const status = await stack.status(tenantId);
    const orders = status.resources.find((r: any) => r.resource === 'orders');
    expect(orders.stored).toEqual({ live: ORDERS, deleted: 0 });
    const lines = await stack.q<{ id: string }>('SELECT id FROM shop_orders WHERE tenant_id = $1', [
      tenantId,
    ]);
    let expectedLines = 0;
    for (const o of lines)
      expectedLines += (stack.sim.readRecord(shop, 'orders', Number(o.id)) as any).line_items.length;
    expect(Number(counts.lines)).toBe(expectedLines);
  }, 240_000);
});
