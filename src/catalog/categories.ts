import type { z } from 'zod';
import type { Tx } from '../platform/db/client.ts';
import { conflict, notFound, unprocessable } from '../platform/errors.ts';
import type { categoryInput, categoryPatch, categoryReorder } from './api.ts';
import { slugify, withConstraintErrors } from './text.ts';

/*
 * Categories (issue 11): a tree per tenant (parent, position among siblings, handle). A move that
 * would put a category under itself or one of its descendants is 409 CATEGORY_CYCLE; a category
 * that still holds subcategories or products cannot be deleted (409 CATEGORY_IN_USE).
 */

type CategoryRow = {
  id: string;
  parent_id: string | null;
  name: string;
  handle: string;
  description: string;
  position: number;
  product_count: number;
};

const view = (r: CategoryRow) => ({
  id: r.id,
  parentId: r.parent_id,
  name: r.name,
  handle: r.handle,
  description: r.description,
  position: r.position,
  productCount: r.product_count,
});

/** Every category of the tenant, parents before children, siblings by position. */
export async function listCategories(tx: Tx, tenantId: string) {
  const { rows } = await tx.query<CategoryRow>(
    `WITH RECURSIVE tree AS (
       SELECT c.*, ARRAY[c.position::text || ':' || c.id::text] AS path FROM catalog_categories c
        WHERE c.tenant_id = $1 AND c.parent_id IS NULL
       UNION ALL
       SELECT c.*, t.path || (c.position::text || ':' || c.id::text) FROM catalog_categories c
         JOIN tree t ON c.tenant_id = t.tenant_id AND c.parent_id = t.id)
     SELECT t.id, t.parent_id, t.name, t.handle, t.description, t.position,
            (SELECT count(*)::int FROM catalog_products p
              WHERE p.tenant_id = t.tenant_id AND p.category_id = t.id AND p.status = 'active') AS product_count
       FROM tree t ORDER BY t.path`,
    [tenantId],
  );
  return rows.map(view);
}

/** A category by id or handle; 404 when unknown. */
export async function findCategory(tx: Tx, tenantId: string, idOrHandle: string) {
  const byId = /^[0-9a-f-]{36}$/i.test(idOrHandle);
  const { rows } = await tx.query<CategoryRow>(
    `SELECT c.*, 0 AS product_count FROM catalog_categories c WHERE c.tenant_id = $1 AND ${byId ? 'c.id = $2::uuid' : 'c.handle = $2'}`,
    [tenantId, idOrHandle],
  );
  if (rows.length === 0) throw notFound('category', idOrHandle);
  return view(rows[0]);
}

/** The ids of a category and all its descendants (storefront filters include subcategories). */
export async function subtreeIds(tx: Tx, tenantId: string, categoryId: string): Promise<string[]> {
  const { rows } = await tx.query<{ id: string }>(
    `WITH RECURSIVE sub AS (
       SELECT id FROM catalog_categories WHERE tenant_id = $1 AND id = $2
       UNION ALL
       SELECT c.id FROM catalog_categories c JOIN sub s ON c.tenant_id = $1 AND c.parent_id = s.id)
     SELECT id FROM sub`,
    [tenantId, categoryId],
  );
  return rows.map((r) => r.id);
}

async function checkParent(
  tx: Tx,
  tenantId: string,
  categoryId: string | null,
  parentId: string | null | undefined,
) {
  if (!parentId) return;
  const exists = await tx.query('SELECT 1 FROM catalog_categories WHERE tenant_id = $1 AND id = $2', [
    tenantId,
    parentId,
  ]);
  if (exists.rows.length === 0) throw unprocessable('UNKNOWN_CATEGORY', 'The parent category does not exist');
  if (categoryId && (await subtreeIds(tx, tenantId, categoryId)).includes(parentId))
    throw conflict('CATEGORY_CYCLE', 'A category cannot be moved under itself or one of its subcategories');
}

