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
 * Mappers from Admin GraphQL nodes — what the sync engine reads from paginated queries and bulk
 * operation JSONL lines (issue 7) — to the normalized rows of rows.ts, so a record has the same
 * meaning whether a webhook (rest.ts) or sync wrote it. The selections below are the fields these
 * mappers need; queries build on them. Every node is validated with Zod before it is mapped.
 * Enumerations are lower-cased to REST's spelling (`PAID` → `paid`, `PARTIALLY_FULFILLED` →
 * `partial`) and money stays a decimal string.
 */

const ADDRESS =
  'firstName lastName name company address1 address2 city province provinceCode country countryCodeV2 zip phone';
const shopMoney = (field: string) => `${field} { shopMoney { amount } }`;

/** Product fields (variants are a nested connection, selected by the caller). */
export const PRODUCT_FIELDS =
  'id title handle descriptionHtml vendor productType status tags publishedAt createdAt updatedAt';
/** Variant fields. */
export const VARIANT_FIELDS =
  'id title sku barcode position price compareAtPrice inventoryQuantity taxable createdAt updatedAt selectedOptions { name value } inventoryItem { id }';
/** Customer fields. */
export const CUSTOMER_FIELDS = `id email firstName lastName phone state tags note verifiedEmail taxExempt createdAt updatedAt defaultAddress { ${ADDRESS} }`;
/** Order fields (line items are a nested connection, selected by the caller). */
export const ORDER_FIELDS = [
  'id name email phone createdAt updatedAt processedAt cancelledAt cancelReason closedAt test',
  'displayFinancialStatus displayFulfillmentStatus currencyCode sourceName tags note',
  shopMoney('subtotalPriceSet'),
  shopMoney('totalPriceSet'),
  shopMoney('totalTaxSet'),
  shopMoney('totalDiscountsSet'),
  shopMoney('totalShippingPriceSet'),
  shopMoney('currentTotalPriceSet'),
  'customer { id }',
  `billingAddress { ${ADDRESS} } shippingAddress { ${ADDRESS} }`,
  'transactions { id kind status gateway processedAt createdAt amountSet { shopMoney { amount currencyCode } } parentTransaction { id } }',
].join(' ');
/** Line item fields. */
export const LINE_ITEM_FIELDS = `id title variantTitle sku vendor quantity unfulfilledQuantity taxable requiresShipping ${shopMoney('originalUnitPriceSet')} ${shopMoney('totalDiscountSet')} product { id } variant { id }`;

const GID = /^gid:\/\/shopify\/[A-Za-z]+\/(\d{1,16})(?:\?.*)?$/;

/** `gid://shopify/Order/123` → 123 (throws on anything else). */
export function idFromGid(gid: string): number {
  const match = GID.exec(gid);
  const id = match ? Number(match[1]) : Number.NaN;
  if (!Number.isSafeInteger(id) || id <= 0) throw new Error(`not a Shopify global id: ${gid.slice(0, 80)}`);
  return id;
}

const gid = z.string().regex(GID, 'must be a Shopify global id');
const time = z.string().refine((v) => !Number.isNaN(Date.parse(v)), 'must be an ISO-8601 time');
const money = z.string().regex(/^-?\d{1,15}(\.\d{1,6})?$/, 'must be a decimal string');
const moneyBag = z.object({ shopMoney: z.object({ amount: money }) }).nullish();
const text = z.string().nullish();
const ref = z.object({ id: gid }).nullish();
const address = z
  .object({
    firstName: text,
    lastName: text,
    name: text,
    company: text,
    address1: text,
    address2: text,
    city: text,
    province: text,
    provinceCode: text,
    country: text,
    countryCodeV2: text,
    zip: text,
    phone: text,
  })
  .nullish();

/** GraphQL product node (without variants). */
export const gqlProductSchema = z.object({
  id: gid,
  title: z.string(),
  handle: text,
  descriptionHtml: text,
  vendor: text,
  productType: text,
  status: z.string(),
  tags: z.array(z.string()).default([]),
  publishedAt: time.nullish(),
  createdAt: time.nullish(),
  updatedAt: time,
});

/** GraphQL variant node. */
export const gqlVariantSchema = z.object({
  id: gid,
  title: text,
  sku: text,
  barcode: text,
  position: z.number().int().nullish(),
  price: money,
  compareAtPrice: money.nullish(),
  inventoryQuantity: z.number().int().nullish(),
  taxable: z.boolean().nullish(),
  createdAt: time.nullish(),
  updatedAt: time.nullish(),
  selectedOptions: z.array(z.object({ name: z.string(), value: z.string() })).default([]),
  inventoryItem: ref,
});

