/**
 * Record writes through the control API. Each write lands in the shop's overlay and emits the
 * webhooks Shopify would send for it (issue 3: "creates, updates and deletes records, which
 * produces webhooks").
 */
import type { Runtime } from './admin-api.ts';
import { type Collection, deleteRecord, getRecord, overlayTime, putRecord, scan } from './collection.ts';
import { generate } from './generate.ts';
import { childId, recordIndex } from './ids.ts';
import { revokeShop } from './oauth.ts';
import { customerToRest, orderToRest, productToRest, shopToRest } from './rest.ts';
import type { ShopState } from './shops.ts';
import type { AnyRec, CustomerRec, FinancialStatus, Kind, OrderRec, ProductRec } from './types.ts';
import { type Delivery, emitWebhook } from './webhooks.ts';

/** Changes to a product. Prices are decimal strings. */
export type ProductPatch = {
  title?: string;
  vendor?: string;
  productType?: string;
  status?: ProductRec['status'];
  tags?: string[];
  descriptionHtml?: string;
  variants?: { title?: string; price?: string; sku?: string; inventoryQuantity?: number }[];
};

/** Changes to a customer. */
export type CustomerPatch = {
  firstName?: string;
  lastName?: string;
  email?: string;
  phone?: string | null;
  tags?: string[];
  state?: CustomerRec['state'];
  note?: string | null;
};

/** Changes to an order. Prices are decimal strings. */
export type OrderPatch = {
  email?: string;
  customerId?: number | null;
  financialStatus?: FinancialStatus;
  fulfillmentStatus?: 'fulfilled' | 'partial' | null;
  tags?: string[];
  note?: string | null;
  lineItems?: { title?: string; variantId?: number; quantity: number; price?: string }[];
  cancelReason?: NonNullable<OrderRec['cancelReason']>;
};

/** Result of a write: the record (or null after delete) and the webhook deliveries it caused. */
export type WriteResult<R> = { record: R | null; deliveries: Delivery[] };

function collectionOf(shop: ShopState, kind: Kind): Collection<AnyRec> {
  return (
    kind === 'product' ? shop.products : kind === 'customer' ? shop.customers : shop.orders
  ) as Collection<AnyRec>;
}

function cents(price: string): number {
  const [units, frac = ''] = price.split('.');
  return Number(units) * 100 + Number(frac.padEnd(2, '0').slice(0, 2));
}

function applyProduct(p: ProductRec, patch: ProductPatch): void {
  if (patch.title !== undefined) p.title = patch.title;
  if (patch.vendor !== undefined) p.vendor = patch.vendor;
  if (patch.productType !== undefined) p.productType = patch.productType;
  if (patch.status !== undefined) {
    p.status = patch.status;
    p.publishedAt = patch.status === 'ACTIVE' ? (p.publishedAt ?? p.updatedAt) : null;
  }
  if (patch.tags !== undefined) p.tags = [...patch.tags].sort();
  if (patch.descriptionHtml !== undefined) p.descriptionHtml = patch.descriptionHtml;
  patch.variants?.forEach((v, k) => {
    const target = p.variants[k];
    if (!target) return;
    if (v.title !== undefined) target.title = target.optionValue = v.title;
    if (v.price !== undefined) target.priceCents = cents(v.price);
    if (v.sku !== undefined) target.sku = v.sku;
    if (v.inventoryQuantity !== undefined) target.inventoryQuantity = v.inventoryQuantity;
  });
}

function applyCustomer(c: CustomerRec, patch: CustomerPatch): void {
  if (patch.firstName !== undefined) c.firstName = c.address.firstName = patch.firstName;
  if (patch.lastName !== undefined) c.lastName = c.address.lastName = patch.lastName;
  if (patch.email !== undefined) c.email = patch.email;
  if (patch.phone !== undefined) c.phone = patch.phone;
  if (patch.tags !== undefined) c.tags = [...patch.tags].sort();
  if (patch.state !== undefined) c.state = patch.state;
  if (patch.note !== undefined) c.note = patch.note;
}

