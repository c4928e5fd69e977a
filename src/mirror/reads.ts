import type { Tx } from '../platform/db/client.ts';
import { sqlParams } from '../platform/db/params.ts';
import { notFound } from '../platform/errors.ts';
import { z } from 'zod';
import { cursorId, decodeCursor, encodeCursor } from '../platform/http/schemas.ts';
import type { Resource } from './queries.ts';
import { loadRecords, views } from './records.ts';
import { compileSearch } from './search.ts';

/*
 * Reads of the mirror (issue 7, seed 003's fetchers done securely): products, orders and customers
 * of a tenant with keyset pagination, filters and a text query in Shopify's search syntax; and the
 * counts and windows sync's status and reconcile compare against Shopify.
 */

/** Runs database work as the request's tenant (`request.auth.withTenant`). */
export type WithTenant = <T>(fn: (tx: Tx) => Promise<T>) => Promise<T>;

/** Filters shared by the three lists. */
export type ListFilters = {
  limit: number;
  cursor?: string;
  q?: string;
  status?: string;
  createdAtMin?: string;
  createdAtMax?: string;
  updatedAtMin?: string;
  updatedAtMax?: string;
  financialStatus?: string;
  fulfillmentStatus?: string;
  customerId?: number;
  vendor?: string;
  productType?: string;
  live?: boolean;
};

/** The top-level table of each resource. */
const TABLES: Record<Resource, string> = {
  products: 'shop_products',
  orders: 'shop_orders',
  customers: 'shop_customers',
};

/** Structured filters → SQL conditions (the text query adds its own through `compileSearch`). */
function filterConditions(resource: Resource, f: ListFilters, add: (value: unknown) => string): string[] {
  const where: string[] = [];
  const time = (column: string, op: string, value: string | undefined) => {
    if (value !== undefined) where.push(`${column} ${op} ${add(value)}::timestamptz`);
  };
  time('shopify_created_at', '>=', f.createdAtMin);
  time('shopify_created_at', '<=', f.createdAtMax);
  time('shopify_updated_at', '>=', f.updatedAtMin);
  time('shopify_updated_at', '<=', f.updatedAtMax);
  if (resource === 'products') {
    if (f.status) where.push(`status = ${add(f.status.toLowerCase())}`);
    if (f.vendor) where.push(`lower(vendor) = lower(${add(f.vendor)})`);
    if (f.productType) where.push(`lower(product_type) = lower(${add(f.productType)})`);
  }
  if (resource === 'customers' && f.status) where.push(`state = ${add(f.status.toLowerCase())}`);
  if (resource === 'orders') {
    if (f.status === 'open') where.push('closed_at IS NULL AND cancelled_at IS NULL');
    else if (f.status === 'closed') where.push('closed_at IS NOT NULL');
    else if (f.status === 'cancelled') where.push('cancelled_at IS NOT NULL');
    if (f.financialStatus) where.push(`financial_status = ${add(f.financialStatus.toLowerCase())}`);
    if (f.fulfillmentStatus === 'unfulfilled' || f.fulfillmentStatus === 'unshipped')
      where.push('fulfillment_status IS NULL');
    else if (f.fulfillmentStatus)
      where.push(`fulfillment_status = ${add(f.fulfillmentStatus.toLowerCase())}`);
    if (f.customerId !== undefined) where.push(`customer_id = ${add(f.customerId)}`);
  }
  return where;
}

/** What a mirror list's cursor holds. */
const mirrorCursor = z.object({ id: cursorId });

