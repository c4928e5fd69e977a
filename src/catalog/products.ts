import type { Tx } from '../platform/db/client.ts';
import { AppError, notFound, unprocessable } from '../platform/errors.ts';
import type { ProductCreate, ProductPatch, VariantInput } from './api.ts';
import { adjustStock, defaultLocation } from './inventory.ts';
import { cleanDescription, slugify, withConstraintErrors } from './text.ts';

/*
 * Product and variant writes (issue 11). Every write runs in the caller's tenant transaction,
 * bumps the product's `version` (optimistic concurrency: a stale `If-Match` is 412 and nothing is
 * written) and refreshes the product's search document and price range in the same transaction,
 * so storefront search never lags the catalog.
 */

/** Who writes, for which tenant, in which currency. */
export type WriteContext = { tenantId: string; currency: string; actor: string };

/** 412 when `expected` is given and is not the product's current version. */
export function staleVersion(current: number): AppError {
  return new AppError(
    412,
    'STALE_VERSION',
    'The product was changed by someone else; reload it and try again',
    {
      details: { currentVersion: current },
    },
  );
}

function checkCurrency(ctx: WriteContext, currency: string | undefined): void {
  if (currency && currency !== ctx.currency)
    throw unprocessable('CURRENCY_MISMATCH', `Prices of this store are in ${ctx.currency}`, {
      currency,
      storeCurrency: ctx.currency,
    });
}

/** A handle nobody in the tenant uses yet: the slug, or the slug with the next free number. */
async function freeHandle(tx: Tx, tenantId: string, title: string): Promise<string> {
  const base = slugify(title) || 'product';
  const { rows } = await tx.query<{ handle: string }>(
    `SELECT handle FROM catalog_products WHERE tenant_id = $1 AND (handle = $2 OR handle LIKE $2 || '-%')`,
    [tenantId, base],
  );
  const taken = new Set(rows.map((r) => r.handle));
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) if (!taken.has(`${base}-${n}`)) return `${base}-${n}`;
}

/** SQL expressions of a product's fields, for the search document (columns or a batch's inputs). */
type SearchInputs = {
  title: string;
  vendor: string;
  tags: string;
  category: string;
  skus: string;
  description: string;
};

/**
 * The search document and trigram text as SQL: title A; vendor, tags, category name and SKUs B;
 * description C. One formula for single writes and batches (the CSV import).
 */
export function searchSql(f: SearchInputs): { search: string; searchText: string } {
  return {
    search: `setweight(to_tsvector('simple', ${f.title}), 'A')
          || setweight(to_tsvector('simple', concat_ws(' ', ${f.vendor}, array_to_string(${f.tags}, ' '), ${f.category}, ${f.skus})), 'B')
          || setweight(to_tsvector('simple', ${f.description}), 'C')`,
    searchText: `lower(concat_ws(' ', ${f.title}, ${f.vendor}, array_to_string(${f.tags}, ' ')))`,
  };
}

const REFRESH = searchSql({
  title: 'p.title',
  vendor: 'p.vendor',
  tags: 'p.tags',
  category:
    '(SELECT c.name FROM catalog_categories c WHERE c.tenant_id = p.tenant_id AND c.id = p.category_id)',
  skus: 'v.skus',
  description: 'p.description_text',
});

/**
 * Rebuilds products' search documents, trigram texts and price ranges from their current rows.
 */
export async function refreshProducts(tx: Tx, tenantId: string, productIds: string[]): Promise<void> {
  if (productIds.length === 0) return;
  await tx.query(
    `UPDATE catalog_products p SET search = ${REFRESH.search}, search_text = ${REFRESH.searchText},
            min_price = v.min_price, max_price = v.max_price
       FROM unnest($2::uuid[]) AS ids(id)
       CROSS JOIN LATERAL (SELECT min(price) AS min_price, max(price) AS max_price, string_agg(sku, ' ') AS skus
               FROM catalog_variants WHERE tenant_id = $1 AND product_id = ids.id) v
      WHERE p.tenant_id = $1 AND p.id = ids.id`,
    [tenantId, productIds],
  );
}

/** Rebuilds one product's search document and price range (see `refreshProducts`). */
export const refreshProduct = (tx: Tx, tenantId: string, productId: string) =>
  refreshProducts(tx, tenantId, [productId]);

