import type { Tx } from '../platform/db/client.ts';
import type {
  CustomerRow,
  OrderWithItems,
  ProductWithVariants,
  RowSource,
  TransactionRow,
  UpsertResult,
} from './rows.ts';
import { keepRedacted, ORDER_CONFLICT_RULE } from './conflict-rules.ts';

/*
 * Idempotent, order-safe batch writes of mirrored Shopify data (issue 6). Each call is a handful
 * of statements whatever the batch size: rows travel as one JSON array and are unpacked by
 * `jsonb_to_recordset`, so the SQL stays constant and readable.
 *
 * Rules (every function, every writer):
 *  - Newest wins: a row is written only when its `updatedAt` is at least the stored
 *    `shopify_updated_at`, so replays and duplicates are harmless and a late older version is a
 *    no-op. Within one batch the newest version of each id is kept.
 *  - Tombstones win: a deleted record stays deleted (Shopify never reuses ids).
 *  - Children follow their parent: variants (line items) are replaced as a set, and only when the
 *    product (order) itself was written.
 *  - Redacted customers, and the orders anonymised with them, keep their personal fields cleared
 *    forever; the non-personal fields (statuses, totals) still follow Shopify.
 * Call them inside `database.withTenant(tenantId, tx => …)` (or a system transaction).
 */

const ms = (iso: string | null | undefined) => (iso ? Date.parse(iso) : Number.NEGATIVE_INFINITY);

/** Keeps the newest version of each id (the later one on a tie), in first-seen order. */
function newestById<T extends { id: number; updatedAt: string }>(rows: readonly T[]): T[] {
  const byId = new Map<number, T>();
  for (const row of rows) {
    const seen = byId.get(row.id);
    if (!seen || ms(row.updatedAt) >= ms(seen.updatedAt)) byId.set(row.id, row);
  }
  return [...byId.values()];
}

const toJson = (value: unknown) => (value === undefined ? null : value);
const ids = (rows: { id: number | string }[]) => rows.map((r) => Number(r.id));

function result(input: { id: number }[], applied: number[]): UpsertResult {
  const done = new Set(applied);
  return { applied, skipped: [...new Set(input.map((r) => r.id))].filter((id) => !done.has(id)) };
}

