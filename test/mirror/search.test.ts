import { describe, expect, it } from 'vitest';
import { compileSearch, parseSearch } from '../../src/mirror/search.ts';

/** Compiles a query and returns the SQL with its bound values. */
function compile(resource: 'products' | 'orders' | 'customers', query: string) {
  const params: unknown[] = [];
  const sql = compileSearch(resource, query, (value) => {
    params.push(value);
    return `$${params.length}`;
  });
  return { sql, params };
}

describe('sync: the data API text query', () => {
  it('parses Shopify search terms: fields, comparisons, negation, quotes', () => {
    const term = (field: string | null, value: string, op = '=') => ({
      kind: 'term',
      term: { field, op, value },
    });
    expect(
      parseSearch('financial_status:paid snowboard -tag:"gift card" created_at:>=2024-01-01 NOT vendor:acme'),
    ).toEqual({
      kind: 'and',
      items: [
        term('financial_status', 'paid'),
        term(null, 'snowboard'),
        { kind: 'not', item: term('tag', 'gift card') },
        term('created_at', '2024-01-01', '>='),
        { kind: 'not', item: term('vendor', 'acme') },
      ],
    });
    // AND binds tighter than OR; parentheses group; a quoted "OR" is a word.
    expect(parseSearch('a b OR c')).toEqual({
      kind: 'or',
      items: [{ kind: 'and', items: [term(null, 'a'), term(null, 'b')] }, term(null, 'c')],
    });
    expect(parseSearch('-(tag:x OR tag:y) "OR"')).toEqual({
      kind: 'and',
      items: [
        { kind: 'not', item: { kind: 'or', items: [term('tag', 'x'), term('tag', 'y')] } },
        term(null, 'OR'),
      ],
    });
    expect(parseSearch('  ')).toBeNull();
  });

  it('compiles OR and groups for the mirror', () => {
    expect(compile('orders', 'financial_status:paid OR financial_status:refunded')).toEqual({
      sql: '((financial_status = lower($1)) OR (financial_status = lower($2)))',
      params: ['paid', 'refunded'],
    });
    expect(compile('orders', '(tag:vip OR email:a@example.com) -status:cancelled').sql).toBe(
      '((EXISTS (SELECT 1 FROM unnest(tags) t WHERE lower(t) = lower($1))) OR (lower(email) = lower($2))) AND (NOT coalesce((cancelled_at IS NOT NULL), false))',
    );
  });

  it('binds every value as a parameter', () => {
    const { sql, params } = compile('orders', `financial_status:paid email:"x'; DROP TABLE shop_orders; --"`);
    expect(sql).toBe('(financial_status = lower($1)) AND (lower(email) = lower($2))');
    expect(params).toEqual(['paid', "x'; DROP TABLE shop_orders; --"]);
  });

  it('maps bare words, prefixes, tags, dates and order status', () => {
    expect(compile('products', 'snow*').sql).toContain('title ILIKE $1');
    expect(compile('products', 'snow*').params).toEqual(['%snow%']);
    expect(compile('products', 'title:snow*').params).toEqual(['snow%']);
    expect(compile('customers', 'tag:VIP').sql).toContain('lower(t) = lower($1)');
    expect(compile('orders', 'created_at:<2025-01-01').sql).toBe('(shopify_created_at < $1::timestamptz)');
    expect(compile('orders', 'status:cancelled').sql).toBe('(cancelled_at IS NOT NULL)');
    expect(compile('orders', '-status:open').sql).toBe(
      '(NOT coalesce((closed_at IS NULL AND cancelled_at IS NULL), false))',
    );
    expect(compile('orders', '').sql).toBeNull();
  });

  it('refuses unknown fields, bad values and malformed queries with 400 INVALID_QUERY', () => {
    for (const [resource, query] of [
      ['orders', 'colour:red'],
      ['orders', 'created_at:>yesterday'],
      ['products', 'id:abc'],
      ['customers', 'email:>a'],
      ['orders', 'paid OR'],
      ['orders', '(paid'],
      ['orders', 'paid)'],
      ['orders', 'NOT'],
      ['orders', Array.from({ length: 51 }, (_, i) => `w${i}`).join(' OR ')],
    ] as const) {
      expect(() => compile(resource, query)).toThrow(
        expect.objectContaining({ code: 'INVALID_QUERY', status: 400 }),
      );
    }
  });
});
