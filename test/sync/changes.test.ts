import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/shopify.ts';
import { startSyncStack, type SyncStack } from '../support/sync.ts';

/** Waits until a run of `mode` finished for each resource after `since`; returns those runs. */
async function runsAfter(stack: SyncStack, tenantId: string, mode: string, since: number, count = 3) {
  return waitFor(async () => {
    const status = await stack.status(tenantId);
    const runs = status.runs.filter(
      (r: any) => r.mode === mode && r.status !== 'running' && Date.parse(r.startedAt) >= since,
    );
    return runs.length >= count ? runs : undefined;
  }, 60_000);
}

describe('sync: incremental, deletions and reconcile after missed webhooks', () => {
  let stack: SyncStack;
  let tenantId: string;
  let shop: string;
  beforeAll(async () => {
    stack = await startSyncStack();
    ({ tenantId, shop } = await stack.installShop({ products: 20, customers: 30, orders: 60 }));
    // From here on no webhook reaches StoreOps: only sync can see the changes.
    stack.sim.setChaos({ webhookDropRate: 1 }, shop);
  }, 120_000);
  afterAll(() => stack?.close());

  const ids = async (resource: string) =>
    (await stack.api('GET', `/api/v1/tenants/${tenantId}/${resource}?limit=250`)).body.items.map(
      (r: any) => r.id,
    );

  it('an incremental run picks up updates, creations, cancellations and product deletions', async () => {
    const [orderA, orderB] = await ids('orders');
    const [productA, productB] = await ids('products');
    const since = Date.now();
    stack.sim.updateRecord(shop, 'orders', orderA, { tags: ['vip', 'rush'], note: 'changed at Shopify' });
    stack.sim.updateRecord(shop, 'orders', orderB, { cancelReason: 'customer' });
    const created = stack.sim.createRecord(shop, 'orders', { lineItems: [{ quantity: 2, price: '19.90' }] });
    stack.sim.updateRecord(shop, 'products', productA, { title: 'Renamed Snowboard', status: 'ARCHIVED' });
    stack.sim.deleteRecord(shop, 'products', productB);
    const customer = stack.sim.createRecord(shop, 'customers', {
      firstName: 'Ada',
      email: 'ada@example.test',
    });
    const deliveries = stack.sim.deliveries({ shop }).filter((d) => Date.parse(d.triggeredAt) >= since);
    expect(deliveries.length).toBeGreaterThan(0);
    expect(deliveries.every((d) => d.state === 'dropped')).toBe(true);

    const start = await stack.api('POST', `/api/v1/tenants/${tenantId}/sync`, { mode: 'incremental' });
    expect(start.status, start.text).toBe(202);
    expect(start.body.queued).toHaveLength(3);
    const runs = await runsAfter(stack, tenantId, 'incremental', since);
    expect(runs.filter((r: any) => r.status !== 'completed')).toEqual([]);

    const a = (await stack.api('GET', `/api/v1/tenants/${tenantId}/orders/${orderA}`)).body.item;
    expect([...a.tags].sort()).toEqual(['rush', 'vip']);
    expect(a.note).toBe('changed at Shopify');
    const b = (await stack.api('GET', `/api/v1/tenants/${tenantId}/orders/${orderB}`)).body.item;
    expect(b.cancelReason).toBe('customer');
    expect(b.cancelledAt).not.toBeNull();
    const cancelled = await stack.api('GET', `/api/v1/tenants/${tenantId}/orders?status=cancelled&limit=250`);
    expect(cancelled.body.items.map((o: any) => o.id)).toContain(orderB);
    const c = await stack.api('GET', `/api/v1/tenants/${tenantId}/orders/${created.id}`);
    expect(c.status).toBe(200);
    expect(c.body.item.lineItems).toHaveLength(1);
    expect(c.body.item.lineItems[0]).toMatchObject({ quantity: 2, price: '19.90' });
    const p = (await stack.api('GET', `/api/v1/tenants/${tenantId}/products/${productA}`)).body.item;
    expect(p).toMatchObject({ title: 'Renamed Snowboard', status: 'archived' });
    const deleted = await stack.api('GET', `/api/v1/tenants/${tenantId}/products/${productB}`);
    expect(deleted.status).toBe(404);
    const [tomb] = await stack.q('SELECT deleted_at FROM shop_products WHERE tenant_id = $1 AND id = $2', [
      tenantId,
      productB,
    ]);
    expect(tomb.deleted_at).not.toBeNull();
    const cu = await stack.api('GET', `/api/v1/tenants/${tenantId}/customers/${customer.id}`);
    expect(cu.body.item).toMatchObject({ firstName: 'Ada', email: 'ada@example.test' });
    const products = runs.find((r: any) => r.resource === 'products');
    expect(products.report.deleted).toBe(1);

    const status = await stack.status(tenantId);
    for (const r of status.resources) {
      expect(r.lastIncrementalAt).not.toBeNull();
      expect(Date.parse(r.checkpoint.updatedAtCursor)).toBeGreaterThan(0);
    }
  });

  it('reconcile finds what the dropped webhooks missed, repairs it and reports it', async () => {
    const orders = await ids('orders');
    const customers = await ids('customers');
    // A window is compared by count and newest updated_at (seconds, as Shopify reports it): a
    // deletion plus a creation in the same second as the previous test's last change would look
    // like no change at all. Start in a later second.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const since = Date.now();
    // Shopify has no deletion feed for orders and customers, and updates older than the cursor
    // window are invisible to incremental runs: only a comparison finds these.
    stack.sim.deleteRecord(shop, 'orders', orders[3]);
    stack.sim.deleteRecord(shop, 'customers', customers[4]);
    stack.sim.updateRecord(shop, 'customers', customers[5], { lastName: 'Lovelace' });
    const added = stack.sim.createRecord(shop, 'orders', { lineItems: [{ quantity: 1, price: '5.00' }] });
    const start = await stack.api('POST', `/api/v1/tenants/${tenantId}/sync`, { mode: 'reconcile' });
    expect(start.status).toBe(202);
    const runs = await runsAfter(stack, tenantId, 'reconcile', since);
    const byResource = Object.fromEntries(runs.map((r: any) => [r.resource, r]));
    expect(byResource.orders.status).toBe('completed');
    expect(byResource.orders.report.reconcile).toMatchObject({ missing: 1, deleted: 1 });
    expect(byResource.orders.report.reconcile.repairedIds).toEqual(
      expect.arrayContaining([orders[3], added.id]),
    );
    expect(byResource.customers.report.reconcile).toMatchObject({ stale: 1, deleted: 1 });
    expect(byResource.products.report.reconcile).toMatchObject({ missing: 0, stale: 0, deleted: 0 });
    expect((await stack.api('GET', `/api/v1/tenants/${tenantId}/orders/${orders[3]}`)).status).toBe(404);
    expect((await stack.api('GET', `/api/v1/tenants/${tenantId}/orders/${added.id}`)).status).toBe(200);
    const c = (await stack.api('GET', `/api/v1/tenants/${tenantId}/customers/${customers[5]}`)).body.item;
    expect(c.lastName).toBe('Lovelace');

    // The mirror now matches Shopify: a second reconcile repairs nothing.
    const again = Date.now();
    await stack.api('POST', `/api/v1/tenants/${tenantId}/sync`, { mode: 'reconcile' });
    const second = await runsAfter(stack, tenantId, 'reconcile', again);
    for (const r of second) expect(r.report.reconcile).toMatchObject({ missing: 0, stale: 0, deleted: 0 });
    const status = await stack.status(tenantId);
    const o = status.resources.find((r: any) => r.resource === 'orders');
    expect(o.stored.live).toBe((stack.sim.shopInfo(shop) as any).counts.orders);
  });

  it('takes a schedule and validates the request', async () => {
    const res = await stack.api('POST', `/api/v1/tenants/${tenantId}/sync`, {
      mode: 'incremental',
      resources: ['orders'],
      schedule: { incrementalEveryMinutes: 5, reconcileEveryHours: 0 },
    });
    expect(res.status).toBe(202);
    expect(res.body.queued).toHaveLength(1);
    const status = await stack.status(tenantId);
    for (const r of status.resources)
      expect(r.schedule).toEqual({ incrementalEveryMinutes: 5, reconcileEveryHours: 0 });
    const bad = await stack.api('POST', `/api/v1/tenants/${tenantId}/sync`, { mode: 'everything' });
    expect(bad.status).toBe(422);
  });
});
