/*
 * The mirror's write rules in SQL, written once for every path that writes the same table (the
 * webhook/row upserts of upsert.ts and sync's batch writer of bulk.ts):
 *  - a stored row is replaced only by a version at least as new (`shopify_updated_at`), and never
 *    once it is a tombstone (`deleted_at`);
 *  - a redacted row keeps its personal fields cleared (`redacted_at`).
 */

/** `column = excluded.column` unless the stored row (`alias`) was redacted, then NULL. */
export const keepRedacted = (alias: string) => (column: string) =>
  `${column} = CASE WHEN ${alias}.redacted_at IS NULL THEN excluded.${column} END`;

const personal = keepRedacted('o');

/**
 * `ON CONFLICT … DO UPDATE … WHERE` of `INSERT INTO shop_orders AS o`. `raw` is the incoming
 * payload on the row path and cleared on the batch path (sync keeps no raw copy).
 */
export function ORDER_CONFLICT_RULE(raw: 'incoming' | 'cleared'): string {
  return `ON CONFLICT (tenant_id, id) DO UPDATE SET
            ${personal('email')}, ${personal('phone')}, ${personal('note')}, ${personal('billing_address')},
            ${personal('shipping_address')}, ${raw === 'incoming' ? personal('raw') : 'raw = NULL'},
            name = excluded.name, order_number = excluded.order_number, customer_id = excluded.customer_id,
            currency = excluded.currency, financial_status = excluded.financial_status,
            fulfillment_status = excluded.fulfillment_status, cancel_reason = excluded.cancel_reason,
            cancelled_at = excluded.cancelled_at, closed_at = excluded.closed_at,
            processed_at = excluded.processed_at, subtotal_price = excluded.subtotal_price,
            total_discounts = excluded.total_discounts, total_shipping = excluded.total_shipping,
            total_tax = excluded.total_tax, total_price = excluded.total_price,
            current_total_price = excluded.current_total_price, tags = excluded.tags,
            source_name = excluded.source_name, test = excluded.test,
            shopify_created_at = excluded.shopify_created_at, shopify_updated_at = excluded.shopify_updated_at,
            source = excluded.source, synced_at = now()
      WHERE o.deleted_at IS NULL
        AND (o.shopify_updated_at IS NULL OR o.shopify_updated_at <= excluded.shopify_updated_at)`;
}
