import type { Config } from '../platform/config.ts';
import { createVault } from '../platform/crypto/vault.ts';
import type { Database } from '../platform/db/client.ts';
import { unavailable } from '../platform/errors.ts';
import type { Jobs, Queue } from '../platform/jobs.ts';
import type { ScopeDefinition } from '../platform/http/auth.ts';
import type { App, Role } from '../platform/http/server.ts';
import type { Logger } from '../platform/logger.ts';
import type { AdminClient } from './admin-client.ts';
import { pacedClient } from './paced-client.ts';
import { normalizeShopDomain } from './api.ts';
import { createConnections, type RedactJob, type ShopTenants } from './connections.ts';
import { oauthConfigView, shopifyAppFromConfig } from './app-config.ts';
import { activeConnection, disconnect, setManualToken, tokenForShop } from './connection-admin.ts';
import { defineShopifyJobs } from './connection-jobs.ts';
import { createShopifyEvents } from './events.ts';
import { createInstallFlow } from './install.ts';
import { createRateBudget } from './rate-budget.ts';
import { registerLandingPage } from './landing.ts';
import type { ShopifyApp } from './oauth.ts';
import { type AuditSink, registerShopifyApiRoutes, registerShopifyOAuthRoutes } from './routes.ts';

export type { AdminClient, AdminResponse, QueryCost } from './admin-client.ts';
export type { Pacer } from './paced-client.ts';
export { ShopifyAdminError } from './admin-client.ts';
export { shopifySecrets, verifyWebhookHmac } from './signing.ts';
export { type ConnectionPage, paginate } from './paced-client.ts';
export type { ShopTenants } from './connections.ts';
export type { ShopifyEvents } from './events.ts';

/** What `resolveShop` tells the webhooks module: `redacted` and `uninstalled` shops are not applied. */
export type ShopResolution = {
  tenantId: string;
  connectionId: string;
  status: 'active' | 'needs_reauth' | 'uninstalled' | 'redacted';
};