/** Writes products and their variant sets. */
export async function upsertProducts(
  tx: Tx,
  tenantId: string,
  products: readonly ProductWithVariants[],
  options: { source?: RowSource } = {},
): Promise<UpsertResult> {
  const rows = newestById(products);
  if (rows.length === 0) return { applied: [], skipped: [] };
  const input = rows.map((p) => ({
    id: p.id,
    title: p.title,
    handle: p.handle,
    body_html: p.bodyHtml,
    vendor: p.vendor,
    product_type: p.productType,
    status: p.status,
    tags: p.tags,
    published_at: p.publishedAt,
    created_at: p.createdAt,
    updated_at: p.updatedAt,
    raw: toJson(p.raw),
  }));
  const { rows: written } = await tx.query<{ id: string }>(
    `INSERT INTO shop_products AS p (tenant_id, id, title, handle, body_html, vendor, product_type, status, tags,
            published_at, shopify_created_at, shopify_updated_at, source, raw, synced_at)
     SELECT $1, r.id, r.title, r.handle, r.body_html, r.vendor, r.product_type, r.status, r.tags,
            r.published_at, r.created_at, r.updated_at, $3, r.raw, now()
       FROM jsonb_to_recordset($2::jsonb) AS r(id bigint, title text, handle text, body_html text, vendor text,
            product_type text, status text, tags text[], published_at timestamptz, created_at timestamptz,
            updated_at timestamptz, raw jsonb)
     ON CONFLICT (tenant_id, id) DO UPDATE SET
            title = excluded.title, handle = excluded.handle, body_html = excluded.body_html,
            vendor = excluded.vendor, product_type = excluded.product_type, status = excluded.status,
            tags = excluded.tags, published_at = excluded.published_at,
            shopify_created_at = excluded.shopify_created_at, shopify_updated_at = excluded.shopify_updated_at,
            source = excluded.source, raw = excluded.raw, synced_at = now()
      WHERE p.deleted_at IS NULL
        AND (p.shopify_updated_at IS NULL OR p.shopify_updated_at <= excluded.shopify_updated_at)
     RETURNING p.id`,
    [tenantId, JSON.stringify(input), options.source ?? 'webhook'],
  );
  const applied = ids(written);
  if (applied.length > 0) {
    const winners = new Set(applied);
    const variants = rows
      .filter((p) => winners.has(p.id))
      .flatMap((p) =>
        p.variants.map((v) => ({
          id: v.id,
          product_id: p.id,
          title: v.title,
          sku: v.sku,
          barcode: v.barcode,
          position: v.position,
          price: v.price,
          compare_at_price: v.compareAtPrice,
          inventory_quantity: v.inventoryQuantity,
          inventory_item_id: v.inventoryItemId,
          option1: v.option1,
          option2: v.option2,
          option3: v.option3,
          taxable: v.taxable,
          created_at: v.createdAt,
          updated_at: v.updatedAt,
        })),
      );
    await tx.query(
      `DELETE FROM shop_product_variants
        WHERE tenant_id = $1 AND product_id = ANY($2::bigint[]) AND id <> ALL($3::bigint[])`,
      [tenantId, applied, variants.map((v) => v.id)],
    );
    if (variants.length > 0) {
      await tx.query(
        `INSERT INTO shop_product_variants AS v (tenant_id, id, product_id, title, sku, barcode, position, price,
                compare_at_price, inventory_quantity, inventory_item_id, option1, option2, option3, taxable,
                shopify_created_at, shopify_updated_at)
         SELECT $1, r.id, r.product_id, r.title, r.sku, r.barcode, r.position, r.price, r.compare_at_price,
                r.inventory_quantity, r.inventory_item_id, r.option1, r.option2, r.option3, r.taxable,
                r.created_at, r.updated_at
           FROM jsonb_to_recordset($2::jsonb) AS r(id bigint, product_id bigint, title text, sku text, barcode text,
                position int, price numeric, compare_at_price numeric, inventory_quantity int,
                inventory_item_id bigint, option1 text, option2 text, option3 text, taxable boolean,
                created_at timestamptz, updated_at timestamptz)
         ON CONFLICT (tenant_id, id) DO UPDATE SET
                product_id = excluded.product_id, title = excluded.title, sku = excluded.sku,
                barcode = excluded.barcode, position = excluded.position, price = excluded.price,
                compare_at_price = excluded.compare_at_price, inventory_quantity = excluded.inventory_quantity,
                inventory_item_id = excluded.inventory_item_id, option1 = excluded.option1,
                option2 = excluded.option2, option3 = excluded.option3, taxable = excluded.taxable,
                shopify_created_at = excluded.shopify_created_at, shopify_updated_at = excluded.shopify_updated_at`,
        [tenantId, JSON.stringify(variants)],
      );
    }
  }
  return result(rows, applied);
}

/** Writes customers; a redacted customer keeps its personal fields cleared. */
export async function upsertCustomers(
  tx: Tx,
  tenantId: string,
  customers: readonly CustomerRow[],
  options: { source?: RowSource } = {},
): Promise<UpsertResult> {
  const rows = newestById(customers);
  if (rows.length === 0) return { applied: [], skipped: [] };
  const input = rows.map((c) => ({
    id: c.id,
    email: c.email,
    first_name: c.firstName,
    last_name: c.lastName,
    phone: c.phone,
    state: c.state,
    tags: c.tags,
    note: c.note,
    verified_email: c.verifiedEmail,
    tax_exempt: c.taxExempt,
    currency: c.currency,
    orders_count: c.ordersCount,
    total_spent: c.totalSpent,
    default_address: c.defaultAddress,
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    raw: toJson(c.raw),
  }));
  const personal = keepRedacted('c');
  const { rows: written } = await tx.query<{ id: string }>(
    `INSERT INTO shop_customers AS c (tenant_id, id, email, first_name, last_name, phone, state, tags, note,
            verified_email, tax_exempt, currency, orders_count, total_spent, default_address,
            shopify_created_at, shopify_updated_at, source, raw, synced_at)
     SELECT $1, r.id, r.email, r.first_name, r.last_name, r.phone, r.state, r.tags, r.note, r.verified_email,
            r.tax_exempt, r.currency, r.orders_count, r.total_spent, r.default_address, r.created_at,
            r.updated_at, $3, r.raw, now()
       FROM jsonb_to_recordset($2::jsonb) AS r(id bigint, email text, first_name text, last_name text, phone text,
            state text, tags text[], note text, verified_email boolean, tax_exempt boolean, currency text,
            orders_count int, total_spent numeric, default_address jsonb, created_at timestamptz,
            updated_at timestamptz, raw jsonb)
     ON CONFLICT (tenant_id, id) DO UPDATE SET
            ${personal('email')}, ${personal('first_name')}, ${personal('last_name')}, ${personal('phone')},
            ${personal('note')}, ${personal('default_address')}, ${personal('raw')},
            state = excluded.state, tags = excluded.tags, verified_email = excluded.verified_email,
            tax_exempt = excluded.tax_exempt, currency = excluded.currency, orders_count = excluded.orders_count,
            total_spent = excluded.total_spent, shopify_created_at = excluded.shopify_created_at,
            shopify_updated_at = excluded.shopify_updated_at, source = excluded.source, synced_at = now()
      WHERE c.deleted_at IS NULL
        AND (c.shopify_updated_at IS NULL OR c.shopify_updated_at <= excluded.shopify_updated_at)
     RETURNING c.id`,
    [tenantId, JSON.stringify(input), options.source ?? 'webhook'],
  );
  return result(rows, ids(written));
}

