import countries from 'i18n-iso-countries';
import english from 'i18n-iso-countries/langs/en.json' with { type: 'json' };
import { z } from 'zod';
import type { Tx } from '../platform/db/client.ts';
import { sqlParams } from '../platform/db/params.ts';
import { cursorTimestamp, cursorUuid, decodeCursor, encodeCursor } from '../platform/http/schemas.ts';
import type { STORE_SORTS, storeProductSchema } from './api.ts';
import {
  categoryFilter,
  findProductRow,
  type ImageUrls,
  imageView,
  loadChildren,
  type ProductRow,
} from './reads.ts';

/*
 * What shoppers read (issue 11): only `active` products, no cost, stock level or internal field;
 * lists with category (subcategories included), price range and sort; search with relevance
 * ranking (full-text rank plus trigram similarity), prefix matching, typo tolerance, highlighted
 * snippets and category facets; the countries the store ships to.
 */

countries.registerLocale(english);

type StoreProduct = z.infer<typeof storeProductSchema>;
type Sort = (typeof STORE_SORTS)[number];

type CategoryRef = { id: string; handle: string; name: string };

async function categoriesById(tx: Tx, tenantId: string, ids: (string | null)[]) {
  const wanted = [...new Set(ids.filter((id): id is string => id !== null))];
  if (wanted.length === 0) return new Map<string, CategoryRef>();
  const { rows } = await tx.query<CategoryRef>(
    'SELECT id, handle, name FROM catalog_categories WHERE tenant_id = $1 AND id = ANY($2::uuid[])',
    [tenantId, wanted],
  );
  return new Map(rows.map((c) => [c.id, c]));
}

/** Products as shoppers see them, in the order given. */
async function storeViews(tx: Tx, tenantId: string, rows: ProductRow[], currency: string, urls: ImageUrls) {
  const children = await loadChildren(
    tx,
    tenantId,
    rows.map((r) => r.id),
  );
  const categories = await categoriesById(
    tx,
    tenantId,
    rows.map((r) => r.category_id),
  );
  const image = imageView(urls);
  return rows.map((p): StoreProduct => {
    const variants = (children.variants.get(p.id) ?? []).map((v) => ({
      id: v.id,
      sku: v.sku,
      title: v.title,
      option1: v.option1,
      option2: v.option2,
      option3: v.option3,
      price: Number(v.price),
      compareAtPrice: v.compare_at_price === null ? null : Number(v.compare_at_price),
      inStock: v.allow_backorder || v.on_hand - v.reserved > 0,
    }));
    return {
      id: p.id,
      handle: p.handle,
      title: p.title,
      descriptionHtml: p.description_html,
      vendor: p.vendor,
      tags: p.tags,
      optionNames: p.option_names ?? [],
      category: p.category_id ? (categories.get(p.category_id) ?? null) : null,
      seoTitle: p.seo_title,
      seoDescription: p.seo_description,
      currency,
      priceRange: {
        min: p.min_price === null ? null : Number(p.min_price),
        max: p.max_price === null ? null : Number(p.max_price),
      },
      inStock: variants.some((v) => v.inStock),
      variants,
      images: (children.images.get(p.id) ?? []).map((i) => {
        const { contentType: _internal, ...rest } = image(i);
        return rest;
      }),
    };
  });
}

/** One active product by id or handle. */
export async function storeProduct(
  tx: Tx,
  tenantId: string,
  idOrHandle: string,
  currency: string,
  urls: ImageUrls,
) {
  const row = await findProductRow(tx, tenantId, idOrHandle, true);
  return (await storeViews(tx, tenantId, [row], currency, urls))[0];
}

/** Keyset order of each sort: the SQL key, its direction, and the row's key value. */
const ORDER: Record<
  Sort,
  { key: string; dir: 'ASC' | 'DESC'; value: (r: ProductRow) => string | number | null }
> = {
  // created_at as PostgreSQL's text: a JS Date would drop the microseconds and skip rows on a page edge.
  newest: { key: 'p.created_at', dir: 'DESC', value: (r) => r.cursor_at ?? r.created_at.toISOString() },
  'price-asc': { key: 'coalesce(p.min_price, 0)', dir: 'ASC', value: (r) => Number(r.min_price ?? 0) },
  'price-desc': { key: 'coalesce(p.min_price, 0)', dir: 'DESC', value: (r) => Number(r.min_price ?? 0) },
  title: { key: 'lower(p.title)', dir: 'ASC', value: (r) => r.title.toLowerCase() },
};

/** The sort key's value in a cursor, per sort. */
const CURSOR_VALUE: Record<Sort, z.ZodType<string | number>> = {
  newest: cursorTimestamp,
  'price-asc': z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  'price-desc': z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  title: z.string().max(1000),
};

