import type { Tx } from '../platform/db/client.ts';
import type { Resource } from './queries.ts';
import type {
  CustomerRow,
  LineItemRow,
  OrderWithItems,
  ProductWithVariants,
  TransactionRow,
  VariantRow,
} from './rows.ts';

/*
 * Mirror rows as typed records (what the writers take) and as the data API's views (camelCase,
 * money as decimal strings, times ISO).
 */

const iso = (d: Date | string | null | undefined) => (d ? new Date(d).toISOString() : null);
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
const dec = (v: unknown) => (v === null || v === undefined ? null : String(v));

function productView(p: ProductWithVariants) {
  return {
    id: p.id,
    title: p.title,
    handle: p.handle,
    bodyHtml: p.bodyHtml,
    vendor: p.vendor,
    productType: p.productType,
    status: p.status,
    tags: p.tags,
    publishedAt: iso(p.publishedAt),
    createdAt: iso(p.createdAt),
    updatedAt: iso(p.updatedAt),
    variants: p.variants.map((v) => ({ ...v, createdAt: iso(v.createdAt), updatedAt: iso(v.updatedAt) })),
  };
}

function customerView(c: CustomerRow) {
  const { raw: _raw, ...rest } = c;
  return { ...rest, createdAt: iso(c.createdAt), updatedAt: iso(c.updatedAt) };
}

function orderView(o: OrderWithItems) {
  const { raw: _raw, lineItems, transactions, ...rest } = o;
  return {
    ...rest,
    cancelledAt: iso(o.cancelledAt),
    closedAt: iso(o.closedAt),
    processedAt: iso(o.processedAt),
    createdAt: iso(o.createdAt),
    updatedAt: iso(o.updatedAt),
    lineItems,
    transactions: (transactions ?? []).map((t) => ({ ...t, processedAt: iso(t.processedAt) })),
  };
}

/** A product as the API returns it. */
export type ProductView = ReturnType<typeof productView>;
/** A customer as the API returns it. */
export type CustomerView = ReturnType<typeof customerView>;
/** An order as the API returns it. */
export type OrderView = ReturnType<typeof orderView>;

/** Products with their variants, from `shop_products` rows. */
async function loadProducts(
  tx: Tx,
  tenantId: string,
  rows: Record<string, any>[],
): Promise<ProductWithVariants[]> {
  const ids = rows.map((r) => Number(r.id));
  const { rows: variants } = ids.length
    ? await tx.query<Record<string, any>>(
        `SELECT * FROM shop_product_variants WHERE tenant_id = $1 AND product_id = ANY($2::bigint[])
          ORDER BY product_id, position NULLS LAST, id`,
        [tenantId, ids],
      )
    : { rows: [] };
  const byProduct = new Map<number, VariantRow[]>();
  for (const v of variants) {
    const list = byProduct.get(Number(v.product_id)) ?? [];
    list.push({
      id: Number(v.id),
      productId: Number(v.product_id),
      title: v.title,
      sku: v.sku,
      barcode: v.barcode,
      position: v.position,
      price: dec(v.price) as string,
      compareAtPrice: dec(v.compare_at_price),
      inventoryQuantity: v.inventory_quantity,
      inventoryItemId: num(v.inventory_item_id),
      option1: v.option1,
      option2: v.option2,
      option3: v.option3,
      taxable: v.taxable,
      createdAt: iso(v.shopify_created_at),
      updatedAt: iso(v.shopify_updated_at),
    });
    byProduct.set(Number(v.product_id), list);
  }
  return rows.map((p) => ({
    id: Number(p.id),
    title: p.title,
    handle: p.handle,
    bodyHtml: p.body_html,
    vendor: p.vendor,
    productType: p.product_type,
    status: p.status,
    tags: p.tags ?? [],
    publishedAt: iso(p.published_at),
    createdAt: iso(p.shopify_created_at),
    updatedAt: iso(p.shopify_updated_at) as string,
    variants: byProduct.get(Number(p.id)) ?? [],
  }));
}

/** A customer from a `shop_customers` row. */
function customerFromDb(c: Record<string, any>): CustomerRow {
  return {
    id: Number(c.id),
    email: c.email,
    firstName: c.first_name,
    lastName: c.last_name,
    phone: c.phone,
    state: c.state,
    tags: c.tags ?? [],
    note: c.note,
    verifiedEmail: c.verified_email,
    taxExempt: c.tax_exempt,
    currency: c.currency,
    ordersCount: c.orders_count,
    totalSpent: dec(c.total_spent),
    defaultAddress: c.default_address,
    createdAt: iso(c.shopify_created_at),
    updatedAt: iso(c.shopify_updated_at) as string,
  };
}

