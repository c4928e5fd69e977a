import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customerStats } from '../../src/devtools/shopify-sim/customer-stats.ts';
import { moneyString } from '../../src/devtools/shopify-sim/format.ts';
import { generateCustomer, generateOrder, generateProduct } from '../../src/devtools/shopify-sim/generate.ts';
import { customerToRest, orderToRest, productToRest } from '../../src/devtools/shopify-sim/rest.ts';
import { createShopState } from '../../src/devtools/shopify-sim/shops.ts';
import type { Tx } from '../../src/platform/db/client.ts';
import {
  createMirror,
  customerFromRest,
  type OrderWithItems,
  orderFromRest,
  type ProductWithVariants,
  productFromRest,
} from '../../src/mirror/index.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

// The mirrored Shopify data (issue 6): REST payload mappers and the order-safe, idempotent batch
// upserts, tombstones and redaction rules, against the real database (PGlite or PostgreSQL).

// These tests only write and read the tables; nothing here reads through to Shopify.
const mirror = createMirror({
  shopify: {
    adminClient: async () => {
      throw new Error('no Shopify in this test');
    },
  },
});
let server: TestServer;
let tenantId: string;
let otherTenant: string;

beforeAll(async () => {
  server = await startTestServer();
  tenantId = randomUUID();
  otherTenant = randomUUID();
  for (const [id, slug] of [
    [tenantId, `data-${tenantId.slice(0, 8)}`],
    [otherTenant, `other-${otherTenant.slice(0, 8)}`],
  ]) {
    await server.deps.database.query('INSERT INTO tenants (id, slug, name) VALUES ($1, $2, $2)', [id, slug]);
  }
});
afterAll(async () => {
  await server?.close();
});

const inTenant = <T>(fn: (tx: Tx) => Promise<T>, tenant = tenantId) =>
  server.deps.database.withTenant(tenant, fn);
const q = async (text: string, params: unknown[] = []) =>
  (await server.deps.database.query(text, params)).rows as any[];
const at = (minute: number) => `2025-03-01T10:${String(minute).padStart(2, '0')}:00-05:00`;

function product(
  id: number,
  minute: number,
  title: string,
  variants: [number, string][],
): ProductWithVariants {
  return {
    id,
    title,
    handle: title.toLowerCase(),
    bodyHtml: null,
    vendor: 'Acme',
    productType: null,
    status: 'active',
    tags: ['x'],
    publishedAt: null,
    createdAt: at(0),
    updatedAt: at(minute),
    variants: variants.map(([vid, price], i) => ({
      id: vid,
      productId: id,
      title: `V${i}`,
      sku: `SKU${vid}`,
      barcode: null,
      position: i + 1,
      price,
      compareAtPrice: null,
      inventoryQuantity: 5,
      inventoryItemId: null,
      option1: null,
      option2: null,
      option3: null,
      taxable: true,
      createdAt: at(0),
      updatedAt: at(minute),
    })),
  };
}

function order(id: number, minute: number, total: string, lines: [number, string, number][]): OrderWithItems {
  return {
    id,
    name: `#${id}`,
    orderNumber: id,
    email: 'buyer@example.test',
    phone: '+15550000',
    customerId: 77,
    currency: 'EUR',
    financialStatus: 'paid',
    fulfillmentStatus: null,
    cancelReason: null,
    cancelledAt: null,
    closedAt: null,
    processedAt: at(0),
    subtotalPrice: total,
    totalDiscounts: '0.00',
    totalShipping: '0.00',
    totalTax: '0.00',
    totalPrice: total,
    currentTotalPrice: total,
    tags: [],
    note: 'leave at door',
    sourceName: 'web',
    test: false,
    billingAddress: { city: 'Lyon' },
    shippingAddress: { city: 'Lyon' },
    createdAt: at(0),
    updatedAt: at(minute),
    lineItems: lines.map(([lid, price, quantity]) => ({
      id: lid,
      orderId: id,
      productId: null,
      variantId: null,
      title: `Line ${lid}`,
      variantTitle: null,
      sku: null,
      vendor: null,
      quantity,
      price,
      totalDiscount: '0.00',
      taxable: true,
      requiresShipping: true,
      fulfillableQuantity: quantity,
      fulfillmentStatus: null,
    })),
  };
}

