import type { Tx } from '../platform/db/client.ts';

/*
 * GDPR operations on the mirrored data (issue 6, Shopify's mandatory compliance webhooks,
 * https://shopify.dev/docs/apps/build/compliance/privacy-law-compliance). Run inside the tenant's
 * transaction.
 */

/** Who a compliance request is about: Shopify's customer id, e-mail and the orders it names. */
export type CustomerSubject = { customerId: number | null; email: string | null; orderIds: number[] };

/** Everything StoreOps holds on one customer in the mirrored tables. */
export type CustomerExport = {
  customer: Record<string, unknown> | null;
  orders: Record<string, unknown>[];
};

// The orders that belong to the subject: by customer id, by the ids Shopify listed, or by e-mail.
const SUBJECT_ORDERS = `tenant_id = $1 AND deleted_at IS NULL AND (customer_id = $2 OR id = ANY($3::bigint[])
  OR ($4::text IS NOT NULL AND lower(email) = lower($4::text)))`;

/**
 * Builds the data export for `customers/data_request`: the customer and their orders with lines and
 * transactions, columns as stored (money as decimal strings).
 */
export async function exportCustomer(
  tx: Tx,
  tenantId: string,
  subject: CustomerSubject,
): Promise<CustomerExport> {
  const params = [tenantId, subject.customerId, subject.orderIds, subject.email];
  const { rows: customers } = await tx.query<{ doc: Record<string, unknown> }>(
    `SELECT to_jsonb(c) - 'tenant_id' || jsonb_build_object('total_spent', c.total_spent::text) AS doc
       FROM shop_customers c
      WHERE tenant_id = $1 AND deleted_at IS NULL
        AND (id = $2 OR ($3::text IS NOT NULL AND lower(email) = lower($3::text)))
      ORDER BY (id = $2) DESC NULLS LAST LIMIT 1`,
    [tenantId, subject.customerId, subject.email],
  );
  const { rows: orders } = await tx.query<{ doc: Record<string, unknown> }>(
    `SELECT (to_jsonb(o) - 'tenant_id') || jsonb_build_object(
              'subtotal_price', o.subtotal_price::text, 'total_discounts', o.total_discounts::text,
              'total_shipping', o.total_shipping::text, 'total_tax', o.total_tax::text,
              'total_price', o.total_price::text, 'current_total_price', o.current_total_price::text,
              'line_items', coalesce((SELECT jsonb_agg(to_jsonb(l) - 'tenant_id' || jsonb_build_object(
                                                 'price', l.price::text, 'total_discount', l.total_discount::text)
                                               ORDER BY l.id)
                                        FROM shop_order_line_items l
                                       WHERE l.tenant_id = o.tenant_id AND l.order_id = o.id), '[]'::jsonb),
              'transactions', coalesce((SELECT jsonb_agg(to_jsonb(t) - 'tenant_id' || jsonb_build_object(
                                                   'amount', t.amount::text) ORDER BY t.id)
                                          FROM shop_order_transactions t
                                         WHERE t.tenant_id = o.tenant_id AND t.order_id = o.id), '[]'::jsonb)
            ) AS doc
       FROM shop_orders o
      WHERE ${SUBJECT_ORDERS}
      ORDER BY o.id`,
    params,
  );
  return { customer: customers[0]?.doc ?? null, orders: orders.map((r) => r.doc) };
}

/**
 * `customers/redact`: clears the customer's personal fields (keeping id, state and spend figures)
 * and anonymises their orders (contact, addresses, notes and raw payload go; statuses, totals and
 * line items stay). Both are marked `redacted_at`, which keeps later writes from restoring the data.
 */
export async function redactCustomer(
  tx: Tx,
  tenantId: string,
  subject: CustomerSubject,
): Promise<{ customers: number; orders: number }> {
  const { rows: customers } = await tx.query(
    `UPDATE shop_customers
        SET email = NULL, first_name = NULL, last_name = NULL, phone = NULL, note = NULL,
            default_address = NULL, raw = NULL, redacted_at = coalesce(redacted_at, now()), synced_at = now()
      WHERE tenant_id = $1 AND (id = $2 OR ($3::text IS NOT NULL AND lower(email) = lower($3::text)))
      RETURNING id`,
    [tenantId, subject.customerId, subject.email],
  );
  const { rows: orders } = await tx.query(
    `UPDATE shop_orders
        SET email = NULL, phone = NULL, note = NULL, billing_address = NULL, shipping_address = NULL, raw = NULL,
            redacted_at = coalesce(redacted_at, now()), synced_at = now()
      WHERE ${SUBJECT_ORDERS}
      RETURNING id`,
    [tenantId, subject.customerId, subject.orderIds, subject.email],
  );
  return { customers: customers.length, orders: orders.length };
}

const SHOP_TABLES = [
  'shop_order_transactions',
  'shop_order_line_items',
  'shop_orders',
  'shop_product_variants',
  'shop_products',
  'shop_customers',
] as const;

/** `shop/redact`: deletes every mirrored row of the tenant; returns the rows deleted per table. */
export async function eraseShop(tx: Tx, tenantId: string): Promise<Record<string, number>> {
  const deleted: Record<string, number> = {};
  for (const table of SHOP_TABLES) {
    const { rows } = await tx.query<{ n: number }>(
      `WITH gone AS (DELETE FROM ${table} WHERE tenant_id = $1 RETURNING 1) SELECT count(*)::int AS n FROM gone`,
      [tenantId],
    );
    deleted[table] = rows[0].n;
  }
  return deleted;
}