function applyOrder(shop: ShopState, o: OrderRec, patch: OrderPatch): void {
  if (patch.email !== undefined) o.email = patch.email;
  if (patch.customerId !== undefined) o.customerId = patch.customerId;
  if (patch.tags !== undefined) o.tags = [...patch.tags].sort();
  if (patch.note !== undefined) o.note = patch.note;
  if (patch.lineItems) {
    o.lineItems = patch.lineItems.map((l, k) => {
      let title = l.title ?? 'Custom item';
      let priceCents = l.price !== undefined ? cents(l.price) : 1000;
      let variantTitle: string | null = null;
      let sku: string | null = null;
      let productId: number | null = null;
      let vendor: string | null = null;
      if (l.variantId !== undefined) {
        for (const p of scan(shop.products, { sortKey: 'ID', descending: false })) {
          const v = p.variants.find((x) => x.id === l.variantId);
          if (!v) continue;
          title = l.title ?? p.title;
          priceCents = l.price !== undefined ? cents(l.price) : v.priceCents;
          variantTitle = v.title;
          sku = v.sku;
          productId = p.id;
          vendor = p.vendor;
          break;
        }
      }
      return {
        id: childId('LineItem', shop.ctx.offset, o.index, k),
        productId,
        variantId: productId === null ? null : (l.variantId ?? null),
        title,
        variantTitle,
        sku,
        vendor,
        quantity: l.quantity,
        priceCents,
        discountCents: 0,
        taxable: true,
        requiresShipping: true,
        fulfillableQuantity: l.quantity,
        fulfillmentStatus: null,
        grams: 0,
      };
    });
    o.subtotalCents = o.lineItems.reduce((s, l) => s + l.priceCents * l.quantity - l.discountCents, 0);
    o.discountCents = 0;
    o.totalCents = o.subtotalCents + o.shippingCents + o.taxCents;
    o.transactions = o.transactions.map((t) => ({
      ...t,
      amountCents: t.kind === 'void' ? 0 : Math.min(t.amountCents, o.totalCents) || o.totalCents,
    }));
  }
  if (patch.financialStatus !== undefined && patch.financialStatus !== o.financialStatus) {
    o.financialStatus = patch.financialStatus;
    const kind = {
      pending: 'sale',
      authorized: 'authorization',
      partially_paid: 'sale',
      paid: 'sale',
      partially_refunded: 'refund',
      refunded: 'refund',
      voided: 'void',
    } as const;
    const k = kind[patch.financialStatus];
    const amount =
      k === 'refund'
        ? patch.financialStatus === 'refunded'
          ? o.totalCents
          : Math.floor(o.totalCents / 3)
        : k === 'void'
          ? 0
          : o.totalCents;
    if (k === 'refund') o.refundedCents = amount;
    o.transactions.push({
      id: childId('OrderTransaction', shop.ctx.offset, o.index, Math.min(o.transactions.length, 7)),
      kind: k,
      status: patch.financialStatus === 'pending' ? 'pending' : 'success',
      gateway: o.transactions[0]?.gateway ?? 'manual',
      amountCents: amount,
      createdAt: o.updatedAt,
      parentId: o.transactions[0]?.id ?? null,
    });
  }
  if (patch.fulfillmentStatus !== undefined) {
    o.fulfillmentStatus = patch.fulfillmentStatus;
    o.lineItems.forEach((l, k) => {
      const done =
        patch.fulfillmentStatus === 'fulfilled' || (patch.fulfillmentStatus === 'partial' && k === 0);
      l.fulfillmentStatus = done ? 'fulfilled' : null;
      l.fulfillableQuantity = done ? 0 : l.quantity;
    });
    if (patch.fulfillmentStatus === 'fulfilled' && o.financialStatus === 'paid') o.closedAt = o.updatedAt;
  }
  if (patch.cancelReason !== undefined && o.cancelledAt === null) {
    o.cancelReason = patch.cancelReason;
    o.cancelledAt = o.updatedAt;
    o.closedAt = o.updatedAt;
  }
}