/** GraphQL customer node. */
export const gqlCustomerSchema = z.object({
  id: gid,
  email: text,
  firstName: text,
  lastName: text,
  phone: text,
  state: text,
  tags: z.array(z.string()).default([]),
  note: text,
  verifiedEmail: z.boolean().nullish(),
  taxExempt: z.boolean().nullish(),
  createdAt: time.nullish(),
  updatedAt: time,
  defaultAddress: address,
});

const transactionSchema = z.object({
  id: gid,
  kind: z.string(),
  status: z.string(),
  gateway: text,
  processedAt: time.nullish(),
  createdAt: time.nullish(),
  amountSet: z.object({ shopMoney: z.object({ amount: money, currencyCode: text }) }),
  parentTransaction: ref,
});

/** GraphQL order node (without line items). */
export const gqlOrderSchema = z.object({
  id: gid,
  name: text,
  email: text,
  phone: text,
  createdAt: time,
  updatedAt: time,
  processedAt: time.nullish(),
  cancelledAt: time.nullish(),
  cancelReason: text,
  closedAt: time.nullish(),
  test: z.boolean().nullish(),
  displayFinancialStatus: text,
  displayFulfillmentStatus: text,
  currencyCode: z.string(),
  sourceName: text,
  tags: z.array(z.string()).default([]),
  note: text,
  subtotalPriceSet: moneyBag,
  totalPriceSet: moneyBag,
  totalTaxSet: moneyBag,
  totalDiscountsSet: moneyBag,
  totalShippingPriceSet: moneyBag,
  currentTotalPriceSet: moneyBag,
  customer: ref,
  billingAddress: address,
  shippingAddress: address,
  transactions: z.array(transactionSchema).default([]),
});

/** GraphQL line item node. */
export const gqlLineItemSchema = z.object({
  id: gid,
  title: z.string(),
  variantTitle: text,
  sku: text,
  vendor: text,
  quantity: z.number().int(),
  unfulfilledQuantity: z.number().int().nullish(),
  taxable: z.boolean().nullish(),
  requiresShipping: z.boolean().nullish(),
  originalUnitPriceSet: z.object({ shopMoney: z.object({ amount: money }) }),
  totalDiscountSet: moneyBag,
  product: ref,
  variant: ref,
});

const orNull = <T>(value: T | null | undefined): T | null => value ?? null;

/**
 * GraphQL's Decimal drops trailing zeros ("12.3", "0.0"); REST and the tables use at least two
 * decimals ("12.30"), so both writers store the same text for the same amount.
 */
export function decimal(amount: string): string;
export function decimal(amount: string | null | undefined): string | null;
export function decimal(amount: string | null | undefined): string | null {
  if (amount === null || amount === undefined) return null;
  const dot = amount.indexOf('.');
  if (dot === -1) return `${amount}.00`;
  const digits = amount.length - dot - 1;
  return digits >= 2 ? amount : `${amount}${'0'.repeat(2 - digits)}`;
}
const lower = (value: string | null | undefined) => (value ? value.toLowerCase() : null);
const amount = (bag: { shopMoney: { amount: string } } | null | undefined) => decimal(bag?.shopMoney.amount);
const refId = (value: { id: string } | null | undefined) => (value ? idFromGid(value.id) : null);

/** GraphQL MailingAddress → the REST snake_case object the tables keep. */
function restAddress(a: z.infer<typeof address>): Record<string, unknown> | null {
  if (!a) return null;
  return {
    first_name: orNull(a.firstName),
    last_name: orNull(a.lastName),
    name: orNull(a.name),
    company: orNull(a.company),
    address1: orNull(a.address1),
    address2: orNull(a.address2),
    city: orNull(a.city),
    province: orNull(a.province),
    province_code: orNull(a.provinceCode),
    country: orNull(a.country),
    country_code: orNull(a.countryCodeV2),
    zip: orNull(a.zip),
    phone: orNull(a.phone),
  };
}

/** REST's fulfillment_status spelling for GraphQL's displayFulfillmentStatus. */
function fulfillment(status: string | null | undefined): string | null {
  if (!status || status === 'UNFULFILLED') return null;
  if (status === 'PARTIALLY_FULFILLED') return 'partial';
  return status.toLowerCase();
}

/** A variant node → row. */
export function variantFromGraphql(node: unknown, productId: number): VariantRow {
  const v = gqlVariantSchema.parse(node);
  const option = (i: number) => v.selectedOptions[i]?.value ?? null;
  return {
    id: idFromGid(v.id),
    productId,
    title: orNull(v.title),
    sku: orNull(v.sku),
    barcode: orNull(v.barcode),
    position: orNull(v.position),
    price: decimal(v.price),
    compareAtPrice: decimal(v.compareAtPrice),
    inventoryQuantity: orNull(v.inventoryQuantity),
    inventoryItemId: refId(v.inventoryItem),
    option1: option(0),
    option2: option(1),
    option3: option(2),
    taxable: orNull(v.taxable),
    createdAt: orNull(v.createdAt),
    updatedAt: orNull(v.updatedAt),
  };
}

