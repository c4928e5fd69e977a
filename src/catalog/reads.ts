import type { Tx } from '../platform/db/client.ts';
import { sqlParams } from '../platform/db/params.ts';
import { notFound } from '../platform/errors.ts';
import { z } from 'zod';
import { cursorTimestamp, cursorUuid, decodeCursor, toPage } from '../platform/http/schemas.ts';
import type { Product } from './api.ts';
import { findCategory, subtreeIds } from './categories.ts';

/*
 * Catalog reads (issue 11): products with their variants, stock and images, as staff see them,
 * and the same rows loaded for the storefront's views (storefront.ts).
 */

/** Turns a stored image into its URLs by width (the storage backend decides where they live). */
export type ImageUrls = (image: {
  storageKey: string;
  widths: number[];
  contentType: string;
}) => Record<string, string>;

export type ProductRow = {
  id: string;
  handle: string;
  title: string;
  description_html: string;
  description_text: string;
  status: Product['status'];
  vendor: string | null;
  tags: string[];
  option_names: string[];
  category_id: string | null;
  seo_title: string | null;
  seo_description: string | null;
  min_price: string | number | null;
  max_price: string | number | null;
  version: number;
  created_at: Date;
  updated_at: Date;
  /** `created_at` as PostgreSQL's text (microseconds kept), when a list selects it for its cursor. */
  cursor_at?: string;
};

export type VariantRow = {
  id: string;
  product_id: string;
  sku: string | null;
  title: string;
  option1: string | null;
  option2: string | null;
  option3: string | null;
  price: string | number;
  compare_at_price: string | number | null;
  weight_grams: number | null;
  barcode: string | null;
  allow_backorder: boolean;
  low_stock_threshold: number;
  position: number;
  on_hand: number;
  reserved: number;
};

export type ImageRow = {
  id: string;
  product_id: string;
  variant_id: string | null;
  storage_key: string;
  content_type: string;
  width: number;
  height: number;
  widths: number[];
  alt: string;
  position: number;
};

const num = (v: string | number | null) => (v === null ? null : Number(v));

/** The variants (with summed stock) and images of some products. */
export async function loadChildren(tx: Tx, tenantId: string, productIds: string[]) {
  if (productIds.length === 0)
    return { variants: new Map<string, VariantRow[]>(), images: new Map<string, ImageRow[]>() };
  const [{ rows: variants }, { rows: images }] = [
    await tx.query<VariantRow>(
      `SELECT v.*, coalesce(s.on_hand, 0)::int AS on_hand, coalesce(s.reserved, 0)::int AS reserved
         FROM catalog_variants v
         LEFT JOIN (SELECT variant_id, sum(on_hand) AS on_hand, sum(reserved) AS reserved FROM catalog_inventory
                     WHERE tenant_id = $1 GROUP BY variant_id) s ON s.variant_id = v.id
        WHERE v.tenant_id = $1 AND v.product_id = ANY($2::uuid[]) ORDER BY v.product_id, v.position, v.id`,
      [tenantId, productIds],
    ),
    await tx.query<ImageRow>(
      `SELECT * FROM catalog_images WHERE tenant_id = $1 AND product_id = ANY($2::uuid[]) ORDER BY product_id, position, id`,
      [tenantId, productIds],
    ),
  ];
  const group = <T extends { product_id: string }>(rows: T[]) => {
    const by = new Map<string, T[]>();
    for (const r of rows) by.set(r.product_id, [...(by.get(r.product_id) ?? []), r]);
    return by;
  };
  return { variants: group(variants), images: group(images) };
}

export const imageView = (urls: ImageUrls) => (i: ImageRow) => ({
  id: i.id,
  variantId: i.variant_id,
  alt: i.alt,
  width: i.width,
  height: i.height,
  contentType: i.content_type,
  position: i.position,
  urls: urls({ storageKey: i.storage_key, widths: i.widths, contentType: i.content_type }),
});

