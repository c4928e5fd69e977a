/**
 * Internal record shapes. Money is integer minor units (cents) internally and is only turned into
 * decimal strings at the edges (GraphQL, webhooks): never floats for money (issue 3).
 * Times are epoch milliseconds, always whole seconds for generated data.
 */

/** A postal address. */
export type AddressRec = {
  firstName: string;
  lastName: string;
  address1: string;
  address2: string | null;
  city: string;
  province: string;
  provinceCode: string;
  country: string;
  countryCode: string;
  zip: string;
  phone: string | null;
  company: string | null;
};

/** A product variant. */
export type VariantRec = {
  id: number;
  position: number;
  title: string;
  sku: string;
  barcode: string;
  priceCents: number;
  compareAtCents: number | null;
  inventoryQuantity: number;
  inventoryItemId: number;
  optionValue: string;
  taxable: boolean;
  grams: number;
};

/** A product image. */
export type ImageRec = { id: number; url: string; altText: string; width: number; height: number };

/** A product with its variants and images. */
export type ProductRec = {
  index: number;
  id: number;
  title: string;
  handle: string;
  descriptionHtml: string;
  vendor: string;
  productType: string;
  status: 'ACTIVE' | 'DRAFT' | 'ARCHIVED';
  tags: string[];
  createdAt: number;
  updatedAt: number;
  publishedAt: number | null;
  optionName: string;
  variants: VariantRec[];
  images: ImageRec[];
};

/** A customer. */
export type CustomerRec = {
  index: number;
  id: number;
  firstName: string;
  lastName: string;
  email: string;
  phone: string | null;
  state: 'ENABLED' | 'DISABLED' | 'INVITED' | 'DECLINED';
  tags: string[];
  note: string | null;
  verifiedEmail: boolean;
  taxExempt: boolean;
  acceptsMarketing: boolean;
  createdAt: number;
  updatedAt: number;
  address: AddressRec;
};

/** An order line. */
export type LineItemRec = {
  id: number;
  productId: number | null;
  variantId: number | null;
  title: string;
  variantTitle: string | null;
  sku: string | null;
  vendor: string | null;
  quantity: number;
  priceCents: number;
  discountCents: number;
  taxable: boolean;
  requiresShipping: boolean;
  fulfillableQuantity: number;
  fulfillmentStatus: 'fulfilled' | 'partial' | null;
  grams: number;
};

/** A payment transaction. */
export type TransactionRec = {
  id: number;
  kind: 'sale' | 'authorization' | 'capture' | 'refund' | 'void';
  status: 'success' | 'pending' | 'failure';
  gateway: string;
  amountCents: number;
  createdAt: number;
  parentId: number | null;
};

/** Lowercase REST names of Shopify's financial statuses. */
export type FinancialStatus =
  | 'pending'
  | 'authorized'
  | 'partially_paid'
  | 'paid'
  | 'partially_refunded'
  | 'refunded'
  | 'voided';

/** An order. */
export type OrderRec = {
  index: number;
  id: number;
  name: string;
  orderNumber: number;
  email: string;
  phone: string | null;
  customerId: number | null;
  createdAt: number;
  updatedAt: number;
  processedAt: number;
  cancelledAt: number | null;
  cancelReason: 'customer' | 'fraud' | 'inventory' | 'declined' | 'other' | null;
  closedAt: number | null;
  financialStatus: FinancialStatus;
  fulfillmentStatus: 'fulfilled' | 'partial' | null;
  currency: string;
  subtotalCents: number;
  shippingCents: number;
  taxCents: number;
  discountCents: number;
  totalCents: number;
  refundedCents: number;
  tags: string[];
  note: string | null;
  sourceName: string;
  lineItems: LineItemRec[];
  transactions: TransactionRec[];
  shippingAddress: AddressRec | null;
  billingAddress: AddressRec | null;
};

/** The three generated resource kinds. */
export type Kind = 'product' | 'customer' | 'order';

/** Any generated record. */
export type AnyRec = ProductRec | CustomerRec | OrderRec;
