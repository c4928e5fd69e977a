import type { Tx } from '../platform/db/client.ts';
import type { LineItemRow, OrderWithItems, RowSource, TransactionRow, UpsertResult } from './rows.ts';
import { ORDER_CONFLICT_RULE } from './conflict-rules.ts';

/*
 * The fast write path for big batches of orders (sync backfill, issue 7). Same rules as
 * `upsertOrders` in upsert.ts — newest `updated_at` wins, tombstones win, redacted rows keep their
 * personal fields cleared, line items follow their order as a set — with what makes a million
 * orders cheap:
 *  - On PostgreSQL each table's rows are loaded with `COPY … FROM STDIN` (text format) into a
 *    session-local staging table (temporary, no indexes, emptied at commit), then moved with one
 *    `INSERT … SELECT … ON CONFLICT` per table. COPY's text format is the cheapest input PostgreSQL
 *    parses: measured ~5 µs less per row than `json_to_recordset`, on 4+ rows per order.
 *  - On PGlite (no COPY protocol in its client) the rows travel as one JSON document per statement,
 *    unpacked by `json_to_recordset`; the statements are otherwise the same.
 *  - `raw` is not kept (bulk lines are our own selection, fully mapped); line items are cleared
 *    (one DELETE by order id) only for orders that were updated rather than inserted.
 */

/** Joins tags for transport (a control character no tag contains). */
const UNIT_SEPARATOR = '\u001f';

type Column<R> = readonly [name: string, type: string, get: (row: R) => unknown];

const ORDER_COLUMNS: readonly Column<OrderWithItems>[] = [
  ['id', 'bigint', (o) => o.id],
  ['name', 'text', (o) => o.name],
  ['order_number', 'int', (o) => o.orderNumber],
  ['email', 'text', (o) => o.email],
  ['phone', 'text', (o) => o.phone],
  ['customer_id', 'bigint', (o) => o.customerId],
  ['currency', 'text', (o) => o.currency],
  ['financial_status', 'text', (o) => o.financialStatus],
  ['fulfillment_status', 'text', (o) => o.fulfillmentStatus],
  ['cancel_reason', 'text', (o) => o.cancelReason],
  ['cancelled_at', 'timestamptz', (o) => o.cancelledAt],
  ['closed_at', 'timestamptz', (o) => o.closedAt],
  ['processed_at', 'timestamptz', (o) => o.processedAt],
  ['subtotal_price', 'numeric', (o) => o.subtotalPrice],
  ['total_discounts', 'numeric', (o) => o.totalDiscounts],
  ['total_shipping', 'numeric', (o) => o.totalShipping],
  ['total_tax', 'numeric', (o) => o.totalTax],
  ['total_price', 'numeric', (o) => o.totalPrice],
  ['current_total_price', 'numeric', (o) => o.currentTotalPrice],
  ['tags', 'text', (o) => o.tags.join(UNIT_SEPARATOR)],
  ['note', 'text', (o) => o.note],
  ['source_name', 'text', (o) => o.sourceName],
  ['test', 'boolean', (o) => o.test],
  ['billing_address', 'jsonb', (o) => o.billingAddress],
  ['shipping_address', 'jsonb', (o) => o.shippingAddress],
  ['created_at', 'timestamptz', (o) => o.createdAt],
  ['updated_at', 'timestamptz', (o) => o.updatedAt],
];

const LINE_COLUMNS: readonly Column<LineItemRow>[] = [
  ['id', 'bigint', (l) => l.id],
  ['order_id', 'bigint', (l) => l.orderId],
  ['product_id', 'bigint', (l) => l.productId],
  ['variant_id', 'bigint', (l) => l.variantId],
  ['title', 'text', (l) => l.title],
  ['variant_title', 'text', (l) => l.variantTitle],
  ['sku', 'text', (l) => l.sku],
  ['vendor', 'text', (l) => l.vendor],
  ['quantity', 'int', (l) => l.quantity],
  ['price', 'numeric', (l) => l.price],
  ['total_discount', 'numeric', (l) => l.totalDiscount],
  ['taxable', 'boolean', (l) => l.taxable],
  ['requires_shipping', 'boolean', (l) => l.requiresShipping],
  ['fulfillable_quantity', 'int', (l) => l.fulfillableQuantity],
  ['fulfillment_status', 'text', (l) => l.fulfillmentStatus],
];