function customerOf(shop: ShopState, o: OrderRec): CustomerRec | null {
  if (o.customerId === null) return null;
  const index = recordIndex('Customer', shop.ctx.offset, o.customerId);
  return index < 0 ? null : getRecord(shop.customers, index);
}

const TOPIC_PREFIX: Record<Kind, string> = { product: 'products', customer: 'customers', order: 'orders' };

function restOf(shop: ShopState, kind: Kind, rec: AnyRec): Record<string, unknown> {
  if (kind === 'product') return productToRest(rec as ProductRec);
  if (kind === 'customer') return customerToRest(rec as CustomerRec, shop);
  return orderToRest(rec as OrderRec, customerOf(shop, rec as OrderRec));
}

function retime(rec: AnyRec, at: number, created: boolean): void {
  rec.updatedAt = at;
  if (!created) return;
  rec.createdAt = at;
  if ('processedAt' in rec) {
    const o = rec as OrderRec;
    o.processedAt = at;
    if (o.cancelledAt !== null) o.cancelledAt = at;
    if (o.closedAt !== null) o.closedAt = at;
    for (const t of o.transactions) t.createdAt = at;
  }
  if ('publishedAt' in rec && (rec as ProductRec).publishedAt !== null) (rec as ProductRec).publishedAt = at;
}

/** Creates a record (generated defaults plus the patch) and emits <kind>s/create. */
export function createRecord(
  rt: Runtime,
  shop: ShopState,
  kind: Kind,
  patch: ProductPatch | CustomerPatch | OrderPatch,
): WriteResult<AnyRec> {
  const coll = collectionOf(shop, kind);
  const rec = generate(shop.ctx, kind, coll.nextIndex);
  retime(rec, overlayTime(rt.sim.options.clock()), true);
  if (kind === 'order') {
    const o = rec as OrderRec;
    // A fresh order starts open: no cancellation, no fulfilment, paid unless the patch says otherwise.
    o.cancelledAt = null;
    o.cancelReason = null;
    o.closedAt = null;
  }
  applyPatch(shop, kind, rec, patch);
  putRecord(coll, rec);
  const deliveries = emitWebhook(
    rt.sim,
    rt.engine,
    shop,
    `${TOPIC_PREFIX[kind]}/create`,
    restOf(shop, kind, rec),
  );
  if (kind === 'order' && (rec as OrderRec).financialStatus === 'paid') {
    deliveries.push(...emitWebhook(rt.sim, rt.engine, shop, 'orders/paid', restOf(shop, kind, rec)));
  }
  return { record: rec, deliveries };
}

function applyPatch(
  shop: ShopState,
  kind: Kind,
  rec: AnyRec,
  patch: ProductPatch | CustomerPatch | OrderPatch,
): void {
  if (kind === 'product') applyProduct(rec as ProductRec, patch as ProductPatch);
  else if (kind === 'customer') applyCustomer(rec as CustomerRec, patch as CustomerPatch);
  else applyOrder(shop, rec as OrderRec, patch as OrderPatch);
}

/** Looks a record up by numeric id. */
export function findRecord(shop: ShopState, kind: Kind, id: number): AnyRec | null {
  const type = kind === 'product' ? 'Product' : kind === 'customer' ? 'Customer' : 'Order';
  const index = recordIndex(type, shop.ctx.offset, id);
  return index < 0 ? null : getRecord(collectionOf(shop, kind), index);
}

