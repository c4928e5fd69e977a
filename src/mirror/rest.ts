import { z } from 'zod';
import type {
  CustomerRow,
  LineItemRow,
  OrderWithItems,
  ProductWithVariants,
  TransactionRow,
  VariantRow,
} from './rows.ts';

/*
 * Mappers from Shopify's REST resource JSON — the shape of webhook payloads
 * (https://shopify.dev/docs/api/webhooks, "products/create", "orders/updated", …) — to the
 * normalized rows. Each payload is validated with Zod first; a payload that does not fit (for
 * example one trimmed by a subscription's `includeFields` so that `updated_at` is missing) throws
 * a ZodError, which the webhook processor treats as permanent.
 */

const shopifyId = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const time = z.string().refine((v) => !Number.isNaN(Date.parse(v)), 'must be an ISO-8601 time');
/** REST money: a decimal string such as "12.30" (some currencies use 0 or 3 decimals). */
const money = z.string().regex(/^-?\d{1,15}(\.\d{1,6})?$/, 'must be a decimal string');
const text = z.string().nullish();
const flag = z.boolean().nullish();
const count = z.number().int().nullish();
const address = z.record(z.string(), z.unknown()).nullish();
/** REST tags: one comma-separated string ("a, b"); GraphQL sends an array. */
const tags = z
  .union([z.string(), z.array(z.string())])
  .nullish()
  .transform((v) => (Array.isArray(v) ? v : (v ?? '').split(',')).map((t) => t.trim()).filter(Boolean));

/** A `{ "id": … }` delete payload (products/delete, orders/delete, customers/delete). */
export const restDeleteSchema = z.object({ id: shopifyId });

const variantSchema = z.object({
  id: shopifyId,
  product_id: shopifyId.nullish(),
  title: text,
  sku: text,
  barcode: text,
  position: count,
  price: money,
  compare_at_price: money.nullish(),
  inventory_quantity: count,
  inventory_item_id: shopifyId.nullish(),
  option1: text,
  option2: text,
  option3: text,
  taxable: flag,
  created_at: time.nullish(),
  updated_at: time.nullish(),
});

/** REST product (products/create, products/update). */
export const restProductSchema = z.object({
  id: shopifyId,
  title: z.string(),
  handle: text,
  body_html: text,
  vendor: text,
  product_type: text,
  status: z.string().default('active'),
  tags,
  published_at: time.nullish(),
  created_at: time.nullish(),
  updated_at: time,
  variants: z.array(variantSchema).default([]),
});

const customerSchema = z.object({
  id: shopifyId,
  email: text,
  first_name: text,
  last_name: text,
  phone: text,
  state: text,
  tags,
  note: text,
  verified_email: flag,
  tax_exempt: flag,
  currency: text,
  orders_count: count,
  total_spent: money.nullish(),
  default_address: address,
  created_at: time.nullish(),
  updated_at: time,
});

/** REST customer (customers/create, customers/update). */
export const restCustomerSchema = customerSchema;

const lineItemSchema = z.object({
  id: shopifyId,
  product_id: shopifyId.nullish(),
  variant_id: shopifyId.nullish(),
  title: z.string(),
  variant_title: text,
  sku: text,
  vendor: text,
  quantity: z.number().int(),
  price: money,
  total_discount: money.nullish(),
  taxable: flag,
  requires_shipping: flag,
  fulfillable_quantity: count,
  fulfillment_status: text,
});

const moneySetSchema = z.object({ shop_money: z.object({ amount: money }) }).nullish();

const refundSchema = z.object({
  transactions: z
    .array(
      z.object({
        id: shopifyId,
        parent_id: shopifyId.nullish(),
        kind: z.string(),
        status: z.string(),
        gateway: text,
        amount: money,
        currency: text,
        processed_at: time.nullish(),
        created_at: time.nullish(),
      }),
    )
    .default([]),
});

/** REST order (orders/create, orders/updated, orders/paid, orders/cancelled, orders/fulfilled, …). */
export const restOrderSchema = z.object({
  id: shopifyId,
  name: text,
  order_number: count,
  email: text,
  contact_email: text,
  phone: text,
  customer: z.object({ id: shopifyId }).nullish(),
  currency: z.string(),
  financial_status: text,
  fulfillment_status: text,
  cancel_reason: text,
  cancelled_at: time.nullish(),
  closed_at: time.nullish(),
  processed_at: time.nullish(),
  subtotal_price: money.nullish(),
  total_discounts: money.nullish(),
  total_shipping_price_set: moneySetSchema,
  total_tax: money.nullish(),
  total_price: money,
  current_total_price: money.nullish(),
  tags,
  note: text,
  source_name: text,
  test: flag,
  billing_address: address,
  shipping_address: address,
  created_at: time,
  updated_at: time,
  line_items: z.array(lineItemSchema).default([]),
  refunds: z.array(refundSchema).default([]),
});

const orNull = <T>(value: T | null | undefined): T | null => value ?? null;