/** Creates a category (at the end of its siblings unless a position is given). */
export async function createCategory(tx: Tx, tenantId: string, input: z.infer<typeof categoryInput>) {
  await checkParent(tx, tenantId, null, input.parentId);
  return withConstraintErrors(async () => {
    const { rows } = await tx.query<CategoryRow>(
      `INSERT INTO catalog_categories (tenant_id, parent_id, name, handle, description, position)
       VALUES ($1, $2, $3, $4, $5, coalesce($6, (SELECT coalesce(max(position) + 1, 0) FROM catalog_categories
                WHERE tenant_id = $1 AND parent_id IS NOT DISTINCT FROM $2::uuid)))
       RETURNING *, 0 AS product_count`,
      [
        tenantId,
        input.parentId ?? null,
        input.name,
        input.handle ?? (slugify(input.name) || 'category'),
        input.description ?? '',
        input.position ?? null,
      ],
    );
    return view(rows[0]);
  });
}

/** Changes a category (moving it checks for cycles). */
export async function updateCategory(
  tx: Tx,
  tenantId: string,
  categoryId: string,
  patch: z.infer<typeof categoryPatch>,
) {
  await findCategory(tx, tenantId, categoryId);
  if (patch.parentId !== undefined) await checkParent(tx, tenantId, categoryId, patch.parentId);
  const fields: [string, unknown][] = [
    ['name', patch.name],
    ['handle', patch.handle],
    ['description', patch.description],
    ['parent_id', patch.parentId],
    ['position', patch.position],
  ].filter(([, v]) => v !== undefined) as [string, unknown][];
  return withConstraintErrors(async () => {
    const { rows } = await tx.query<CategoryRow>(
      `UPDATE catalog_categories SET ${[...fields.map(([c], i) => `${c} = $${i + 3}`), 'updated_at = now()'].join(', ')}
        WHERE tenant_id = $1 AND id = $2 RETURNING *, 0 AS product_count`,
      [tenantId, categoryId, ...fields.map(([, v]) => v)],
    );
    return view(rows[0]);
  });
}

/** Deletes an empty category. */
export async function deleteCategory(tx: Tx, tenantId: string, categoryId: string) {
  await findCategory(tx, tenantId, categoryId);
  const { rows } = await tx.query<{ children: number; products: number }>(
    `SELECT (SELECT count(*)::int FROM catalog_categories WHERE tenant_id = $1 AND parent_id = $2) AS children,
            (SELECT count(*)::int FROM catalog_products WHERE tenant_id = $1 AND category_id = $2) AS products`,
    [tenantId, categoryId],
  );
  if (rows[0].children > 0 || rows[0].products > 0)
    throw conflict('CATEGORY_IN_USE', 'Move or delete its subcategories and products first', rows[0]);
  await tx.query('DELETE FROM catalog_categories WHERE tenant_id = $1 AND id = $2', [tenantId, categoryId]);
}

/** Sets the order of a parent's children: `order` must list exactly its children. */
export async function reorderCategories(tx: Tx, tenantId: string, input: z.infer<typeof categoryReorder>) {
  const { rows } = await tx.query<{ id: string }>(
    'SELECT id FROM catalog_categories WHERE tenant_id = $1 AND parent_id IS NOT DISTINCT FROM $2::uuid FOR UPDATE',
    [tenantId, input.parentId],
  );
  const children = new Set(rows.map((r) => r.id));
  const given = new Set(input.order);
  if (
    given.size !== input.order.length ||
    given.size !== children.size ||
    input.order.some((id) => !children.has(id))
  )
    throw unprocessable('INVALID_ORDER', 'order must list every child of the parent exactly once', {
      children: [...children],
    });
  for (const [position, id] of input.order.entries())
    await tx.query(
      'UPDATE catalog_categories SET position = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2',
      [tenantId, id, position],
    );
  return listCategories(tx, tenantId);
}
