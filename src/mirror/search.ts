import { badRequest } from '../platform/errors.ts';
import { isIsoDateOrTime } from '../platform/http/schemas.ts';
import type { Resource } from './queries.ts';

/*
 * The data API's text query (seed 003's `custom_query`), in the subset of Shopify's search syntax
 * that maps onto the mirror (https://shopify.dev/docs/api/usage/search-syntax): terms joined by
 * AND (implicit or written), `OR` (binding looser than AND, as on Shopify), parentheses,
 * `field:value`, `field:>value` (also >=, <, <=) for times and numbers, `-term` / `NOT term` /
 * `-(…)` to negate, quotes for values with spaces, a trailing `*` for a prefix, and bare words
 * matched against the resource's text columns.
 *   financial_status:paid  snowboard  tag:sale -status:cancelled  created_at:>=2024-01-01
 *   financial_status:paid OR financial_status:refunded  (tag:vip OR tag:sale) -status:cancelled
 * Values always travel as bound parameters; only column names from the tables below reach SQL.
 */

type Term = { field: string | null; op: '=' | '>' | '>=' | '<' | '<='; value: string };

/** A parsed query: terms under AND, OR and NOT. */
export type SearchNode =
  | { kind: 'term'; term: Term }
  | { kind: 'and' | 'or'; items: SearchNode[] }
  | { kind: 'not'; item: SearchNode };

const TOKEN = /(-?)\(|\)|(-)?(?:([a-z_]+):(>=|<=|>|<)?)?(?:"([^"]*)"|'([^']*)'|([^\s()]+))/gi;
/** Bounds on what one query may ask the database to evaluate. */
const MAX_TERMS = 50;
const MAX_DEPTH = 10;

type Token =
  | { kind: '('; negate: boolean }
  | { kind: ')' }
  | { kind: 'word'; term: Term; negate: boolean; bare: string | null };

function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  for (const m of query.matchAll(TOKEN)) {
    if (m[0] === '(' || m[0] === '-(') {
      tokens.push({ kind: '(', negate: m[0] === '-(' });
      continue;
    }
    if (m[0] === ')') {
      tokens.push({ kind: ')' });
      continue;
    }
    const value = m[5] ?? m[6] ?? m[7] ?? '';
    const quoted = m[5] !== undefined || m[6] !== undefined;
    tokens.push({
      kind: 'word',
      term: { field: m[3]?.toLowerCase() ?? null, op: (m[4] as Term['op'] | undefined) ?? '=', value },
      negate: Boolean(m[2]),
      // AND, OR and NOT are operators only when written bare (unquoted, no field, no minus).
      bare: !m[3] && !m[2] && !quoted ? value : null,
    });
  }
  return tokens;
}

/** Parses a query (null when it has no terms); malformed queries are 400 INVALID_QUERY. */
export function parseSearch(query: string): SearchNode | null {
  const tokens = tokenize(query);
  let pos = 0;
  let terms = 0;
  const invalid = (message: string) => badRequest('INVALID_QUERY', message);
  const parseOr = (depth: number): SearchNode => {
    if (depth > MAX_DEPTH) throw invalid(`The query nests deeper than ${MAX_DEPTH} levels`);
    const items = [parseAnd(depth)];
    while (pos < tokens.length) {
      const t = tokens[pos];
      if (t.kind !== 'word' || t.bare !== 'OR') break;
      pos++;
      items.push(parseAnd(depth));
    }
    return items.length === 1 ? items[0] : { kind: 'or', items };
  };
  const parseAnd = (depth: number): SearchNode => {
    const items: SearchNode[] = [];
    while (pos < tokens.length) {
      const t = tokens[pos];
      if (t.kind === ')' || (t.kind === 'word' && t.bare === 'OR')) break;
      if (t.kind === 'word' && (t.bare === 'AND' || t.bare === '')) {
        pos++;
        continue;
      }
      items.push(parseUnary(depth));
    }
    if (items.length === 0) throw invalid('OR, AND and parentheses need a term on each side');
    return items.length === 1 ? items[0] : { kind: 'and', items };
  };
  const parseUnary = (depth: number): SearchNode => {
    const t = tokens[pos++];
    if (t === undefined) throw invalid('NOT needs a term after it');
    if (t.kind === 'word' && t.bare === 'NOT') return { kind: 'not', item: parseUnary(depth) };
    if (t.kind === '(') {
      const inner = parseOr(depth + 1);
      if (tokens[pos]?.kind !== ')') throw invalid('Unbalanced parentheses');
      pos++;
      return t.negate ? { kind: 'not', item: inner } : inner;
    }
    if (t.kind === ')') throw invalid('Unbalanced parentheses');
    if (++terms > MAX_TERMS) throw invalid(`The query has more than ${MAX_TERMS} terms`);
    const node: SearchNode = { kind: 'term', term: t.term };
    return t.negate ? { kind: 'not', item: node } : node;
  };
  if (tokens.every((t) => t.kind === 'word' && (t.bare === '' || t.bare === 'AND'))) return null;
  const node = parseOr(0);
  if (pos < tokens.length) throw invalid('Unbalanced parentheses');
  return node;
}

