import type { Config } from '../platform/config.ts';
import { notFound, unprocessable } from '../platform/errors.ts';
import type { Logger } from '../platform/logger.ts';
import { ShopifyAdminError } from './admin-client.ts';
import { type ConnectionRow, connectionView } from './connection-rows.ts';
import type { Connections } from './connections.ts';
import { fetchShopInfo } from './install.ts';
import { adminBaseUrl, type ShopifyApp } from './oauth.ts';

/**
 * What staff and integrations do with a tenant's connection: use it (`activeConnection`),
 * disconnect it, set a manual token, and read its token (the token service).
 */
export type ConnectionAdminDeps = {
  config: Config;
  logger: Logger;
  connections: Connections;
  app: () => ShopifyApp;
  /** The app settings when configured (disconnect asks Shopify to uninstall only then). */
  shopifyApp: ShopifyApp | undefined;
};

/** The connection of a tenant that may make calls now, else a typed error. */
export async function activeConnection(connections: Connections, tenantId: string): Promise<ConnectionRow> {
  const row = await connections.findByTenant(tenantId);
  if (!row) throw notFound('shopify connection', tenantId);
  if (row.status !== 'active') {
    throw new ShopifyAdminError(
      'reauth_required',
      row.shop_domain,
      row.status === 'needs_reauth'
        ? 'The shop must re-authorise StoreOps (open the app in Shopify again)'
        : 'The shop is not connected to StoreOps',
    );
  }
  return row;
}

/**
 * Manual disconnect: asks Shopify to uninstall the app (OAuth installs only, best effort), then
 * runs the same uninstall path as the webhook.
 */
export async function disconnect(deps: ConnectionAdminDeps, tenantId: string) {
  const { connections, logger, shopifyApp } = deps;
  const row = await connections.findByTenant(tenantId);
  if (!row) throw notFound('shopify connection', tenantId);
  let revokedAtShopify = false;
  if (row.status === 'active' && row.source !== 'manual' && shopifyApp) {
    try {
      const { data } = await connections
        .clientFor(row)
        .request<{ appUninstall: { userErrors: { message: string }[] } | null }>(
          'mutation StoreOpsDisconnect { appUninstall { userErrors { message } } }',
        );
      revokedAtShopify = (data.appUninstall?.userErrors ?? ['missing']).length === 0;
    } catch (error) {
      logger.warn(
        { err: error, shop: row.shop_domain },
        'could not uninstall the app at Shopify; erasing tokens locally',
      );
    }
  }
  const result = await connections.uninstall(row.shop_domain, 'disconnected');
  const after = result?.row ?? row;
  return {
    shop: after.shop_domain,
    status: after.status,
    revokedAtShopify,
    redactAt: after.redact_at?.toISOString() ?? null,
  };
}

/**
 * Manual token for a custom/private app (seed 001 set-token): checked with a `shop { name }`
 * query before anything is stored.
 */
export async function setManualToken(
  deps: ConnectionAdminDeps,
  tenantId: string,
  input: { shop: string; accessToken: string },
) {
  const { connections } = deps;
  const a = deps.app();
  let info: Awaited<ReturnType<typeof fetchShopInfo>>;
  try {
    info = await fetchShopInfo(a, input.shop, input.accessToken);
  } catch (error) {
    if (error instanceof ShopifyAdminError && (error.kind === 'reauth_required' || error.kind === 'http')) {
      throw unprocessable('INVALID_SHOPIFY_TOKEN', 'Shopify did not accept this access token for this shop', {
        shop: input.shop,
      });
    }
    if (error instanceof ShopifyAdminError && error.kind === 'invalid_response') {
      throw unprocessable('INVALID_SHOPIFY_TOKEN', error.message, { shop: input.shop });
    }
    throw error;
  }
  const stored = await connections.storeGrant({
    shop: input.shop,
    source: 'manual',
    info,
    tenantId,
    grant: {
      accessToken: input.accessToken,
      scopes: [],
      expiresAt: null,
      refreshToken: null,
      refreshTokenExpiresAt: null,
    },
  });
  const row = await connections.findByTenant(stored.tenantId);
  return connectionView(row as ConnectionRow);
}

/** The token of a shop for the token endpoint (refreshed if about to expire). */
export async function tokenForShop(deps: ConnectionAdminDeps, shopDomain: string) {
  const { connections, config } = deps;
  const row = await connections.findByShop(shopDomain);
  if (!row) throw notFound('shop', shopDomain);
  const { token, row: current } = await connections.currentToken(row.id);
  return {
    tenantId: current.tenant_id,
    shop: current.shop_domain,
    accessToken: token,
    scopes: current.scopes ? current.scopes.split(',') : [],
    expiresAt: current.expires_at?.toISOString() ?? null,
    apiVersion: config.SHOPIFY_API_VERSION,
    graphqlUrl: `${adminBaseUrl(config.SHOPIFY_ADMIN_URL_TEMPLATE, current.shop_domain)}/admin/api/${config.SHOPIFY_API_VERSION}/graphql.json`,
  };
}
