/** GraphQL views of customers, orders, line items and transactions. */
import { getRecord } from './collection.ts';
import { type PageArgs, pageFromArray } from './connection.ts';
import { type Ctx, requireScope } from './context.ts';
import { decimalString, gid, isoTime } from './format.ts';
import { customerStats } from './customer-stats.ts';
import { recordIndex } from './ids.ts';
import type { ShopState } from './shops.ts';
import type { AddressRec, CustomerRec, LineItemRec, OrderRec, TransactionRec } from './types.ts';
import { ProductView, VariantView, variantById } from './views-catalog.ts';

/** A MoneyBag with the same amount in shop and presentment currency. */
export function moneyBag(cents: number, currencyCode: string) {
  const money = { amount: decimalString(cents), currencyCode };
  return { shopMoney: money, presentmentMoney: money };
}

/** A MailingAddress view. */
export function addressView(a: AddressRec | null, ownerId: number) {
  if (!a) return null;
  return {
    __typename: 'MailingAddress',
    id: `gid://shopify/MailingAddress/${ownerId}?model_name=CustomerAddress`,
    firstName: a.firstName,
    lastName: a.lastName,
    name: `${a.firstName} ${a.lastName}`,
    address1: a.address1,
    address2: a.address2,
    city: a.city,
    province: a.province,
    provinceCode: a.provinceCode,
    country: a.country,
    countryCodeV2: a.countryCode,
    zip: a.zip,
    phone: a.phone,
    company: a.company,
  };
}

/** A customer's GraphQL view. */
export class CustomerView {
  readonly __typename = 'Customer';
  readonly c: CustomerRec;
  readonly shop: ShopState;
  constructor(c: CustomerRec, shop: ShopState) {
    this.c = c;
    this.shop = shop;
  }
  get numberOfOrders() {
    // UnsignedInt64 is a string in JSON.
    return String(customerStats(this.shop, this.c.id).orders);
  }
  get amountSpent() {
    return {
      amount: decimalString(customerStats(this.shop, this.c.id).spentCents),
      currencyCode: this.shop.currency,
    };
  }
  get id() {
    return gid('Customer', this.c.id);
  }
  get legacyResourceId() {
    return String(this.c.id);
  }
  get firstName() {
    return this.c.firstName;
  }
  get lastName() {
    return this.c.lastName;
  }
  get displayName() {
    return `${this.c.firstName} ${this.c.lastName}`.trim() || this.c.email;
  }
  get email() {
    return this.c.email;
  }
  get phone() {
    return this.c.phone;
  }
  get state() {
    return this.c.state;
  }
  get tags() {
    return this.c.tags;
  }
  get note() {
    return this.c.note;
  }
  get verifiedEmail() {
    return this.c.verifiedEmail;
  }
  get taxExempt() {
    return this.c.taxExempt;
  }
  get createdAt() {
    return isoTime(this.c.createdAt);
  }
  get updatedAt() {
    return isoTime(this.c.updatedAt);
  }
  get defaultAddress() {
    return addressView(this.c.address, this.c.id);
  }
  addresses() {
    return [addressView(this.c.address, this.c.id)];
  }
}

/** The customer record for an id in this shop, or null. */
export function customerRecById(ctx: Ctx, numericId: number): CustomerRec | null {
  const index = recordIndex('Customer', ctx.shop.ctx.offset, numericId);
  return index < 0 ? null : getRecord(ctx.shop.customers, index);
}

const FULFILLMENT: Record<string, string> = { fulfilled: 'FULFILLED', partial: 'PARTIALLY_FULFILLED' };

/** A line item's GraphQL view. */
export class LineItemView {
  readonly __typename = 'LineItem';
  readonly ctx: Ctx;
  readonly l: LineItemRec;
  readonly currency: string;
  constructor(ctx: Ctx, l: LineItemRec, currency: string) {
    this.ctx = ctx;
    this.l = l;
    this.currency = currency;
  }
  get id() {
    return gid('LineItem', this.l.id);
  }
  get name() {
    return this.l.variantTitle ? `${this.l.title} - ${this.l.variantTitle}` : this.l.title;
  }
  get title() {
    return this.l.title;
  }
  get quantity() {
    return this.l.quantity;
  }
  get currentQuantity() {
    return this.l.quantity;
  }
  get unfulfilledQuantity() {
    return this.l.fulfillableQuantity;
  }
  get fulfillableQuantity() {
    return this.l.fulfillableQuantity;
  }
  /** Deprecated on Shopify but still served: "fulfilled", "partial" or "unfulfilled". */
  get fulfillmentStatus() {
    return this.l.fulfillmentStatus ?? 'unfulfilled';
  }
  get sku() {
    return this.l.sku;
  }
  get vendor() {
    return this.l.vendor;
  }
  get variantTitle() {
    return this.l.variantTitle;
  }
  get taxable() {
    return this.l.taxable;
  }
  get requiresShipping() {
    return this.l.requiresShipping;
  }
  get originalUnitPriceSet() {
    return moneyBag(this.l.priceCents, this.currency);
  }
  get discountedUnitPriceSet() {
    return moneyBag(this.l.priceCents - Math.round(this.l.discountCents / this.l.quantity), this.currency);
  }
  get originalTotalSet() {
    return moneyBag(this.l.priceCents * this.l.quantity, this.currency);
  }
  get discountedTotalSet() {
    return moneyBag(this.l.priceCents * this.l.quantity - this.l.discountCents, this.currency);
  }
  get totalDiscountSet() {
    return moneyBag(this.l.discountCents, this.currency);
  }
  get product() {
    if (this.l.productId === null) return null;
    requireScope(this.ctx, 'read_products', 'product');
    const index = recordIndex('Product', this.ctx.shop.ctx.offset, this.l.productId);
    // Deleted products read as null; everything else loads lazily from the id.
    if (this.ctx.shop.products.overlay.get(index) === null) return null;
    return new ProductView(this.ctx, this.l.productId);
  }
  get variant() {
    if (this.l.variantId === null) return null;
    requireScope(this.ctx, 'read_products', 'variant');
    const products = this.ctx.shop.products;
    const index =
      this.l.productId === null ? -1 : recordIndex('Product', this.ctx.shop.ctx.offset, this.l.productId);
    // A generated product nobody changed still has the variant the line was made from: it loads
    // lazily (like `product`); a changed or deleted product is looked up now.
    if (index >= 0 && index < products.generated && !products.overlay.has(index))
      return new VariantView(this.ctx, null, { id: this.l.variantId });
    return variantById(this.ctx, this.l.variantId);
  }
}

