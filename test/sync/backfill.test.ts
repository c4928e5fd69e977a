import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customerFromRest, orderFromRest, productFromRest } from '../../src/mirror/index.ts';
import { basic, call, createApiKey, createStaff } from '../support/identity.ts';
import { startSyncStack, type SyncStack } from '../support/sync.ts';

const instant = (iso: string | null | undefined) => (iso ? new Date(iso).toISOString() : null);

describe('sync: backfill on install and the data API', () => {
  let stack: SyncStack;
  let tenantId: string;
  let shop: string;
  beforeAll(async () => {
    stack = await startSyncStack();
    ({ tenantId, shop } = await stack.installShop({ products: 30, customers: 60, orders: 150 }));
  }, 120_000);
  afterAll(() => stack?.close());

  it('mirrors every product, customer and order (with children) with exact counts', async () => {
    const status = await stack.status(tenantId);
    const byResource = Object.fromEntries(status.resources.map((r: any) => [r.resource, r]));
    expect(byResource.products.stored).toEqual({ live: 30, deleted: 0 });
    expect(byResource.customers.stored).toEqual({ live: 60, deleted: 0 });
    expect(byResource.orders.stored).toEqual({ live: 150, deleted: 0 });
    for (const r of status.resources) {
      expect(r.status).toBe('idle');
      expect(r.backfilledAt).not.toBeNull();
      expect(r.checkpoint.backfill).toBeNull();
      expect(r.checkpoint.updatedAtCursor).not.toBeNull();
      expect(r.progress.done).toBe(r.progress.total);
    }
    const fullRuns = status.runs.filter((r: any) => r.mode === 'full' && r.status === 'completed');
    expect(fullRuns.map((r: any) => r.trigger).sort()).toEqual(['install', 'install', 'install']);
    // Every line item and variant the simulator has is stored, and nothing twice.
    const [{ lines, distinct }] = await stack.q<{ lines: string; distinct: string }>(
      'SELECT count(*) AS lines, count(DISTINCT id) AS distinct FROM shop_order_line_items WHERE tenant_id = $1',
      [tenantId],
    );
    let expectedLines = 0;
    const orders = await stack.q<{ id: string }>('SELECT id FROM shop_orders WHERE tenant_id = $1', [
      tenantId,
    ]);
    for (const o of orders) {
      expectedLines += (stack.sim.readRecord(shop, 'orders', Number(o.id)) as any).line_items.length;
    }
    expect(Number(lines)).toBe(expectedLines);
    expect(Number(distinct)).toBe(expectedLines);
  });

  it('keeps field fidelity: money as decimal strings, instants, nested items, transactions', async () => {
    const list = await stack.api('GET', `/api/v1/tenants/${tenantId}/orders?limit=5`);
    expect(list.status, list.text).toBe(200);
    for (const summary of list.body.items) {
      const res = await stack.api('GET', `/api/v1/tenants/${tenantId}/orders/${summary.id}`);
      expect(res.status).toBe(200);
      const mine = res.body.item;
      const theirs = orderFromRest(stack.sim.readRecord(shop, 'orders', summary.id));
      expect(mine.totalPrice).toBe(theirs.totalPrice);
      expect(typeof mine.totalPrice).toBe('string');
      expect(mine.subtotalPrice).toBe(theirs.subtotalPrice);
      expect(mine.totalTax).toBe(theirs.totalTax);
      expect(mine.totalShipping).toBe(theirs.totalShipping);
      expect(mine.currentTotalPrice).toBe(theirs.currentTotalPrice);
      expect(mine.currency).toBe(theirs.currency);
      expect(mine.financialStatus).toBe(theirs.financialStatus);
      expect(mine.fulfillmentStatus).toBe(theirs.fulfillmentStatus);
      expect(mine.cancelReason).toBe(theirs.cancelReason);
      expect(mine.email).toBe(theirs.email);
      expect(mine.name).toBe(theirs.name);
      expect(mine.orderNumber).toBe(theirs.orderNumber);
      expect(mine.customerId).toBe(theirs.customerId);
      expect(mine.tags).toEqual(theirs.tags);
      expect(mine.createdAt).toBe(instant(theirs.createdAt));
      expect(mine.updatedAt).toBe(instant(theirs.updatedAt));
      expect(mine.processedAt).toBe(instant(theirs.processedAt));
      expect(mine.shippingAddress?.city ?? null).toBe((theirs.shippingAddress as any)?.city ?? null);
      expect(
        mine.lineItems.map((l: any) => [l.id, l.price, l.quantity, l.sku, l.variantId, l.productId]),
      ).toEqual(theirs.lineItems.map((l) => [l.id, l.price, l.quantity, l.sku, l.variantId, l.productId]));
      // Fulfilment per line: bulk (GraphQL) and webhook (REST) mappings agree.
      expect(mine.lineItems.map((l: any) => [l.fulfillableQuantity, l.fulfillmentStatus])).toEqual(
        theirs.lineItems.map((l) => [l.fulfillableQuantity, l.fulfillmentStatus]),
      );
      const restOrder = stack.sim.readRecord(shop, 'orders', summary.id) as any;
      const refunds = restOrder.refunds.flatMap((r: any) => r.transactions.map((t: any) => t.id));
      for (const id of refunds) expect(mine.transactions.map((t: any) => t.id)).toContain(id);
      for (const t of mine.transactions) expect(t.amount).toMatch(/^-?\d+\.\d{2}$/);
    }
  });

  it('keeps product variants and customer fields', async () => {
    const products = await stack.api('GET', `/api/v1/tenants/${tenantId}/products?limit=3`);
    for (const p of products.body.items) {
      const theirs = productFromRest(stack.sim.readRecord(shop, 'products', p.id));
      expect(p.title).toBe(theirs.title);
      expect(p.status).toBe(theirs.status);
      expect(p.vendor).toBe(theirs.vendor);
      expect(p.tags).toEqual(theirs.tags);
      expect(
        p.variants.map((v: any) => [v.id, v.price, v.compareAtPrice, v.sku, v.inventoryQuantity]),
      ).toEqual(theirs.variants.map((v) => [v.id, v.price, v.compareAtPrice, v.sku, v.inventoryQuantity]));
    }
    const customers = await stack.api('GET', `/api/v1/tenants/${tenantId}/customers?limit=3`);
    for (const c of customers.body.items) {
      const theirs = customerFromRest(stack.sim.readRecord(shop, 'customers', c.id));
      expect([c.email, c.firstName, c.lastName, c.state, c.phone]).toEqual([
        theirs.email,
        theirs.firstName,
        theirs.lastName,
        theirs.state,
        theirs.phone,
      ]);
      expect(c.defaultAddress?.city ?? null).toBe((theirs.defaultAddress as any)?.city ?? null);
    }
    // Order count and amount spent, from the bulk export, equal the webhook payload's and what the
    // mirror holds (every order is mirrored here).
    const all = await stack.api('GET', `/api/v1/tenants/${tenantId}/customers?limit=250`);
    const byCustomer = new Map(
      (
        await stack.q<{ customer_id: string; n: string }>(
          'SELECT customer_id, count(*) AS n FROM shop_orders WHERE tenant_id = $1 GROUP BY customer_id',
          [tenantId],
        )
      ).map((r) => [Number(r.customer_id), Number(r.n)]),
    );
    expect(all.body.items.some((c: any) => c.ordersCount > 0)).toBe(true);
    for (const c of all.body.items) {
      const theirs = customerFromRest(stack.sim.readRecord(shop, 'customers', c.id));
      expect([c.ordersCount, c.totalSpent, c.currency]).toEqual([
        theirs.ordersCount,
        theirs.totalSpent,
        theirs.currency,
      ]);
      expect(c.ordersCount).toBe(byCustomer.get(c.id) ?? 0);
      expect(c.totalSpent).toMatch(/^-?\d+\.\d{2}$/);
    }
  });

  it('pages through a list with cursors, every record once', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: any = await stack.api(
        'GET',
        `/api/v1/tenants/${tenantId}/orders?limit=40${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(res.status).toBe(200);
      expect(res.body.source).toBe('mirror');
      seen.push(...res.body.items.map((o: any) => o.id));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(4);
    expect(new Set(seen).size).toBe(150);
    expect([...seen].sort((a, b) => b - a)).toEqual(seen);
    const bad = await stack.api('GET', `/api/v1/tenants/${tenantId}/orders?cursor=nonsense`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_CURSOR');
  });

  it('filters by status, dates and a Shopify-style text query', async () => {
    const [{ paid }] = await stack.q<{ paid: string }>(
      `SELECT count(*) AS paid FROM shop_orders WHERE tenant_id = $1 AND financial_status = 'paid'`,
      [tenantId],
    );
    const res = await stack.api(
      'GET',
      `/api/v1/tenants/${tenantId}/orders?limit=250&q=financial_status:paid`,
    );
    expect(res.status).toBe(200);
    expect(res.body.items.length).toBe(Number(paid));
    expect(res.body.items.every((o: any) => o.financialStatus === 'paid')).toBe(true);
    const same = await stack.api('GET', `/api/v1/tenants/${tenantId}/orders?limit=250&financialStatus=paid`);
    expect(same.body.items.map((o: any) => o.id)).toEqual(res.body.items.map((o: any) => o.id));

    const negated = await stack.api(
      'GET',
      `/api/v1/tenants/${tenantId}/orders?limit=250&q=-financial_status:paid`,
    );
    expect(negated.body.items.length).toBe(150 - Number(paid));

    // OR against the mirror: the union of both statuses, each order once.
    const [{ n: paidOrPending }] = await stack.q<{ n: string }>(
      "SELECT count(*) AS n FROM shop_orders WHERE tenant_id = $1 AND financial_status IN ('paid', 'pending')",
      [tenantId],
    );
    const either = await stack.api(
      'GET',
      `/api/v1/tenants/${tenantId}/orders?limit=250&q=${encodeURIComponent('financial_status:paid OR financial_status:pending')}`,
    );
    expect(either.status, either.text).toBe(200);
    expect(either.body.items.length).toBe(Number(paidOrPending));
    expect(new Set(either.body.items.map((o: any) => o.id)).size).toBe(either.body.items.length);
    expect(either.body.items.every((o: any) => ['paid', 'pending'].includes(o.financialStatus))).toBe(true);
    const grouped = await stack.api(
      'GET',
      `/api/v1/tenants/${tenantId}/orders?limit=250&q=${encodeURIComponent('-(financial_status:paid OR financial_status:pending)')}`,
    );
    expect(grouped.body.items.length).toBe(150 - Number(paidOrPending));

    // A bare word, like seed 003's `snowboard`: a word of some product's title.
    const all = await stack.api('GET', `/api/v1/tenants/${tenantId}/products?limit=250`);
    const word = (all.body.items[0].title as string).split(' ')[0];
    const byWord = await stack.api(
      'GET',
      `/api/v1/tenants/${tenantId}/products?limit=250&q=${encodeURIComponent(word)}`,
    );
    expect(byWord.body.items.length).toBeGreaterThan(0);
    for (const p of byWord.body.items) {
      const text = [p.title, p.handle, p.vendor, p.productType, ...p.tags].join(' ').toLowerCase();
      expect(text).toContain(word.toLowerCase());
    }

    const active = await stack.api('GET', `/api/v1/tenants/${tenantId}/products?limit=250&status=active`);
    expect(active.body.items.every((p: any) => p.status === 'active')).toBe(true);
    const activeQ = await stack.api('GET', `/api/v1/tenants/${tenantId}/products?limit=250&q=status:active`);
    expect(activeQ.body.items.length).toBe(active.body.items.length);

    const sorted = (await stack.api('GET', `/api/v1/tenants/${tenantId}/orders?limit=250`)).body.items
      .map((o: any) => o.createdAt)
      .sort();
    const median = sorted[75];
    const newer = await stack.api(
      'GET',
      `/api/v1/tenants/${tenantId}/orders?limit=250&createdAtMin=${encodeURIComponent(median)}`,
    );
    expect(newer.body.items.length).toBe(sorted.filter((t: string) => t >= median).length);
    const newerQ = await stack.api(
      'GET',
      `/api/v1/tenants/${tenantId}/orders?limit=250&q=${encodeURIComponent(`created_at:>=${median}`)}`,
    );
    expect(newerQ.body.items.length).toBe(newer.body.items.length);

    const unknown = await stack.api('GET', `/api/v1/tenants/${tenantId}/orders?q=colour:red`);
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe('INVALID_QUERY');
    const missing = await stack.api('GET', `/api/v1/tenants/${tenantId}/orders/1`);
    expect(missing.status).toBe(404);
  });

  it('reads through to Shopify with live=true and refreshes the mirror', async () => {
    const list = await stack.api('GET', `/api/v1/tenants/${tenantId}/customers?limit=1`);
    const id = list.body.items[0].id;
    // No webhook will carry this change: only the live read can see it.
    stack.sim.setChaos({ webhookDropRate: 1 }, shop);
    try {
      stack.sim.updateRecord(shop, 'customers', id, { firstName: 'Livia', note: 'fresh from Shopify' });
      const cached = await stack.api('GET', `/api/v1/tenants/${tenantId}/customers/${id}`);
      expect(cached.body.item.firstName).not.toBe('Livia');
      const live = await stack.api('GET', `/api/v1/tenants/${tenantId}/customers/${id}?live=true`);
      expect(live.status, live.text).toBe(200);
      expect(live.body.source).toBe('shopify');
      expect(live.body.item.firstName).toBe('Livia');
      // The paginated (live) mapping carries the same order count and amount spent.
      const rest = customerFromRest(stack.sim.readRecord(shop, 'customers', id));
      expect([live.body.item.ordersCount, live.body.item.totalSpent]).toEqual([
        rest.ordersCount,
        rest.totalSpent,
      ]);
      const after = await stack.api('GET', `/api/v1/tenants/${tenantId}/customers/${id}`);
      expect(after.body.item.note).toBe('fresh from Shopify');

      const liveList = await stack.api(
        'GET',
        `/api/v1/tenants/${tenantId}/orders?live=true&limit=5&q=financial_status:paid`,
      );
      expect(liveList.status, liveList.text).toBe(200);
      expect(liveList.body.source).toBe('shopify');
      expect(liveList.body.items.length).toBe(5);
      expect(liveList.body.items.every((o: any) => o.financialStatus === 'paid')).toBe(true);
      expect(liveList.body.items[0].lineItems.length).toBeGreaterThan(0);
      for (const o of liveList.body.items) {
        const rest = orderFromRest(stack.sim.readRecord(shop, 'orders', o.id));
        expect(o.lineItems.map((l: any) => [l.fulfillableQuantity, l.fulfillmentStatus])).toEqual(
          rest.lineItems.map((l) => [l.fulfillableQuantity, l.fulfillmentStatus]),
        );
      }
      const next = await stack.api(
        'GET',
        `/api/v1/tenants/${tenantId}/orders?live=true&limit=5&q=financial_status:paid&cursor=${encodeURIComponent(liveList.body.nextCursor)}`,
      );
      expect(next.status).toBe(200);
      const firstIds = new Set(liveList.body.items.map((o: any) => o.id));
      expect(next.body.items.some((o: any) => firstIds.has(o.id))).toBe(false);

      const gone = await stack.api('GET', `/api/v1/tenants/${tenantId}/orders/1?live=true`);
      expect(gone.status).toBe(404);
    } finally {
      stack.sim.setChaos({ webhookDropRate: 0 }, shop);
    }
  });

  it('lets staff and data:read API keys of the tenant read, and never returns a token', async () => {
    const staff = basic(await createStaff(stack.server, { id: tenantId }, { role: 'staff' }, stack.operator));
    const asStaff = await call(stack.server, staff, 'GET', `/api/v1/tenants/${tenantId}/products?limit=2`);
    expect(asStaff.status).toBe(200);
    const start = await call(stack.server, staff, 'POST', `/api/v1/tenants/${tenantId}/sync`, {
      mode: 'incremental',
    });
    expect(start.status).toBe(403);
    const key = await createApiKey(stack.server, { id: tenantId }, { scopes: ['data:read'] }, stack.operator);
    const asKey = await call(stack.server, key.credentials, 'GET', `/api/v1/tenants/${tenantId}/sync`);
    expect(asKey.status).toBe(200);
    expect(asKey.text).not.toMatch(/shpat_|shpua_|access_?token/i);
    const noScope = await createApiKey(
      stack.server,
      { id: tenantId },
      { scopes: ['events:read'] },
      stack.operator,
    );
    const refused = await call(
      stack.server,
      noScope.credentials,
      'GET',
      `/api/v1/tenants/${tenantId}/orders`,
    );
    expect(refused.status).toBe(403);
  });
});
