import type { Readable } from 'node:stream';
import type { Tx } from '../platform/db/client.ts';
import { unprocessable } from '../platform/errors.ts';
import { createCategory } from './categories.ts';
import { type BatchProduct, writeBatch } from './csv-batch.ts';
import type { Column } from './csv-columns.ts';
import { type CsvProduct, readCsvProducts, RowErrors } from './csv-read.ts';
import { defaultLocation } from './inventory.ts';
import { currencyExponent } from './money.ts';
import type { WriteContext } from './products.ts';
import { slugify } from './text.ts';

/*
 * The CSV import (issue 11): one file, one transaction. Products stream in from csv-read.ts and
 * are written in batches (csv-batch.ts); once any row has an error nothing more is written, but
 * the rest of the file is still read so the answer lists every problem (the first 100) with its
 * line, and the caller's transaction is rolled back by the 422 thrown at the end.
 */

export const IMPORT_BATCH = 500;
export const MAX_REPORTED_ERRORS = 100;

export type ImportSummary = {
  rows: number;
  products: { created: number; updated: number };
  variants: { created: number; updated: number; deleted: number };
  categories: { created: number };
  stock: { changed: number };
  images: { ignored: number };
};

type CategoryNode = { id: string; parentId: string | null; name: string; handle: string };

/** The tenant's categories by parent and name, creating those a `Product Category` path lacks. */
async function categoryIndex(tx: Tx, tenantId: string) {
  const { rows } = await tx.query<{ id: string; parent_id: string | null; name: string; handle: string }>(
    'SELECT id, parent_id, name, handle FROM catalog_categories WHERE tenant_id = $1',
    [tenantId],
  );
  const key = (parentId: string | null, name: string) => `${parentId ?? ''}/${name.toLowerCase()}`;
  const nodes = new Map<string, CategoryNode>();
  const handles = new Set<string>();
  for (const r of rows) {
    nodes.set(key(r.parent_id, r.name), { id: r.id, parentId: r.parent_id, name: r.name, handle: r.handle });
    handles.add(r.handle);
  }
  let created = 0;
  const freeHandle = (name: string, parent?: CategoryNode) => {
    const base = slugify(name) || 'category';
    const candidates = [base, ...(parent ? [`${parent.handle}-${base}`] : [])];
    for (const c of candidates) if (!handles.has(c)) return c;
    for (let n = 2; ; n++) if (!handles.has(`${base}-${n}`)) return `${base}-${n}`;
  };
  return {
    get created() {
      return created;
    },
    /** The segments of `A > B > C`, or a message when one will not do as a category name. */
    segments(path: string): string[] | string {
      const parts = path
        .split('>')
        .map((s) => s.trim())
        .filter(Boolean);
      if (parts.length > 10) return 'has more than 10 levels';
      if (parts.some((s) => s.length > 255)) return 'has a category name over 255 characters';
      return parts;
    },
    /** The leaf of a path, created with its missing parents. */
    async resolve(parts: string[]): Promise<{ id: string; name: string } | null> {
      let parent: CategoryNode | undefined;
      for (const name of parts) {
        let node = nodes.get(key(parent?.id ?? null, name));
        if (!node) {
          const made = await createCategory(tx, tenantId, {
            name,
            handle: freeHandle(name, parent),
            parentId: parent?.id ?? null,
          });
          node = { id: made.id, parentId: made.parentId, name: made.name, handle: made.handle };
          nodes.set(key(node.parentId, name), node);
          handles.add(node.handle);
          created++;
        }
        parent = node;
      }
      return parent ? { id: parent.id, name: parent.name } : null;
    },
  };
}

/** The category text of a product: `Product Category`, else `Type`; undefined without either column. */
function categoryText(p: CsvProduct, present: Set<Column>): string | null | undefined {
  if (!present.has('Product Category') && !present.has('Type')) return undefined;
  return p.cells['Product Category'] ?? p.cells.Type ?? null;
}

