import type { Tx } from '../platform/db/client.ts';
import type { Logger } from '../platform/logger.ts';
import { type AdminClient, createAdminClient, ShopifyAdminError, type TokenSource } from './admin-client.ts';
import { sealGrant } from './connection-grants.ts';
import {
  type ConnectionDeps,
  type ConnectionRow,
  findById,
  lockById,
  REFRESH_AHEAD_MS,
  REFRESH_ON_USE_MS,
  sealContext,
} from './connection-rows.ts';
import { OAuthGrantError, refreshGrant, type TokenGrant } from './oauth.ts';

/**
 * Using a connection's token: read it (decrypted per call), refresh it before expiry and after a
 * 401 (one refresh at a time per shop), and the Admin client built on both.
 */

async function markNeedsReauth(logger: Logger, tx: Tx, row: ConnectionRow, reason: string): Promise<void> {
  // The dead credentials are erased: nothing can use them, so nothing should keep them.
  await tx.query(
    `UPDATE shopify_connections
        SET status = 'needs_reauth', access_token_enc = NULL, refresh_token_enc = NULL, token_key_id = NULL,
            token_version = token_version + 1, last_error = $2, updated_at = now()
      WHERE id = $1`,
    [row.id, reason],
  );
  logger.warn(
    { shop: row.shop_domain, tenantId: row.tenant_id, reason },
    'shopify connection needs re-authorisation',
  );
}

/**
 * Refreshes an expiring token, one refresh at a time per shop: the row is locked `FOR UPDATE`
 * for the whole exchange, so concurrent callers (any process) wait and then see the new token
 * instead of spending the same refresh token twice. With `failedVersion` (a call got 401 with
 * that token version) it refreshes only if nobody has since. A refresh Shopify rejects marks the
 * connection `needs_reauth` (no loop); network errors and 5xx throw so the caller can retry.
 * Returns true when the connection holds a usable token afterwards.
 */
export async function refreshConnection(
  deps: ConnectionDeps,
  connectionId: string,
  options: { failedVersion?: number; dueWithinMs?: number } = {},
): Promise<boolean> {
  const { database, vault, logger } = deps;
  const app = deps.app();
  const refreshed = await database.transaction(async (tx) => {
    const row = await lockById(tx, connectionId);
    if (row?.status !== 'active' || !row.access_token_enc) return false;
    if (options.failedVersion !== undefined) {
      if (row.token_version !== options.failedVersion) return true;
    } else {
      const due =
        row.expires_at && row.expires_at.getTime() - Date.now() < (options.dueWithinMs ?? REFRESH_AHEAD_MS);
      if (!due) return true;
    }
    if (!row.refresh_token_enc) {
      await markNeedsReauth(
        logger,
        tx,
        row,
        'Shopify rejected the access token (revoked or app uninstalled)',
      );
      return false;
    }
    const refreshToken = vault.open(row.refresh_token_enc, sealContext(row.id, 'refresh_token'));
    let grant: TokenGrant;
    try {
      grant = await refreshGrant(app, row.shop_domain, refreshToken);
    } catch (error) {
      if (error instanceof OAuthGrantError && error.rejected) {
        await markNeedsReauth(
          logger,
          tx,
          row,
          `token refresh rejected by Shopify (${error.oauthError ?? error.status})`,
        );
        return false;
      }
      throw error;
    }
    // Shopify rotates the refresh token; if one ever came back without it, keep the old one
    // (re-sealed, so the whole row is under the current key).
    const sealed = sealGrant(vault, row.id, { ...grant, refreshToken: grant.refreshToken ?? refreshToken });
    await tx.query(
      `UPDATE shopify_connections
          SET access_token_enc = $2, refresh_token_enc = $3, token_key_id = $4,
              token_version = token_version + 1, expires_at = $5,
              refresh_token_expires_at = COALESCE($6, refresh_token_expires_at),
              scopes = CASE WHEN $7 = '' THEN scopes ELSE $7 END,
              last_refreshed_at = now(), last_error = NULL, updated_at = now()
        WHERE id = $1`,
      [
        row.id,
        sealed.access,
        sealed.refresh,
        vault.currentKeyId,
        grant.expiresAt,
        grant.refreshTokenExpiresAt,
        grant.scopes.join(','),
      ],
    );
    logger.info({ shop: row.shop_domain, tenantId: row.tenant_id }, 'shopify token refreshed');
    return true;
  });
  return refreshed;
}

function notUsable(row: ConnectionRow | undefined, shop: string): ShopifyAdminError {
  if (row?.status === 'needs_reauth') {
    return new ShopifyAdminError(
      'reauth_required',
      shop,
      'The shop must re-authorise StoreOps (open the app again)',
    );
  }
  return new ShopifyAdminError('reauth_required', shop, 'The shop is not connected to StoreOps');
}

/**
 * The token of an active connection, refreshed first when it expires within a minute. Must not be
 * called inside a database transaction (it reads and may refresh on its own).
 */
export async function currentToken(
  deps: ConnectionDeps,
  connectionId: string,
): Promise<{ token: string; version: number; row: ConnectionRow }> {
  let row = await findById(deps.database, connectionId);
  const shop = row?.shop_domain ?? 'unknown';
  if (row?.status !== 'active' || !row.access_token_enc) throw notUsable(row, shop);
  const msLeft = row.expires_at ? row.expires_at.getTime() - Date.now() : Number.POSITIVE_INFINITY;
  if (msLeft < REFRESH_ON_USE_MS && row.refresh_token_enc) {
    try {
      if (!(await refreshConnection(deps, connectionId, { dueWithinMs: REFRESH_ON_USE_MS })))
        throw notUsable(await findById(deps.database, connectionId), shop);
    } catch (error) {
      // A transient refresh failure does not stop a call while the old token still works.
      if (error instanceof ShopifyAdminError || msLeft <= 0) {
        throw error instanceof ShopifyAdminError
          ? error
          : new ShopifyAdminError('unavailable', shop, 'Could not refresh the Shopify token', {
              cause: error,
            });
      }
    }
    row = await findById(deps.database, connectionId);
    if (row?.status !== 'active' || !row.access_token_enc) throw notUsable(row, shop);
  }
  return {
    token: deps.vault.open(row.access_token_enc, sealContext(row.id, 'access_token')),
    version: row.token_version,
    row,
  };
}

/** A `TokenSource` for the Admin client: decrypts per call, refreshes on expiry and on 401. */
export function tokenSource(deps: ConnectionDeps, connectionId: string): TokenSource {
  return {
    async get() {
      const { token, version } = await currentToken(deps, connectionId);
      return { token, version };
    },
    async onUnauthorized(version) {
      try {
        return await refreshConnection(deps, connectionId, { failedVersion: version });
      } catch (error) {
        deps.logger.warn({ err: error, connectionId }, 'shopify token refresh after 401 failed');
        return false;
      }
    },
  };
}

/** The Admin GraphQL client of a connection row. */
export function clientFor(deps: ConnectionDeps, row: ConnectionRow): AdminClient {
  const app = deps.app();
  return createAdminClient({
    shop: row.shop_domain,
    apiVersion: app.apiVersion,
    adminUrlTemplate: app.adminUrlTemplate,
    tokens: tokenSource(deps, row.id),
  });
}
