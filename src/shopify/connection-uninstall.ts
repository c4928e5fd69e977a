import {
  type ConnectionDeps,
  type ConnectionRow,
  lockById,
  lockByShop,
  REDACT_AFTER_MS,
} from './connection-rows.ts';

/** The end of a connection: uninstall (tokens erased at once) and, 48 hours later, redaction. */

/**
 * Uninstall path shared by the `app/uninstalled` webhook and a manual disconnect: erase both
 * tokens, mark the connection and the tenant uninstalled, tell subscribers (sync stops its jobs)
 * and schedule the shop's redaction 48 hours later. Idempotent: a second call changes nothing.
 */
export async function uninstall(
  deps: ConnectionDeps,
  shop: string,
  reason: 'app_uninstalled' | 'disconnected',
): Promise<{ row: ConnectionRow; changed: boolean } | undefined> {
  const { database, logger, events } = deps;
  const result = await database.transaction(async (tx) => {
    const row = await lockByShop(tx, shop);
    if (!row) return undefined;
    if (row.status === 'uninstalled' || row.status === 'redacted') return { row, changed: false };
    const uninstalledAt = new Date();
    const redactAt = new Date(uninstalledAt.getTime() + REDACT_AFTER_MS);
    await tx.query(
      `UPDATE shopify_connections
          SET status = 'uninstalled', access_token_enc = NULL, refresh_token_enc = NULL, token_key_id = NULL,
              token_version = token_version + 1, expires_at = NULL, refresh_token_expires_at = NULL,
              uninstalled_at = $2, redact_at = $3, last_error = NULL, updated_at = now()
        WHERE id = $1`,
      [row.id, uninstalledAt, redactAt],
    );
    await deps.tenants.markUninstalled(tx, row.tenant_id, row.shop_domain);
    await events.publish(tx, 'connection-uninstalled', {
      tenantId: row.tenant_id,
      shop: row.shop_domain,
      connectionId: row.id,
      reason,
      redactAt: redactAt.toISOString(),
    });
    await deps
      .redactQueue()
      .send(
        { connectionId: row.id, uninstalledAt: uninstalledAt.toISOString() },
        { tx, startAfter: redactAt },
      );
    return {
      row: {
        ...row,
        status: 'uninstalled' as const,
        access_token_enc: null,
        refresh_token_enc: null,
        uninstalled_at: uninstalledAt,
        redact_at: redactAt,
      },
      changed: true,
    };
  });
  if (result?.changed) {
    logger.info(
      { shop, tenantId: result.row.tenant_id, reason },
      'shopify connection uninstalled; tokens erased',
    );
  }
  return result;
}

/**
 * Redacts an uninstalled shop: marks the connection `redacted` and publishes `shop-redact` for the
 * data modules. Skipped when the shop was reinstalled in the meantime (or, for the scheduled job,
 * uninstalled again later: that uninstall has its own job). Returns true when it redacted.
 */
export async function redact(
  deps: ConnectionDeps,
  where: { shop: string } | { connectionId: string; uninstalledAt: string },
  trigger: 'scheduled' | 'shop_redact_webhook',
): Promise<boolean> {
  const { database, logger, events } = deps;
  const done = await database.transaction(async (tx) => {
    const row = 'shop' in where ? await lockByShop(tx, where.shop) : await lockById(tx, where.connectionId);
    if (row?.status !== 'uninstalled') return undefined;
    if ('uninstalledAt' in where && row.uninstalled_at?.toISOString() !== where.uninstalledAt)
      return undefined;
    await tx.query(
      `UPDATE shopify_connections SET status = 'redacted', redacted_at = now(), redact_at = NULL, updated_at = now()
        WHERE id = $1`,
      [row.id],
    );
    await events.publish(tx, 'shop-redact', {
      tenantId: row.tenant_id,
      shop: row.shop_domain,
      connectionId: row.id,
      trigger,
    });
    return row;
  });
  if (done)
    logger.info({ shop: done.shop_domain, tenantId: done.tenant_id, trigger }, 'shopify shop redacted');
  return done !== undefined;
}
