import type { Tx } from '../platform/db/client.ts';
import { badRequest, notFound } from '../platform/errors.ts';
import { decodeCursor, encodeCursor } from '../platform/http/schemas.ts';
import type {
  CustomerRow,
  LineItemRow,
  OrderWithItems,
  ProductWithVariants,
  Mirror,
  TransactionRow,
  VariantRow,
} from '../mirror/index.ts';
import type { AdminClient } from '../shopify/index.ts';
import { completeChildrenOf, mapNodesWith } from './live.ts';
import { nodesQuery, pageQuery, type Resource, SPECS } from './queries.ts';
import { compileSearch } from './search.ts';

/*
 * The mirrored-data API (issue 7, seed 003's fetchers done securely): products, orders and
 * customers of a tenant from the mirror, with keyset pagination, filters and a text query in
 * Shopify's search syntax; or, with `live`, read through to Shopify with the tenant's own token
 * (the caller never holds it) and the fresh records written back into the mirror.
 */

/** Runs database work as the request's tenant (`request.auth.withTenant`). */
export type WithTenant = <T>(fn: (tx: Tx) => Promise<T>) => Promise<T>;

/** Filters shared by the three lists. */
export type ListFilters = {
  limit: number;
  cursor?: string;
  q?: string;
  status?: string;
  createdAtMin?: string;
  createdAtMax?: string;
  updatedAtMin?: string;
  updatedAtMax?: string;
  financialStatus?: string;
  fulfillmentStatus?: string;
  customerId?: number;
  vendor?: string;
  productType?: string;
  live?: boolean;
};

const TABLES: Record<Resource, string> = {
  products: 'shop_products',
  orders: 'shop_orders',
  customers: 'shop_customers',
};
const iso = (d: Date | string | null | undefined) => (d ? new Date(d).toISOString() : null);
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
const dec = (v: unknown) => (v === null || v === undefined ? null : String(v));

// ---- Row shapes of the API (camelCase, money as decimal strings, times ISO) -------------------

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

// ---- Mirror reads ------------------------------------------------------------------------------

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

/** Structured filters → SQL conditions (the text query adds its own through `compileSearch`). */
function filterConditions(resource: Resource, f: ListFilters, add: (value: unknown) => string): string[] {
  const where: string[] = [];
  const time = (column: string, op: string, value: string | undefined) => {
    if (value !== undefined) where.push(`${column} ${op} ${add(value)}::timestamptz`);
  };
  time('shopify_created_at', '>=', f.createdAtMin);
  time('shopify_created_at', '<=', f.createdAtMax);
  time('shopify_updated_at', '>=', f.updatedAtMin);
  time('shopify_updated_at', '<=', f.updatedAtMax);
  if (resource === 'products') {
    if (f.status) where.push(`status = ${add(f.status.toLowerCase())}`);
    if (f.vendor) where.push(`lower(vendor) = lower(${add(f.vendor)})`);
    if (f.productType) where.push(`lower(product_type) = lower(${add(f.productType)})`);
  }
  if (resource === 'customers' && f.status) where.push(`state = ${add(f.status.toLowerCase())}`);
  if (resource === 'orders') {
    if (f.status === 'open') where.push('closed_at IS NULL AND cancelled_at IS NULL');
    else if (f.status === 'closed') where.push('closed_at IS NOT NULL');
    else if (f.status === 'cancelled') where.push('cancelled_at IS NOT NULL');
    if (f.financialStatus) where.push(`financial_status = ${add(f.financialStatus.toLowerCase())}`);
    if (f.fulfillmentStatus === 'unfulfilled' || f.fulfillmentStatus === 'unshipped')
      where.push('fulfillment_status IS NULL');
    else if (f.fulfillmentStatus)
      where.push(`fulfillment_status = ${add(f.fulfillmentStatus.toLowerCase())}`);
    if (f.customerId !== undefined) where.push(`customer_id = ${add(f.customerId)}`);
  }
  return where;
}

/** Our filters in Shopify's search syntax (live reads). */
function shopifySearch(resource: Resource, f: ListFilters): string | null {
  const parts: string[] = [];
  if (f.q) parts.push(f.q);
  if (f.createdAtMin) parts.push(`created_at:>='${f.createdAtMin}'`);
  if (f.createdAtMax) parts.push(`created_at:<='${f.createdAtMax}'`);
  if (f.updatedAtMin) parts.push(`updated_at:>='${f.updatedAtMin}'`);
  if (f.updatedAtMax) parts.push(`updated_at:<='${f.updatedAtMax}'`);
  if (resource === 'products') {
    if (f.status) parts.push(`status:${f.status}`);
    if (f.vendor) parts.push(`vendor:${JSON.stringify(f.vendor)}`);
    if (f.productType) parts.push(`product_type:${JSON.stringify(f.productType)}`);
  }
  if (resource === 'customers' && f.status) parts.push(`state:${f.status}`);
  if (resource === 'orders') {
    if (f.status) parts.push(`status:${f.status}`);
    if (f.financialStatus) parts.push(`financial_status:${f.financialStatus}`);
    if (f.fulfillmentStatus) parts.push(`fulfillment_status:${f.fulfillmentStatus}`);
    if (f.customerId !== undefined) parts.push(`customer_id:${f.customerId}`);
  }
  return parts.length ? parts.join(' ') : null;
}

/** Live pages are cost-bounded: a full order costs ~100 points, so at most this many per page. */
const LIVE_PAGE: Record<Resource, number> = { products: 15, orders: 10, customers: 100 };

