import type { DestinationStream } from 'pino';
import type { Config } from './platform/config.ts';
import { openDatabase } from './platform/db/client.ts';
import { createJobs } from './platform/jobs.ts';
import { createLogger } from './platform/logger.ts';
import { createMetrics } from './platform/metrics.ts';
import { createScopeRegistry } from './platform/http/auth.ts';
import type { Door } from './platform/http/server.ts';
import { isAppError } from './platform/errors.ts';
import { createMailer } from './platform/mail.ts';
import { createObjectStorage } from './platform/storage.ts';
import { createCatalog, imageUrlsFrom } from './catalog/index.ts';
import { createIdentity } from './identity/index.ts';
import { createShopTenants } from './identity/shop-tenants.ts';
import { createShopify } from './shopify/index.ts';
import { createMirror } from './mirror/index.ts';
import { createWebhooks } from './webhooks/index.ts';
import { createSync } from './sync/index.ts';

/**
 * Wires the whole product by hand, in dependency order: platform first, then each domain module
 * with the few functions it needs from the ones below it. No container, no string keys.
 */
export async function createDeps(config: Config, options: { logDestination?: DestinationStream } = {}) {
  const logger = createLogger({ level: config.LOG_LEVEL, destination: options.logDestination });
  const metrics = createMetrics();
  const database = await openDatabase({
    databaseUrl: config.DATABASE_URL,
    dataDir: config.STOREOPS_DATA_DIR,
    poolMax: config.DATABASE_POOL_MAX,
  });
  const jobs = createJobs({ database, logger, metrics });
  const mailer = createMailer({ config, logger });
  const storage = await createObjectStorage(config);
  // Filled below from the doors; identity reads it when keys are created, the access layer at start.
  const scopes = createScopeRegistry();
  const identity = createIdentity({ config, database, logger, mailer, jobs, scopes });
  const shopify = createShopify({
    config,
    database,
    jobs,
    logger,
    tenants: createShopTenants({ audit: identity.audit }),
    audit: identity.audit,
  });
  const mirror = createMirror({ shopify });
  const webhooks = createWebhooks({
    config,
    logger,
    metrics,
    database,
    jobs,
    mirror,
    shopify,
    tenantExists: (tenantId) =>
      identity.tenants.get(tenantId).then(
        () => true,
        (error: unknown) => {
          if (isAppError(error) && error.status === 404) return false;
          throw error;
        },
      ),
  });
  const sync = createSync({
    database,
    jobs,
    logger,
    mirror,
    shopify,
    subscribe: webhooks.subscribe,
    concurrency: config.SYNC_CONCURRENCY,
    settings: { leaseSeconds: config.SYNC_LEASE_SECONDS },
  });
  const catalog = createCatalog({
    config,
    database,
    jobs,
    logger,
    mailer,
    currencyOf: async (tenantId) => (await identity.tenants.get(tenantId)).currency,
    ownerEmails: async (tenantId) => {
      const staff = await database.withTenant(tenantId, (tx) => identity.staff.list(tx, { limit: 250 }));
      return staff.items.filter((member) => member.role === 'owner').map((member) => member.email);
    },
    storage,
    imageUrls: imageUrlsFrom(storage),
  });
  /** Every module with routes, in registration order (`buildApp` calls each door's `routes`). */
  const doors: readonly Door[] = [identity, shopify, mirror, sync, webhooks, catalog];
  for (const door of doors) scopes.declare(door.scopes ?? []);
  /** Every table of vault-sealed secrets: `storeops keys rotate` and the start-up key check walk these. */
  const secretStores = [shopify.connections.secretStore];

  return {
    config,
    logger,
    metrics,
    database,
    jobs,
    mailer,
    storage,
    identity,
    shopify,
    mirror,
    webhooks,
    sync,
    catalog,
    doors,
    scopes,
    secretStores,
  };
}

/** Everything a running StoreOps process holds. */
export type Deps = Awaited<ReturnType<typeof createDeps>>;
