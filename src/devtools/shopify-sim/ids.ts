/**
 * Numeric id scheme. Ids are a pure function of (shop, kind, index) so a record can be found from
 * its id without an index table; each shop gets its own id range so ids never collide between shops.
 */

/** Per-type base values; children (variants, line items…) pack a child slot into the id. */
const BASE = {
  Product: 7_000_000_000_000,
  ProductVariant: 40_000_000_000_000,
  InventoryItem: 45_000_000_000_000,
  ProductImage: 30_000_000_000_000,
  Customer: 6_000_000_000_000,
  Order: 5_000_000_000_000,
  LineItem: 13_000_000_000_000,
  OrderTransaction: 8_000_000_000_000,
} as const;

/** Child slots per parent, which caps variants/images per product and lines/transactions per order. */
export const SLOTS = {
  ProductVariant: 8,
  InventoryItem: 8,
  ProductImage: 4,
  LineItem: 16,
  OrderTransaction: 8,
} as const;

/** Shop id-range offset: shops are 100,000,000 ids apart, enough for any simulated shop size. */
export function shopOffset(shopHash: number): number {
  return (shopHash % 1000) * 100_000_000;
}

/** Id of a top-level record (Product, Customer, Order). */
export function recordId(type: 'Product' | 'Customer' | 'Order', offset: number, index: number): number {
  return BASE[type] + offset + index + 1;
}

/** Index of a top-level record from its id, or -1 when the id is not in this shop's range. */
export function recordIndex(type: 'Product' | 'Customer' | 'Order', offset: number, id: number): number {
  const index = id - BASE[type] - offset - 1;
  return index >= 0 && index < 100_000_000 && Number.isInteger(index) ? index : -1;
}

/** Id of a child record (variant, image, line item, transaction) at slot k of its parent. */
export function childId(type: keyof typeof SLOTS, offset: number, parentIndex: number, k: number): number {
  return BASE[type] + (offset + parentIndex) * SLOTS[type] + k + 1;
}

/** Parent index and slot of a child id, or null when out of this shop's range. */
export function childIndex(
  type: keyof typeof SLOTS,
  offset: number,
  id: number,
): { parentIndex: number; k: number } | null {
  const rel = id - BASE[type] - 1;
  if (!Number.isInteger(rel) || rel < 0) return null;
  const slots = SLOTS[type];
  const parentIndex = Math.floor(rel / slots) - offset;
  if (parentIndex < 0 || parentIndex >= 100_000_000) return null;
  return { parentIndex, k: rel % slots };
}
