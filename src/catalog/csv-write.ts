import { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { stringify } from 'csv-stringify';
import type { Database } from '../platform/db/client.ts';
import { CSV_COLUMNS, type Column } from './csv-columns.ts';
import { currencyExponent, minorToDecimal } from './money.ts';
import type { ImageUrls } from './reads.ts';

/*
 * The CSV export (issue 11): every product of a tenant in Shopify's product CSV layout, one row
 * per variant (the first row also carries the product's fields, later rows the Handle and the
 * variant's), extra rows for images beyond the variants, as Shopify writes it. Products are read
 * in keyset pages by handle, one short transaction per page, and streamed through csv-stringify:
 * memory stays at one page whatever the size of the catalog.
 */

export const EXPORT_PAGE = 500;

type ProductRow = {
  id: string;
  handle: string;
  title: string;
  description_html: string;
  vendor: string | null;
  tags: string[];
  option_names: string[];
  category_id: string | null;
  status: string;
  seo_title: string | null;
  seo_description: string | null;
};
type VariantRow = {
  product_id: string;
  sku: string | null;
  option1: string | null;
  option2: string | null;
  option3: string | null;
  price: string;
  compare_at_price: string | null;
  weight_grams: number | null;
  barcode: string | null;
  allow_backorder: boolean;
  on_hand: number;
};
type ImageRow = {
  product_id: string;
  storage_key: string;
  widths: number[];
  content_type: string;
  alt: string;
  position: number;
};

const groupBy = <T extends { product_id: string }>(rows: T[]) => {
  const by = new Map<string, T[]>();
  for (const r of rows) {
    const list = by.get(r.product_id);
    if (list) list.push(r);
    else by.set(r.product_id, [r]);
  }
  return by;
};

/** `Electronics > Audio` for every category id of the tenant. */
async function categoryPaths(database: Database, tenantId: string) {
  const rows = await database.withTenant(tenantId, async (tx) => {
    const { rows } = await tx.query<{ id: string; parent_id: string | null; name: string }>(
      'SELECT id, parent_id, name FROM catalog_categories WHERE tenant_id = $1',
      [tenantId],
    );
    return rows;
  });
  const byId = new Map(rows.map((r) => [r.id, r]));
  const paths = new Map<string, { path: string; name: string }>();
  for (const r of rows) {
    const names: string[] = [];
    for (
      let c: typeof r | undefined = r;
      c && names.length < 50;
      c = c.parent_id ? byId.get(c.parent_id) : undefined
    )
      names.unshift(c.name);
    paths.set(r.id, { path: names.join(' > '), name: r.name });
  }
  return paths;
}

/** One page of products after `after` (by handle) with their variants, default-location stock and images. */
async function page(database: Database, tenantId: string, after: string | null) {
  return database.withTenant(tenantId, async (tx) => {
    const { rows: products } = await tx.query<ProductRow>(
      `SELECT id, handle, title, description_html, vendor, tags, option_names, category_id, status, seo_title, seo_description
         FROM catalog_products WHERE tenant_id = $1 AND ($2::text IS NULL OR handle > $2) ORDER BY handle LIMIT ${EXPORT_PAGE}`,
      [tenantId, after],
    );
    const ids = products.map((p) => p.id);
    if (ids.length === 0) return { products, variants: new Map(), images: new Map() };
    const { rows: variants } = await tx.query<VariantRow>(
      `SELECT v.product_id, v.sku, v.option1, v.option2, v.option3, v.price, v.compare_at_price, v.weight_grams,
              v.barcode, v.allow_backorder, coalesce(i.on_hand, 0)::int AS on_hand
         FROM catalog_variants v
         LEFT JOIN catalog_locations l ON l.tenant_id = v.tenant_id AND l.name = 'Default'
         LEFT JOIN catalog_inventory i ON i.tenant_id = v.tenant_id AND i.variant_id = v.id AND i.location_id = l.id
        WHERE v.tenant_id = $1 AND v.product_id = ANY($2::uuid[]) ORDER BY v.product_id, v.position, v.id`,
      [tenantId, ids],
    );
    const { rows: images } = await tx.query<ImageRow>(
      `SELECT product_id, storage_key, widths, content_type, alt, position FROM catalog_images
        WHERE tenant_id = $1 AND product_id = ANY($2::uuid[]) ORDER BY product_id, position, id`,
      [tenantId, ids],
    );
    return { products, variants: groupBy(variants), images: groupBy(images) };
  });
}

/** The CSV of a tenant's products, as a stream (errors after the first bytes end the stream). */
export function exportCsv(deps: {
  database: Database;
  tenantId: string;
  currency: string;
  imageUrls: ImageUrls;
  /** Makes a relative URL (`/media/…`) absolute for other systems. */
  absolute: (url: string) => string;
}): Readable {
  const { database, tenantId } = deps;
  const exponent = currencyExponent(deps.currency);
  const money = (v: string | null) => (v === null ? '' : minorToDecimal(Number(v), exponent));

  async function* rows(): AsyncGenerator<string[]> {
    const categories = await categoryPaths(database, tenantId);
    let after: string | null = null;
    for (;;) {
      const { products, variants, images } = await page(database, tenantId, after);
      for (const p of products) {
        const vs: VariantRow[] = variants.get(p.id) ?? [];
        const is: ImageRow[] = images.get(p.id) ?? [];
        const plain = p.option_names.length === 0 && vs.every((v) => !v.option1 && !v.option2 && !v.option3);
        const names = plain ? ['Title'] : p.option_names;
        const category = p.category_id ? categories.get(p.category_id) : undefined;
        for (let i = 0; i < Math.max(vs.length, is.length, 1); i++) {
          const row: Partial<Record<Column, string>> = { Handle: p.handle };
          if (i === 0)
            Object.assign(row, {
              Title: p.title,
              'Body (HTML)': p.description_html,
              Vendor: p.vendor ?? '',
              'Product Category': category?.path ?? '',
              Type: category?.name ?? '',
              Tags: p.tags.join(', '),
              Published: p.status === 'active' ? 'TRUE' : 'FALSE',
              'Option1 Name': names[0] ?? '',
              'Option2 Name': names[1] ?? '',
              'Option3 Name': names[2] ?? '',
              'SEO Title': p.seo_title ?? '',
              'SEO Description': p.seo_description ?? '',
              Status: p.status,
            });
          const v = vs[i];
          if (v)
            Object.assign(row, {
              'Option1 Value': plain ? 'Default Title' : (v.option1 ?? ''),
              'Option2 Value': v.option2 ?? '',
              'Option3 Value': v.option3 ?? '',
              'Variant SKU': v.sku ?? '',
              'Variant Grams': v.weight_grams === null ? '' : String(v.weight_grams),
              'Variant Inventory Tracker': 'shopify',
              'Variant Inventory Qty': String(v.on_hand),
              'Variant Inventory Policy': v.allow_backorder ? 'continue' : 'deny',
              'Variant Price': money(v.price),
              'Variant Compare At Price': money(v.compare_at_price),
              'Variant Barcode': v.barcode ?? '',
              'Variant Weight Unit': 'g',
            });
          const image = is[i];
          if (image)
            Object.assign(row, {
              'Image Src': deps.absolute(
                deps.imageUrls({
                  storageKey: image.storage_key,
                  widths: image.widths,
                  contentType: image.content_type,
                }).original,
              ),
              'Image Position': String(image.position + 1),
              'Image Alt Text': image.alt,
            });
          yield CSV_COLUMNS.map((c) => row[c] ?? '');
        }
      }
      if (products.length < EXPORT_PAGE) return;
      after = products[products.length - 1].handle;
    }
  }

  const out = stringify({ header: true, columns: [...CSV_COLUMNS] });
  pipeline(Readable.from(rows()), out, (error) => {
    if (error) out.destroy(error);
  });
  return out;
}
