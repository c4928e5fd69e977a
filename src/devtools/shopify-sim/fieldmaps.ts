/** Search fields per resource, as listed on each connection's `query` argument in the Admin API docs. */
import type { FieldMap } from './search.ts';
import type { CustomerRec, OrderRec, ProductRec, VariantRec } from './types.ts';

const ORDER_FULFILLMENT: Record<string, string[]> = {
  fulfilled: ['shipped', 'fulfilled'],
  partial: ['partial', 'unfulfilled'],
};

/** products(query:) fields. */
export const PRODUCT_FIELDS: FieldMap<ProductRec> = {
  fields: {
    id: (p) => p.id,
    title: (p) => p.title,
    vendor: (p) => p.vendor,
    product_type: (p) => p.productType,
    status: (p) => p.status.toLowerCase(),
    tag: (p) => p.tags,
    tag_not: (p) => p.tags,
    handle: (p) => p.handle,
    sku: (p) => p.variants.map((v) => v.sku),
    barcode: (p) => p.variants.map((v) => v.barcode),
    created_at: (p) => p.createdAt,
    updated_at: (p) => p.updatedAt,
    published_at: (p) => p.publishedAt,
    published_status: (p) => (p.publishedAt === null ? 'unpublished' : 'published'),
    inventory_total: (p) => p.variants.reduce((s, v) => s + v.inventoryQuantity, 0),
  },
  dateFields: new Set(['created_at', 'updated_at', 'published_at']),
  defaults: ['title', 'vendor', 'product_type', 'tag', 'sku'],
};

/** productVariants(query:) fields; records are [product, variant] pairs. */
export const VARIANT_FIELDS: FieldMap<[ProductRec, VariantRec]> = {
  fields: {
    id: ([, v]) => v.id,
    product_id: ([p]) => p.id,
    sku: ([, v]) => v.sku,
    barcode: ([, v]) => v.barcode,
    title: ([, v]) => v.title,
    vendor: ([p]) => p.vendor,
    product_type: ([p]) => p.productType,
    product_status: ([p]) => p.status.toLowerCase(),
    inventory_quantity: ([, v]) => v.inventoryQuantity,
    created_at: ([p]) => p.createdAt,
    updated_at: ([p]) => p.updatedAt,
  },
  dateFields: new Set(['created_at', 'updated_at']),
  defaults: ['title', 'sku', 'barcode'],
};

/** customers(query:) fields. */
export const CUSTOMER_FIELDS: FieldMap<CustomerRec> = {
  fields: {
    id: (c) => c.id,
    email: (c) => c.email,
    first_name: (c) => c.firstName,
    last_name: (c) => c.lastName,
    phone: (c) => c.phone,
    state: (c) => c.state.toLowerCase(),
    tag: (c) => c.tags,
    country: (c) => c.address.country,
    accepts_marketing: (c) => c.acceptsMarketing,
    created_at: (c) => c.createdAt,
    updated_at: (c) => c.updatedAt,
  },
  dateFields: new Set(['created_at', 'updated_at']),
  defaults: ['first_name', 'last_name', 'email', 'phone'],
};

/** orders(query:) fields. */
export const ORDER_FIELDS: FieldMap<OrderRec> = {
  fields: {
    id: (o) => o.id,
    name: (o) => [o.name, o.name.slice(1)],
    email: (o) => o.email,
    financial_status: (o) => o.financialStatus,
    fulfillment_status: (o) =>
      o.fulfillmentStatus ? ORDER_FULFILLMENT[o.fulfillmentStatus] : ['unshipped', 'unfulfilled'],
    // `status:any` matches every order, as on Shopify.
    status: (o) => [o.cancelledAt !== null ? 'cancelled' : o.closedAt !== null ? 'closed' : 'open', 'any'],
    tag: (o) => o.tags,
    customer_id: (o) => o.customerId,
    sku: (o) => o.lineItems.map((l) => l.sku ?? ''),
    source_name: (o) => o.sourceName,
    test: () => false,
    created_at: (o) => o.createdAt,
    updated_at: (o) => o.updatedAt,
    processed_at: (o) => o.processedAt,
  },
  dateFields: new Set(['created_at', 'updated_at', 'processed_at']),
  defaults: ['name', 'email'],
};
