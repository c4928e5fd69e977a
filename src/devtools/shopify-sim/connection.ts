/**
 * Relay connections the way the Admin API pages them: first/after or last/before (at most 250),
 * opaque base64 cursors carrying {last_id, last_value}, and pageInfo.
 * https://shopify.dev/docs/api/usage/pagination-graphql
 */
import { GraphQLError } from 'graphql';

/** Paging arguments shared by every connection field. */
export type PageArgs = {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
  reverse?: boolean | null;
};

/** A resolved connection: both edges and nodes, so either selection works. */
export type Connection<T> = {
  edges: { cursor: string; node: T }[];
  nodes: T[];
  pageInfo: {
    hasNextPage: boolean;
    hasPreviousPage: boolean;
    startCursor: string | null;
    endCursor: string | null;
  };
};

/** Largest page Shopify serves. */
export const MAX_PAGE = 250;

function pagingError(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_REQUEST' } });
}

/** Validates first/last and returns the page size and direction. */
export function pageSize(args: PageArgs): { size: number; backward: boolean } {
  if (args.first != null && args.last != null)
    throw pagingError('Passing both `first` and `last` is not supported.');
  const backward = args.last != null;
  const size = backward ? args.last : args.first;
  if (size == null) throw pagingError('you must provide one of first or last');
  if (size < 0) throw pagingError(`${backward ? 'last' : 'first'} must be a non-negative integer`);
  if (size > MAX_PAGE) {
    throw pagingError(
      `${backward ? 'last' : 'first'} cannot exceed ${MAX_PAGE}. To query larger amounts of data with fewer limits, bulk operations should be used instead.\nSee https://shopify.dev/docs/api/usage/bulk-operations/queries for usage details.`,
    );
  }
  return { size, backward };
}

/** Encodes a cursor like Shopify's: base64 of {"last_id":…,"last_value":…}. */
export function encodeCursor(lastId: number, lastValue: number | string): string {
  return Buffer.from(JSON.stringify({ last_id: lastId, last_value: lastValue })).toString('base64');
}

/** Decodes a cursor; throws the GraphQL error Shopify gives for a malformed one. */
export function decodeCursor(cursor: string): { lastId: number; lastValue: number | string } {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64').toString('utf8'));
    if (typeof parsed.last_id === 'number') return { lastId: parsed.last_id, lastValue: parsed.last_value };
  } catch {
    // fall through to the error below
  }
  throw pagingError(`Invalid cursor for current pagination sort.`);
}

/** Shopify's cursor time format for UPDATED_AT/CREATED_AT sorts: "2024-01-02 03:04:05.678000" (UTC). */
export function cursorTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}000`;
}

/** Parses a cursor time back to epoch ms. */
export function parseCursorTime(value: number | string): number {
  if (typeof value === 'number') return value;
  return Date.parse(`${value.replace(' ', 'T').slice(0, 23)}Z`);
}

/**
 * Builds a page from a lazy source. `scanFrom(descending, cursor)` yields items strictly after the
 * cursor in the given direction; one extra item is read to know whether another page exists.
 */
export function pageFromScan<R, T>(
  args: PageArgs,
  scanFrom: (descending: boolean, cursor: string | null) => Iterable<R>,
  cursorOf: (item: R) => string,
  toNode: (item: R) => T,
): Connection<T> {
  const { size, backward } = pageSize(args);
  const reverse = Boolean(args.reverse);
  const descending = backward ? !reverse : reverse;
  const from = backward ? (args.before ?? null) : (args.after ?? null);
  const items: R[] = [];
  let more = false;
  for (const item of scanFrom(descending, from)) {
    if (items.length === size) {
      more = true;
      break;
    }
    items.push(item);
  }
  if (backward) items.reverse();
  const edges = items.map((item) => ({ cursor: cursorOf(item), node: toNode(item) }));
  return {
    edges,
    nodes: edges.map((e) => e.node),
    pageInfo: {
      hasNextPage: backward ? args.before != null : more,
      hasPreviousPage: backward ? more : args.after != null,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
  };
}

/** Pages an in-memory list (variants, line items, subscriptions) by position. */
export function pageFromArray<R, T>(
  all: readonly R[],
  args: PageArgs,
  idOf: (item: R) => number,
  toNode: (item: R) => T,
): Connection<T> {
  const position = new Map<number, number>();
  all.forEach((item, i) => {
    position.set(idOf(item), i);
  });
  const indexOfCursor = (cursor: string) => position.get(decodeCursor(cursor).lastId) ?? -1;
  return pageFromScan(
    args,
    function* (descending, cursor) {
      if (!descending) {
        for (let i = cursor ? indexOfCursor(cursor) + 1 : 0; i < all.length; i++) yield all[i];
      } else {
        const start = cursor ? indexOfCursor(cursor) - 1 : all.length - 1;
        for (let i = start; i >= 0; i--) yield all[i];
      }
    },
    (item) => encodeCursor(idOf(item), idOf(item)),
    toNode,
  );
}
