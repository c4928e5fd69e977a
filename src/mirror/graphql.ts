import type { z } from 'zod';
import type {
  CustomerRow,
  LineItemRow,
  OrderWithItems,
  ProductWithVariants,
  TransactionRow,
  VariantRow,
} from './rows.ts';
import {
  ADDRESS,
  type address,
  DECIMAL,
  GID,
  gqlCustomerSchema,
  gqlProductSchema,
  gqlVariantSchema,
  idFromGid,
} from './graphql-nodes.ts';

/*
 * Mappers from Admin GraphQL nodes — what the sync engine reads from paginated queries and bulk
 * operation JSONL lines (issue 7) — to the normalized rows of rows.ts, so a record has the same
 * meaning whether a webhook (rest.ts) or sync wrote it. The selections below are the fields these
 * mappers need; queries build on them. Every node is validated with Zod before it is mapped.
 * Enumerations are lower-cased to REST's spelling (`PAID` → `paid`, `PARTIALLY_FULFILLED` →
 * `partial`) and money stays a decimal string.
 */

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
    currency: orNull(c.amountSpent?.currencyCode),
    ordersCount: c.numberOfOrders == null ? null : Number(c.numberOfOrders),
    totalSpent: decimal(c.amountSpent?.amount),
    defaultAddress: restAddress(c.defaultAddress),
    createdAt: orNull(c.createdAt),
    updatedAt: c.updatedAt,
  };
}

/*
 * Orders and their line items are the hot path of a backfill (a million orders, two million
 * lines): they are checked in place by the readers below — the same rules as the Zod schemas above
 * (types, global ids, ISO times, decimal strings), but without building a validated copy of every
 * node, which made Zod and its garbage a third of the sync process's time.
 */

/** A GraphQL node that does not have the expected shape. */
export class NodeShapeError extends Error {
  constructor(type: string, field: string, expected: string) {
    super(`GraphQL ${type} node: ${field} must be ${expected}`);
  }
}

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d{1,9})?)?(?:Z|[+-]\d\d:?\d\d)$/;
type Node = Record<string, unknown>;

/** Field readers for one node type: each returns the checked value or throws NodeShapeError. */
function readers(type: string) {
  const fail = (field: string, expected: string): never => {
    throw new NodeShapeError(type, field, expected);
  };
  const r = {
    object(node: unknown, field = 'node'): Node {
      return typeof node === 'object' && node !== null && !Array.isArray(node)
        ? (node as Node)
        : fail(field, 'an object');
    },
    text(n: Node, field: string): string | null {
      const v = n[field];
      return v == null ? null : typeof v === 'string' ? v : fail(field, 'a string');
    },
    string(n: Node, field: string): string {
      const v = n[field];
      return typeof v === 'string' ? v : fail(field, 'a string');
    },
    int(n: Node, field: string): number | null {
      const v = n[field];
      return v == null ? null : Number.isSafeInteger(v) ? (v as number) : fail(field, 'an integer');
    },
    bool(n: Node, field: string): boolean | null {
      const v = n[field];
      return v == null ? null : typeof v === 'boolean' ? v : fail(field, 'a boolean');
    },
    time(n: Node, field: string): string | null {
      const v = n[field];
      return v == null
        ? null
        : typeof v === 'string' && ISO_TIME.test(v)
          ? v
          : fail(field, 'an ISO-8601 time');
    },
    id(n: Node, field: string): number {
      const v = n[field];
      return typeof v === 'string' && GID.test(v) ? idFromGid(v) : fail(field, 'a Shopify global id');
    },
    /** `{ id }` reference (customer, product, variant, parent transaction) → numeric id. */
    ref(n: Node, field: string): number | null {
      const v = n[field];
      return v == null ? null : r.id(r.object(v, field), 'id');
    },
    /** `{ shopMoney { amount } }` → decimal string. */
    money(n: Node, field: string): string | null {
      const v = n[field];
      if (v == null) return null;
      const amount = r.object(r.object(v, field).shopMoney, `${field}.shopMoney`).amount;
      return typeof amount === 'string' && DECIMAL.test(amount)
        ? decimal(amount)
        : fail(`${field}.shopMoney.amount`, 'a decimal string');
    },
    tags(n: Node, field: string): string[] {
      const v = n[field];
      if (v == null) return [];
      if (!Array.isArray(v) || !v.every((t) => typeof t === 'string'))
        return fail(field, 'a list of strings');
      return v as string[];
    },
    address(n: Node, field: string): Record<string, unknown> | null {
      const v = n[field];
      if (v == null) return null;
      const a = r.object(v, field);
      for (const key of ADDRESS_KEYS)
        if (a[key] != null && typeof a[key] !== 'string') fail(`${field}.${key}`, 'a string');
      return restAddress(a as z.infer<typeof address>);
    },
  };
  return r;
}

const ADDRESS_KEYS = ADDRESS.split(' ');
const orderField = readers('Order');
const lineField = readers('LineItem');
const transactionField = readers('OrderTransaction');

