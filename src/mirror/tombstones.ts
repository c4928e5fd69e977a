import type { Tx } from '../platform/db/client.ts';
import type { Resource } from './queries.ts';
import type { RowSource } from './rows.ts';

/*
 * Tombstones of the mirror (issues 6 and 7): a deleted record keeps only its key and the time of
 * deletion, so a late create or update of it cannot bring it back.
 */

// Every descriptive column goes on a tombstone: only the key and the time of deletion remain.
const TOMBSTONE: Record<Resource, { table: string; clear: string; children: string[] }> = {
  products: {
    table: 'shop_products',
    clear: `title = NULL, handle = NULL, body_html = NULL, vendor = NULL, product_type = NULL, status = NULL,
            tags = '{}', published_at = NULL, raw = NULL`,
    children: ['DELETE FROM shop_product_variants WHERE tenant_id = $1 AND product_id = ANY($2::bigint[])'],
  },
  orders: {
    table: 'shop_orders',
    clear: `name = NULL, order_number = NULL, email = NULL, phone = NULL, customer_id = NULL, currency = NULL,
            financial_status = NULL, fulfillment_status = NULL, cancel_reason = NULL, cancelled_at = NULL,
            closed_at = NULL, processed_at = NULL, subtotal_price = NULL, total_discounts = NULL,
            total_shipping = NULL, total_tax = NULL, total_price = NULL, current_total_price = NULL, tags = '{}',
            note = NULL, source_name = NULL, billing_address = NULL, shipping_address = NULL, raw = NULL`,
    children: [
      'DELETE FROM shop_order_line_items WHERE tenant_id = $1 AND order_id = ANY($2::bigint[])',
      'DELETE FROM shop_order_transactions WHERE tenant_id = $1 AND order_id = ANY($2::bigint[])',
    ],
  },
  customers: {
    table: 'shop_customers',
    clear: `email = NULL, first_name = NULL, last_name = NULL, phone = NULL, state = NULL, tags = '{}',
            note = NULL, verified_email = NULL, tax_exempt = NULL, currency = NULL, orders_count = NULL,
            total_spent = NULL, default_address = NULL, raw = NULL`,
    children: [],
  },
};

/**
 * Marks records deleted (a tombstone, also when the record was never seen, so that a late create
 * or update cannot resurrect it). Idempotent; returns how many tombstones were written.
 */
export async function markDeleted(
  tx: Tx,
  tenantId: string,
  resource: Resource,
  shopifyIds: readonly number[],
  options: { deletedAt?: string; source?: RowSource } = {},
): Promise<{ deleted: number }> {
  const unique = [...new Set(shopifyIds)];
  if (unique.length === 0) return { deleted: 0 };
  const { table, clear, children } = TOMBSTONE[resource];
  const { rows } = await tx.query<{ id: string }>(
    `INSERT INTO ${table} AS t (tenant_id, id, source, deleted_at)
     SELECT $1, unnest($2::bigint[]), $3, coalesce($4::timestamptz, now())
     ON CONFLICT (tenant_id, id) DO UPDATE SET ${clear},
            deleted_at = coalesce(t.deleted_at, excluded.deleted_at), synced_at = now()
     RETURNING t.id`,
    [tenantId, unique, options.source ?? 'webhook', options.deletedAt ?? null],
  );
  for (const statement of children) await tx.query(statement, [tenantId, unique]);
  return { deleted: rows.length };
}