/** A product as staff see it. */
export function productView(
  p: ProductRow,
  children: Awaited<ReturnType<typeof loadChildren>>,
  currency: string,
  urls: ImageUrls,
): Product {
  return {
    id: p.id,
    handle: p.handle,
    title: p.title,
    descriptionHtml: p.description_html,
    descriptionText: p.description_text,
    status: p.status,
    vendor: p.vendor,
    tags: p.tags,
    optionNames: p.option_names ?? [],
    categoryId: p.category_id,
    seoTitle: p.seo_title,
    seoDescription: p.seo_description,
    currency,
    priceRange: { min: num(p.min_price), max: num(p.max_price) },
    version: p.version,
    variants: (children.variants.get(p.id) ?? []).map((v) => ({
      id: v.id,
      productId: v.product_id,
      sku: v.sku,
      title: v.title,
      option1: v.option1,
      option2: v.option2,
      option3: v.option3,
      price: Number(v.price),
      compareAtPrice: num(v.compare_at_price),
      weightGrams: v.weight_grams,
      barcode: v.barcode,
      allowBackorder: v.allow_backorder,
      lowStockThreshold: v.low_stock_threshold,
      position: v.position,
      inventory: { onHand: v.on_hand, reserved: v.reserved, available: v.on_hand - v.reserved },
    })),
    images: (children.images.get(p.id) ?? []).map(imageView(urls)),
    createdAt: p.created_at.toISOString(),
    updatedAt: p.updated_at.toISOString(),
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** One product row by id or handle (`activeOnly` for the storefront); 404 when not there. */
export async function findProductRow(tx: Tx, tenantId: string, idOrHandle: string, activeOnly = false) {
  const column = UUID.test(idOrHandle) ? 'id = $2::uuid' : 'handle = $2';
  const { rows } = await tx.query<ProductRow>(
    `SELECT * FROM catalog_products WHERE tenant_id = $1 AND ${column}${activeOnly ? ` AND status = 'active'` : ''}`,
    [tenantId, idOrHandle],
  );
  if (rows.length === 0) throw notFound('product', idOrHandle);
  return rows[0];
}

/** One product as staff see it. */
export async function getProduct(
  tx: Tx,
  tenantId: string,
  idOrHandle: string,
  currency: string,
  urls: ImageUrls,
) {
  const row = await findProductRow(tx, tenantId, idOrHandle);
  return productView(row, await loadChildren(tx, tenantId, [row.id]), currency, urls);
}

/** The `category` filter (handle or id, subcategories included) as SQL on `p.category_id`. */
export async function categoryFilter(
  tx: Tx,
  tenantId: string,
  category: string,
  add: (v: unknown) => string,
) {
  const found = await findCategory(tx, tenantId, category);
  return `p.category_id = ANY(${add(await subtreeIds(tx, tenantId, found.id))}::uuid[])`;
}

/** Staff's product list: newest first, filters by status, category and a title/SKU text match. */
export async function listProducts(
  tx: Tx,
  tenantId: string,
  query: { limit: number; cursor?: string; status?: string; category?: string; q?: string },
  currency: string,
  urls: ImageUrls,
) {
  const { params, add } = sqlParams(tenantId);
  const where = ['p.tenant_id = $1'];
  if (query.status) where.push(`p.status = ${add(query.status)}`);
  if (query.category) where.push(await categoryFilter(tx, tenantId, query.category, add));
  if (query.q)
    where.push(
      `(p.search_text LIKE ${add(`%${query.q.toLowerCase().replace(/[\\%_]/g, '\\$&')}%`)} OR p.search @@ plainto_tsquery('simple', ${add(query.q)}))`,
    );
  const cursor = decodeCursor(query.cursor, z.object({ at: cursorTimestamp, id: cursorUuid }));
  if (cursor) {
    where.push(`(p.created_at, p.id) < (${add(cursor.at)}::timestamptz, ${add(cursor.id)}::uuid)`);
  }
  const { rows } = await tx.query<ProductRow>(
    `SELECT p.*, p.created_at::text AS cursor_at FROM catalog_products p WHERE ${where.join(' AND ')} ORDER BY p.created_at DESC, p.id DESC LIMIT ${query.limit + 1}`,
    params,
  );
  const children = await loadChildren(
    tx,
    tenantId,
    rows.slice(0, query.limit).map((r) => r.id),
  );
  return toPage(
    rows,
    query.limit,
    (r) => productView(r, children, currency, urls),
    (r) => ({ at: r.cursor_at ?? r.created_at.toISOString(), id: r.id }),
  );
}