/** Inserts one variant (and its stock row at the default location). */
async function insertVariant(
  tx: Tx,
  ctx: WriteContext,
  productId: string,
  input: VariantInput,
  position: number,
): Promise<string> {
  const title =
    input.title ?? ([input.option1, input.option2, input.option3].filter(Boolean).join(' / ') || 'Default');
  const { rows } = await tx.query<{ id: string }>(
    `INSERT INTO catalog_variants (tenant_id, product_id, sku, title, option1, option2, option3, price,
            compare_at_price, weight_grams, barcode, allow_backorder, low_stock_threshold, position)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
    [
      ctx.tenantId,
      productId,
      input.sku ?? null,
      title,
      input.option1 ?? null,
      input.option2 ?? null,
      input.option3 ?? null,
      input.price,
      input.compareAtPrice ?? null,
      input.weightGrams ?? null,
      input.barcode ?? null,
      input.allowBackorder ?? false,
      input.lowStockThreshold ?? 5,
      position,
    ],
  );
  const variantId = rows[0].id;
  const locationId = await defaultLocation(tx, ctx.tenantId);
  await tx.query(
    `INSERT INTO catalog_inventory (tenant_id, variant_id, location_id, allow_backorder) VALUES ($1, $2, $3, $4)`,
    [ctx.tenantId, variantId, locationId, input.allowBackorder ?? false],
  );
  if (input.onHand)
    await adjustStock(tx, ctx.tenantId, {
      variantId,
      locationId,
      onHandDelta: input.onHand,
      reason: 'received',
      actor: ctx.actor,
      note: 'initial stock',
    });
  return variantId;
}

/** Creates a product with its variants (a default variant at price 0 when none is given). */
export async function createProduct(tx: Tx, ctx: WriteContext, input: ProductCreate): Promise<string> {
  checkCurrency(ctx, input.currency);
  const description = cleanDescription(input.descriptionHtml ?? '');
  return withConstraintErrors(async () => {
    const handle = input.handle ?? (await freeHandle(tx, ctx.tenantId, input.title));
    const { rows } = await tx.query<{ id: string }>(
      `INSERT INTO catalog_products (tenant_id, handle, title, description_html, description_text, status, vendor,
              tags, category_id, seo_title, seo_description, option_names)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
      [
        ctx.tenantId,
        handle,
        input.title,
        description.html,
        description.text,
        input.status ?? 'draft',
        input.vendor ?? null,
        input.tags ?? [],
        input.categoryId ?? null,
        input.seoTitle ?? null,
        input.seoDescription ?? null,
        input.optionNames ?? [],
      ],
    );
    const productId = rows[0].id;
    const variants = input.variants?.length ? input.variants : [{ price: 0 }];
    for (const [position, variant] of variants.entries())
      await insertVariant(tx, ctx, productId, variant, position);
    await refreshProduct(tx, ctx.tenantId, productId);
    return productId;
  });
}

/**
 * Locks a product row and checks the caller's expected version; returns the current version.
 * 404 when it does not exist, 412 when `expected` is stale.
 */
export async function lockProduct(
  tx: Tx,
  tenantId: string,
  productId: string,
  expected?: number,
): Promise<number> {
  const { rows } = await tx.query<{ version: number }>(
    'SELECT version FROM catalog_products WHERE tenant_id = $1 AND id = $2 FOR UPDATE',
    [tenantId, productId],
  );
  if (rows.length === 0) throw notFound('product', productId);
  if (expected !== undefined && rows[0].version !== expected) throw staleVersion(rows[0].version);
  return rows[0].version;
}

/** After any change to a product or its children: next version, fresh search document and prices. */
export async function bump(tx: Tx, tenantId: string, productId: string): Promise<void> {
  await tx.query(
    'UPDATE catalog_products SET version = version + 1, updated_at = now() WHERE tenant_id = $1 AND id = $2',
    [tenantId, productId],
  );
  await refreshProduct(tx, tenantId, productId);
}

const PRODUCT_COLUMNS: Record<string, string> = {
  title: 'title',
  handle: 'handle',
  status: 'status',
  vendor: 'vendor',
  tags: 'tags',
  optionNames: 'option_names',
  categoryId: 'category_id',
  seoTitle: 'seo_title',
  seoDescription: 'seo_description',
};

/** Changes a product's own fields (variants have their own routes). */
export async function updateProduct(
  tx: Tx,
  ctx: WriteContext,
  productId: string,
  patch: ProductPatch,
  expected: number | undefined,
): Promise<void> {
  checkCurrency(ctx, patch.currency);
  await lockProduct(tx, ctx.tenantId, productId, expected);
  const sets: string[] = [];
  const params: unknown[] = [ctx.tenantId, productId];
  const set = (column: string, value: unknown) => {
    params.push(value);
    sets.push(`${column} = $${params.length}`);
  };
  for (const [field, column] of Object.entries(PRODUCT_COLUMNS)) {
    const value = patch[field as keyof ProductPatch];
    if (value !== undefined) set(column, value);
  }
  if (patch.descriptionHtml !== undefined) {
    const description = cleanDescription(patch.descriptionHtml);
    set('description_html', description.html);
    set('description_text', description.text);
  }
  await withConstraintErrors(async () => {
    if (sets.length > 0)
      await tx.query(
        `UPDATE catalog_products SET ${sets.join(', ')} WHERE tenant_id = $1 AND id = $2`,
        params,
      );
    await bump(tx, ctx.tenantId, productId);
  });
}

