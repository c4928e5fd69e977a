import { z } from 'zod';
import { tenantParams } from '../identity/api.ts';
import { isoTimeQuery } from '../platform/http/schemas.ts';
import { RESOURCES } from './queries.ts';

/*
 * The mirrored-data API's schemas (issue 7): list filters and the records as the API returns them.
 * Zod and types only, so the web dashboard can import them.
 */

export { RESOURCES };
export type { Resource } from './queries.ts';

/** `/tenants/:tenant/{products,orders,customers}/:id`. */
export const recordParams = tenantParams.extend({
  id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER),
});

const isoTime = isoTimeQuery;
const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(250).default(50),
  cursor: z.string().max(1024).optional(),
  q: z.string().max(500).optional(),
  status: z
    .string()
    .max(40)
    .regex(/^[a-z_]+$/i)
    .optional(),
  createdAtMin: isoTime.optional(),
  createdAtMax: isoTime.optional(),
  updatedAtMin: isoTime.optional(),
  updatedAtMax: isoTime.optional(),
  live: z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .transform((v) => v === 'true' || v === '1'),
});
const productQuery = listQuery.extend({
  vendor: z.string().max(200).optional(),
  productType: z.string().max(200).optional(),
});
const orderQuery = listQuery.extend({
  financialStatus: z
    .string()
    .max(40)
    .regex(/^[a-z_]+$/i)
    .optional(),
  fulfillmentStatus: z
    .string()
    .max(40)
    .regex(/^[a-z_]+$/i)
    .optional(),
  customerId: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
});
export const liveOnly = z.object({
  live: z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .transform((v) => v === 'true' || v === '1'),
});

const money = z.string().describe('decimal string, e.g. "12.30"');
const address = z.record(z.string(), z.unknown()).nullable();
const variantSchema = z.object({
  id: z.number(),
  productId: z.number(),
  title: z.string().nullable(),
  sku: z.string().nullable(),
  barcode: z.string().nullable(),
  position: z.number().nullable(),
  price: money,
  compareAtPrice: money.nullable(),
  inventoryQuantity: z.number().nullable(),
  inventoryItemId: z.number().nullable(),
  option1: z.string().nullable(),
  option2: z.string().nullable(),
  option3: z.string().nullable(),
  taxable: z.boolean().nullable(),
  createdAt: z.string().nullable(),
  updatedAt: z.string().nullable(),
});
export const productSchema = z.object({
  id: z.number(),
  title: z.string().nullable(),
  handle: z.string().nullable(),
  bodyHtml: z.string().nullable(),
  vendor: z.string().nullable(),
  productType: z.string().nullable(),
  status: z.string().nullable(),
  tags: z.array(z.string()),
  publishedAt: z.string().nullable(),
  createdAt: z.string().nullable(),
  updatedAt: z.string().nullable(),
  variants: z.array(variantSchema),
});
export const customerSchema = z.object({
  id: z.number(),
  email: z.string().nullable(),
  firstName: z.string().nullable(),
  lastName: z.string().nullable(),
  phone: z.string().nullable(),
  state: z.string().nullable(),
  tags: z.array(z.string()),
  note: z.string().nullable(),
  verifiedEmail: z.boolean().nullable(),
  taxExempt: z.boolean().nullable(),
  currency: z.string().nullable().describe('Currency of totalSpent'),
  ordersCount: z.number().nullable().describe("Orders in the customer's lifetime (Shopify numberOfOrders)"),
  totalSpent: money
    .nullable()
    .describe('Amount the customer has spent (Shopify amountSpent), decimal string'),
  defaultAddress: address,
  createdAt: z.string().nullable(),
  updatedAt: z.string().nullable(),
});
const lineItemSchema = z.object({
  id: z.number(),
  orderId: z.number(),
  productId: z.number().nullable(),
  variantId: z.number().nullable(),
  title: z.string(),
  variantTitle: z.string().nullable(),
  sku: z.string().nullable(),
  vendor: z.string().nullable(),
  quantity: z.number(),
  price: money,
  totalDiscount: money.nullable(),
  taxable: z.boolean().nullable(),
  requiresShipping: z.boolean().nullable(),
  fulfillableQuantity: z.number().nullable().describe('Units still to fulfil'),
  fulfillmentStatus: z
    .string()
    .nullable()
    .describe('fulfilled, partial, or null while nothing of the line has shipped'),
});
const transactionSchema = z.object({
  id: z.number(),
  orderId: z.number(),
  parentId: z.number().nullable(),
  kind: z.string(),
  status: z.string(),
  gateway: z.string().nullable(),
  amount: money,
  currency: z.string().nullable(),
  processedAt: z.string().nullable(),
});
export const orderSchema = z.object({
  id: z.number(),
  name: z.string().nullable(),
  orderNumber: z.number().nullable(),
  email: z.string().nullable(),
  phone: z.string().nullable(),
  customerId: z.number().nullable(),
  currency: z.string().nullable(),
  financialStatus: z.string().nullable(),
  fulfillmentStatus: z.string().nullable(),
  cancelReason: z.string().nullable(),
  cancelledAt: z.string().nullable(),
  closedAt: z.string().nullable(),
  processedAt: z.string().nullable(),
  subtotalPrice: money.nullable(),
  totalDiscounts: money.nullable(),
  totalShipping: money.nullable(),
  totalTax: money.nullable(),
  totalPrice: money.nullable(),
  currentTotalPrice: money.nullable(),
  tags: z.array(z.string()),
  note: z.string().nullable(),
  sourceName: z.string().nullable(),
  test: z.boolean().nullable(),
  billingAddress: address,
  shippingAddress: address,
  createdAt: z.string().nullable(),
  updatedAt: z.string().nullable(),
  lineItems: z.array(lineItemSchema),
  transactions: z.array(transactionSchema),
});

export const RECORD_SCHEMAS = {
  products: productSchema,
  orders: orderSchema,
  customers: customerSchema,
} as const;
export const LIST_QUERIES = { products: productQuery, orders: orderQuery, customers: listQuery } as const;
export const recordSource = z.enum(['mirror', 'shopify']);