const TRANSACTION_COLUMNS: readonly Column<TransactionRow>[] = [
  ['id', 'bigint', (t) => t.id],
  ['order_id', 'bigint', (t) => t.orderId],
  ['parent_id', 'bigint', (t) => t.parentId],
  ['kind', 'text', (t) => t.kind],
  ['status', 'text', (t) => t.status],
  ['gateway', 'text', (t) => t.gateway],
  ['amount', 'numeric', (t) => t.amount],
  ['currency', 'text', (t) => t.currency],
  ['processed_at', 'timestamptz', (t) => t.processedAt],
];

const STAGES = {
  orders: { table: 'sync_stage_orders', columns: ORDER_COLUMNS },
  lines: { table: 'sync_stage_line_items', columns: LINE_COLUMNS },
  transactions: { table: 'sync_stage_transactions', columns: TRANSACTION_COLUMNS },
} as const;
type Stage = keyof typeof STAGES;

const definitions = (columns: readonly Column<never>[]) => columns.map(([n, t]) => `${n} ${t}`).join(', ');
const names = (columns: readonly Column<never>[]) => columns.map(([n]) => n).join(', ');
/** `ON CONFLICT … DO UPDATE SET` of every column but the key: a child row is replaced whole. */
const replaceAll = (columns: readonly Column<never>[]) =>
  columns
    .filter(([n]) => n !== 'id')
    .map(([n]) => `${n} = excluded.${n}`)
    .join(', ');

/** Staging tables: per connection, no indexes or constraints, emptied by every commit. */
const CREATE_STAGES = Object.values(STAGES)
  .map(
    (s) =>
      `CREATE TEMP TABLE IF NOT EXISTS ${s.table} (${definitions(s.columns as readonly Column<never>[])}) ON COMMIT DELETE ROWS`,
  )
  .join('; ');

const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const NEEDS_ESCAPE = /[\\\t\n\r]/;
const escapeText = (text: string) =>
  NEEDS_ESCAPE.test(text) ? text.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]) : text;

/**
 * Encoders of COPY's text format by column type (`\N` is NULL): numbers and booleans need no
 * escaping; every string does (a checked decimal or time never has to be changed, but costs a test).
 */
const COPY_ENCODERS: Record<string, (value: any) => string> = {
  bigint: (v) => (v == null ? '\\N' : String(v)),
  int: (v) => (v == null ? '\\N' : String(v)),
  numeric: (v) => (v == null ? '\\N' : escapeText(v)),
  timestamptz: (v) => (v == null ? '\\N' : escapeText(v)),
  boolean: (v) => (v == null ? '\\N' : v ? 't' : 'f'),
  text: (v) => (v == null ? '\\N' : escapeText(v)),
  jsonb: (v) => (v == null ? '\\N' : escapeText(JSON.stringify(v))),
};

/**
 * Rows as COPY text lines (each ending in a newline), tab-separated columns. Built with join, which
 * makes one flat string: `+=` left a tree of small strings per row for the collector to copy while
 * the batch waits.
 */