/** The storefront's product list. */
export async function storeProducts(
  tx: Tx,
  tenantId: string,
  query: {
    limit: number;
    cursor?: string;
    category?: string;
    q?: string;
    minPrice?: number;
    maxPrice?: number;
    sort: Sort;
  },
  currency: string,
  urls: ImageUrls,
) {
  const { params, add } = sqlParams(tenantId);
  const where = ['p.tenant_id = $1', `p.status = 'active'`];
  if (query.category) where.push(await categoryFilter(tx, tenantId, query.category, add));
  if (query.minPrice !== undefined) where.push(`p.max_price >= ${add(query.minPrice)}`);
  if (query.maxPrice !== undefined) where.push(`p.min_price <= ${add(query.maxPrice)}`);
  if (query.q) {
    const tsq = prefixQuery(query.q);
    where.push(tsq ? `p.search @@ to_tsquery('simple', ${add(tsq)})` : 'false');
  }
  const order = ORDER[query.sort];
  // A cursor belongs to one sort; its value is what that sort orders by.
  const cursor = decodeCursor(
    query.cursor,
    z.object({ s: z.literal(query.sort), v: CURSOR_VALUE[query.sort], id: cursorUuid }),
  );
  if (cursor) {
    const cast = query.sort === 'newest' ? '::timestamptz' : query.sort === 'title' ? '::text' : '::bigint';
    where.push(
      `(${order.key}, p.id) ${order.dir === 'ASC' ? '>' : '<'} (${add(cursor.v)}${cast}, ${add(cursor.id)}::uuid)`,
    );
  }
  const { rows } = await tx.query<ProductRow>(
    `SELECT p.*, p.created_at::text AS cursor_at FROM catalog_products p WHERE ${where.join(' AND ')}
      ORDER BY ${order.key} ${order.dir}, p.id ${order.dir} LIMIT ${query.limit + 1}`,
    params,
  );
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    items: await storeViews(tx, tenantId, page, currency, urls),
    nextCursor:
      rows.length > query.limit && last
        ? encodeCursor({ s: query.sort, v: order.value(last), id: last.id })
        : null,
  };
}

/** Words of a query as a prefix tsquery (`blue:* & shirt:*`); null when it has no words. */
export function prefixQuery(q: string): string | null {
  const words = q.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return words.length
    ? words
        .slice(0, 12)
        .map((w) => `${w}:*`)
        .join(' & ')
    : null;
}

const MARK_START = '\u0001';
const MARK_END = '\u0002';
const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

/**
 * Search: words match as prefixes in the weighted document (title over vendor/tags/category/SKU
 * over description), and a misspelt query still finds products through trigram word similarity
 * on title, vendor and tags. Ranked by both; snippets are HTML-escaped with `<mark>` around hits.
 */
export async function storeSearch(
  tx: Tx,
  tenantId: string,
  query: { q: string; limit: number; category?: string },
  currency: string,
  urls: ImageUrls,
) {
  const tsq = prefixQuery(query.q) ?? '';
  const { params, add } = sqlParams(tenantId, tsq, query.q.toLowerCase());
  const match = `p.tenant_id = $1 AND p.status = 'active'
      AND (($2 <> '' AND p.search @@ to_tsquery('simple', $2)) OR $3 <% p.search_text)`;
  const categoryWhere = query.category
    ? ` AND ${await categoryFilter(tx, tenantId, query.category, add)}`
    : '';
  const { rows } = await tx.query<ProductRow & { score: number; snippet: string }>(
    `SELECT p.*,
            (CASE WHEN $2 <> '' THEN ts_rank_cd(p.search, to_tsquery('simple', $2)) ELSE 0 END)
              + word_similarity($3, p.search_text) AS score,
            ts_headline('simple', p.title || '. ' || left(p.description_text, 2000),
                        to_tsquery('simple', CASE WHEN $2 <> '' THEN $2 ELSE $3 END),
                        'StartSel=${MARK_START}, StopSel=${MARK_END}, MaxWords=24, MinWords=8, MaxFragments=1') AS snippet
       FROM catalog_products p
      WHERE ${match}${categoryWhere}
      ORDER BY score DESC, p.id LIMIT ${query.limit}`,
    params,
  );
  const { rows: facets } = await tx.query<{ id: string; handle: string; name: string; count: number }>(
    `SELECT c.id, c.handle, c.name, count(*)::int AS count
       FROM catalog_products p JOIN catalog_categories c ON c.tenant_id = p.tenant_id AND c.id = p.category_id
      WHERE ${match} GROUP BY c.id, c.handle, c.name ORDER BY count DESC, c.name`,
    params.slice(0, 3),
  );
  const products = await storeViews(tx, tenantId, rows, currency, urls);
  return {
    items: rows.map((r, i) => ({
      product: products[i],
      score: Math.round(Number(r.score) * 1000) / 1000,
      snippet: escapeHtml(r.snippet).replaceAll(MARK_START, '<mark>').replaceAll(MARK_END, '</mark>'),
    })),
    facets: { categories: facets },
  };
}

/** ISO 3166-1 countries (English names) the store ships to, by name. */
export async function storeCountries(tx: Tx, tenantId: string) {
  const { rows } = await tx.query<{ ship_to_countries: string[] | null }>(
    'SELECT ship_to_countries FROM catalog_settings WHERE tenant_id = $1',
    [tenantId],
  );
  const allowed = rows[0]?.ship_to_countries;
  const names = countries.getNames('en', { select: 'official' });
  return Object.entries(names)
    .filter(([code]) => !allowed || allowed.includes(code))
    .map(([code, name]) => ({ code, name }))
    .sort((a, b) => a.name.localeCompare(b.name, 'en'));
}

/** True for an ISO 3166-1 alpha-2 code the package knows. */
export const isCountryCode = (code: string) => countries.isValid(code);
