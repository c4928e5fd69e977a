/**
 * The Shopify mirror (issues 6 and 7): products with variants, orders with line items and
 * transactions, customers, copied from each connected shop. The one owner of the `shop_*` tables:
 * their writes (webhook handlers and sync map their input to the row types of rows.ts and call the
 * batch upserts), their reads and search, the mirrored-data API routes and the `live=true`
 * read-through, the GDPR operations, and how each resource is read from Admin GraphQL (queries.ts).
 *
 *   const mirror = createMirror({ shopify });
 *   await database.withTenant(tenantId, (tx) => mirror.upsertOrders(tx, tenantId, [orderFromRest(p)]));
 *   mirror.routes(app, role);
 *
 * Everything takes the caller's transaction, so a write commits with whatever else the caller does
 * (the webhook processor marks the event applied in the same transaction).
 */
import {
  batchOfEncoded,
  encodeOrder,
  prepareOrderBatch,
  writeOrderBatch,
  writePreparedOrders,
} from './bulk.ts';
import type { Database } from '../platform/db/client.ts';
import type { ScopeDefinition } from '../platform/http/auth.ts';
import type { App, Role } from '../platform/http/server.ts';
import type { Shopify } from '../shopify/index.ts';
import { eraseShop, exportCustomer, redactCustomer } from './privacy.ts';
import {
  createdWindowRecords,
  createdWindowSummary,
  getRecord,
  listRecords,
  oldestCreated,
  storedCounts,
} from './reads.ts';
import { registerMirrorRoutes } from './routes.ts';
import { markDeleted } from './tombstones.ts';
import { upsertCustomers, upsertOrders, upsertProducts, upsertTransactions } from './upsert.ts';

export type { EncodedOrder, PreparedOrderBatch } from './bulk.ts';
export type { CustomerExport, CustomerSubject } from './privacy.ts';
export { customerFromRest, deletedIdFromRest, orderFromRest, productFromRest } from './rest.ts';
export type * from './rows.ts';
export { completeChildrenOf, mapNodesWith } from './live.ts';
export {
  nodesQuery,
  pageQuery,
  RESOURCES,
  type Resource,
  type ResourceRow,
  type ResourceSpec,
  SPECS,
} from './queries.ts';
export type { ListFilters, WithTenant } from './reads.ts';
export type { CustomerView, OrderView, ProductView } from './records.ts';
export { customerFromGraphql, orderFromGraphql, productFromGraphql } from './graphql.ts';
export { mirrorWebhookHandlers } from './webhook-handlers.ts';
export {
  CUSTOMER_FIELDS,
  idFromGid,
  LINE_ITEM_FIELDS,
  ORDER_FIELDS,
  PRODUCT_FIELDS,
  VARIANT_FIELDS,
} from './graphql-nodes.ts';

/** The API-key scopes of the mirrored-data routes (sync's status route reads with it too). */
export const MIRROR_SCOPES: readonly ScopeDefinition[] = [
  { name: 'data:read', description: 'Read mirrored Shopify products, orders and customers, and sync status' },
];

/** The mirror module: writes, reads, the GDPR operations and the mirrored-data routes. */
export function createMirror(deps: {
  shopify: Pick<Shopify, 'adminClient'>;
  database?: Pick<Database, 'readTenant'>;
}) {
  return {
    scopes: MIRROR_SCOPES,
    /** The mirrored-data API (api roles). */
    routes(app: App, role: Role): void {
      if (role !== 'worker')
        registerMirrorRoutes(app, {
          adminClient: (t) => deps.shopify.adminClient(t),
          readTenant: deps.database ? (t, fn) => deps.database!.readTenant(t, fn) : undefined,
        });
    },
    upsertProducts,
    upsertCustomers,
    upsertOrders,
    upsertTransactions,
    /** Fast batch path for sync (issue 7): same rules as `upsertOrders`, no `raw`, COPY on PostgreSQL. */
    writeOrderBatch,
    /** The same in steps: encode each order once mapped (garbage dies young), join, write. */
    encodeOrder,
    batchOfEncoded,
    prepareOrderBatch,
    writePreparedOrders,
    markDeleted,
    /** Reads: keyset lists with filters and search, one record, counts, reconcile windows. */
    listRecords,
    getRecord,
    storedCounts,
    createdWindowSummary,
    createdWindowRecords,
    oldestCreated,
    exportCustomer,
    redactCustomer,
    eraseShop,
  };
}

/** The mirror module of one process. */
export type Mirror = ReturnType<typeof createMirror>;