function copyText<R>(columns: readonly Column<R>[], rows: readonly R[]): string {
  const lines: string[] = [];
  const cells: string[] = new Array(columns.length);
  for (const row of rows) {
    for (let i = 0; i < columns.length; i++) cells[i] = COPY_ENCODERS[columns[i][1]](columns[i][2](row));
    lines.push(cells.join('\t'));
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** Rows as JSON objects joined by commas (elements of a `json_to_recordset` array, PGlite). */
function jsonItems<R>(columns: readonly Column<R>[], rows: readonly R[]): string {
  return rows
    .map((row) => JSON.stringify(Object.fromEntries(columns.map(([n, , get]) => [n, get(row)]))))
    .join(',');
}

type Format = 'copy' | 'json';

/** One order encoded for transport, per table: COPY lines (PostgreSQL) or JSON items (PGlite). */
export type EncodedOrder = { id: number; updatedAt: string } & Record<Stage, string>;

/**
 * Encodes one order as soon as it is mapped, so neither the parsed JSON nor the mapped rows wait
 * for the batch to fill or for a connection: only these strings do.
 */
export function encodeOrder(order: OrderWithItems, format: Format): EncodedOrder {
  const encode = format === 'copy' ? copyText : jsonItems;
  return {
    id: order.id,
    updatedAt: order.updatedAt,
    orders: encode(ORDER_COLUMNS, [order]),
    lines: encode(LINE_COLUMNS, order.lineItems),
    transactions: encode(TRANSACTION_COLUMNS, order.transactions ?? []),
  };
}

/** A batch encoded for transport: COPY text (PostgreSQL) or JSON documents (PGlite), per table. */
export type PreparedOrderBatch = {
  format: Format;
  /** Order ids in the batch (newest version of each). */
  ids: number[];
  payload: Record<Stage, string | null>;
};

/** Joins encoded orders into a batch; the newest version of an order wins within the batch. */
export function batchOfEncoded(encoded: readonly EncodedOrder[], format: Format): PreparedOrderBatch {
  const byId = new Map<number, EncodedOrder>();
  for (const o of encoded) {
    const seen = byId.get(o.id);
    if (!seen || Date.parse(o.updatedAt) >= Date.parse(seen.updatedAt)) byId.set(o.id, o);
  }
  const orders = [...byId.values()];
  const join = (name: Stage) => {
    const parts = orders.map((o) => o[name]).filter((part) => part !== '');
    if (parts.length === 0) return null;
    return format === 'copy' ? parts.join('') : `[${parts.join(',')}]`;
  };
  return {
    format,
    ids: orders.map((o) => o.id),
    payload: { orders: join('orders'), lines: join('lines'), transactions: join('transactions') },
  };
}

/** Encodes a batch of mapped orders (writers that hold rows rather than encoded orders). */
export function prepareOrderBatch(orders: readonly OrderWithItems[], format: Format): PreparedOrderBatch {
  return batchOfEncoded(
    orders.map((o) => encodeOrder(o, format)),
    format,
  );
}

/**
 * Makes a stage's rows readable as relation `r`; returns the FROM item. COPY text is copied into
 * the staging table, JSON becomes a parameter.
 */
async function stage(tx: Tx, batch: PreparedOrderBatch, name: Stage, params: unknown[]): Promise<string> {
  const { table, columns } = STAGES[name] as unknown as { table: string; columns: readonly Column<never>[] };
  if (batch.format === 'copy') {
    if (!tx.copyFrom) throw new Error('COPY needs a PostgreSQL transaction');
    await tx.copyFrom(`COPY ${table} (${names(columns)}) FROM STDIN`, [batch.payload[name] as string]);
    return `${table} AS r`;
  }
  params.push(batch.payload[name]);
  return `json_to_recordset($${params.length}::json) AS r(${definitions(columns)})`;
}

/** Writes a batch of orders with line items and transactions; returns the ids written and skipped. */
export function writeOrderBatch(
  tx: Tx,
  tenantId: string,
  orders: readonly OrderWithItems[],
  options: { source?: RowSource } = {},
): Promise<UpsertResult> {
  return writePreparedOrders(tx, tenantId, prepareOrderBatch(orders, tx.copyFrom ? 'copy' : 'json'), options);
}

/** Writes a batch made by `prepareOrderBatch` (the format must suit the transaction's engine). */
export async function writePreparedOrders(
  tx: Tx,
  tenantId: string,
  batch: PreparedOrderBatch,
  options: { source?: RowSource } = {},
): Promise<UpsertResult> {
  if (batch.ids.length === 0) return { applied: [], skipped: [] };
  // Notices ("relation already exists, skipping") would be sent for every batch.
  if (batch.format === 'copy') await tx.query(`SET LOCAL client_min_messages = warning; ${CREATE_STAGES}`);
  const orderParams: unknown[] = [tenantId, options.source ?? 'sync'];
  const orderSource = await stage(tx, batch, 'orders', orderParams);
  const { rows: written } = await tx.query<{ id: string; inserted: boolean }>(
    `INSERT INTO shop_orders AS o (tenant_id, id, name, order_number, email, phone, customer_id, currency,
            financial_status, fulfillment_status, cancel_reason, cancelled_at, closed_at, processed_at,
            subtotal_price, total_discounts, total_shipping, total_tax, total_price, current_total_price, tags,
            note, source_name, test, billing_address, shipping_address, shopify_created_at, shopify_updated_at,
            source, synced_at)
     SELECT $1, r.id, r.name, r.order_number, r.email, r.phone, r.customer_id, r.currency, r.financial_status,
            r.fulfillment_status, r.cancel_reason, r.cancelled_at, r.closed_at, r.processed_at, r.subtotal_price,
            r.total_discounts, r.total_shipping, r.total_tax, r.total_price, r.current_total_price,
            CASE WHEN r.tags = '' THEN '{}'::text[] ELSE string_to_array(r.tags, E'\\x1f') END, r.note,
            r.source_name, coalesce(r.test, false), r.billing_address, r.shipping_address, r.created_at,
            r.updated_at, $2, now()
       FROM ${orderSource}
     ${ORDER_CONFLICT_RULE('cleared')}
     RETURNING o.id, (o.xmax = 0) AS inserted`,
    orderParams,
  );
  const applied = written.map((r) => Number(r.id));
  const done = new Set(applied);
  if (applied.length > 0) {
    // Children of orders that lost to a newer or deleted stored version stay out.
    const winners = applied.length === batch.ids.length ? '' : ` WHERE r.order_id = ANY($2::bigint[])`;
    // A freshly inserted order has no stored lines: only updated orders need their old set cleared
    // (on a first backfill that is none, and the DELETE's index probes are the costliest part).
    const updated = written.filter((r) => !r.inserted).map((r) => Number(r.id));
    if (updated.length > 0) {
      await tx.query(
        'DELETE FROM shop_order_line_items WHERE tenant_id = $1 AND order_id = ANY($2::bigint[])',
        [tenantId, updated],
      );
    }
    if (batch.payload.lines !== null) {
      const params: unknown[] = winners ? [tenantId, applied] : [tenantId];
      const source = await stage(tx, batch, 'lines', params);
      await tx.query(
        `INSERT INTO shop_order_line_items AS l (tenant_id, ${names(LINE_COLUMNS as readonly Column<never>[])})
         SELECT $1, r.* FROM ${source}${winners}
         ON CONFLICT (tenant_id, id) DO UPDATE SET ${replaceAll(LINE_COLUMNS as readonly Column<never>[])}`,
        params,
      );
    }
    if (batch.payload.transactions !== null) {
      const params: unknown[] = winners ? [tenantId, applied] : [tenantId];
      const source = await stage(tx, batch, 'transactions', params);
      await tx.query(
        `INSERT INTO shop_order_transactions AS t (tenant_id, ${names(TRANSACTION_COLUMNS as readonly Column<never>[])})
         SELECT $1, r.* FROM ${source}${winners}
         ON CONFLICT (tenant_id, id) DO UPDATE SET ${replaceAll(TRANSACTION_COLUMNS as readonly Column<never>[])}`,
        params,
      );
    }
  }
  return { applied, skipped: batch.ids.filter((id) => !done.has(id)) };
}