export async function importCsv(
  tx: Tx,
  ctx: WriteContext,
  source: Readable,
  publish: (tx: Tx, changes: { productId: string; change: 'created' | 'updated' }[]) => Promise<void>,
): Promise<ImportSummary> {
  const { tenantId } = ctx;
  const errors = new RowErrors(MAX_REPORTED_ERRORS);
  const stats = { rows: 0 };
  const summary: ImportSummary = {
    rows: 0,
    products: { created: 0, updated: 0 },
    variants: { created: 0, updated: 0, deleted: 0 },
    categories: { created: 0 },
    stock: { changed: 0 },
    images: { ignored: 0 },
  };
  // Batches are big statements whose estimated cost would have PostgreSQL JIT-compile each one,
  // which costs more than it saves here.
  await tx.query('SET LOCAL jit = off');
  const locationId = await defaultLocation(tx, tenantId);
  const categories = await categoryIndex(tx, tenantId);
  let present = new Set<Column>();

  /** SKUs that another stored product (another handle) already has. */
  async function checkSkus(batch: CsvProduct[]) {
    const lines = new Map<string, { line: number; handle: string }>();
    for (const p of batch)
      for (const v of p.variants) {
        const sku = v.cells['Variant SKU'];
        if (sku) lines.set(sku, { line: v.line, handle: p.handle });
      }
    if (lines.size === 0) return;
    const { rows } = await tx.query<{ sku: string; handle: string }>(
      `SELECT v.sku, p.handle FROM catalog_variants v
         JOIN catalog_products p ON p.tenant_id = v.tenant_id AND p.id = v.product_id
        WHERE v.tenant_id = $1 AND v.sku = ANY($2::text[])`,
      [tenantId, [...lines.keys()]],
    );
    for (const r of rows) {
      const at = lines.get(r.sku);
      if (at && at.handle !== r.handle)
        errors.add({
          line: at.line,
          column: 'Variant SKU',
          message: `"${r.sku}" is the SKU of the product "${r.handle}"`,
        });
    }
  }

  async function flush(batch: CsvProduct[]) {
    if (batch.length === 0) return;
    await checkSkus(batch);
    const ready: BatchProduct[] = [];
    for (const p of batch) {
      const text = categoryText(p, present);
      const parts = text ? categories.segments(text) : [];
      if (typeof parts === 'string') {
        errors.add({
          line: p.line,
          column: p.cells['Product Category'] ? 'Product Category' : 'Type',
          message: parts,
        });
        continue;
      }
      if (errors.count > 0) continue;
      ready.push({ ...p, category: text === undefined ? undefined : await categories.resolve(parts) });
    }
    if (errors.count > 0) return;
    const written = await writeBatch(tx, { tenantId, actor: ctx.actor, locationId, present }, ready);
    summary.products.created += written.created.length;
    summary.products.updated += written.updated.length;
    summary.variants.created += written.variants.created;
    summary.variants.updated += written.variants.updated;
    summary.variants.deleted += written.variants.deleted;
    summary.stock.changed += written.stockChanged;
    await publish(tx, [
      ...written.created.map((productId) => ({ productId, change: 'created' as const })),
      ...written.updated.map((productId) => ({ productId, change: 'updated' as const })),
    ]);
  }

  // While one batch is written, the next is read and checked (the CSV work and the database's
  // overlap); only one batch is written at a time, in file order.
  let writing: Promise<void> = Promise.resolve();
  let batch: CsvProduct[] = [];
  for await (const product of readCsvProducts(source, {
    exponent: currencyExponent(ctx.currency),
    errors,
    stats,
    onHeader: (header) => {
      present = header.present;
    },
  })) {
    summary.images.ignored += product.images;
    batch.push(product);
    if (batch.length >= IMPORT_BATCH) {
      const full = batch;
      batch = [];
      await writing;
      writing = flush(full);
      // Handled when awaited (before the next batch or at the end), never left unhandled.
      writing.catch(() => {});
    }
  }
  await writing;
  await flush(batch);
  summary.rows = stats.rows;
  summary.categories.created = categories.created;
  if (errors.count > 0)
    throw unprocessable(
      'CSV_INVALID',
      `${errors.count} problem${errors.count === 1 ? '' : 's'} in the CSV; nothing was imported`,
      { errors: errors.list, errorCount: errors.count, truncated: errors.count > errors.list.length },
    );
  if (stats.rows === 0) throw unprocessable('CSV_EMPTY', 'The CSV has a header but no product rows');
  return summary;
}