/** A product node (+ its variant nodes, from a nested connection or bulk child lines) → row. */
export function productFromGraphql(
  node: unknown,
  variantNodes: readonly unknown[] = [],
): ProductWithVariants {
  const p = gqlProductSchema.parse(node);
  const id = idFromGid(p.id);
  return {
    id,
    title: p.title,
    handle: orNull(p.handle),
    bodyHtml: orNull(p.descriptionHtml),
    vendor: orNull(p.vendor),
    productType: orNull(p.productType),
    status: p.status.toLowerCase(),
    tags: p.tags,
    publishedAt: orNull(p.publishedAt),
    createdAt: orNull(p.createdAt),
    updatedAt: p.updatedAt,
    variants: variantNodes.map((v) => variantFromGraphql(v, id)),
  };
}

/** A customer node → row. */
export function customerFromGraphql(node: unknown): CustomerRow {
  const c = gqlCustomerSchema.parse(node);
  return {
    id: idFromGid(c.id),
    email: orNull(c.email),
    firstName: orNull(c.firstName),
    lastName: orNull(c.lastName),
    phone: orNull(c.phone),
    state: lower(c.state),
    tags: c.tags,
    note: orNull(c.note),
    verifiedEmail: orNull(c.verifiedEmail),
    taxExempt: orNull(c.taxExempt),
    currency: null,
    ordersCount: null,
    totalSpent: null,
    defaultAddress: restAddress(c.defaultAddress),
    createdAt: orNull(c.createdAt),
    updatedAt: c.updatedAt,
  };
}

/** A line item node → row. */
export function lineItemFromGraphql(node: unknown, orderId: number): LineItemRow {
  const l = gqlLineItemSchema.parse(node);
  return {
    id: idFromGid(l.id),
    orderId,
    productId: refId(l.product),
    variantId: refId(l.variant),
    title: l.title,
    variantTitle: orNull(l.variantTitle),
    sku: orNull(l.sku),
    vendor: orNull(l.vendor),
    quantity: l.quantity,
    price: decimal(l.originalUnitPriceSet.shopMoney.amount),
    totalDiscount: amount(l.totalDiscountSet),
    taxable: orNull(l.taxable),
    requiresShipping: orNull(l.requiresShipping),
    fulfillableQuantity: orNull(l.unfulfilledQuantity),
    fulfillmentStatus: null,
  };
}

/** An order node (+ its line item nodes) → row with line items and transactions. */
export function orderFromGraphql(node: unknown, lineItemNodes: readonly unknown[] = []): OrderWithItems {
  const o = gqlOrderSchema.parse(node);
  const id = idFromGid(o.id);
  const number = o.name ? /^\D*(\d+)\D*$/.exec(o.name) : null;
  const transactions: TransactionRow[] = o.transactions.map((t) => ({
    id: idFromGid(t.id),
    orderId: id,
    parentId: refId(t.parentTransaction),
    kind: t.kind.toLowerCase(),
    status: t.status.toLowerCase(),
    gateway: orNull(t.gateway),
    amount: decimal(t.amountSet.shopMoney.amount),
    currency: t.amountSet.shopMoney.currencyCode ?? o.currencyCode,
    processedAt: t.processedAt ?? t.createdAt ?? null,
  }));
  return {
    id,
    name: orNull(o.name),
    orderNumber: number ? Number(number[1]) : null,
    email: orNull(o.email),
    phone: orNull(o.phone),
    customerId: refId(o.customer),
    currency: o.currencyCode,
    financialStatus: lower(o.displayFinancialStatus),
    fulfillmentStatus: fulfillment(o.displayFulfillmentStatus),
    cancelReason: lower(o.cancelReason),
    cancelledAt: orNull(o.cancelledAt),
    closedAt: orNull(o.closedAt),
    processedAt: orNull(o.processedAt),
    subtotalPrice: amount(o.subtotalPriceSet),
    totalDiscounts: amount(o.totalDiscountsSet),
    totalShipping: amount(o.totalShippingPriceSet),
    totalTax: amount(o.totalTaxSet),
    totalPrice: amount(o.totalPriceSet) ?? '0.00',
    currentTotalPrice: amount(o.currentTotalPriceSet),
    tags: o.tags,
    note: orNull(o.note),
    sourceName: orNull(o.sourceName),
    test: o.test ?? false,
    billingAddress: restAddress(o.billingAddress),
    shippingAddress: restAddress(o.shippingAddress),
    createdAt: o.createdAt,
    updatedAt: o.updatedAt,
    lineItems: lineItemNodes.map((l) => lineItemFromGraphql(l, id)),
    transactions,
  };
}
