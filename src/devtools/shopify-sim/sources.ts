/**
 * Lazy list sources behind the top-level connections (products, orders, customers,
 * productVariants). The same source feeds a 250-item page and a 1,000,000-row bulk export.
 */
import { GraphQLError } from 'graphql';
import { type Collection, getRecord, type ScanKey, type SortKey, scan } from './collection.ts';
import { cursorTime, decodeCursor, encodeCursor, parseCursorTime } from './connection.ts';
import { type Ctx, requireScope } from './context.ts';
import { CUSTOMER_FIELDS, ORDER_FIELDS, PRODUCT_FIELDS, VARIANT_FIELDS } from './fieldmaps.ts';
import { childIndex, recordIndex } from './ids.ts';
import { compileSearch, extractBounds, parseSearch } from './search.ts';
import type { AnyRec, CustomerRec, OrderRec, ProductRec, VariantRec } from './types.ts';
import { ProductView, VariantView } from './views-catalog.ts';
import { CustomerView, OrderView } from './views-orders.ts';

/** A lazily scanned list: items after a cursor in either direction, their cursors and views. */
export type Source<R> = {
  scanFrom: (descending: boolean, cursor: string | null) => Iterable<R>;
  cursorOf: (item: R) => string;
  toNode: (item: R) => unknown;
};

/** Arguments of a top-level list field. */
export type ListArgs = { sortKey?: string | null; query?: string | null; reverse?: boolean | null };

/** Root fields that are lazily scanned lists. */
export const LIST_FIELDS = ['products', 'orders', 'customers', 'productVariants'] as const;
/** A root list field name. */
export type ListField = (typeof LIST_FIELDS)[number];

function collectionSource<R extends AnyRec>(
  ctx: Ctx,
  coll: Collection<R>,
  type: 'Product' | 'Customer' | 'Order',
  args: ListArgs,
  predicate: ((rec: R) => boolean) | null,
  createdFields: readonly string[],
  toNode: (rec: R) => unknown,
): Source<R> {
  const sortKey: SortKey =
    args.sortKey === 'UPDATED_AT' ? 'UPDATED_AT' : args.sortKey === 'ID' ? 'ID' : 'CREATED_AT';
  const bounds = extractBounds(parseSearch(args.query), createdFields);
  const offset = ctx.shop.ctx.offset;
  const toKey = (cursor: string): ScanKey => {
    const { lastId, lastValue } = decodeCursor(cursor);
    const index = recordIndex(type, offset, lastId);
    if (index < 0) throw new GraphQLError('Invalid cursor for current pagination sort.');
    return { index, value: sortKey === 'UPDATED_AT' ? parseCursorTime(lastValue) : index };
  };
  return {
    scanFrom: (descending, cursor) =>
      scan(coll, { sortKey, descending, after: cursor ? toKey(cursor) : undefined, predicate, bounds }),
    cursorOf: (rec) => encodeCursor(rec.id, sortKey === 'UPDATED_AT' ? cursorTime(rec.updatedAt) : rec.id),
    toNode,
  };
}

function* variantScan(
  coll: Collection<ProductRec>,
  descending: boolean,
  from: { parentIndex: number; k: number } | null,
  predicate: ((pair: [ProductRec, VariantRec]) => boolean) | null,
): Generator<[ProductRec, VariantRec]> {
  const after = from ? { index: from.parentIndex, value: from.parentIndex } : undefined;
  // Resume inside the cursor's product first, then continue with the following products.
  if (from) {
    const p = getRecord(coll, from.parentIndex);
    if (p) {
      const vs = descending ? [...p.variants].reverse() : p.variants;
      for (const v of vs) {
        const slot = p.variants.indexOf(v);
        if (descending ? slot >= from.k : slot <= from.k) continue;
        const pair: [ProductRec, VariantRec] = [p, v];
        if (!predicate || predicate(pair)) yield pair;
      }
    }
  }
  for (const p of scan(coll, { sortKey: 'ID', descending, after })) {
    const vs = descending ? [...p.variants].reverse() : p.variants;
    for (const v of vs) {
      const pair: [ProductRec, VariantRec] = [p, v];
      if (!predicate || predicate(pair)) yield pair;
    }
  }
}

/** The lazy source behind a root list field, after checking the token's scopes. */
export function listSource(ctx: Ctx, field: ListField, args: ListArgs): Source<unknown> {
  const shop = ctx.shop;
  const query = parseSearch(args.query);
  if (field === 'products') {
    requireScope(ctx, 'read_products', 'products');
    const pred = compileSearch(query, PRODUCT_FIELDS);
    return collectionSource(
      ctx,
      shop.products,
      'Product',
      args,
      pred,
      ['created_at'],
      (p) => new ProductView(ctx, p.id, p),
    ) as Source<unknown>;
  }
  if (field === 'customers') {
    requireScope(ctx, 'read_customers', 'customers');
    const pred = compileSearch(query, CUSTOMER_FIELDS);
    return collectionSource(
      ctx,
      shop.customers,
      'Customer',
      args,
      pred,
      ['created_at'],
      (c: CustomerRec) => new CustomerView(c, ctx.shop),
    ) as Source<unknown>;
  }
  if (field === 'orders') {
    requireScope(ctx, 'read_orders', 'orders');
    const pred = compileSearch(query, ORDER_FIELDS);
    return collectionSource(
      ctx,
      shop.orders,
      'Order',
      args,
      pred,
      ['created_at', 'processed_at'],
      (o: OrderRec) => new OrderView(ctx, o),
    ) as Source<unknown>;
  }
  requireScope(ctx, 'read_products', 'productVariants');
  const pred = compileSearch(query, VARIANT_FIELDS);
  const offset = shop.ctx.offset;
  const source: Source<[ProductRec, VariantRec]> = {
    scanFrom: (descending, cursor) => {
      let from: { parentIndex: number; k: number } | null = null;
      if (cursor) {
        const at = childIndex('ProductVariant', offset, decodeCursor(cursor).lastId);
        if (!at) throw new GraphQLError('Invalid cursor for current pagination sort.');
        from = at;
      }
      return variantScan(shop.products, descending, from, pred);
    },
    cursorOf: ([, v]) => encodeCursor(v.id, v.id),
    toNode: ([p, v]) => new VariantView(ctx, p, v),
  };
  return source as Source<unknown>;
}