/** products/create and products/update payload → product with its variants. */
export function productFromRest(payload: unknown): ProductWithVariants {
  const p = restProductSchema.parse(payload);
  const variants: VariantRow[] = p.variants.map((v) => ({
    id: v.id,
    productId: p.id,
    title: orNull(v.title),
    sku: orNull(v.sku),
    barcode: orNull(v.barcode),
    position: orNull(v.position),
    price: v.price,
    compareAtPrice: orNull(v.compare_at_price),
    inventoryQuantity: orNull(v.inventory_quantity),
    inventoryItemId: orNull(v.inventory_item_id),
    option1: orNull(v.option1),
    option2: orNull(v.option2),
    option3: orNull(v.option3),
    taxable: orNull(v.taxable),
    createdAt: orNull(v.created_at),
    updatedAt: orNull(v.updated_at),
  }));
  return {
    id: p.id,
    title: p.title,
    handle: orNull(p.handle),
    bodyHtml: orNull(p.body_html),
    vendor: orNull(p.vendor),
    productType: orNull(p.product_type),
    status: p.status.toLowerCase(),
    tags: p.tags,
    publishedAt: orNull(p.published_at),
    createdAt: orNull(p.created_at),
    updatedAt: p.updated_at,
    raw: payload,
    variants,
  };
}

/** customers/create and customers/update payload → customer row. */
export function customerFromRest(payload: unknown): CustomerRow {
  const c = restCustomerSchema.parse(payload);
  return {
    id: c.id,
    email: orNull(c.email),
    firstName: orNull(c.first_name),
    lastName: orNull(c.last_name),
    phone: orNull(c.phone),
    state: orNull(c.state),
    tags: c.tags,
    note: orNull(c.note),
    verifiedEmail: orNull(c.verified_email),
    taxExempt: orNull(c.tax_exempt),
    currency: orNull(c.currency),
    ordersCount: orNull(c.orders_count),
    totalSpent: orNull(c.total_spent),
    defaultAddress: orNull(c.default_address),
    createdAt: orNull(c.created_at),
    updatedAt: c.updated_at,
    raw: payload,
  };
}

/**
 * orders/* payload → order with its line items and the refund transactions it carries. Unlike
 * products and customers, the REST document is not kept in `raw`: orders are the high-volume
 * stream, keeping each payload a second time cost a third of the processing time (measured), and the
 * event log holds it for WEBHOOK_PAYLOAD_RETENTION_HOURS.
 */
export function orderFromRest(payload: unknown): OrderWithItems {
  const o = restOrderSchema.parse(payload);
  const lineItems: LineItemRow[] = o.line_items.map((l) => ({
    id: l.id,
    orderId: o.id,
    productId: orNull(l.product_id),
    variantId: orNull(l.variant_id),
    title: l.title,
    variantTitle: orNull(l.variant_title),
    sku: orNull(l.sku),
    vendor: orNull(l.vendor),
    quantity: l.quantity,
    price: l.price,
    totalDiscount: orNull(l.total_discount),
    taxable: orNull(l.taxable),
    requiresShipping: orNull(l.requires_shipping),
    fulfillableQuantity: orNull(l.fulfillable_quantity),
    fulfillmentStatus: orNull(l.fulfillment_status),
  }));
  const refundTransactions: TransactionRow[] = o.refunds.flatMap((r) =>
    r.transactions.map((t) => ({
      id: t.id,
      orderId: o.id,
      parentId: orNull(t.parent_id),
      kind: t.kind,
      status: t.status,
      gateway: orNull(t.gateway),
      amount: t.amount,
      currency: t.currency ?? o.currency,
      processedAt: t.processed_at ?? t.created_at ?? null,
    })),
  );
  return {
    id: o.id,
    name: orNull(o.name),
    orderNumber: orNull(o.order_number),
    email: o.email ?? o.contact_email ?? null,
    phone: orNull(o.phone),
    customerId: o.customer?.id ?? null,
    currency: o.currency,
    financialStatus: orNull(o.financial_status),
    fulfillmentStatus: orNull(o.fulfillment_status),
    cancelReason: orNull(o.cancel_reason),
    cancelledAt: orNull(o.cancelled_at),
    closedAt: orNull(o.closed_at),
    processedAt: orNull(o.processed_at),
    subtotalPrice: orNull(o.subtotal_price),
    totalDiscounts: orNull(o.total_discounts),
    totalShipping: o.total_shipping_price_set?.shop_money.amount ?? null,
    totalTax: orNull(o.total_tax),
    totalPrice: o.total_price,
    currentTotalPrice: orNull(o.current_total_price),
    tags: o.tags,
    note: orNull(o.note),
    sourceName: orNull(o.source_name),
    test: o.test ?? false,
    billingAddress: orNull(o.billing_address),
    shippingAddress: orNull(o.shipping_address),
    createdAt: o.created_at,
    updatedAt: o.updated_at,
    lineItems,
    // Refund transactions arrive with the order; other transactions come from sync.
    ...(refundTransactions.length > 0 ? { transactions: refundTransactions } : {}),
  };
}

/** products/delete, orders/delete, customers/delete payload → the Shopify id. */
export function deletedIdFromRest(payload: unknown): number {
  return restDeleteSchema.parse(payload).id;
}
