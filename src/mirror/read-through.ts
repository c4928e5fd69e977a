import type { Tx } from '../platform/db/client.ts';
import { notFound } from '../platform/errors.ts';
import { z } from 'zod';
import { decodeCursor, encodeCursor } from '../platform/http/schemas.ts';
import type { AdminClient } from '../shopify/index.ts';
import { writeOrderBatch } from './bulk.ts';
import { completeChildrenOf, mapNodesWith } from './live.ts';
import { nodesQuery, pageQuery, type Resource, SPECS } from './queries.ts';
import type { ListFilters, WithTenant } from './reads.ts';
import { views } from './records.ts';
import type { CustomerRow, OrderWithItems, ProductWithVariants } from './rows.ts';
import { upsertCustomers, upsertProducts } from './upsert.ts';

/*
 * The data API's `live=true`: the same filters in Shopify's search syntax, read through to Shopify
 * with the tenant's own token (the caller never holds it), Shopify's cursor wrapped in ours, and
 * the fresh records written back into the mirror afterwards (no transaction is held open while
 * Shopify answers).
 */

/** Our filters in Shopify's search syntax (live reads). */
function shopifySearch(resource: Resource, f: ListFilters): string | null {
  const parts: string[] = [];
  if (f.q) parts.push(f.q);
  if (f.createdAtMin) parts.push(`created_at:>='${f.createdAtMin}'`);
  if (f.createdAtMax) parts.push(`created_at:<='${f.createdAtMax}'`);
  if (f.updatedAtMin) parts.push(`updated_at:>='${f.updatedAtMin}'`);
  if (f.updatedAtMax) parts.push(`updated_at:<='${f.updatedAtMax}'`);
  if (resource === 'products') {
    if (f.status) parts.push(`status:${f.status}`);
    if (f.vendor) parts.push(`vendor:${JSON.stringify(f.vendor)}`);
    if (f.productType) parts.push(`product_type:${JSON.stringify(f.productType)}`);
  }
  if (resource === 'customers' && f.status) parts.push(`state:${f.status}`);
  if (resource === 'orders') {
    if (f.status) parts.push(`status:${f.status}`);
    if (f.financialStatus) parts.push(`financial_status:${f.financialStatus}`);
    if (f.fulfillmentStatus) parts.push(`fulfillment_status:${f.fulfillmentStatus}`);
    if (f.customerId !== undefined) parts.push(`customer_id:${f.customerId}`);
  }
  return parts.length ? parts.join(' ') : null;
}

/** Live pages are cost-bounded: a full order costs ~100 points, so at most this many per page. */
const LIVE_PAGE: Record<Resource, number> = { products: 15, orders: 10, customers: 100 };

async function writeBack(tx: Tx, tenantId: string, resource: Resource, rows: unknown[]) {
  if (rows.length === 0) return;
  if (resource === 'orders') await writeOrderBatch(tx, tenantId, rows as OrderWithItems[]);
  else if (resource === 'products')
    await upsertProducts(tx, tenantId, rows as ProductWithVariants[], { source: 'sync' });
  else await upsertCustomers(tx, tenantId, rows as CustomerRow[], { source: 'sync' });
}

/** A page read through to Shopify. */
/** A live page's cursor: Shopify's own end cursor (opaque to us, sent back to Shopify as a variable). */
const liveCursor = z.object({ live: z.string().min(1).max(512) });

export async function listLive(
  client: AdminClient,
  tenantId: string,
  resource: Resource,
  f: ListFilters,
  withTenant: WithTenant,
) {
  const spec = SPECS[resource];
  const cursor = decodeCursor(f.cursor, liveCursor);
  const { data } = await client.request<Record<string, any>>(pageQuery(spec, 'ID'), {
    first: Math.min(f.limit, LIVE_PAGE[resource]),
    after: cursor?.live ?? null,
    query: shopifySearch(resource, f),
  });
  const page = data[spec.connection] as {
    nodes: Record<string, any>[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
  const rows = await mapNodesWith(client, spec, page.nodes);
  await withTenant((tx) => writeBack(tx, tenantId, resource, rows));
  return {
    items: views(resource, rows),
    nextCursor:
      page.pageInfo.hasNextPage && page.pageInfo.endCursor
        ? encodeCursor({ live: page.pageInfo.endCursor })
        : null,
    source: 'shopify' as const,
  };
}

/** One record read through to Shopify; 404 when Shopify does not have it. */
export async function getLive(
  client: AdminClient,
  tenantId: string,
  resource: Resource,
  id: number,
  withTenant: WithTenant,
) {
  const spec = SPECS[resource];
  const { data } = await client.request<{ nodes: (Record<string, any> | null)[] }>(nodesQuery(spec), {
    ids: [`gid://shopify/${spec.typeName}/${id}`],
  });
  const node = data.nodes[0];
  if (!node?.id) throw notFound(resource.slice(0, -1), id);
  const row = spec.map(node, await completeChildrenOf(client, spec, node));
  await withTenant((tx) => writeBack(tx, tenantId, resource, [row]));
  return { item: views(resource, [row])[0], source: 'shopify' as const };
}
