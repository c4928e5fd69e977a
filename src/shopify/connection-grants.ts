import { randomUUID } from 'node:crypto';
import type { Vault } from '../platform/crypto/vault.ts';
import { conflict } from '../platform/errors.ts';
import type { ConnectionSource } from './api.ts';
import {
  type ConnectionDeps,
  lockByShop,
  sealContext,
  type ShopInfo,
  shopOfTenant,
} from './connection-rows.ts';
import type { TokenGrant } from './oauth.ts';

// Storing a grant (install, token exchange, manual token): the one writer of new tokens.

/** Seals both tokens of a grant for row `id` (the row id and column are the context). */
export function sealGrant(vault: Vault, id: string, grant: TokenGrant) {
  return {
    access: vault.seal(grant.accessToken, sealContext(id, 'access_token')),
    refresh: grant.refreshToken ? vault.seal(grant.refreshToken, sealContext(id, 'refresh_token')) : null,
  };
}

/**
 * Stores a fresh grant for `shop` and attaches it to a tenant, all in one transaction with the
 * `connection-installed` event: a new shop gets a new tenant, a known shop (even uninstalled or
 * redacted) reattaches its tenant. With `tenantId` (manual token), the shop must be free or
 * already that tenant's.
 */
export async function storeGrant(
  deps: ConnectionDeps,
  input: {
    shop: string;
    grant: TokenGrant;
    source: ConnectionSource;
    info: ShopInfo;
    tenantId?: string;
  },
): Promise<{ tenantId: string; connectionId: string; reinstalled: boolean }> {
  const { database, vault, logger, events } = deps;
  const { shop, grant, source, info } = input;
  const result = await database.transaction(async (tx) => {
    const existing = await lockByShop(tx, shop);
    if (input.tenantId && existing && existing.tenant_id !== input.tenantId) {
      throw conflict('SHOP_CONNECTED_TO_ANOTHER_TENANT', 'This shop is connected to another tenant', {
        shop,
      });
    }
    if (input.tenantId && !existing) {
      const linked = await shopOfTenant(tx, input.tenantId);
      if (linked) {
        throw conflict('TENANT_HAS_ANOTHER_SHOP', 'This tenant is already linked to another shop', {
          shop: linked,
        });
      }
    }
    const id = existing?.id ?? randomUUID();
    const tenantId = await deps.tenants.attachShop(tx, {
      shopDomain: shop,
      name: info.name,
      currency: info.currencyCode,
      timezone: info.ianaTimezone,
      existingTenantId: existing?.tenant_id ?? input.tenantId,
    });
    const sealed = sealGrant(vault, id, grant);
    const values = [
      id,
      tenantId,
      shop,
      info.name,
      source,
      grant.scopes.join(','),
      sealed.access,
      sealed.refresh,
      vault.currentKeyId,
      grant.expiresAt,
      grant.refreshTokenExpiresAt,
    ];
    if (existing) {
      await tx.query(
        `UPDATE shopify_connections
            SET shop_name = $4, status = 'active', source = $5, scopes = $6,
                access_token_enc = $7, refresh_token_enc = $8, token_key_id = $9,
                token_version = token_version + 1, expires_at = $10, refresh_token_expires_at = $11,
                last_error = NULL, installed_at = CASE WHEN status = 'active' THEN installed_at ELSE now() END,
                uninstalled_at = NULL, redact_at = NULL, redacted_at = NULL, updated_at = now()
          WHERE id = $1 AND tenant_id = $2 AND shop_domain = $3`,
        values,
      );
    } else {
      await tx.query(
        `INSERT INTO shopify_connections
           (id, tenant_id, shop_domain, shop_name, source, scopes, access_token_enc, refresh_token_enc,
            token_key_id, expires_at, refresh_token_expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        values,
      );
    }
    const reinstalled = existing !== undefined;
    await events.publish(tx, 'connection-installed', {
      tenantId,
      shop,
      connectionId: id,
      source,
      reinstalled,
    });
    return { tenantId, connectionId: id, reinstalled };
  });
  logger.info(
    {
      shop,
      tenantId: result.tenantId,
      source,
      reinstalled: result.reinstalled,
      expiring: grant.expiresAt !== null,
    },
    'shopify connection stored',
  );
  return result;
}