/** Lists from the mirror (keyset on id, newest first). */
export async function listRecords(tx: Tx, tenantId: string, resource: Resource, f: ListFilters) {
  const { params, add } = sqlParams(tenantId);
  const where = ['tenant_id = $1', 'deleted_at IS NULL', ...filterConditions(resource, f, add)];
  if (f.q) {
    const compiled = compileSearch(resource, f.q, add);
    if (compiled) where.push(compiled);
  }
  const cursor = decodeCursor(f.cursor, mirrorCursor);
  if (cursor) where.push(`id < ${add(cursor.id)}`);
  const { rows } = await tx.query<Record<string, any>>(
    `SELECT * FROM ${TABLES[resource]} WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ${f.limit + 1}`,
    params,
  );
  const page = rows.slice(0, f.limit);
  const last = page.at(-1);
  return {
    items: views(resource, await loadRecords(tx, tenantId, resource, page)),
    nextCursor: rows.length > f.limit && last ? encodeCursor({ id: Number(last.id) }) : null,
    source: 'mirror' as const,
  };
}

/** One record from the mirror; 404 when unknown or deleted. */
export async function getRecord(tx: Tx, tenantId: string, resource: Resource, id: number) {
  const { rows } = await tx.query<Record<string, any>>(
    `SELECT * FROM ${TABLES[resource]} WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL`,
    [tenantId, id],
  );
  if (rows.length === 0) throw notFound(resource.slice(0, -1), id);
  return {
    item: views(resource, await loadRecords(tx, tenantId, resource, rows))[0],
    source: 'mirror' as const,
  };
}

/** Live records and tombstones per resource of a tenant (sync status). */
export async function storedCounts(
  tx: Tx,
  tenantId: string,
): Promise<Record<Resource, { live: number; deleted: number }>> {
  const { rows } = await tx.query<{ resource: Resource; live: number; deleted: number }>(
    (Object.entries(TABLES) as [Resource, string][])
      .map(
        ([resource, table]) =>
          `SELECT '${resource}' AS resource, count(*) FILTER (WHERE deleted_at IS NULL)::int AS live,
                  count(*) FILTER (WHERE deleted_at IS NOT NULL)::int AS deleted FROM ${table} WHERE tenant_id = $1`,
      )
      .join(' UNION ALL '),
    [tenantId],
  );
  const counts = {
    products: { live: 0, deleted: 0 },
    orders: { live: 0, deleted: 0 },
    customers: { live: 0, deleted: 0 },
  };
  for (const r of rows) counts[r.resource] = { live: r.live, deleted: r.deleted };
  return counts;
}

/** Live records of a resource created in [from, to): how many, and the newest update (reconcile). */
export async function createdWindowSummary(
  tx: Tx,
  tenantId: string,
  resource: Resource,
  from: Date,
  to: Date,
) {
  const { rows } = await tx.query<{ n: string; newest: Date | null }>(
    `SELECT count(*) AS n, max(shopify_updated_at) AS newest FROM ${TABLES[resource]}
      WHERE tenant_id = $1 AND deleted_at IS NULL AND shopify_created_at >= $2 AND shopify_created_at < $3`,
    [tenantId, from, to],
  );
  return { count: Number(rows[0].n), newest: rows[0].newest ? rows[0].newest.getTime() : 0 };
}

/** Live records of a resource created in [from, to), with their update and sync times (reconcile). */
export async function createdWindowRecords(
  tx: Tx,
  tenantId: string,
  resource: Resource,
  from: Date,
  to: Date,
) {
  const { rows } = await tx.query<{ id: string; updated: Date | null; synced_at: Date }>(
    `SELECT id, shopify_updated_at AS updated, synced_at FROM ${TABLES[resource]}
      WHERE tenant_id = $1 AND deleted_at IS NULL AND shopify_created_at >= $2 AND shopify_created_at < $3`,
    [tenantId, from, to],
  );
  return rows.map((r) => ({ id: Number(r.id), updated: r.updated, syncedAt: r.synced_at }));
}

/** When the oldest live record of a resource was created (where reconcile windows start). */
export async function oldestCreated(tx: Tx, tenantId: string, resource: Resource): Promise<Date | null> {
  const { rows } = await tx.query<{ oldest: Date | null }>(
    `SELECT min(shopify_created_at) AS oldest FROM ${TABLES[resource]} WHERE tenant_id = $1 AND deleted_at IS NULL`,
    [tenantId],
  );
  return rows[0].oldest;
}
