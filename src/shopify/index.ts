import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Config } from '../platform/config.ts';
import { shopifySecrets } from './signing.ts';
import { createVault } from '../platform/crypto/vault.ts';
import type { Database } from '../platform/db/client.ts';
import { notFound, unavailable, unprocessable } from '../platform/errors.ts';
import type { Jobs, Queue } from '../platform/jobs.ts';
import type { ScopeDefinition } from '../platform/http/auth.ts';
import type { App, Role } from '../platform/http/server.ts';
import type { Logger } from '../platform/logger.ts';
import { type AdminClient, ShopifyAdminError } from './admin-client.ts';
import { pacedClient } from './paced-client.ts';
import { normalizeShopDomain } from './api.ts';
import {
  type ConnectionRow,
  connectionView,
  createConnections,
  type RedactJob,
  REFRESH_AHEAD_MS,
  type ShopTenants,
} from './connections.ts';
import { createShopifyEvents } from './events.ts';
import { createInstallFlow, fetchShopInfo } from './install.ts';
import { createRateBudget } from './rate-budget.ts';
import { registerLandingPage } from './landing.ts';
import { adminBaseUrl, redirectUri, type ShopifyApp } from './oauth.ts';
import { type AuditSink, registerShopifyApiRoutes, registerShopifyOAuthRoutes } from './routes.ts';

export type { AdminClient, AdminResponse, QueryCost } from './admin-client.ts';
export type { Pacer } from './paced-client.ts';
export { ShopifyAdminError } from './admin-client.ts';
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
  const configured = Boolean(config.SHOPIFY_API_KEY && config.SHOPIFY_API_SECRET);
  const shopifyApp: ShopifyApp | undefined = configured
    ? {
        apiKey: config.SHOPIFY_API_KEY as string,
        secrets: shopifySecrets(config),
        scopes: config.SHOPIFY_SCOPES,
        apiVersion: config.SHOPIFY_API_VERSION,
        adminUrlTemplate: config.SHOPIFY_ADMIN_URL_TEMPLATE,
        publicUrl: config.STOREOPS_PUBLIC_URL,
      }
    : undefined;
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

  redactQueue = jobs.define<RedactJob>({
    name: 'shopify.redact-shop',
    schema: z.object({ connectionId: z.uuid(), uninstalledAt: z.iso.datetime() }),
    retryLimit: 10,
    handler: async ({ data }) => ({ redacted: await connections.redact(data, 'scheduled') }),
  });

  const refreshQueue = jobs.define<{ connectionId: string }>({
    name: 'shopify.refresh-token',
    schema: z.object({ connectionId: z.uuid() }),
    // One queued and one running refresh per connection (singletonKey = connection id).
    policy: 'stately',
    retryLimit: 4,
    retryDelaySeconds: 15,
    handler: async ({ data }) => {
      if (!shopifyApp) return { skipped: 'not configured' };
      return { usable: await connections.refresh(data.connectionId, { dueWithinMs: REFRESH_AHEAD_MS }) };
    },
  });

  const refreshDue = jobs.define<Record<string, never>>({
    name: 'shopify.refresh-due',
    schema: z.object({}).strict() as z.ZodType<Record<string, never>>,
    policy: 'singleton',
    retryLimit: 1,
    cron: [{ schedule: '* * * * *', data: {} }],
    handler: async () => {
      await install.pruneStates();
      if (!shopifyApp) return { queued: 0 };
      const ids = await connections.dueForRefresh();
      for (const connectionId of ids)
        await refreshQueue.send({ connectionId }, { singletonKey: connectionId });
      return { queued: ids.length };
    },
  });

  /** The connection of a tenant that may make calls now, else a typed error. */
  async function activeConnection(tenantId: string): Promise<ConnectionRow> {
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

  /** Secret-free fingerprint so operators can compare deployments' secrets. */
  const fingerprint = (secret: string | undefined) =>
    secret ? `sha256:${createHash('sha256').update(secret).digest('hex').slice(0, 12)}` : null;

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
    queues: { refreshDue: refreshDue.name, refreshToken: refreshQueue.name, redact: 'shopify.redact-shop' },

    /**
     * THE door to a shop's Admin GraphQL API: a client for the tenant's active connection that
     * decrypts the token per request and refreshes it before expiry and on a 401. Throws 404 when
     * the tenant has no connection and SHOPIFY_REAUTH_REQUIRED (409) when it cannot be used.
     */
    async adminClient(tenantId: string): Promise<AdminClient> {
      app();
      const client = connections.clientFor(await activeConnection(tenantId));
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
    async disconnect(tenantId: string) {
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
    },

    /**
     * Manual token for a custom/private app (seed 001 set-token): checked with a `shop { name }`
     * query before anything is stored.
     */
    async setManualToken(tenantId: string, input: { shop: string; accessToken: string }) {
      const a = app();
      let info: Awaited<ReturnType<typeof fetchShopInfo>>;
      try {
        info = await fetchShopInfo(a, input.shop, input.accessToken);
      } catch (error) {
        if (
          error instanceof ShopifyAdminError &&
          (error.kind === 'reauth_required' || error.kind === 'http')
        ) {
          throw unprocessable(
            'INVALID_SHOPIFY_TOKEN',
            'Shopify did not accept this access token for this shop',
            {
              shop: input.shop,
            },
          );
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
    },

    /** The token of a shop for the token endpoint (refreshed if about to expire). */
    async tokenForShop(shopDomain: string) {
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
    },

    /** The OAuth setup with every secret masked (operators' debug endpoint). */
    oauthConfig() {
      const publicUrl = config.STOREOPS_PUBLIC_URL;
      return {
        configured,
        apiKey: config.SHOPIFY_API_KEY ?? null,
        apiSecret: {
          set: Boolean(config.SHOPIFY_API_SECRET),
          fingerprint: fingerprint(config.SHOPIFY_API_SECRET),
        },
        previousApiSecret: {
          set: Boolean(config.SHOPIFY_API_SECRET_PREVIOUS),
          fingerprint: fingerprint(config.SHOPIFY_API_SECRET_PREVIOUS),
        },
        scopes: [...config.SHOPIFY_SCOPES],
        apiVersion: config.SHOPIFY_API_VERSION,
        adminUrlTemplate: config.SHOPIFY_ADMIN_URL_TEMPLATE,
        publicUrl,
        installUrl: `${publicUrl}/shopify/install?shop={shop}`,
        redirectUri: redirectUri({ publicUrl }),
        tokenExchangeUrl: `${publicUrl}/shopify/token-exchange`,
        expiringOfflineTokens: true,
        encryptionKeys: vault.keyIds.map((id) => ({ id, current: id === vault.currentKeyId })),
      };
    },
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
      registerLandingPage(app);
      registerShopifyApiRoutes(app, { shopify, audit: deps.audit });
    },
  };
}

/** The Shopify module of one process. */
export type Shopify = ReturnType<typeof createShopify>;
