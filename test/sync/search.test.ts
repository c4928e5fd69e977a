import { describe, expect, it } from 'vitest';
import { compileSearch, parseSearch } from '../../src/sync/search.ts';

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
    expect(
      parseSearch('financial_status:paid snowboard -tag:"gift card" created_at:>=2024-01-01 NOT vendor:acme'),
    ).toEqual([
      { field: 'financial_status', op: '=', value: 'paid', negate: false },
      { field: null, op: '=', value: 'snowboard', negate: false },
      { field: 'tag', op: '=', value: 'gift card', negate: true },
      { field: 'created_at', op: '>=', value: '2024-01-01', negate: false },
      { field: 'vendor', op: '=', value: 'acme', negate: true },
    ]);
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
      '(NOT coalesce(closed_at IS NULL AND cancelled_at IS NULL, false))',
    );
    expect(compile('orders', '').sql).toBeNull();
  });

  it('refuses unknown fields, bad values and OR with 400 INVALID_QUERY', () => {
    for (const [resource, query] of [
      ['orders', 'colour:red'],
      ['orders', 'created_at:>yesterday'],
      ['products', 'id:abc'],
      ['customers', 'email:>a'],
      ['orders', 'paid OR refunded'],
    ] as const) {
      expect(() => compile(resource, query)).toThrow(
        expect.objectContaining({ code: 'INVALID_QUERY', status: 400 }),
      );
    }
  });
});