describe('products', () => {
  it('writes, refreshes newer versions, ignores older ones and keeps exact prices', async () => {
    const first = await inTenant((tx) =>
      mirror.upsertProducts(tx, tenantId, [product(1, 5, 'Lamp', [[11, '0.10']])]),
    );
    expect(first).toEqual({ applied: [1], skipped: [] });
    const older = await inTenant((tx) =>
      mirror.upsertProducts(tx, tenantId, [product(1, 1, 'Old Lamp', [[11, '9.99']])]),
    );
    expect(older).toEqual({ applied: [], skipped: [1] });
    const same = await inTenant((tx) =>
      mirror.upsertProducts(tx, tenantId, [product(1, 5, 'Lamp', [[11, '0.10']])]),
    );
    expect(same.applied).toEqual([1]);
    const [row] = await q('SELECT title FROM shop_products WHERE tenant_id = $1 AND id = 1', [tenantId]);
    expect(row.title).toBe('Lamp');
    const [variant] = await q('SELECT price FROM shop_product_variants WHERE tenant_id = $1 AND id = 11', [
      tenantId,
    ]);
    expect(variant.price).toBe('0.10');
  });

  it('keeps the newest version within a batch and replaces the variant set', async () => {
    const result = await inTenant((tx) =>
      mirror.upsertProducts(tx, tenantId, [
        product(2, 9, 'Newest', [[21, '5.00']]),
        product(2, 3, 'Stale', [
          [21, '1.00'],
          [22, '1.00'],
        ]),
      ]),
    );
    expect(result.applied).toEqual([2]);
    expect(
      (await q('SELECT title FROM shop_products WHERE tenant_id = $1 AND id = 2', [tenantId]))[0].title,
    ).toBe('Newest');
    expect(
      await q('SELECT id::int AS id FROM shop_product_variants WHERE tenant_id = $1 AND product_id = 2', [
        tenantId,
      ]),
    ).toEqual([{ id: 21 }]);
    await inTenant((tx) =>
      mirror.upsertProducts(tx, tenantId, [
        product(2, 10, 'Newest', [
          [23, '7.50'],
          [24, '8.25'],
        ]),
      ]),
    );
    const ids = await q(
      'SELECT id FROM shop_product_variants WHERE tenant_id = $1 AND product_id = 2 ORDER BY id',
      [tenantId],
    );
    expect(ids.map((r) => Number(r.id))).toEqual([23, 24]);
  });

  it('tombstones deletes, even before the create arrives, so nothing comes back', async () => {
    await inTenant((tx) => mirror.markDeleted(tx, tenantId, 'products', [1], { deletedAt: at(30) }));
    const [gone] = await q('SELECT title, deleted_at FROM shop_products WHERE tenant_id = $1 AND id = 1', [
      tenantId,
    ]);
    expect(gone.title).toBeNull();
    expect(gone.deleted_at).not.toBeNull();
    expect(
      await q('SELECT 1 FROM shop_product_variants WHERE tenant_id = $1 AND product_id = 1', [tenantId]),
    ).toEqual([]);
    const late = await inTenant((tx) =>
      mirror.upsertProducts(tx, tenantId, [product(1, 59, 'Zombie', [[11, '1.00']])]),
    );
    expect(late.skipped).toEqual([1]);

    await inTenant((tx) => mirror.markDeleted(tx, tenantId, 'products', [3]));
    const early = await inTenant((tx) => mirror.upsertProducts(tx, tenantId, [product(3, 1, 'Never', [])]));
    expect(early.skipped).toEqual([3]);
    const again = await inTenant((tx) => mirror.markDeleted(tx, tenantId, 'products', [3]));
    expect(again.deleted).toBe(1);
  });

  it("cannot write another tenant's rows from a tenant transaction (row-level security)", async () => {
    await expect(
      inTenant((tx) => mirror.upsertProducts(tx, otherTenant, [product(9, 1, 'Intruder', [])])),
    ).rejects.toThrow();
    expect(await q('SELECT 1 FROM shop_products WHERE tenant_id = $1', [otherTenant])).toEqual([]);
  });
});