type Kind = 'text' | 'lower' | 'time' | 'int' | 'tag' | 'special';
type FieldMap = Record<string, { column: string; kind: Kind }>;

const COMMON: FieldMap = {
  id: { column: 'id', kind: 'int' },
  created_at: { column: 'shopify_created_at', kind: 'time' },
  updated_at: { column: 'shopify_updated_at', kind: 'time' },
  tag: { column: 'tags', kind: 'tag' },
};

const FIELDS: Record<Resource, FieldMap> = {
  products: {
    ...COMMON,
    title: { column: 'title', kind: 'text' },
    handle: { column: 'handle', kind: 'text' },
    vendor: { column: 'vendor', kind: 'text' },
    product_type: { column: 'product_type', kind: 'text' },
    status: { column: 'status', kind: 'lower' },
    published_at: { column: 'published_at', kind: 'time' },
    sku: { column: 'sku', kind: 'special' },
    barcode: { column: 'barcode', kind: 'special' },
  },
  orders: {
    ...COMMON,
    name: { column: 'name', kind: 'text' },
    email: { column: 'email', kind: 'text' },
    financial_status: { column: 'financial_status', kind: 'lower' },
    fulfillment_status: { column: 'fulfillment_status', kind: 'special' },
    status: { column: 'status', kind: 'special' },
    customer_id: { column: 'customer_id', kind: 'int' },
    source_name: { column: 'source_name', kind: 'text' },
    processed_at: { column: 'processed_at', kind: 'time' },
    sku: { column: 'sku', kind: 'special' },
    currency: { column: 'currency', kind: 'text' },
  },
  customers: {
    ...COMMON,
    email: { column: 'email', kind: 'text' },
    first_name: { column: 'first_name', kind: 'text' },
    last_name: { column: 'last_name', kind: 'text' },
    phone: { column: 'phone', kind: 'text' },
    state: { column: 'state', kind: 'lower' },
    country: { column: 'country', kind: 'special' },
  },
};

/** Columns a bare word is looked for in. */
const WORDS: Record<Resource, string[]> = {
  products: ['title', 'handle', 'vendor', 'product_type', "array_to_string(tags, ' ')"],
  orders: ['name', 'email', "array_to_string(tags, ' ')"],
  customers: ['first_name', 'last_name', 'email', 'phone'],
};

const OPS = { '=': '=', '>': '>', '>=': '>=', '<': '<', '<=': '<=' } as const;

/** Compiles a query to one SQL condition over the resource's table (null when empty). */
export function compileSearch(
  resource: Resource,
  query: string,
  add: (value: unknown) => string,
): string | null {
  const node = parseSearch(query);
  return node ? compileNode(resource, node, add, true) : null;
}

function compileNode(
  resource: Resource,
  node: SearchNode,
  add: (value: unknown) => string,
  top = false,
): string {
  if (node.kind === 'term') return `(${compileTerm(resource, node.term, add)})`;
  if (node.kind === 'not') return `(NOT coalesce(${compileNode(resource, node.item, add)}, false))`;
  const joined = node.items
    .map((item) => compileNode(resource, item, add))
    .join(` ${node.kind.toUpperCase()} `);
  // The top-level AND keeps the flat shape `(a) AND (b)`; nested groups get their own parentheses.
  return top && node.kind === 'and' ? joined : `(${joined})`;
}