/** Writes orders with their line-item sets (and transactions when given). */
export async function upsertOrders(
  tx: Tx,
  tenantId: string,
  orders: readonly OrderWithItems[],
  options: { source?: RowSource } = {},
): Promise<UpsertResult> {
  const rows = newestById(orders);
  if (rows.length === 0) return { applied: [], skipped: [] };
  const input = rows.map((o) => ({
    id: o.id,
    name: o.name,
    order_number: o.orderNumber,
    email: o.email,
    phone: o.phone,
    customer_id: o.customerId,
    currency: o.currency,
    financial_status: o.financialStatus,
    fulfillment_status: o.fulfillmentStatus,
    cancel_reason: o.cancelReason,
    cancelled_at: o.cancelledAt,
    closed_at: o.closedAt,
    processed_at: o.processedAt,
    subtotal_price: o.subtotalPrice,
    total_discounts: o.totalDiscounts,
    total_shipping: o.totalShipping,
    total_tax: o.totalTax,
    total_price: o.totalPrice,
    current_total_price: o.currentTotalPrice,
    tags: o.tags,
    note: o.note,
    source_name: o.sourceName,
    test: o.test,
    billing_address: o.billingAddress,
    shipping_address: o.shippingAddress,
    created_at: o.createdAt,
    updated_at: o.updatedAt,
    raw: toJson(o.raw),
  }));
  const { rows: written } = await tx.query<{ id: string }>(
    `INSERT INTO shop_orders AS o (tenant_id, id, name, order_number, email, phone, customer_id, currency,
            financial_status, fulfillment_status, cancel_reason, cancelled_at, closed_at, processed_at,
            subtotal_price, total_discounts, total_shipping, total_tax, total_price, current_total_price, tags,
            note, source_name, test, billing_address, shipping_address, shopify_created_at, shopify_updated_at,
            source, raw, synced_at)
     SELECT $1, r.id, r.name, r.order_number, r.email, r.phone, r.customer_id, r.currency, r.financial_status,
            r.fulfillment_status, r.cancel_reason, r.cancelled_at, r.closed_at, r.processed_at, r.subtotal_price,
            r.total_discounts, r.total_shipping, r.total_tax, r.total_price, r.current_total_price, r.tags,
            r.note, r.source_name, coalesce(r.test, false), r.billing_address, r.shipping_address, r.created_at,
            r.updated_at, $3, r.raw, now()
       FROM jsonb_to_recordset($2::jsonb) AS r(id bigint, name text, order_number int, email text, phone text,
            customer_id bigint, currency text, financial_status text, fulfillment_status text,
            cancel_reason text, cancelled_at timestamptz, closed_at timestamptz, processed_at timestamptz,
            subtotal_price numeric, total_discounts numeric, total_shipping numeric, total_tax numeric,
            total_price numeric, current_total_price numeric, tags text[], note text, source_name text,
            test boolean, billing_address jsonb, shipping_address jsonb, created_at timestamptz,
            updated_at timestamptz, raw jsonb)
     ${ORDER_CONFLICT_RULE('incoming')}
     RETURNING o.id`,
    [tenantId, JSON.stringify(input), options.source ?? 'webhook'],
  );
  const applied = ids(written);
  if (applied.length > 0) {
    const winners = rows.filter((o) => applied.includes(o.id));
    const lines = winners.flatMap((o) =>
      o.lineItems.map((l) => ({
        id: l.id,
        order_id: o.id,
        product_id: l.productId,
        variant_id: l.variantId,
        title: l.title,
        variant_title: l.variantTitle,
        sku: l.sku,
        vendor: l.vendor,
        quantity: l.quantity,
        price: l.price,
        total_discount: l.totalDiscount,
        taxable: l.taxable,
        requires_shipping: l.requiresShipping,
        fulfillable_quantity: l.fulfillableQuantity,
        fulfillment_status: l.fulfillmentStatus,
      })),
    );
    await tx.query(
      `DELETE FROM shop_order_line_items
        WHERE tenant_id = $1 AND order_id = ANY($2::bigint[]) AND id <> ALL($3::bigint[])`,
      [tenantId, applied, lines.map((l) => l.id)],
    );
    if (lines.length > 0) {
      await tx.query(
        `INSERT INTO shop_order_line_items AS l (tenant_id, id, order_id, product_id, variant_id, title,
                variant_title, sku, vendor, quantity, price, total_discount, taxable, requires_shipping,
                fulfillable_quantity, fulfillment_status)
         SELECT $1, r.id, r.order_id, r.product_id, r.variant_id, r.title, r.variant_title, r.sku, r.vendor,
                r.quantity, r.price, r.total_discount, r.taxable, r.requires_shipping, r.fulfillable_quantity,
                r.fulfillment_status
           FROM jsonb_to_recordset($2::jsonb) AS r(id bigint, order_id bigint, product_id bigint,
                variant_id bigint, title text, variant_title text, sku text, vendor text, quantity int,
                price numeric, total_discount numeric, taxable boolean, requires_shipping boolean,
                fulfillable_quantity int, fulfillment_status text)
         ON CONFLICT (tenant_id, id) DO UPDATE SET
                order_id = excluded.order_id, product_id = excluded.product_id, variant_id = excluded.variant_id,
                title = excluded.title, variant_title = excluded.variant_title, sku = excluded.sku,
                vendor = excluded.vendor, quantity = excluded.quantity, price = excluded.price,
                total_discount = excluded.total_discount, taxable = excluded.taxable,
                requires_shipping = excluded.requires_shipping,
                fulfillable_quantity = excluded.fulfillable_quantity,
                fulfillment_status = excluded.fulfillment_status`,
        [tenantId, JSON.stringify(lines)],
      );
    }
    const transactions = winners.flatMap((o) => o.transactions ?? []);
    if (transactions.length > 0) await upsertTransactions(tx, tenantId, transactions);
  }
  return result(rows, applied);
}

