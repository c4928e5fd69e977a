import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { authHeaders, type Credentials, call } from './identity.ts';
import type { TestServer } from './server.ts';

/** Helpers for the catalog CSV tests: post and fetch CSVs, and a tenant's catalog in comparable form. */

export type CsvResponse = { status: number; body: any; text: string; headers: Headers };

async function read(res: Response): Promise<CsvResponse> {
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, body, text, headers: res.headers };
}

const importPath = (tenantId: string) => `/api/v1/tenants/${tenantId}/catalog/products/import`;

/** POSTs a CSV as the raw body (`text/csv` unless told otherwise). */
export async function postCsv(
  server: TestServer,
  as: Credentials,
  tenantId: string,
  csv: string | Uint8Array,
  type = 'text/csv',
): Promise<CsvResponse> {
  return read(
    await server.fetch(importPath(tenantId), {
      method: 'POST',
      headers: { ...authHeaders(as), 'content-type': type },
      body: csv,
    }),
  );
}

/** POSTs a CSV as a multipart file in the field `field`. */
export async function postCsvFile(
  server: TestServer,
  as: Credentials,
  tenantId: string,
  csv: string,
  field = 'file',
): Promise<CsvResponse> {
  const form = new FormData();
  form.append(field, new Blob([csv], { type: 'text/csv' }), 'products.csv');
  return read(
    await server.fetch(importPath(tenantId), { method: 'POST', headers: authHeaders(as), body: form }),
  );
}

export async function getCsv(server: TestServer, as: Credentials, tenantId: string): Promise<CsvResponse> {
  return read(
    await server.fetch(`/api/v1/tenants/${tenantId}/catalog/products/export`, { headers: authHeaders(as) }),
  );
}

/** A CSV from a header and rows of cells by column name (missing cells empty). */
export function csvOf(columns: string[], rows: Record<string, string>[]): string {
  return stringify([columns, ...rows.map((r) => columns.map((c) => r[c] ?? ''))]);
}

/** Parses a CSV into rows of cells by column name. */
export function rowsOf(csv: string): Record<string, string>[] {
  return parse(csv, { columns: true, bom: true });
}

/** Every product of a tenant (staff view), sorted by handle, in a form two tenants can be compared by. */
export async function catalogOf(server: TestServer, as: Credentials, tenantId: string) {
  const categories = (await call(server, as, 'GET', `/api/v1/tenants/${tenantId}/catalog/categories`)).body
    .items;
  const byId = new Map<string, any>(categories.map((c: any) => [c.id, c]));
  const pathOf = (id: string | null): string | null => {
    const names: string[] = [];
    for (let c = id ? byId.get(id) : undefined; c; c = c.parentId ? byId.get(c.parentId) : undefined)
      names.unshift(c.name);
    return names.length ? names.join(' > ') : null;
  };
  const products: any[] = [];
  let cursor: string | null = null;
  do {
    const res: { body: { items: any[]; nextCursor: string | null } } = await call(
      server,
      as,
      'GET',
      `/api/v1/tenants/${tenantId}/catalog/products?limit=250${cursor ? `&cursor=${cursor}` : ''}`,
    );
    products.push(...res.body.items);
    cursor = res.body.nextCursor;
  } while (cursor);
  return products
    .map((p) => ({
      handle: p.handle,
      title: p.title,
      descriptionHtml: p.descriptionHtml,
      status: p.status,
      vendor: p.vendor,
      tags: p.tags,
      optionNames: p.optionNames,
      category: pathOf(p.categoryId),
      seoTitle: p.seoTitle,
      seoDescription: p.seoDescription,
      priceRange: p.priceRange,
      variants: p.variants.map((v: any) => ({
        sku: v.sku,
        title: v.title,
        options: [v.option1, v.option2, v.option3],
        price: v.price,
        compareAtPrice: v.compareAtPrice,
        weightGrams: v.weightGrams,
        barcode: v.barcode,
        allowBackorder: v.allowBackorder,
        onHand: v.inventory.onHand,
      })),
    }))
    .sort((a, b) => a.handle.localeCompare(b.handle));
}

/** Rows of a few tables of the whole database (what an import that fails must leave alone). */
export async function tableCounts(server: TestServer) {
  const { rows } = await server.deps.database.query<Record<string, number>>(
    `SELECT (SELECT count(*)::int FROM catalog_products) AS products,
            (SELECT count(*)::int FROM catalog_variants) AS variants,
            (SELECT count(*)::int FROM catalog_categories) AS categories,
            (SELECT count(*)::int FROM catalog_inventory) AS inventory,
            (SELECT count(*)::int FROM catalog_inventory_ledger) AS ledger,
            (SELECT count(*)::int FROM pgboss.job WHERE name = 'catalog.product.updated') AS events`,
  );
  return rows[0];
}