function like(value: string): string {
  const escaped = value.replace(/[\\%_]/g, (c) => `\\${c}`);
  return escaped.endsWith('*') ? `${escaped.slice(0, -1)}%` : escaped;
}

function compileTerm(resource: Resource, term: Term, add: (value: unknown) => string): string {
  const { value } = term;
  if (term.field === null) {
    const p = add(`%${like(value).replace(/%$/, '')}%`);
    const own = WORDS[resource].map((c) => `${c} ILIKE ${p}`);
    if (resource === 'orders') {
      own.push(
        `EXISTS (SELECT 1 FROM shop_order_line_items l WHERE l.tenant_id = shop_orders.tenant_id AND l.order_id = shop_orders.id AND l.title ILIKE ${p})`,
      );
    }
    return own.join(' OR ');
  }
  const field = FIELDS[resource][term.field];
  if (!field) {
    throw badRequest('INVALID_QUERY', `Unknown search field "${term.field}" for ${resource}`, {
      fields: Object.keys(FIELDS[resource]),
    });
  }
  const op = OPS[term.op];
  const rangeOnly = (kind: string) => {
    if (term.op !== '=') throw badRequest('INVALID_QUERY', `"${term.field}" takes no comparison (${kind})`);
  };
  switch (field.kind) {
    case 'time': {
      if (!isIsoDateOrTime(value)) throw badRequest('INVALID_QUERY', `"${term.field}" needs a date or time`);
      return `${field.column} ${op} ${add(value)}::timestamptz`;
    }
    case 'int': {
      if (!/^\d{1,16}$/.test(value)) throw badRequest('INVALID_QUERY', `"${term.field}" needs a number`);
      return `${field.column} ${op} ${add(Number(value))}`;
    }
    case 'lower':
      rangeOnly('text');
      return `${field.column} = lower(${add(value)})`;
    case 'text':
      rangeOnly('text');
      return value.endsWith('*')
        ? `${field.column} ILIKE ${add(like(value))}`
        : `lower(${field.column}) = lower(${add(value)})`;
    case 'tag':
      rangeOnly('tag');
      return `EXISTS (SELECT 1 FROM unnest(tags) t WHERE lower(t) = lower(${add(value)}))`;
    default:
      rangeOnly('special');
      return special(resource, term.field as string, value, add);
  }
}

function special(resource: Resource, field: string, value: string, add: (value: unknown) => string): string {
  const v = value.toLowerCase();
  if (field === 'status' && resource === 'orders') {
    if (v === 'open') return 'closed_at IS NULL AND cancelled_at IS NULL';
    if (v === 'closed') return 'closed_at IS NOT NULL';
    if (v === 'cancelled') return 'cancelled_at IS NOT NULL';
    if (v === 'any') return 'true';
    throw badRequest('INVALID_QUERY', 'status is open, closed, cancelled or any');
  }
  if (field === 'fulfillment_status') {
    if (v === 'unfulfilled' || v === 'unshipped') return 'fulfillment_status IS NULL';
    if (v === 'shipped' || v === 'fulfilled') return `fulfillment_status = 'fulfilled'`;
    return `fulfillment_status = ${add(v)}`;
  }
  if (field === 'sku' && resource === 'orders') {
    return `EXISTS (SELECT 1 FROM shop_order_line_items l WHERE l.tenant_id = shop_orders.tenant_id AND l.order_id = shop_orders.id AND lower(l.sku) = lower(${add(value)}))`;
  }
  if ((field === 'sku' || field === 'barcode') && resource === 'products') {
    return `EXISTS (SELECT 1 FROM shop_product_variants v WHERE v.tenant_id = shop_products.tenant_id AND v.product_id = shop_products.id AND lower(v.${field}) = lower(${add(value)}))`;
  }
  if (field === 'country') {
    const p = add(value);
    return `(lower(default_address->>'country') = lower(${p}) OR lower(default_address->>'country_code') = lower(${p}))`;
  }
  throw badRequest('INVALID_QUERY', `Unsupported search field "${field}"`);
}