/** Writes payment transactions (insert, or refresh status and amount of a known one). */
export async function upsertTransactions(
  tx: Tx,
  tenantId: string,
  transactions: readonly TransactionRow[],
): Promise<{ written: number }> {
  const byId = new Map(transactions.map((t) => [t.id, t]));
  if (byId.size === 0) return { written: 0 };
  const input = [...byId.values()].map((t) => ({
    id: t.id,
    order_id: t.orderId,
    parent_id: t.parentId,
    kind: t.kind,
    status: t.status,
    gateway: t.gateway,
    amount: t.amount,
    currency: t.currency,
    processed_at: t.processedAt,
  }));
  // A transaction of a deleted order would otherwise outlive its tombstone.
  const { rows } = await tx.query<{ id: string }>(
    `INSERT INTO shop_order_transactions AS t (tenant_id, id, order_id, parent_id, kind, status, gateway, amount,
            currency, processed_at)
     SELECT $1, r.id, r.order_id, r.parent_id, r.kind, r.status, r.gateway, r.amount, r.currency, r.processed_at
       FROM jsonb_to_recordset($2::jsonb) AS r(id bigint, order_id bigint, parent_id bigint, kind text, status text,
            gateway text, amount numeric, currency text, processed_at timestamptz)
      WHERE NOT EXISTS (SELECT 1 FROM shop_orders o
                         WHERE o.tenant_id = $1 AND o.id = r.order_id AND o.deleted_at IS NOT NULL)
     ON CONFLICT (tenant_id, id) DO UPDATE SET
            order_id = excluded.order_id, parent_id = excluded.parent_id, kind = excluded.kind,
            status = excluded.status, gateway = excluded.gateway, amount = excluded.amount,
            currency = excluded.currency, processed_at = excluded.processed_at
     RETURNING t.id`,
    [tenantId, JSON.stringify(input)],
  );
  return { written: rows.length };
}