/** Orders with their line items and transactions, from `shop_orders` rows. */
async function loadOrders(tx: Tx, tenantId: string, rows: Record<string, any>[]): Promise<OrderWithItems[]> {
  const ids = rows.map((r) => Number(r.id));
  const [{ rows: lines }, { rows: transactions }] = ids.length
    ? await Promise.all([
        tx.query<Record<string, any>>(
          'SELECT * FROM shop_order_line_items WHERE tenant_id = $1 AND order_id = ANY($2::bigint[]) ORDER BY order_id, id',
          [tenantId, ids],
        ),
        tx.query<Record<string, any>>(
          'SELECT * FROM shop_order_transactions WHERE tenant_id = $1 AND order_id = ANY($2::bigint[]) ORDER BY order_id, id',
          [tenantId, ids],
        ),
      ])
    : [{ rows: [] }, { rows: [] }];
  const linesBy = new Map<number, LineItemRow[]>();
  for (const l of lines) {
    const list = linesBy.get(Number(l.order_id)) ?? [];
    list.push({
      id: Number(l.id),
      orderId: Number(l.order_id),
      productId: num(l.product_id),
      variantId: num(l.variant_id),
      title: l.title,
      variantTitle: l.variant_title,
      sku: l.sku,
      vendor: l.vendor,
      quantity: l.quantity,
      price: dec(l.price) as string,
      totalDiscount: dec(l.total_discount),
      taxable: l.taxable,
      requiresShipping: l.requires_shipping,
      fulfillableQuantity: l.fulfillable_quantity,
      fulfillmentStatus: l.fulfillment_status,
    });
    linesBy.set(Number(l.order_id), list);
  }
  const txBy = new Map<number, TransactionRow[]>();
  for (const t of transactions) {
    const list = txBy.get(Number(t.order_id)) ?? [];
    list.push({
      id: Number(t.id),
      orderId: Number(t.order_id),
      parentId: num(t.parent_id),
      kind: t.kind,
      status: t.status,
      gateway: t.gateway,
      amount: dec(t.amount) as string,
      currency: t.currency,
      processedAt: iso(t.processed_at),
    });
    txBy.set(Number(t.order_id), list);
  }
  return rows.map((o) => ({
    id: Number(o.id),
    name: o.name,
    orderNumber: o.order_number,
    email: o.email,
    phone: o.phone,
    customerId: num(o.customer_id),
    currency: o.currency,
    financialStatus: o.financial_status,
    fulfillmentStatus: o.fulfillment_status,
    cancelReason: o.cancel_reason,
    cancelledAt: iso(o.cancelled_at),
    closedAt: iso(o.closed_at),
    processedAt: iso(o.processed_at),
    subtotalPrice: dec(o.subtotal_price),
    totalDiscounts: dec(o.total_discounts),
    totalShipping: dec(o.total_shipping),
    totalTax: dec(o.total_tax),
    totalPrice: dec(o.total_price) as string,
    currentTotalPrice: dec(o.current_total_price),
    tags: o.tags ?? [],
    note: o.note,
    sourceName: o.source_name,
    test: o.test,
    billingAddress: o.billing_address,
    shippingAddress: o.shipping_address,
    createdAt: iso(o.shopify_created_at) as string,
    updatedAt: iso(o.shopify_updated_at) as string,
    lineItems: linesBy.get(Number(o.id)) ?? [],
    transactions: txBy.get(Number(o.id)) ?? [],
  }));
}

/** A resource's records from its table's rows, with their child rows. */
export async function loadRecords(
  tx: Tx,
  tenantId: string,
  resource: Resource,
  rows: Record<string, any>[],
): Promise<unknown[]> {
  if (resource === 'orders') return loadOrders(tx, tenantId, rows);
  if (resource === 'products') return loadProducts(tx, tenantId, rows);
  return rows.map(customerFromDb);
}

/** Records as the API returns them. */
export function views(resource: Resource, rows: unknown[]) {
  if (resource === 'orders') return (rows as OrderWithItems[]).map(orderView);
  if (resource === 'products') return (rows as ProductWithVariants[]).map(productView);
  return (rows as CustomerRow[]).map(customerView);
}
