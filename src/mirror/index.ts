/**
 * Mirrored Shopify data (issue 6; extended by sync, issue 7): products with variants, orders with
 * line items and transactions, customers. Writers map their input to the row types of rows.ts and
 * call the batch upserts; readers use the tables through their own module's queries.
 *
 *   const mirror = createMirror();
 *   await database.withTenant(tenantId, (tx) => mirror.upsertOrders(tx, tenantId, [orderFromRest(p)]));
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
import { countRecords, eraseShop, exportCustomer, redactCustomer } from './privacy.ts';
import { markDeleted, upsertCustomers, upsertOrders, upsertProducts, upsertTransactions } from './upsert.ts';

export type { EncodedOrder, PreparedOrderBatch } from './bulk.ts';
export type { CustomerExport, CustomerSubject } from './privacy.ts';
export { customerFromRest, deletedIdFromRest, orderFromRest, productFromRest } from './rest.ts';
export type * from './rows.ts';
export { mirrorWebhookHandlers } from './webhook-handlers.ts';
export {
  CUSTOMER_FIELDS,
  customerFromGraphql,
  idFromGid,
  LINE_ITEM_FIELDS,
  ORDER_FIELDS,
  orderFromGraphql,
  PRODUCT_FIELDS,
  productFromGraphql,
  VARIANT_FIELDS,
} from './graphql.ts';

/** The mirrored-data module: batch writes, tombstones and the GDPR operations. */
export function createMirror() {
  return {
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
    exportCustomer,
    redactCustomer,
    eraseShop,
    countRecords,
  };
}

/** The mirrored-data module of one process. */
export type Mirror = ReturnType<typeof createMirror>;
