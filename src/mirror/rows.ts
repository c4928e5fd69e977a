/**
 * Normalized rows of the mirrored Shopify data (products with variants, orders with line items and
 * transactions, customers). Every writer — the webhook handlers (REST payloads, `rest.ts`) and the
 * sync engine (GraphQL nodes and bulk JSONL) — maps its input to these types and hands them to the
 * batch upserts in `upsert.ts`, so the tables have one meaning whatever fed them.
 *
 * Conventions:
 * - Shopify ids are the numeric ids (`8123456789012`, not `gid://shopify/Product/…`); they stay
 *   below 2^53, so `number` is exact.
 * - Money is a decimal string (`"12.30"`), never a float; it is stored as SQL `numeric`.
 * - Times are ISO-8601 strings with an offset (`2025-01-31T09:00:00-05:00` or `…Z`).
 * - `updatedAt` is Shopify's `updated_at`: an upsert never lets an older one overwrite a newer row.
 * - `raw` is the source document as received (REST webhook payload or GraphQL node), kept for
 *   fields not mapped, where a writer finds it worth its cost (the webhook mappers keep it for
 *   products and customers, not for orders); `source` says which writer produced the row.
 */

/** Which path wrote a row. */
export type RowSource = 'webhook' | 'sync';

/** A product (`shop_products`). */
export type ProductRow = {
  id: number;
  title: string;
  handle: string | null;
  bodyHtml: string | null;
  vendor: string | null;
  productType: string | null;
  /** `active` | `draft` | `archived` (lower case, as REST spells it). */
  status: string;
  tags: string[];
  publishedAt: string | null;
  createdAt: string | null;
  updatedAt: string;
  raw?: unknown;
};

/** A product variant (`shop_product_variants`); always written together with its product. */
export type VariantRow = {
  id: number;
  productId: number;
  title: string | null;
  sku: string | null;
  barcode: string | null;
  position: number | null;
  price: string;
  compareAtPrice: string | null;
  inventoryQuantity: number | null;
  inventoryItemId: number | null;
  option1: string | null;
  option2: string | null;
  option3: string | null;
  taxable: boolean | null;
  createdAt: string | null;
  updatedAt: string | null;
};

/** A product and its complete set of variants (variants not listed are removed). */
export type ProductWithVariants = ProductRow & { variants: VariantRow[] };

/** A customer (`shop_customers`). */
export type CustomerRow = {
  id: number;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  phone: string | null;
  /** `enabled` | `disabled` | `invited` | `declined`. */
  state: string | null;
  tags: string[];
  note: string | null;
  verifiedEmail: boolean | null;
  taxExempt: boolean | null;
  currency: string | null;
  ordersCount: number | null;
  totalSpent: string | null;
  /** The default address as Shopify sends it (REST snake_case keys). */
  defaultAddress: Record<string, unknown> | null;
  createdAt: string | null;
  updatedAt: string;
  raw?: unknown;
};

/** An order (`shop_orders`). */
export type OrderRow = {
  id: number;
  /** Display name, e.g. `#1001`. */
  name: string | null;
  orderNumber: number | null;
  email: string | null;
  phone: string | null;
  customerId: number | null;
  currency: string;
  financialStatus: string | null;
  fulfillmentStatus: string | null;
  cancelReason: string | null;
  cancelledAt: string | null;
  closedAt: string | null;
  processedAt: string | null;
  subtotalPrice: string | null;
  totalDiscounts: string | null;
  totalShipping: string | null;
  totalTax: string | null;
  totalPrice: string;
  /** Total after refunds and edits (`current_total_price`), when known. */
  currentTotalPrice: string | null;
  tags: string[];
  note: string | null;
  sourceName: string | null;
  test: boolean;
  billingAddress: Record<string, unknown> | null;
  shippingAddress: Record<string, unknown> | null;
  createdAt: string;
  updatedAt: string;
  raw?: unknown;
};

/** An order line (`shop_order_line_items`); always written together with its order. */
export type LineItemRow = {
  id: number;
  orderId: number;
  productId: number | null;
  variantId: number | null;
  title: string;
  variantTitle: string | null;
  sku: string | null;
  vendor: string | null;
  quantity: number;
  price: string;
  totalDiscount: string | null;
  taxable: boolean | null;
  requiresShipping: boolean | null;
  fulfillableQuantity: number | null;
  fulfillmentStatus: string | null;
};

/** A payment transaction (`shop_order_transactions`); immutable in Shopify, so only ever inserted or refreshed. */
export type TransactionRow = {
  id: number;
  orderId: number;
  parentId: number | null;
  /** `sale` | `authorization` | `capture` | `refund` | `void`. */
  kind: string;
  /** `success` | `pending` | `failure` | `error`. */
  status: string;
  gateway: string | null;
  amount: string;
  currency: string | null;
  processedAt: string | null;
};

/**
 * An order with its complete set of line items (lines not listed are removed). `transactions` is
 * optional because REST order webhooks do not carry them: when absent, stored transactions stay.
 */
export type OrderWithItems = OrderRow & { lineItems: LineItemRow[]; transactions?: TransactionRow[] };

/** What an upsert did: ids written, and ids skipped because the stored row is newer, deleted or redacted. */
export type UpsertResult = { applied: number[]; skipped: number[] };
