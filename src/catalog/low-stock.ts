import type { Database, Tx } from '../platform/db/client.ts';
import type { Mailer } from '../platform/mail.ts';

/*
 * The daily inventory check (seed 002: "02:00, low-stock alerts"). For every variant whose
 * available stock is at or below its threshold an alert is opened (one open alert per variant,
 * enforced by a unique index) and the tenant's owners get one e-mail listing the new ones; a
 * variant already alerted is not mailed again until its stock recovers and its alert is resolved.
 */

type LowRow = {
  variant_id: string;
  product_id: string;
  title: string;
  sku: string | null;
  available: number;
  threshold: number;
};

/** Variants of a tenant at or below their threshold right now. */
async function lowVariants(tx: Tx): Promise<LowRow[]> {
  const { rows } = await tx.query<LowRow>(
    `SELECT v.id AS variant_id, v.product_id, p.title || ' — ' || v.title AS title, v.sku,
            coalesce(sum(i.on_hand - i.reserved), 0)::int AS available, v.low_stock_threshold AS threshold
       FROM catalog_variants v
       JOIN catalog_products p ON p.tenant_id = v.tenant_id AND p.id = v.product_id AND p.status <> 'archived'
       LEFT JOIN catalog_inventory i ON i.tenant_id = v.tenant_id AND i.variant_id = v.id
      GROUP BY v.id, v.product_id, p.title, v.title, v.sku, v.low_stock_threshold
     HAVING coalesce(sum(i.on_hand - i.reserved), 0) <= v.low_stock_threshold`,
  );
  return rows;
}

/** What one run did for one tenant. */
export type LowStockResult = { raised: number; resolved: number; mailed: number };

/** Checks one tenant: opens alerts for new low stock, resolves recovered ones, mails owners once. */
export async function checkTenantStock(
  deps: { database: Database; mailer: Mailer; ownerEmails: (tenantId: string) => Promise<string[]> },
  tenantId: string,
): Promise<LowStockResult & { newAlerts: LowRow[] }> {
  const result = await deps.database.withTenant(tenantId, async (tx) => {
    const low = await lowVariants(tx);
    const { rows: resolved } = await tx.query(
      `UPDATE catalog_stock_alerts SET resolved_at = now()
        WHERE resolved_at IS NULL AND NOT (variant_id = ANY($1::uuid[])) RETURNING id`,
      [low.map((l) => l.variant_id)],
    );
    const fresh: LowRow[] = [];
    for (const row of low) {
      const { rows } = await tx.query(
        `INSERT INTO catalog_stock_alerts (tenant_id, variant_id, available, threshold) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, variant_id) WHERE resolved_at IS NULL DO NOTHING RETURNING id`,
        [tenantId, row.variant_id, row.available, row.threshold],
      );
      if (rows.length > 0) fresh.push(row);
    }
    return { raised: fresh.length, resolved: resolved.length, newAlerts: fresh };
  });
  let mailed = 0;
  if (result.newAlerts.length > 0) {
    const owners = await deps.ownerEmails(tenantId);
    const lines = result.newAlerts.map(
      (a) => `- ${a.title}${a.sku ? ` (${a.sku})` : ''}: ${a.available} left (alert at ${a.threshold})`,
    );
    for (const to of owners) {
      await deps.mailer.send({
        to,
        subject: `Low stock: ${result.newAlerts.length} variant${result.newAlerts.length === 1 ? '' : 's'}`,
        text: `These variants are at or below their low-stock threshold:\n\n${lines.join('\n')}\n\nYou will not be e-mailed about them again until their stock recovers.`,
      });
      mailed++;
    }
    await deps.database.withTenant(tenantId, (tx) =>
      tx.query(
        'UPDATE catalog_stock_alerts SET notified_at = now() WHERE resolved_at IS NULL AND notified_at IS NULL',
      ),
    );
  }
  return { ...result, mailed };
}

/** Tenants that have a catalog (what the daily job walks). */
export async function tenantsWithCatalog(database: Database): Promise<string[]> {
  const { rows } = await database.query<{ tenant_id: string }>(
    'SELECT DISTINCT tenant_id FROM catalog_variants',
  );
  return rows.map((r) => r.tenant_id);
}

/** Open alerts of a tenant, newest first. */
export async function openAlerts(tx: Tx) {
  const { rows } = await tx.query<Record<string, any>>(
    `SELECT a.id, a.variant_id, v.product_id, v.sku, p.title || ' — ' || v.title AS title, a.available, a.threshold,
            a.raised_at, a.notified_at
       FROM catalog_stock_alerts a
       JOIN catalog_variants v ON v.tenant_id = a.tenant_id AND v.id = a.variant_id
       JOIN catalog_products p ON p.tenant_id = v.tenant_id AND p.id = v.product_id
      WHERE a.resolved_at IS NULL ORDER BY a.raised_at DESC, a.id LIMIT 500`,
  );
  return rows.map((r) => ({
    id: r.id,
    variantId: r.variant_id,
    productId: r.product_id,
    sku: r.sku,
    title: r.title,
    available: r.available,
    threshold: r.threshold,
    raisedAt: new Date(r.raised_at).toISOString(),
    notifiedAt: r.notified_at ? new Date(r.notified_at).toISOString() : null,
  }));
}
