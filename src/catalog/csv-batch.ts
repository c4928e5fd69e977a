import type { Tx } from '../platform/db/client.ts';
import type { Column } from './csv-columns.ts';
import type { CsvProduct, CsvVariant } from './csv-read.ts';
import { setStockMany } from './inventory.ts';
import { refreshProducts, searchSql } from './products.ts';
import { cleanDescription, withConstraintErrors } from './text.ts';

/*
 * Writes one batch of checked CSV products (csv-import.ts) with a handful of multi-row statements
 * instead of a few per product: products are upserted by handle, variants matched by SKU and then
 * by option set (unmatched stored variants are removed: the file lists a product's variants),
 * stock is set at the default location through `setStockMany` (ledger rows included), and the
 * search document is written with the row (new products) or rebuilt by `refreshProducts`, all in
 * the caller's transaction.
 */

/** A product ready to write: its category resolved (undefined: the file has no category column). */
export type BatchProduct = CsvProduct & { category: { id: string; name: string } | null | undefined };

export type BatchContext = { tenantId: string; actor: string; locationId: string; present: Set<Column> };

export type BatchResult = {
  created: string[];
  updated: string[];
  variants: { created: number; updated: number; deleted: number };
  stockChanged: number;
};

const SEARCH = searchSql({
  title: 'x.title',
  vendor: 'x.vendor',
  tags: 'x.tags',
  category: 'x.category_name',
  skus: 'x.skus',
  description: 'x.text',
});

const PRODUCT_RECORD = `x(id uuid, handle text, title text, html text, text text, status text, vendor text, tags text[],
  option_names text[], category_id uuid, category_name text, seo_title text, seo_description text,
  min_price bigint, max_price bigint, skus text)`;
const VARIANT_RECORD = `x(id uuid, product_id uuid, position int, sku text, title text, option1 text, option2 text,
  option3 text, price bigint, compare_at_price bigint, weight_grams int, barcode text, allow_backorder boolean)`;

function statusOf(p: CsvProduct): string | null {
  const { Status, Published } = p.cells;
  if (Status) return Status;
  if (Published) return Published === 'true' ? 'active' : 'draft';
  return null;
}

function productRecord(p: BatchProduct, id?: string) {
  const c = p.cells;
  const body = c['Body (HTML)'];
  const description = body ? cleanDescription(body) : { html: '', text: '' };
  const prices = p.variants.map((v) => v.cells['Variant Price'] as number);
  const skus = p.variants.map((v) => v.cells['Variant SKU']).filter(Boolean);
  return {
    id,
    handle: p.handle,
    title: c.Title,
    html: description.html,
    text: description.text,
    status: statusOf(p),
    vendor: c.Vendor ?? null,
    tags: c.Tags ?? [],
    option_names: p.optionNames,
    category_id: p.category?.id ?? null,
    category_name: p.category?.name ?? null,
    seo_title: c['SEO Title'] ?? null,
    seo_description: c['SEO Description'] ?? null,
    min_price: Math.min(...prices),
    max_price: Math.max(...prices),
    skus: skus.length ? skus.join(' ') : null,
  };
}

function backorder(v: CsvVariant): boolean | null {
  const policy = v.cells['Variant Inventory Policy'];
  return policy ? policy === 'continue' || policy === 'true' : null;
}

function variantRecord(v: CsvVariant, productId: string, position: number, id?: string) {
  const c = v.cells;
  return {
    id,
    product_id: productId,
    position,
    sku: c['Variant SKU'] ?? null,
    title: v.options.filter(Boolean).join(' / ') || 'Default',
    option1: v.options[0],
    option2: v.options[1],
    option3: v.options[2],
    price: c['Variant Price'],
    compare_at_price: c['Variant Compare At Price'] ?? null,
    weight_grams: c['Variant Grams'] ?? null,
    barcode: c['Variant Barcode'] ?? null,
    allow_backorder: backorder(v),
  };
}

type StoredVariant = {
  id: string;
  product_id: string;
  sku: string | null;
  option1: string | null;
  option2: string | null;
  option3: string | null;
};

const optionKey = (o: (string | null)[]) => JSON.stringify(o);

