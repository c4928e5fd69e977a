/**
 * A customer's lifetime order count and net amount paid (GraphQL `numberOfOrders` /
 * `amountSpent`, REST `orders_count` / `total_spent`). Orders are generated, not stored, so the
 * totals come from one pass over the shop's orders on first use, kept until an order changes: a
 * shop whose customers are never read with these fields never pays for the pass.
 */
import { generateOrder } from './generate.ts';
import type { ShopState } from './shops.ts';
import type { OrderRec } from './types.ts';

type Totals = Map<number, { orders: number; cents: number }>;
/** Generated orders never change: their totals are computed once per shop. */
const base = new WeakMap<ShopState, Totals>();
/** Orders created, changed or deleted through the control API, per collection version. */
const adjustments = new WeakMap<ShopState, { version: number; totals: Totals }>();

/** Captured minus refunded, in cents (what the customer actually paid for the order). */
function paidCents(o: OrderRec): number {
  let cents = 0;
  for (const t of o.transactions) {
    if (t.status !== 'success') continue;
    if (t.kind === 'sale' || t.kind === 'capture') cents += t.amountCents;
    else if (t.kind === 'refund') cents -= t.amountCents;
  }
  return cents;
}

function add(totals: Totals, o: OrderRec, sign: 1 | -1): void {
  if (o.customerId === null) return;
  const t = totals.get(o.customerId) ?? { orders: 0, cents: 0 };
  t.orders += sign;
  t.cents += sign * paidCents(o);
  totals.set(o.customerId, t);
}

function baseTotals(shop: ShopState): Totals {
  let totals = base.get(shop);
  if (!totals) {
    totals = new Map();
    for (let index = 0; index < shop.orders.generated; index++)
      add(totals, generateOrder(shop.ctx, index), 1);
    base.set(shop, totals);
  }
  return totals;
}

function overlayTotals(shop: ShopState): Totals {
  const cached = adjustments.get(shop);
  if (cached && cached.version === shop.orders.version) return cached.totals;
  const totals: Totals = new Map();
  for (const [index, rec] of shop.orders.overlay) {
    if (index < shop.orders.generated) add(totals, generateOrder(shop.ctx, index), -1);
    if (rec) add(totals, rec, 1);
  }
  adjustments.set(shop, { version: shop.orders.version, totals });
  return totals;
}

/** Order count and amount spent (cents) of a customer of the shop. */
export function customerStats(shop: ShopState, customerId: number): { orders: number; spentCents: number } {
  const generated = baseTotals(shop).get(customerId);
  const changed = overlayTotals(shop).get(customerId);
  return {
    orders: (generated?.orders ?? 0) + (changed?.orders ?? 0),
    spentCents: (generated?.cents ?? 0) + (changed?.cents ?? 0),
  };
}