/** The data API's reads. */
export function createDataApi(deps: {
  adminClient: (tenantId: string) => Promise<AdminClient>;
  mirror: Mirror;
}) {
  const { mirror } = deps;

  async function writeBack(tx: Tx, tenantId: string, resource: Resource, rows: unknown[]) {
    if (rows.length === 0) return;
    if (resource === 'orders') await mirror.writeOrderBatch(tx, tenantId, rows as OrderWithItems[]);
    else if (resource === 'products')
      await mirror.upsertProducts(tx, tenantId, rows as ProductWithVariants[], { source: 'sync' });
    else await mirror.upsertCustomers(tx, tenantId, rows as CustomerRow[], { source: 'sync' });
  }

  function views(resource: Resource, rows: unknown[]) {
    if (resource === 'orders') return (rows as OrderWithItems[]).map(orderView);
    if (resource === 'products') return (rows as ProductWithVariants[]).map(productView);
    return (rows as CustomerRow[]).map(customerView);
  }

  /** Lists from the mirror (keyset on id, newest first). */
  async function list(tx: Tx, tenantId: string, resource: Resource, f: ListFilters) {
    const params: unknown[] = [tenantId];
    const add = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    const where = ['tenant_id = $1', 'deleted_at IS NULL', ...filterConditions(resource, f, add)];
    if (f.q) {
      const compiled = compileSearch(resource, f.q, add);
      if (compiled) where.push(compiled);
    }
    const cursor = decodeCursor<{ id?: unknown }>(f.cursor);
    if (cursor) {
      if (typeof cursor.id !== 'number')
        throw badRequest('INVALID_CURSOR', 'The cursor is not one this API issued');
      where.push(`id < ${add(cursor.id)}`);
    }
    const { rows } = await tx.query<Record<string, any>>(
      `SELECT * FROM ${TABLES[resource]} WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ${f.limit + 1}`,
      params,
    );
    const page = rows.slice(0, f.limit);
    const loaded =
      resource === 'orders'
        ? await loadOrders(tx, tenantId, page)
        : resource === 'products'
          ? await loadProducts(tx, tenantId, page)
          : page.map(customerFromDb);
    const last = page.at(-1);
    return {
      items: views(resource, loaded),
      nextCursor: rows.length > f.limit && last ? encodeCursor({ id: Number(last.id) }) : null,
      source: 'mirror' as const,
    };
  }

  /** One record from the mirror; 404 when unknown or deleted. */
  async function get(tx: Tx, tenantId: string, resource: Resource, id: number) {
    const { rows } = await tx.query<Record<string, any>>(
      `SELECT * FROM ${TABLES[resource]} WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL`,
      [tenantId, id],
    );
    if (rows.length === 0) throw notFound(resource.slice(0, -1), id);
    const loaded =
      resource === 'orders'
        ? await loadOrders(tx, tenantId, rows)
        : resource === 'products'
          ? await loadProducts(tx, tenantId, rows)
          : rows.map(customerFromDb);
    return { item: views(resource, loaded)[0], source: 'mirror' as const };
  }

  /**
   * Reads through to Shopify (`live=true`): the same filters in Shopify's search syntax, Shopify's
   * cursor wrapped in ours. Fresh records are written back to the mirror afterwards (no
   * transaction is held open while Shopify answers).
   */
  async function listLive(tenantId: string, resource: Resource, f: ListFilters, withTenant: WithTenant) {
    const client = await deps.adminClient(tenantId);
    const spec = SPECS[resource];
    const cursor = decodeCursor<{ live?: unknown }>(f.cursor);
    if (cursor && typeof cursor.live !== 'string')
      throw badRequest('INVALID_CURSOR', 'The cursor is not one this API issued');
    const { data } = await client.request<Record<string, any>>(pageQuery(spec, 'ID'), {
      first: Math.min(f.limit, LIVE_PAGE[resource]),
      after: (cursor?.live as string | undefined) ?? null,
      query: shopifySearch(resource, f),
    });
    const page = data[spec.connection] as {
      nodes: Record<string, any>[];
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
    };
    const rows = await mapNodesWith(client, spec, page.nodes);
    await withTenant((tx) => writeBack(tx, tenantId, resource, rows));
    return {
      items: views(resource, rows),
      nextCursor:
        page.pageInfo.hasNextPage && page.pageInfo.endCursor
          ? encodeCursor({ live: page.pageInfo.endCursor })
          : null,
      source: 'shopify' as const,
    };
  }

  /** One record read through to Shopify; 404 when Shopify does not have it. */
  async function getLive(tenantId: string, resource: Resource, id: number, withTenant: WithTenant) {
    const client = await deps.adminClient(tenantId);
    const spec = SPECS[resource];
    const { data } = await client.request<{ nodes: (Record<string, any> | null)[] }>(nodesQuery(spec), {
      ids: [`gid://shopify/${spec.typeName}/${id}`],
    });
    const node = data.nodes[0];
    if (!node?.id) throw notFound(resource.slice(0, -1), id);
    const row = spec.map(node, await completeChildrenOf(client, spec, node));
    await withTenant((tx) => writeBack(tx, tenantId, resource, [row]));
    return { item: views(resource, [row])[0], source: 'shopify' as const };
  }

  return { list, get, listLive, getLive };
}

/** The data API of one process. */
export type DataApi = ReturnType<typeof createDataApi>;