/** Deletes a product with its variants, stock rows and images (the stock ledger keeps its history). */
export async function deleteProduct(
  tx: Tx,
  tenantId: string,
  productId: string,
  expected?: number,
): Promise<void> {
  await lockProduct(tx, tenantId, productId, expected);
  await tx.query('DELETE FROM catalog_products WHERE tenant_id = $1 AND id = $2', [tenantId, productId]);
}

/** Adds a variant to a product. */
export async function addVariant(
  tx: Tx,
  ctx: WriteContext,
  productId: string,
  input: VariantInput,
  expected?: number,
): Promise<string> {
  await lockProduct(tx, ctx.tenantId, productId, expected);
  return withConstraintErrors(async () => {
    const { rows } = await tx.query<{ n: number }>(
      'SELECT coalesce(max(position) + 1, 0)::int AS n FROM catalog_variants WHERE tenant_id = $1 AND product_id = $2',
      [ctx.tenantId, productId],
    );
    const id = await insertVariant(tx, ctx, productId, input, rows[0].n);
    await bump(tx, ctx.tenantId, productId);
    return id;
  });
}

const VARIANT_COLUMNS: Record<string, string> = {
  sku: 'sku',
  title: 'title',
  option1: 'option1',
  option2: 'option2',
  option3: 'option3',
  price: 'price',
  compareAtPrice: 'compare_at_price',
  weightGrams: 'weight_grams',
  barcode: 'barcode',
  allowBackorder: 'allow_backorder',
  lowStockThreshold: 'low_stock_threshold',
};

/** The product a variant belongs to; 404 when the variant does not exist. */
export async function productOfVariant(tx: Tx, tenantId: string, variantId: string): Promise<string> {
  const { rows } = await tx.query<{ product_id: string }>(
    'SELECT product_id FROM catalog_variants WHERE tenant_id = $1 AND id = $2',
    [tenantId, variantId],
  );
  if (rows.length === 0) throw notFound('variant', variantId);
  return rows[0].product_id;
}

/** Changes a variant; returns its product's id. */
export async function updateVariant(
  tx: Tx,
  ctx: WriteContext,
  variantId: string,
  patch: Partial<VariantInput>,
  expected?: number,
): Promise<string> {
  const productId = await productOfVariant(tx, ctx.tenantId, variantId);
  await lockProduct(tx, ctx.tenantId, productId, expected);
  const entries = Object.entries(VARIANT_COLUMNS).filter(
    ([field]) => patch[field as keyof VariantInput] !== undefined,
  );
  await withConstraintErrors(async () => {
    if (entries.length > 0) {
      const params: unknown[] = [
        ctx.tenantId,
        variantId,
        ...entries.map(([f]) => patch[f as keyof VariantInput]),
      ];
      await tx.query(
        `UPDATE catalog_variants SET ${entries.map(([, c], i) => `${c} = $${i + 3}`).join(', ')}, updated_at = now()
          WHERE tenant_id = $1 AND id = $2`,
        params,
      );
    }
    if (patch.allowBackorder !== undefined)
      await tx.query(
        'UPDATE catalog_inventory SET allow_backorder = $3 WHERE tenant_id = $1 AND variant_id = $2',
        [ctx.tenantId, variantId, patch.allowBackorder],
      );
    await bump(tx, ctx.tenantId, productId);
  });
  return productId;
}

/** Removes a variant (a product keeps at least one: 409 for its last). Returns its product's id. */
export async function deleteVariant(
  tx: Tx,
  tenantId: string,
  variantId: string,
  expected?: number,
): Promise<string> {
  const productId = await productOfVariant(tx, tenantId, variantId);
  await lockProduct(tx, tenantId, productId, expected);
  const { rows } = await tx.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM catalog_variants WHERE tenant_id = $1 AND product_id = $2',
    [tenantId, productId],
  );
  if (rows[0].n <= 1)
    throw new AppError(
      409,
      'LAST_VARIANT',
      'A product keeps at least one variant; delete the product instead',
    );
  await tx.query('DELETE FROM catalog_variants WHERE tenant_id = $1 AND id = $2', [tenantId, variantId]);
  await bump(tx, tenantId, productId);
  return productId;
}
