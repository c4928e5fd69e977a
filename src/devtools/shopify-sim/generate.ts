/**
 * The seeded generator. Each record is a pure function of (seed, shop, kind, index): nothing is
 * stored, which is how a 1,000,000-order shop fits in a few megabytes (issue 3). Timestamps are laid
 * out so both createdAt and updatedAt grow with the index, which lets search filters and
 * UPDATED_AT pagination binary-search instead of scanning.
 */
import { childId, recordId, SLOTS } from './ids.ts';
import { createRng, mix32, type Rng } from './rng.ts';
import type {
  AddressRec,
  CustomerRec,
  FinancialStatus,
  ImageRec,
  Kind,
  LineItemRec,
  OrderRec,
  ProductRec,
  TransactionRec,
  VariantRec,
} from './types.ts';
import {
  ADJECTIVES,
  CITIES,
  EMAIL_DOMAINS,
  FIRST_NAMES,
  GATEWAYS,
  LAST_NAMES,
  PRODUCT_TYPES,
  STREETS,
  TAGS,
  VENDORS,
} from './words.ts';

/** What the generator needs to know about a shop. */
export type GenContext = {
  shop: string;
  /** hash(seed, shop): the root of every record's randomness. */
  hash: number;
  offset: number;
  currency: string;
  counts: Record<Kind, number>;
  /** Small caches of the product/customer facts that order lines and addresses reuse. */
  productCache: Map<number, ProductRec>;
  customerCache: Map<number, CustomerRec>;
};

/** Generated history ends here, so anything created through the control API sorts after it. */
export const EPOCH_END = Date.UTC(2025, 0, 1);
const DAY = 86_400_000;
const SPAN: Record<Kind, number> = { product: 3 * 365 * DAY, customer: 3 * 365 * DAY, order: 2 * 365 * DAY };
const LAG: Record<Kind, number> = { product: 2 * DAY, customer: 3_600_000, order: 6 * 3_600_000 };
const SALT: Record<Kind, number> = { product: 0x50524f44, customer: 0x43555354, order: 0x4f524445 };
const CACHE_LIMIT = 4096;

function recordRng(ctx: GenContext, kind: Kind, index: number): Rng {
  return createRng(mix32(mix32(ctx.hash, SALT[kind]), index));
}

function slotOf(ctx: GenContext, kind: Kind): number {
  return SPAN[kind] / Math.max(ctx.counts[kind], 1);
}

function timesFrom(ctx: GenContext, kind: Kind, index: number, v: number, u: number): [number, number] {
  const slot = slotOf(ctx, kind);
  const raw = EPOCH_END - SPAN[kind] + index * slot + (v * slot) / 2;
  const created = Math.floor(raw / 1000) * 1000;
  const updated = Math.floor((raw + LAG[kind] + (u * slot) / 2) / 1000) * 1000;
  return [created, updated];
}

/** createdAt of generated record i: cheap (two random draws), monotonic in i. */
export function createdAtOf(ctx: GenContext, kind: Kind, index: number): number {
  const rng = recordRng(ctx, kind, index);
  return timesFrom(ctx, kind, index, rng.next(), rng.next())[0];
}