/** Updates a record and emits the update topic (plus orders/paid, cancelled, fulfilled as they happen). */
export function updateRecord(
  rt: Runtime,
  shop: ShopState,
  kind: Kind,
  id: number,
  patch: ProductPatch | CustomerPatch | OrderPatch,
): WriteResult<AnyRec> {
  const current = findRecord(shop, kind, id);
  if (!current) return { record: null, deliveries: [] };
  const rec = structuredClone(current);
  retime(rec, overlayTime(rt.sim.options.clock()), false);
  applyPatch(shop, kind, rec, patch);
  putRecord(collectionOf(shop, kind), rec);
  const topic = kind === 'order' ? 'orders/updated' : `${TOPIC_PREFIX[kind]}/update`;
  const payload = restOf(shop, kind, rec);
  const deliveries = emitWebhook(rt.sim, rt.engine, shop, topic, payload);
  if (kind === 'order') {
    const before = current as OrderRec;
    const after = rec as OrderRec;
    if (after.financialStatus === 'paid' && before.financialStatus !== 'paid')
      deliveries.push(...emitWebhook(rt.sim, rt.engine, shop, 'orders/paid', payload));
    if (after.cancelledAt !== null && before.cancelledAt === null)
      deliveries.push(...emitWebhook(rt.sim, rt.engine, shop, 'orders/cancelled', payload));
    if (after.fulfillmentStatus === 'fulfilled' && before.fulfillmentStatus !== 'fulfilled')
      deliveries.push(...emitWebhook(rt.sim, rt.engine, shop, 'orders/fulfilled', payload));
  }
  return { record: rec, deliveries };
}

/** Deletes a record and emits <kind>s/delete with Shopify's `{ "id": … }` payload. */
export function deleteRecordById(rt: Runtime, shop: ShopState, kind: Kind, id: number): WriteResult<AnyRec> {
  const current = findRecord(shop, kind, id);
  if (!current) return { record: null, deliveries: [] };
  deleteRecord(collectionOf(shop, kind), current.index);
  if (kind === 'product') {
    shop.deletionEvents.push({
      subjectType: 'PRODUCT',
      subjectId: id,
      occurredAt: overlayTime(rt.sim.options.clock()),
    });
  }
  const deliveries = emitWebhook(rt.sim, rt.engine, shop, `${TOPIC_PREFIX[kind]}/delete`, { id });
  return { record: null, deliveries };
}

/** Fires a compliance webhook with the documented payload shape. */
export function triggerCompliance(
  rt: Runtime,
  shop: ShopState,
  topic: 'customers/data_request' | 'customers/redact' | 'shop/redact',
  input: { customerId?: number; orderIds?: number[] },
): Delivery[] {
  const base = { shop_id: shop.id, shop_domain: shop.domain };
  if (topic === 'shop/redact') return emitWebhook(rt.sim, rt.engine, shop, topic, base);
  const customer =
    input.customerId !== undefined
      ? (findRecord(shop, 'customer', input.customerId) as CustomerRec | null)
      : getRecord(shop.customers, 0);
  const customerJson = customer
    ? { id: customer.id, email: customer.email, phone: customer.phone }
    : { id: input.customerId ?? null, email: null, phone: null };
  let orderIds = input.orderIds;
  if (!orderIds) {
    // Find the customer's orders, scanning a bounded prefix so huge shops stay responsive.
    orderIds = [];
    let seen = 0;
    for (const o of scan(shop.orders, { sortKey: 'ID', descending: false })) {
      if (++seen > 50_000) break;
      if (customer && o.customerId === customer.id) orderIds.push(o.id);
    }
  }
  if (topic === 'customers/data_request') {
    return emitWebhook(rt.sim, rt.engine, shop, topic, {
      ...base,
      orders_requested: orderIds,
      customer: customerJson,
      data_request: { id: 9_000_000 + rt.sim.counters.user++ },
    });
  }
  return emitWebhook(rt.sim, rt.engine, shop, topic, {
    ...base,
    customer: customerJson,
    orders_to_redact: orderIds,
  });
}

/** Uninstalls the app: app/uninstalled fires, then subscriptions go and every token stops working. */
export function uninstallApp(rt: Runtime, shop: ShopState): Delivery[] {
  const deliveries = emitWebhook(rt.sim, rt.engine, shop, 'app/uninstalled', shopToRest(shop));
  shop.subscriptions.clear();
  shop.webPixels.clear();
  revokeShop(rt.sim, shop.domain);
  return deliveries;
}