/** REST's line-item fulfillment_status: null until something shipped (GraphQL says "unfulfilled"). */
function lineFulfillment(status: string | null): string | null {
  return !status || status === 'unfulfilled' ? null : status.toLowerCase();
}

/** A line item node → row. */
export function lineItemFromGraphql(node: unknown, orderId: number): LineItemRow {
  const f = lineField;
  const l = f.object(node);
  const price = f.money(l, 'originalUnitPriceSet');
  const quantity = f.int(l, 'quantity');
  if (price === null) throw new NodeShapeError('LineItem', 'originalUnitPriceSet', 'present');
  if (quantity === null) throw new NodeShapeError('LineItem', 'quantity', 'present');
  return {
    id: f.id(l, 'id'),
    orderId,
    productId: f.ref(l, 'product'),
    variantId: f.ref(l, 'variant'),
    title: f.string(l, 'title'),
    variantTitle: f.text(l, 'variantTitle'),
    sku: f.text(l, 'sku'),
    vendor: f.text(l, 'vendor'),
    quantity,
    price,
    totalDiscount: f.money(l, 'totalDiscountSet'),
    taxable: f.bool(l, 'taxable'),
    requiresShipping: f.bool(l, 'requiresShipping'),
    // Older selections (and pages stored by earlier versions) have unfulfilledQuantity only.
    fulfillableQuantity: f.int(l, 'fulfillableQuantity') ?? f.int(l, 'unfulfilledQuantity'),
    fulfillmentStatus: lineFulfillment(f.text(l, 'fulfillmentStatus')),
  };
}

function transactionFromGraphql(node: unknown, orderId: number, currency: string): TransactionRow {
  const f = transactionField;
  const t = f.object(node);
  const amountSet = f.object(t.amountSet, 'amountSet');
  const money = f.object(amountSet.shopMoney, 'amountSet.shopMoney');
  const amount = f.money(t, 'amountSet');
  if (amount === null) throw new NodeShapeError('OrderTransaction', 'amountSet', 'present');
  return {
    id: f.id(t, 'id'),
    orderId,
    parentId: f.ref(t, 'parentTransaction'),
    kind: f.string(t, 'kind').toLowerCase(),
    status: f.string(t, 'status').toLowerCase(),
    gateway: f.text(t, 'gateway'),
    amount,
    currency: f.text(money, 'currencyCode') ?? currency,
    processedAt: f.time(t, 'processedAt') ?? f.time(t, 'createdAt'),
  };
}

/** An order node (+ its line item nodes) → row with line items and transactions. */
export function orderFromGraphql(node: unknown, lineItemNodes: readonly unknown[] = []): OrderWithItems {
  const f = orderField;
  const o = f.object(node);
  const id = f.id(o, 'id');
  const name = f.text(o, 'name');
  const number = name ? /^\D*(\d+)\D*$/.exec(name) : null;
  const currency = f.string(o, 'currencyCode');
  const createdAt = f.time(o, 'createdAt');
  const updatedAt = f.time(o, 'updatedAt');
  if (createdAt === null) throw new NodeShapeError('Order', 'createdAt', 'present');
  if (updatedAt === null) throw new NodeShapeError('Order', 'updatedAt', 'present');
  const transactions = o.transactions == null ? [] : o.transactions;
  if (!Array.isArray(transactions)) throw new NodeShapeError('Order', 'transactions', 'a list');
  return {
    id,
    name,
    orderNumber: number ? Number(number[1]) : null,
    email: f.text(o, 'email'),
    phone: f.text(o, 'phone'),
    customerId: f.ref(o, 'customer'),
    currency,
    financialStatus: lower(f.text(o, 'displayFinancialStatus')),
    fulfillmentStatus: fulfillment(f.text(o, 'displayFulfillmentStatus')),
    cancelReason: lower(f.text(o, 'cancelReason')),
    cancelledAt: f.time(o, 'cancelledAt'),
    closedAt: f.time(o, 'closedAt'),
    processedAt: f.time(o, 'processedAt'),
    subtotalPrice: f.money(o, 'subtotalPriceSet'),
    totalDiscounts: f.money(o, 'totalDiscountsSet'),
    totalShipping: f.money(o, 'totalShippingPriceSet'),
    totalTax: f.money(o, 'totalTaxSet'),
    totalPrice: f.money(o, 'totalPriceSet') ?? '0.00',
    currentTotalPrice: f.money(o, 'currentTotalPriceSet'),
    tags: f.tags(o, 'tags'),
    note: f.text(o, 'note'),
    sourceName: f.text(o, 'sourceName'),
    test: f.bool(o, 'test') ?? false,
    billingAddress: f.address(o, 'billingAddress'),
    shippingAddress: f.address(o, 'shippingAddress'),
    createdAt,
    updatedAt,
    lineItems: lineItemNodes.map((l) => lineItemFromGraphql(l, id)),
    transactions: transactions.map((t) => transactionFromGraphql(t, id, currency)),
  };
}