/** updatedAt of generated record i: cheap, monotonic in i. */
export function updatedAtOf(ctx: GenContext, kind: Kind, index: number): number {
  const rng = recordRng(ctx, kind, index);
  return timesFrom(ctx, kind, index, rng.next(), rng.next())[1];
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

function asciiLower(text: string): string {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase();
}

function pickTags(rng: Rng, max: number): string[] {
  const n = rng.int(max + 1);
  const tags: string[] = [];
  for (let i = 0; i < n; i++) {
    const tag = rng.pick(TAGS);
    if (!tags.includes(tag)) tags.push(tag);
  }
  return tags.sort();
}

/** What order lines need of a product; the first draws of its generator, so cheap to make alone. */
type ProductCore = {
  id: number;
  rng: Rng;
  createdAt: number;
  updatedAt: number;
  kind: (typeof PRODUCT_TYPES)[number];
  title: string;
  vendor: string;
  variants: VariantRec[];
};

const SKU_SUFFIX = new Map<string, string>();
function skuSuffix(optionValue: string): string {
  let suffix = SKU_SUFFIX.get(optionValue);
  if (suffix === undefined) {
    suffix = slug(optionValue).toUpperCase();
    SKU_SUFFIX.set(optionValue, suffix);
  }
  return suffix;
}

function productCore(ctx: GenContext, index: number): ProductCore {
  const rng = recordRng(ctx, 'product', index);
  const [createdAt, updatedAt] = timesFrom(ctx, 'product', index, rng.next(), rng.next());
  const kind = rng.pick(PRODUCT_TYPES);
  const title = `${rng.pick(ADJECTIVES)} ${rng.pick(kind.nouns)}`;
  const vendor = rng.pick(VENDORS);
  const variantCount = Math.min(kind.values.length, 1 + rng.int(4), SLOTS.ProductVariant);
  const basePrice = (8 + rng.int(80)) * 100 + (rng.chance(0.6) ? 99 : 0);
  const first = rng.int(kind.values.length - variantCount + 1);
  const grams = 100 + rng.int(900);
  const taxable = rng.chance(0.95);
  const code = kind.type
    .replace(/[^A-Za-z]/g, '')
    .slice(0, 3)
    .toUpperCase();
  const variants: VariantRec[] = [];
  for (let k = 0; k < variantCount; k++) {
    const optionValue = kind.values[first + k];
    const priceCents = basePrice + (rng.chance(0.3) ? k * 200 : 0);
    variants.push({
      id: childId('ProductVariant', ctx.offset, index, k),
      position: k + 1,
      title: optionValue,
      sku: `${code}-${index + 1}-${skuSuffix(optionValue)}`,
      barcode: String(400000000000 + ((mix32(ctx.hash, index * 8 + k) % 99999999) + 1)),
      priceCents,
      compareAtCents: rng.chance(0.2) ? priceCents + 500 + rng.int(20) * 100 : null,
      inventoryQuantity: rng.chance(0.08) ? 0 : rng.int(250),
      inventoryItemId: childId('InventoryItem', ctx.offset, index, k),
      optionValue,
      taxable,
      grams,
    });
  }
  return {
    id: recordId('Product', ctx.offset, index),
    rng,
    createdAt,
    updatedAt,
    kind,
    title,
    vendor,
    variants,
  };
}

/** Generates product i in full (variants, inventory, images, tags). */
export function generateProduct(ctx: GenContext, index: number): ProductRec {
  const { rng, createdAt, updatedAt, kind, title, vendor, variants } = productCore(ctx, index);
  const statusRoll = rng.next();
  const status = statusRoll < 0.85 ? 'ACTIVE' : statusRoll < 0.95 ? 'DRAFT' : 'ARCHIVED';
  const tags = pickTags(rng, 3);
  const handle = `${slug(title)}-${index + 1}`;
  const images: ImageRec[] = [];
  const imageCount = 1 + rng.int(3);
  for (let k = 0; k < imageCount; k++) {
    images.push({
      id: childId('ProductImage', ctx.offset, index, k),
      url: `https://cdn.shopify.com/s/files/1/0000/0001/files/${handle}-${k + 1}.jpg`,
      altText: `${title} image ${k + 1}`,
      width: 2048,
      height: rng.chance(0.5) ? 2048 : 1536,
    });
  }
  return {
    index,
    id: recordId('Product', ctx.offset, index),
    title,
    handle,
    descriptionHtml: `<p>The ${title.toLowerCase()} from ${vendor}. ${kind.type} made to last.</p>`,
    vendor,
    productType: kind.type,
    status,
    tags,
    createdAt,
    updatedAt,
    publishedAt: status === 'ACTIVE' ? createdAt : null,
    optionName: kind.option,
    variants,
    images,
  };
}

function makeAddress(rng: Rng, firstName: string, lastName: string, phone: string | null): AddressRec {
  const place = rng.pick(CITIES);
  return {
    firstName,
    lastName,
    address1: `${1 + rng.int(9800)} ${rng.pick(STREETS)}`,
    address2: rng.chance(0.15) ? `Apt ${1 + rng.int(40)}` : null,
    city: place.city,
    province: place.province,
    provinceCode: place.provinceCode,
    country: place.country,
    countryCode: place.countryCode,
    zip: `${place.zip}${rng.int(10)}${rng.int(10)}`,
    phone,
    company: rng.chance(0.05) ? `${lastName} Studio` : null,
  };
}

/** Generates customer i. */
export function generateCustomer(ctx: GenContext, index: number): CustomerRec {
  const rng = recordRng(ctx, 'customer', index);
  const [createdAt, updatedAt] = timesFrom(ctx, 'customer', index, rng.next(), rng.next());
  const firstName = rng.pick(FIRST_NAMES);
  const lastName = rng.pick(LAST_NAMES);
  const email = `${asciiLower(firstName)}.${asciiLower(lastName)}${index + 1}@${rng.pick(EMAIL_DOMAINS)}`;
  const phone = rng.chance(0.6) ? `+1555${String(1000000 + rng.int(8999999))}` : null;
  const address = makeAddress(rng, firstName, lastName, phone);
  const stateRoll = rng.next();
  const state =
    stateRoll < 0.7 ? 'ENABLED' : stateRoll < 0.95 ? 'DISABLED' : stateRoll < 0.99 ? 'INVITED' : 'DECLINED';
  return {
    index,
    id: recordId('Customer', ctx.offset, index),
    firstName,
    lastName,
    email,
    phone,
    state,
    tags: rng.chance(0.3) ? pickTags(rng, 2) : [],
    note: rng.chance(0.05) ? 'Prefers email contact.' : null,
    verifiedEmail: rng.chance(0.9),
    taxExempt: rng.chance(0.02),
    acceptsMarketing: rng.chance(0.4),
    createdAt,
    updatedAt,
    address,
  };
}

// Caches only pay off when everything fits: a thrashing cache promotes short-lived records to the
// old generation, which is what grows the heap (and RSS) during a 1M-order export.
function productFor(ctx: GenContext, index: number): ProductRec | ProductCore {
  // Order lines read only the first facts (id, title, vendor, variants): the rest of a product (tags,
  // handle, images, status) is not drawn for them.
  if (ctx.counts.product > CACHE_LIMIT) return productCore(ctx, index);
  let product = ctx.productCache.get(index);
  if (product === undefined) {
    product = generateProduct(ctx, index);
    ctx.productCache.set(index, product);
  }
  return product;
}

function customerFor(ctx: GenContext, index: number): CustomerRec {
  if (ctx.counts.customer > CACHE_LIMIT) return generateCustomer(ctx, index);
  let customer = ctx.customerCache.get(index);
  if (customer === undefined) {
    customer = generateCustomer(ctx, index);
    ctx.customerCache.set(index, customer);
  }
  return customer;
}

/** Tax rates in per-mille by country, rough but plausible. */
const TAX_PERMILLE: Record<string, number> = { US: 80, CA: 130, GB: 200, DE: 190 };

function financialRoll(rng: Rng): FinancialStatus {
  const r = rng.next();
  if (r < 0.78) return 'paid';
  if (r < 0.82) return 'pending';
  if (r < 0.86) return 'authorized';
  if (r < 0.9) return 'partially_refunded';
  if (r < 0.95) return 'refunded';
  if (r < 0.98) return 'voided';
  return 'partially_paid';
}

const CANCEL_REASONS = ['customer', 'fraud', 'inventory', 'declined', 'other'] as const;

function makeLines(ctx: GenContext, index: number, rng: Rng): LineItemRec[] {
  const roll = rng.next();
  const count = roll < 0.45 ? 1 : roll < 0.75 ? 2 : roll < 0.9 ? 3 : 4 + rng.int(3);
  const lines: LineItemRec[] = [];
  for (let k = 0; k < count; k++) {
    const quantity = rng.chance(0.75) ? 1 : 2 + rng.int(3);
    const discountPct = rng.chance(0.12) ? 10 : 0;
    if (ctx.counts.product === 0) {
      const priceCents = (5 + rng.int(50)) * 100;
      lines.push({
        id: childId('LineItem', ctx.offset, index, k),
        productId: null,
        variantId: null,
        title: 'Custom item',
        variantTitle: null,
        sku: null,
        vendor: null,
        quantity,
        priceCents,
        discountCents: Math.round((priceCents * quantity * discountPct) / 100),
        taxable: true,
        requiresShipping: true,
        fulfillableQuantity: quantity,
        fulfillmentStatus: null,
        grams: 0,
      });
      continue;
    }
    const product = productFor(ctx, rng.int(ctx.counts.product));
    const variant = product.variants[rng.int(product.variants.length)];
    lines.push({
      id: childId('LineItem', ctx.offset, index, k),
      productId: product.id,
      variantId: variant.id,
      title: product.title,
      variantTitle: variant.title,
      sku: variant.sku,
      vendor: product.vendor,
      quantity,
      priceCents: variant.priceCents,
      discountCents: Math.round((variant.priceCents * quantity * discountPct) / 100),
      taxable: variant.taxable,
      requiresShipping: true,
      fulfillableQuantity: quantity,
      fulfillmentStatus: null,
      grams: variant.grams,
    });
  }
  return lines;
}

/** Generates order i with its lines, totals, statuses and transactions. */
export function generateOrder(ctx: GenContext, index: number): OrderRec {
  const rng = recordRng(ctx, 'order', index);
  const [createdAt, updatedAt] = timesFrom(ctx, 'order', index, rng.next(), rng.next());
  const customer =
    ctx.counts.customer > 0 && rng.chance(0.92) ? customerFor(ctx, rng.int(ctx.counts.customer)) : null;
  const lineItems = makeLines(ctx, index, rng);
  let subtotalCents = 0;
  let discountCents = 0;
  for (const line of lineItems) {
    subtotalCents += line.priceCents * line.quantity - line.discountCents;
    discountCents += line.discountCents;
  }
  const address = customer ? customer.address : null;
  const shippingCents = subtotalCents >= 7500 ? 0 : rng.chance(0.5) ? 599 : 899;
  const taxCents = Math.round((subtotalCents * (TAX_PERMILLE[address?.countryCode ?? 'US'] ?? 80)) / 1000);
  const totalCents = subtotalCents + shippingCents + taxCents;
  let financialStatus = financialRoll(rng);
  const cancelled = rng.chance(0.03);
  if (cancelled && financialStatus !== 'voided') financialStatus = 'refunded';
  const gateway = financialStatus === 'pending' ? 'manual' : rng.pick(GATEWAYS);
  const transactions: TransactionRec[] = [];
  const tx = (
    kind: TransactionRec['kind'],
    status: TransactionRec['status'],
    amountCents: number,
    parentId: number | null,
    at: number,
  ): number => {
    const id = childId('OrderTransaction', ctx.offset, index, transactions.length);
    transactions.push({ id, kind, status, gateway, amountCents, createdAt: at, parentId });
    return id;
  };
  let refundedCents = 0;
  if (financialStatus === 'pending') {
    tx('sale', 'pending', totalCents, null, createdAt);
  } else if (financialStatus === 'authorized') {
    tx('authorization', 'success', totalCents, null, createdAt);
  } else if (financialStatus === 'voided') {
    const auth = tx('authorization', 'success', totalCents, null, createdAt);
    tx('void', 'success', 0, auth, updatedAt);
  } else if (financialStatus === 'partially_paid') {
    tx('sale', 'success', Math.floor(totalCents / 2), null, createdAt);
  } else {
    const sale = tx('sale', 'success', totalCents, null, createdAt);
    if (financialStatus === 'refunded') refundedCents = totalCents;
    if (financialStatus === 'partially_refunded') refundedCents = Math.max(1, Math.floor(totalCents / 3));
    if (refundedCents > 0) tx('refund', 'success', refundedCents, sale, updatedAt);
  }
  let fulfillmentStatus: OrderRec['fulfillmentStatus'] = null;
  if (!cancelled && (financialStatus === 'paid' || financialStatus === 'partially_refunded')) {
    const roll = rng.next();
    fulfillmentStatus = roll < 0.75 ? 'fulfilled' : roll < 0.85 ? 'partial' : null;
  }
  for (let k = 0; k < lineItems.length; k++) {
    const line = lineItems[k];
    const done = fulfillmentStatus === 'fulfilled' || (fulfillmentStatus === 'partial' && k === 0);
    line.fulfillmentStatus = done ? 'fulfilled' : null;
    line.fulfillableQuantity = done || cancelled ? 0 : line.quantity;
  }
  const email = customer ? customer.email : `guest${index + 1}@example.com`;
  return {
    index,
    id: recordId('Order', ctx.offset, index),
    name: `#${1001 + index}`,
    orderNumber: 1001 + index,
    email,
    phone: customer ? customer.phone : null,
    customerId: customer ? customer.id : null,
    createdAt,
    updatedAt,
    processedAt: createdAt,
    cancelledAt: cancelled ? updatedAt : null,
    cancelReason: cancelled ? rng.pick(CANCEL_REASONS) : null,
    closedAt: cancelled || fulfillmentStatus === 'fulfilled' ? updatedAt : null,
    financialStatus,
    fulfillmentStatus,
    currency: ctx.currency,
    subtotalCents,
    shippingCents,
    taxCents,
    discountCents,
    totalCents,
    refundedCents,
    tags: rng.chance(0.2) ? pickTags(rng, 2) : [],
    note: rng.chance(0.04) ? 'Gift wrap, please.' : null,
    sourceName: rng.chance(0.9) ? 'web' : 'pos',
    lineItems,
    transactions,
    shippingAddress: address,
    billingAddress: address,
  };
}

/** Generates record i of any kind. */
export function generate(ctx: GenContext, kind: Kind, index: number): ProductRec | CustomerRec | OrderRec {
  if (kind === 'product') return generateProduct(ctx, index);
  if (kind === 'customer') return generateCustomer(ctx, index);
  return generateOrder(ctx, index);
}