/** A transaction's GraphQL view. */
export function transactionView(
  t: TransactionRec,
  all: TransactionRec[],
  currency: string,
): Record<string, unknown> {
  const parent = t.parentId === null ? null : all.find((x) => x.id === t.parentId);
  return {
    __typename: 'OrderTransaction',
    id: gid('OrderTransaction', t.id),
    kind: t.kind.toUpperCase(),
    status: t.status.toUpperCase(),
    gateway: t.gateway,
    test: false,
    amountSet: moneyBag(t.amountCents, currency),
    createdAt: isoTime(t.createdAt),
    processedAt: isoTime(t.createdAt),
    parentTransaction: parent ? transactionView(parent, all, currency) : null,
  };
}

/** An order's GraphQL view. */
export class OrderView {
  readonly __typename = 'Order';
  readonly ctx: Ctx;
  readonly o: OrderRec;
  constructor(ctx: Ctx, o: OrderRec) {
    this.ctx = ctx;
    this.o = o;
  }
  get id() {
    return gid('Order', this.o.id);
  }
  get legacyResourceId() {
    return String(this.o.id);
  }
  get name() {
    return this.o.name;
  }
  get email() {
    return this.o.email;
  }
  get phone() {
    return this.o.phone;
  }
  get createdAt() {
    return isoTime(this.o.createdAt);
  }
  get updatedAt() {
    return isoTime(this.o.updatedAt);
  }
  get processedAt() {
    return isoTime(this.o.processedAt);
  }
  get cancelledAt() {
    return this.o.cancelledAt === null ? null : isoTime(this.o.cancelledAt);
  }
  get cancelReason() {
    return this.o.cancelReason === null ? null : this.o.cancelReason.toUpperCase();
  }
  get closed() {
    return this.o.closedAt !== null;
  }
  get closedAt() {
    return this.o.closedAt === null ? null : isoTime(this.o.closedAt);
  }
  get confirmed() {
    return true;
  }
  get test() {
    return false;
  }
  get displayFinancialStatus() {
    return this.o.financialStatus.toUpperCase();
  }
  get displayFulfillmentStatus() {
    return this.o.fulfillmentStatus ? FULFILLMENT[this.o.fulfillmentStatus] : 'UNFULFILLED';
  }
  get fullyPaid() {
    return ['paid', 'partially_refunded', 'refunded'].includes(this.o.financialStatus);
  }
  get currencyCode() {
    return this.o.currency;
  }
  get presentmentCurrencyCode() {
    return this.o.currency;
  }
  get sourceName() {
    return this.o.sourceName;
  }
  get tags() {
    return this.o.tags;
  }
  get note() {
    return this.o.note;
  }
  get subtotalPriceSet() {
    return moneyBag(this.o.subtotalCents, this.o.currency);
  }
  get totalPriceSet() {
    return moneyBag(this.o.totalCents, this.o.currency);
  }
  get totalTaxSet() {
    return moneyBag(this.o.taxCents, this.o.currency);
  }
  get totalDiscountsSet() {
    return moneyBag(this.o.discountCents, this.o.currency);
  }
  get totalShippingPriceSet() {
    return moneyBag(this.o.shippingCents, this.o.currency);
  }
  get totalRefundedSet() {
    return moneyBag(this.o.refundedCents, this.o.currency);
  }
  get currentTotalPriceSet() {
    return moneyBag(this.o.totalCents - this.o.refundedCents, this.o.currency);
  }
  get customer() {
    if (this.o.customerId === null) return null;
    requireScope(this.ctx, 'read_customers', 'customer');
    const rec = customerRecById(this.ctx, this.o.customerId);
    return rec ? new CustomerView(rec, this.ctx.shop) : null;
  }
  get shippingAddress() {
    return addressView(this.o.shippingAddress, this.o.id);
  }
  get billingAddress() {
    return addressView(this.o.billingAddress, this.o.id);
  }
  lineItems(args: PageArgs) {
    return pageFromArray(
      this.o.lineItems,
      args,
      (l) => l.id,
      (l) => new LineItemView(this.ctx, l, this.o.currency),
    );
  }
  /** Bulk export iterates every line of a nested connection. */
  allLineItems() {
    return this.o.lineItems.map((l) => new LineItemView(this.ctx, l, this.o.currency));
  }
  transactions(args: { first?: number | null }) {
    const all = this.o.transactions;
    const list = args.first != null ? all.slice(0, args.first) : all;
    return list.map((t) => transactionView(t, all, this.o.currency));
  }
  refunds(args: { first?: number | null }) {
    const refunds = this.o.transactions.filter((t) => t.kind === 'refund');
    const list = args.first != null ? refunds.slice(0, args.first) : refunds;
    return list.map((t) => ({
      __typename: 'Refund',
      id: gid('Refund', t.id),
      createdAt: isoTime(t.createdAt),
      totalRefundedSet: moneyBag(t.amountCents, this.o.currency),
    }));
  }
}
