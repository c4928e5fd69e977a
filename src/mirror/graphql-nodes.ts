import { z } from 'zod';

/*
 * What the mirror reads from Admin GraphQL (issue 7): the field selections of each node type and
 * the Zod schemas every node is validated with before graphql.ts maps it to rows.
 */

export const ADDRESS =
  'firstName lastName name company address1 address2 city province provinceCode country countryCodeV2 zip phone';
export const shopMoney = (field: string) => `${field} { shopMoney { amount } }`;

/** Product fields (variants are a nested connection, selected by the caller). */
export const PRODUCT_FIELDS =
  'id title handle descriptionHtml vendor productType status tags publishedAt createdAt updatedAt';
/** Variant fields. */
export const VARIANT_FIELDS =
  'id title sku barcode position price compareAtPrice inventoryQuantity taxable createdAt updatedAt selectedOptions { name value } inventoryItem { id }';
/** Customer fields. */
export const CUSTOMER_FIELDS = `id email firstName lastName phone state tags note verifiedEmail taxExempt numberOfOrders amountSpent { amount currencyCode } createdAt updatedAt defaultAddress { ${ADDRESS} }`;
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
export const LINE_ITEM_FIELDS = `id title variantTitle sku vendor quantity fulfillableQuantity fulfillmentStatus taxable requiresShipping ${shopMoney('originalUnitPriceSet')} ${shopMoney('totalDiscountSet')} product { id } variant { id }`;

export const GID = /^gid:\/\/shopify\/[A-Za-z]+\/(\d{1,16})(?:\?.*)?$/;

/** `gid://shopify/Order/123` → 123 (throws on anything else). */
export function idFromGid(gid: string): number {
  const match = GID.exec(gid);
  const id = match ? Number(match[1]) : Number.NaN;
  if (!Number.isSafeInteger(id) || id <= 0) throw new Error(`not a Shopify global id: ${gid.slice(0, 80)}`);
  return id;
}

export const gid = z.string().regex(GID, 'must be a Shopify global id');
export const time = z.string().refine((v) => !Number.isNaN(Date.parse(v)), 'must be an ISO-8601 time');
/** Shopify's Decimal scalar as a string (up to 15 integer and 6 fraction digits). */
export const DECIMAL = /^-?\d{1,15}(\.\d{1,6})?$/;
export const money = z.string().regex(DECIMAL, 'must be a decimal string');
export const text = z.string().nullish();
export const ref = z.object({ id: gid }).nullish();
export const address = z
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
  // UnsignedInt64 is serialised as a string.
  numberOfOrders: z.union([z.string().regex(/^\d{1,15}$/), z.number().int().nonnegative()]).nullish(),
  amountSpent: z.object({ amount: money, currencyCode: text }).nullish(),
  createdAt: time.nullish(),
  updatedAt: time,
  defaultAddress: address,
});
