import type { Database } from '../platform/db/client.ts';

/*
 * The inbox's own row operations outside the intake's hot path (inbox.ts is that path): adopting a
 * new shop's orphans, and queueing StoreOps's scheduled shop redaction as an inbox event.
 */

/** Orphans of a shop received this recently are adopted when the shop is installed. */
const ADOPT_ORPHANS_WITHIN = '15 minutes';

/** Gives recently orphaned Shopify deliveries of a newly installed shop to its tenant; returns how many. */
export async function adoptOrphans(
  database: Database,
  tenantId: string,
  shopDomain: string,
): Promise<number> {
  const { rows } = await database.query(
    `UPDATE webhook_inbox SET tenant_id = $1, status = 'pending', run_at = now()
      WHERE shop_domain = $2 AND status = 'orphaned' AND source = 'shopify'
        AND received_at > now() - interval '${ADOPT_ORPHANS_WITHIN}'
      RETURNING id`,
    [tenantId, shopDomain.toLowerCase()],
  );
  return rows.length;
}

/**
 * Queues a `shop/redact` event for a shop that StoreOps redacted on its own schedule (48 hours
 * after an uninstall), so it is applied by the same compliance handler as Shopify's shop/redact:
 * one path that erases, once, with the compliance log, retries and dead letters of every event.
 * `key` identifies the redaction (a repeat is stored once). Returns the new row's id, if any.
 */
export async function queueScheduledRedaction(
  database: Database,
  redaction: { tenantId: string; shopDomain: string; key: string },
): Promise<number | undefined> {
  const payload = JSON.stringify({ shop_domain: redaction.shopDomain, storeops_trigger: 'scheduled' });
  const webhookId = `storeops-redact-${redaction.key}`;
  const { rows } = await database.query<{ id: string }>(
    `INSERT INTO webhook_inbox (tenant_id, source, dedupe_key, shop_domain, topic, webhook_id, triggered_at,
            payload, payload_bytes, status)
     SELECT $1, 'shopify', $2, $3, 'shop/redact', $4, now(), $5::json, $6, 'pending'
      WHERE NOT EXISTS (SELECT 1 FROM webhook_inbox
                         WHERE tenant_id = $1 AND topic = 'shop/redact' AND status IN ('pending', 'processing'))
     ON CONFLICT (source, dedupe_key) DO NOTHING
     RETURNING id`,
    [
      redaction.tenantId,
      `${redaction.shopDomain}/${webhookId}`,
      redaction.shopDomain,
      webhookId,
      payload,
      Buffer.byteLength(payload),
    ],
  );
  return rows[0] ? Number(rows[0].id) : undefined;
}