describe('orders and customers', () => {
  it('replaces line items as a set and keeps transactions unless new ones are given', async () => {
    await inTenant((tx) =>
      mirror.upsertOrders(tx, tenantId, [
        {
          ...order(100, 1, '30.20', [
            [1001, '10.10', 2],
            [1002, '10.00', 1],
          ]),
          transactions: [
            {
              id: 5001,
              orderId: 100,
              parentId: null,
              kind: 'sale',
              status: 'success',
              gateway: 'manual',
              amount: '30.20',
              currency: 'EUR',
              processedAt: at(1),
            },
          ],
        },
      ]),
    );
    await inTenant((tx) => mirror.upsertOrders(tx, tenantId, [order(100, 2, '10.10', [[1001, '10.10', 1]])]));
    const lines = await q(
      'SELECT id, quantity, price FROM shop_order_line_items WHERE tenant_id = $1 AND order_id = 100',
      [tenantId],
    );
    expect(lines.map((l) => [Number(l.id), l.quantity, l.price])).toEqual([[1001, 1, '10.10']]);
    const tx = await q('SELECT amount FROM shop_order_transactions WHERE tenant_id = $1 AND order_id = 100', [
      tenantId,
    ]);
    expect(tx).toEqual([{ amount: '30.20' }]);
    expect(
      (await q('SELECT total_price FROM shop_orders WHERE tenant_id = $1 AND id = 100', [tenantId]))[0],
    ).toEqual({
      total_price: '10.10',
    });
  });

  it('keeps redacted personal fields cleared while totals still follow Shopify', async () => {
    await inTenant((tx) =>
      mirror.upsertCustomers(tx, tenantId, [
        {
          id: 77,
          email: 'buyer@example.test',
          firstName: 'Buy',
          lastName: 'Er',
          phone: null,
          state: 'enabled',
          tags: [],
          note: null,
          verifiedEmail: true,
          taxExempt: false,
          currency: 'EUR',
          ordersCount: 1,
          totalSpent: '10.10',
          defaultAddress: { city: 'Lyon' },
          createdAt: at(0),
          updatedAt: at(1),
        },
      ]),
    );
    const redacted = await inTenant((tx) =>
      mirror.redactCustomer(tx, tenantId, { customerId: 77, email: 'buyer@example.test', orderIds: [100] }),
    );
    expect(redacted).toEqual({ customers: 1, orders: 1 });
    await inTenant((tx) => mirror.upsertOrders(tx, tenantId, [order(100, 9, '99.99', [[1001, '99.99', 1]])]));
    const [o] = await q(
      'SELECT email, note, billing_address, total_price FROM shop_orders WHERE tenant_id = $1 AND id = 100',
      [tenantId],
    );
    expect(o).toEqual({ email: null, note: null, billing_address: null, total_price: '99.99' });

    const exported = await inTenant((tx) =>
      mirror.exportCustomer(tx, tenantId, { customerId: 77, email: null, orderIds: [] }),
    );
    expect(exported.customer).toMatchObject({ id: 77, email: null, total_spent: '10.10' });
    expect(exported.orders.map((x) => x.id)).toEqual([100]);
    expect(exported.orders[0]).toMatchObject({ total_price: '99.99' });
  });

  it('erases every mirrored row of a shop', async () => {
    const counts = await inTenant((tx) => mirror.storedCounts(tx, tenantId));
    expect(counts.orders.live).toBe(1);
    const deleted = await inTenant((tx) => mirror.eraseShop(tx, tenantId));
    expect(deleted.shop_orders).toBe(1);
    const none = { live: 0, deleted: 0 };
    expect(await inTenant((tx) => mirror.storedCounts(tx, tenantId))).toEqual({
      products: none,
      orders: none,
      customers: none,
    });
  });
});