/** Pairs a product's file variants with stored ones: same SKU first, then the same option set. */
function match(variants: CsvVariant[], stored: StoredVariant[]) {
  const pairs = new Map<CsvVariant, StoredVariant>();
  const used = new Set<string>();
  const bySku = new Map(stored.filter((s) => s.sku).map((s) => [s.sku as string, s]));
  for (const v of variants) {
    const s = v.cells['Variant SKU'] ? bySku.get(v.cells['Variant SKU']) : undefined;
    if (s) {
      pairs.set(v, s);
      used.add(s.id);
    }
  }
  for (const v of variants) {
    if (pairs.has(v)) continue;
    const key = optionKey(v.options);
    const s = stored.find((c) => !used.has(c.id) && optionKey([c.option1, c.option2, c.option3]) === key);
    if (s) {
      pairs.set(v, s);
      used.add(s.id);
    }
  }
  return { pairs, unmatched: stored.filter((s) => !used.has(s.id)) };
}

/** `column = x.column` for the columns the file has (others keep what is stored). */
function sets(present: Set<Column>, always: string[], optional: [Column, string][]) {
  return [...always, ...optional.filter(([c]) => present.has(c)).map(([, s]) => s)].join(', ');
}

export async function writeBatch(tx: Tx, ctx: BatchContext, batch: BatchProduct[]): Promise<BatchResult> {
  const { tenantId, present } = ctx;
  const result: BatchResult = {
    created: [],
    updated: [],
    variants: { created: 0, updated: 0, deleted: 0 },
    stockChanged: 0,
  };
  const { rows: existing } = await tx.query<{ id: string; handle: string }>(
    'SELECT id, handle FROM catalog_products WHERE tenant_id = $1 AND handle = ANY($2::text[]) FOR UPDATE',
    [tenantId, batch.map((p) => p.handle)],
  );
  const idOf = new Map(existing.map((r) => [r.handle, r.id]));
  const fresh = batch.filter((p) => !idOf.has(p.handle));
  const old = batch.filter((p) => idOf.has(p.handle));

  return withConstraintErrors(async () => {
    if (fresh.length) {
      const { rows } = await tx.query<{ id: string; handle: string }>(
        `INSERT INTO catalog_products (tenant_id, handle, title, description_html, description_text, status, vendor, tags,
                option_names, category_id, seo_title, seo_description, min_price, max_price, search, search_text)
         SELECT $1, x.handle, x.title, x.html, x.text, coalesce(x.status, 'active'), x.vendor, x.tags, x.option_names,
                x.category_id, x.seo_title, x.seo_description, x.min_price, x.max_price, ${SEARCH.search}, ${SEARCH.searchText}
           FROM json_to_recordset($2::json) AS ${PRODUCT_RECORD}
         RETURNING id, handle`,
        [tenantId, JSON.stringify(fresh.map((p) => productRecord(p)))],
      );
      for (const r of rows) idOf.set(r.handle, r.id);
      result.created = rows.map((r) => r.id);
    }
    if (old.length) {
      const set = sets(
        present,
        [
          'title = x.title',
          'status = coalesce(x.status, p.status)',
          'version = p.version + 1',
          'updated_at = now()',
        ],
        [
          ['Body (HTML)', 'description_html = x.html, description_text = x.text'],
          ['Vendor', 'vendor = x.vendor'],
          ['Tags', 'tags = x.tags'],
          ['Option1 Name', 'option_names = x.option_names'],
          ['SEO Title', 'seo_title = x.seo_title'],
          ['SEO Description', 'seo_description = x.seo_description'],
        ],
      );
      const category =
        present.has('Product Category') || present.has('Type') ? ', category_id = x.category_id' : '';
      await tx.query(
        `UPDATE catalog_products p SET ${set}${category} FROM json_to_recordset($2::json) AS ${PRODUCT_RECORD}
          WHERE p.tenant_id = $1 AND p.id = x.id`,
        [tenantId, JSON.stringify(old.map((p) => productRecord(p, idOf.get(p.handle))))],
      );
      result.updated = old.map((p) => idOf.get(p.handle) as string);
    }

    // Variants: match the stored ones of updated products, remove the rest, then update and insert.
    const { rows: stored } = old.length
      ? await tx.query<StoredVariant>(
          `SELECT id, product_id, sku, option1, option2, option3 FROM catalog_variants
            WHERE tenant_id = $1 AND product_id = ANY($2::uuid[])`,
          [tenantId, result.updated],
        )
      : { rows: [] };
    const storedOf = new Map<string, StoredVariant[]>();
    for (const s of stored) storedOf.set(s.product_id, [...(storedOf.get(s.product_id) ?? []), s]);
    const inserts: ReturnType<typeof variantRecord>[] = [];
    const updates: ReturnType<typeof variantRecord>[] = [];
    const removed: string[] = [];
    const stock: {
      variantId?: string;
      key: string;
      onHand: number;
      fresh?: boolean;
      allowBackorder?: boolean;
    }[] = [];
    for (const p of batch) {
      const productId = idOf.get(p.handle) as string;
      const { pairs, unmatched } = match(p.variants, storedOf.get(productId) ?? []);
      removed.push(...unmatched.map((s) => s.id));
      p.variants.forEach((v, position) => {
        const s = pairs.get(v);
        const qty = v.cells['Variant Inventory Qty'];
        if (s) {
          updates.push(variantRecord(v, productId, position, s.id));
          if (qty !== undefined && qty !== null) stock.push({ variantId: s.id, key: '', onHand: qty });
        } else {
          const record = variantRecord(v, productId, position);
          inserts.push(record);
          stock.push({
            key: `${productId}:${position}`,
            onHand: qty ?? 0,
            fresh: true,
            allowBackorder: record.allow_backorder ?? false,
          });
        }
      });
    }
    if (removed.length)
      await tx.query('DELETE FROM catalog_variants WHERE tenant_id = $1 AND id = ANY($2::uuid[])', [
        tenantId,
        removed,
      ]);
    if (updates.length) {
      const set = sets(
        present,
        [
          'title = x.title',
          'option1 = x.option1',
          'option2 = x.option2',
          'option3 = x.option3',
          'price = x.price',
          'position = x.position',
          'allow_backorder = coalesce(x.allow_backorder, v.allow_backorder)',
          'updated_at = now()',
        ],
        [
          ['Variant SKU', 'sku = x.sku'],
          ['Variant Compare At Price', 'compare_at_price = x.compare_at_price'],
          ['Variant Grams', 'weight_grams = x.weight_grams'],
          ['Variant Barcode', 'barcode = x.barcode'],
        ],
      );
      await tx.query(
        `UPDATE catalog_variants v SET ${set} FROM json_to_recordset($2::json) AS ${VARIANT_RECORD}
          WHERE v.tenant_id = $1 AND v.id = x.id`,
        [tenantId, JSON.stringify(updates)],
      );
      // Stock rows carry the backorder flag for their CHECK.
      await tx.query(
        `UPDATE catalog_inventory i SET allow_backorder = v.allow_backorder FROM catalog_variants v
          WHERE i.tenant_id = $1 AND v.tenant_id = $1 AND v.id = i.variant_id AND v.id = ANY($2::uuid[])
            AND i.allow_backorder <> v.allow_backorder`,
        [tenantId, updates.map((u) => u.id)],
      );
    }
    if (inserts.length) {
      const { rows } = await tx.query<{ id: string; product_id: string; position: number }>(
        `INSERT INTO catalog_variants (tenant_id, product_id, sku, title, option1, option2, option3, price,
                compare_at_price, weight_grams, barcode, allow_backorder, position)
         SELECT $1, x.product_id, x.sku, x.title, x.option1, x.option2, x.option3, x.price, x.compare_at_price,
                x.weight_grams, x.barcode, coalesce(x.allow_backorder, false), x.position
           FROM json_to_recordset($2::json) AS ${VARIANT_RECORD}
         RETURNING id, product_id, position`,
        [tenantId, JSON.stringify(inserts)],
      );
      const byKey = new Map(rows.map((r) => [`${r.product_id}:${r.position}`, r.id]));
      for (const s of stock) if (!s.variantId) s.variantId = byKey.get(s.key);
    }
    result.stockChanged = await setStockMany(tx, tenantId, {
      locationId: ctx.locationId,
      items: stock.map((s) => ({
        variantId: s.variantId as string,
        onHand: s.onHand,
        fresh: s.fresh,
        allowBackorder: s.allowBackorder,
      })),
      actor: ctx.actor,
      note: 'CSV import',
    });
    await refreshProducts(tx, tenantId, result.updated);
    result.variants = { created: inserts.length, updated: updates.length, deleted: removed.length };
    return result;
  });
}
