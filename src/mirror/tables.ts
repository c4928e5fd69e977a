import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';
import { tenants } from '../identity/tables.ts';

/*
 * Mirrored Shopify data (issue 6, shared with the sync engine of issue 7). One row per Shopify
 * record and tenant, keyed by Shopify's numeric id. Column meanings are documented on the row types
 * in rows.ts; the write rules live in upsert.ts:
 *  - `shopify_updated_at` orders writes: an older version never overwrites a newer one.
 *  - A delete leaves a tombstone (`deleted_at` set, every other field cleared, children removed),
 *    so a late or duplicated update can never bring the record back (Shopify never reuses ids).
 *  - `redacted_at` marks a customer (and that customer's orders) anonymised by a GDPR
 *    `customers/redact`; such rows are frozen.
 * Money is `numeric` (exact decimals), never a float.
 */

const id = (name: string) => bigint(name, { mode: 'number' });
const ts = (name: string) => timestamp(name, { withTimezone: true });
const tenantId = () =>
  uuid('tenant_id')
    .notNull()
    .references(() => tenants.id, { onDelete: 'cascade' });
const tags = () => text('tags').array().notNull().default(sql`'{}'::text[]`);
const bookkeeping = () => ({
  deletedAt: ts('deleted_at'),
  /** webhook | sync */
  source: text('source').notNull(),
  /** The source document as received (REST payload or GraphQL node), for unmapped fields. */
  raw: jsonb('raw'),
  /** When StoreOps last wrote the row. */
  syncedAt: ts('synced_at').notNull().defaultNow(),
});

/** Products of a tenant's Shopify shop. */
export const shopProducts = pgTable(
  'shop_products',
  {
    tenantId: tenantId(),
    id: id('id').notNull(),
    title: text('title'),
    handle: text('handle'),
    bodyHtml: text('body_html'),
    vendor: text('vendor'),
    productType: text('product_type'),
    status: text('status'),
    tags: tags(),
    publishedAt: ts('published_at'),
    shopifyCreatedAt: ts('shopify_created_at'),
    shopifyUpdatedAt: ts('shopify_updated_at'),
    ...bookkeeping(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index('shop_products_updated_idx').on(t.tenantId, t.shopifyUpdatedAt),
  ],
);

/** Variants of mirrored products. */
export const shopProductVariants = pgTable(
  'shop_product_variants',
  {
    tenantId: tenantId(),
    id: id('id').notNull(),
    productId: id('product_id').notNull(),
    title: text('title'),
    sku: text('sku'),
    barcode: text('barcode'),
    position: integer('position'),
    price: numeric('price').notNull(),
    compareAtPrice: numeric('compare_at_price'),
    inventoryQuantity: integer('inventory_quantity'),
    inventoryItemId: id('inventory_item_id'),
    option1: text('option1'),
    option2: text('option2'),
    option3: text('option3'),
    taxable: boolean('taxable'),
    shopifyCreatedAt: ts('shopify_created_at'),
    shopifyUpdatedAt: ts('shopify_updated_at'),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index('shop_product_variants_product_idx').on(t.tenantId, t.productId),
    index('shop_product_variants_sku_idx').on(t.tenantId, t.sku),
  ],
);

/** Customers of a tenant's Shopify shop. */
export const shopCustomers = pgTable(
  'shop_customers',
  {
    tenantId: tenantId(),
    id: id('id').notNull(),
    email: text('email'),
    firstName: text('first_name'),
    lastName: text('last_name'),
    phone: text('phone'),
    state: text('state'),
    tags: tags(),
    note: text('note'),
    verifiedEmail: boolean('verified_email'),
    taxExempt: boolean('tax_exempt'),
    currency: text('currency'),
    ordersCount: integer('orders_count'),
    totalSpent: numeric('total_spent'),
    defaultAddress: jsonb('default_address'),
    shopifyCreatedAt: ts('shopify_created_at'),
    shopifyUpdatedAt: ts('shopify_updated_at'),
    redactedAt: ts('redacted_at'),
    ...bookkeeping(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index('shop_customers_updated_idx').on(t.tenantId, t.shopifyUpdatedAt),
    index('shop_customers_email_idx').on(t.tenantId, sql`lower(${t.email})`),
  ],
);

/** Orders of a tenant's Shopify shop. */
export const shopOrders = pgTable(
  'shop_orders',
  {
    tenantId: tenantId(),
    id: id('id').notNull(),
    name: text('name'),
    orderNumber: integer('order_number'),
    email: text('email'),
    phone: text('phone'),
    customerId: id('customer_id'),
    currency: text('currency'),
    financialStatus: text('financial_status'),
    fulfillmentStatus: text('fulfillment_status'),
    cancelReason: text('cancel_reason'),
    cancelledAt: ts('cancelled_at'),
    closedAt: ts('closed_at'),
    processedAt: ts('processed_at'),
    subtotalPrice: numeric('subtotal_price'),
    totalDiscounts: numeric('total_discounts'),
    totalShipping: numeric('total_shipping'),
    totalTax: numeric('total_tax'),
    totalPrice: numeric('total_price'),
    currentTotalPrice: numeric('current_total_price'),
    tags: tags(),
    note: text('note'),
    sourceName: text('source_name'),
    test: boolean('test').notNull().default(false),
    billingAddress: jsonb('billing_address'),
    shippingAddress: jsonb('shipping_address'),
    shopifyCreatedAt: ts('shopify_created_at'),
    shopifyUpdatedAt: ts('shopify_updated_at'),
    redactedAt: ts('redacted_at'),
    ...bookkeeping(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index('shop_orders_updated_idx').on(t.tenantId, t.shopifyUpdatedAt),
    index('shop_orders_created_idx').on(t.tenantId, t.shopifyCreatedAt),
    index('shop_orders_customer_idx').on(t.tenantId, t.customerId),
  ],
);

/** Line items of mirrored orders. */
export const shopOrderLineItems = pgTable(
  'shop_order_line_items',
  {
    tenantId: tenantId(),
    id: id('id').notNull(),
    orderId: id('order_id').notNull(),
    productId: id('product_id'),
    variantId: id('variant_id'),
    title: text('title').notNull(),
    variantTitle: text('variant_title'),
    sku: text('sku'),
    vendor: text('vendor'),
    quantity: integer('quantity').notNull(),
    price: numeric('price').notNull(),
    totalDiscount: numeric('total_discount'),
    taxable: boolean('taxable'),
    requiresShipping: boolean('requires_shipping'),
    fulfillableQuantity: integer('fulfillable_quantity'),
    fulfillmentStatus: text('fulfillment_status'),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index('shop_order_line_items_order_idx').on(t.tenantId, t.orderId),
    index('shop_order_line_items_product_idx').on(t.tenantId, t.productId),
  ],
);

/** Payment transactions of mirrored orders. */
export const shopOrderTransactions = pgTable(
  'shop_order_transactions',
  {
    tenantId: tenantId(),
    id: id('id').notNull(),
    orderId: id('order_id').notNull(),
    parentId: id('parent_id'),
    kind: text('kind').notNull(),
    status: text('status').notNull(),
    gateway: text('gateway'),
    amount: numeric('amount').notNull(),
    currency: text('currency'),
    processedAt: ts('processed_at'),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index('shop_order_transactions_order_idx').on(t.tenantId, t.orderId),
  ],
);