describe('the fast order writer (sync backfill: COPY on PostgreSQL, JSON on PGlite)', () => {
  it('follows the mirror rules and carries any text through COPY unchanged', async () => {
    const tricky = 'tab\there, line\nbreak, back\\slash \\N, "quotes", ünïcode';
    const first = {
      ...order(9101, 5, '10.00', [[91011, '10.00', 1]]),
      note: tricky,
      tags: ['a\tb', 'c'],
      billingAddress: { city: tricky },
    };
    first.lineItems[0].title = tricky;
    first.lineItems[0].fulfillmentStatus = 'partial';
    const older = order(9101, 1, '99.00', [[91012, '99.00', 1]]);
    const deleted = order(9102, 5, '5.00', [[91021, '5.00', 1]]);
    await inTenant((tx) => mirror.markDeleted(tx, tenantId, 'orders', [9102], { source: 'webhook' }));
    const result = await inTenant((tx) => mirror.writeOrderBatch(tx, tenantId, [older, first, deleted]));
    // Newest version within the batch wins; a tombstone wins over a late write.
    expect(result).toEqual({ applied: [9101], skipped: [9102] });
    const [row] = await q(
      'SELECT note, tags, billing_address, total_price::text AS total FROM shop_orders WHERE tenant_id = $1 AND id = 9101',
      [tenantId],
    );
    expect(row).toMatchObject({
      note: tricky,
      tags: ['a\tb', 'c'],
      billing_address: { city: tricky },
      total: '10.00',
    });
    const lines = await q(
      'SELECT id, title, fulfillment_status FROM shop_order_line_items WHERE tenant_id = $1 AND order_id IN (9101, 9102) ORDER BY id',
      [tenantId],
    );
    expect(lines.map((l) => ({ ...l, id: Number(l.id) }))).toEqual([
      { id: 91011, title: tricky, fulfillment_status: 'partial' },
    ]);
    // A stored newer version is kept; the older write is skipped with its lines.
    const stale = await inTenant((tx) => mirror.writeOrderBatch(tx, tenantId, [older]));
    expect(stale).toEqual({ applied: [], skipped: [9101] });
    expect(
      (
        await q('SELECT count(*)::int AS n FROM shop_order_line_items WHERE tenant_id = $1 AND id = 91012', [
          tenantId,
        ])
      )[0].n,
    ).toBe(0);
    // An update replaces the line set.
    const newer = order(9101, 9, '12.00', [[91013, '12.00', 1]]);
    await inTenant((tx) => mirror.writeOrderBatch(tx, tenantId, [newer]));
    const after = await q('SELECT id FROM shop_order_line_items WHERE tenant_id = $1 AND order_id = 9101', [
      tenantId,
    ]);
    expect(after.map((l) => Number(l.id))).toEqual([91013]);
  });
});

describe('REST payload mappers', () => {
  const shop = createShopState(
    'mapper-shop.myshopify.com',
    7,
    { products: 5, customers: 5, orders: 5 },
    'standard',
    Date.now(),
  );

  it('map the simulator’s REST products, orders and customers', () => {
    const p = generateProduct(shop.ctx, 1);
    const mapped = productFromRest(productToRest(p));
    expect(mapped).toMatchObject({ id: p.id, title: p.title, tags: [...p.tags] });
    expect(mapped.variants.map((v) => v.id)).toEqual(p.variants.map((v) => v.id));
    expect(mapped.variants[0].price).toMatch(/^\d+\.\d{2}$/);

    const c = generateCustomer(shop.ctx, 2);
    const stats = customerStats(shop, c.id);
    expect(customerFromRest(customerToRest(c, shop))).toMatchObject({
      id: c.id,
      email: c.email,
      firstName: c.firstName,
      ordersCount: stats.orders,
      totalSpent: moneyString(stats.spentCents),
    });

    const o = generateOrder(shop.ctx, 3);
    const mappedOrder = orderFromRest(orderToRest(o, null));
    expect(mappedOrder).toMatchObject({ id: o.id, currency: o.currency, financialStatus: o.financialStatus });
    expect(mappedOrder.lineItems).toHaveLength(o.lineItems.length);
    expect(typeof mappedOrder.totalPrice).toBe('string');
  });

  it('reject payloads that cannot be applied safely', () => {
    expect(() => productFromRest({ id: 1, title: 'No time' })).toThrow();
    expect(() =>
      orderFromRest({ id: 1, currency: 'USD', total_price: 12.5, created_at: at(0), updated_at: at(0) }),
    ).toThrow();
    expect(() => customerFromRest({ id: 'abc', updated_at: at(0) })).toThrow();
  });
});