/** Everything the Shopify module holds, without its routes. */
function createShopifyCore(deps: {
  config: Config;
  database: Database;
  jobs: Jobs;
  logger: Logger;
  tenants: ShopTenants;
}) {
  const { config, database, jobs } = deps;
  // Every Admin API call spends from one shared cost budget per shop (issue 7, rate-budget.ts).
  const rateBudget = createRateBudget({ database });
  const logger = deps.logger.child({ module: 'shopify' });
  const vault = createVault(config.STOREOPS_ENCRYPTION_KEYS);
  const shopifyApp = shopifyAppFromConfig(config);
  const configured = shopifyApp !== undefined;
  const app = (): ShopifyApp => {
    if (!shopifyApp) {
      throw unavailable(
        'SHOPIFY_NOT_CONFIGURED',
        'Shopify is not configured: set SHOPIFY_API_KEY and SHOPIFY_API_SECRET',
      );
    }
    return shopifyApp;
  };

  const events = createShopifyEvents({ jobs, logger });
  let redactQueue: Queue<RedactJob> | undefined;
  const connections = createConnections({
    database,
    vault,
    logger,
    app,
    tenants: deps.tenants,
    events,
    redactQueue: () => redactQueue as Queue<RedactJob>,
  });
  const install = createInstallFlow({ database, logger, app, connections });
  const queues = defineShopifyJobs({ jobs, connections, install, configured: () => configured });
  redactQueue = queues.redact;
  const admin = { config, logger, connections, app, shopifyApp };

  return {
    /** The token vault over `STOREOPS_ENCRYPTION_KEYS` (other modules may seal their own secrets). */
    vault,
    /** Lifecycle events: `subscribe('connection-installed' | 'connection-uninstalled' | 'shop-redact', …)`. */
    events,
    /** Install / callback / token exchange steps (routes.ts). */
    install,
    /** Token storage (routes.ts and the key rotation). */
    connections,
    /** Queue names (tests and status pages). */
    queues: {
      refreshDue: queues.refreshDue.name,
      refreshToken: queues.refreshToken.name,
      redact: queues.redact.name,
    },

    /**
     * THE door to a shop's Admin GraphQL API: a client for the tenant's active connection that
     * decrypts the token per request and refreshes it before expiry and on a 401. Throws 404 when
     * the tenant has no connection and SHOPIFY_REAUTH_REQUIRED (409) when it cannot be used.
     */
    async adminClient(tenantId: string): Promise<AdminClient> {
      app();
      const client = connections.clientFor(await activeConnection(connections, tenantId));
      return pacedClient(client, { pacer: rateBudget });
    },

    /** THROTTLED answers Shopify gave a shop's paced clients (sync status and the benchmark). */
    throttledCount: (shop: string) => rateBudget.throttledCount(shop),

    /** Which tenant holds `shopDomain` (webhooks intake); undefined for a shop StoreOps never held. */
    async resolveShop(shopDomain: string): Promise<ShopResolution | undefined> {
      const shop = normalizeShopDomain(shopDomain);
      if (!shop) return undefined;
      const row = await connections.findByShop(shop);
      return row ? { tenantId: row.tenant_id, connectionId: row.id, status: row.status } : undefined;
    },

    /**
     * `app/uninstalled` (called by the webhooks module's handler): Shopify already revoked the token;
     * erase it, mark tenant and connection uninstalled, schedule the 48 h redaction. Idempotent.
     */
    async handleAppUninstalled(shopDomain: string): Promise<{ changed: boolean } | undefined> {
      const shop = normalizeShopDomain(shopDomain);
      if (!shop) return undefined;
      const result = await connections.uninstall(shop, 'app_uninstalled');
      return result ? { changed: result.changed } : undefined;
    },

    /** `shop/redact` (webhooks module): redacts an uninstalled shop now; false if reinstalled or unknown. */
    async handleShopRedact(shopDomain: string): Promise<boolean> {
      const shop = normalizeShopDomain(shopDomain);
      return shop ? connections.redact({ shop }, 'shop_redact_webhook') : false;
    },

    /**
     * Manual disconnect: asks Shopify to uninstall the app (OAuth installs only, best effort), then
     * runs the same uninstall path as the webhook.
     */
    disconnect: (tenantId: string) => disconnect(admin, tenantId),

    /** Manual token for a custom/private app (seed 001 set-token), checked with Shopify first. */
    setManualToken: (tenantId: string, input: { shop: string; accessToken: string }) =>
      setManualToken(admin, tenantId, input),

    /** The token of a shop for the token endpoint (refreshed if about to expire). */
    tokenForShop: (shopDomain: string) => tokenForShop(admin, shopDomain),

    /** The OAuth setup with every secret masked (operators' debug endpoint). */
    oauthConfig: () => oauthConfigView(config, vault),
  };
}

/** The Shopify module without its routes (what its own routes use). */
export type ShopifyCore = ReturnType<typeof createShopifyCore>;

/** The API-key scopes of this module's routes. */
export const SHOPIFY_SCOPES: readonly ScopeDefinition[] = [
  { name: 'tokens:read', description: "Read a shop's Shopify access token (GET /api/v1/shops/:shop/token)" },
];

/**
 * The Shopify connection module (issue 5): install and token exchange, the token vault, refresh,
 * uninstall/redact, the token service, and the one door to a shop's Admin API (`adminClient`).
 */
export function createShopify(
  deps: Parameters<typeof createShopifyCore>[0] & {
    /** Identity's audit log, for the token service and connection changes. */
    audit: AuditSink;
  },
) {
  const shopify = createShopifyCore(deps);
  return {
    ...shopify,
    scopes: SHOPIFY_SCOPES,
    /** OAuth (install, callback, token exchange), the `/app` landing page, `/api/v1` connection routes. */
    routes(app: App, role: Role): void {
      if (role === 'worker') return;
      registerShopifyOAuthRoutes(app, { shopify });
      registerLandingPage(app, { resolveShop: shopify.resolveShop });
      registerShopifyApiRoutes(app, { shopify, audit: deps.audit });
    },
  };
}

/** The Shopify module of one process. */
export type Shopify = ReturnType<typeof createShopify>;
