/**
 * The webhook pipeline (issue 6; DESIGN.md flow 2): verified intake into a durable inbox, workers
 * that apply each event once (products, orders, customers, uninstall, bulk hand-over, GDPR), retries
 * with backoff and a dead-letter queue, the event log with replay, a live stream, subscription
 * management through the Admin API, retention and metrics. docs/webhooks.md describes it.
 *
 * Provider-neutral: each row has a `source` (`shopify`, `stripe`) and each source an intake adapter
 * (./sources/); modules react through `subscribe(source, topics, handler)` only.
 *
 *   const webhooks = createWebhooks({ config, logger, metrics, database, jobs, mirror, shopify, tenantExists });
 *   webhooks.subscribe('shopify', ['bulk_operations/finish'], { name: 'sync', apply: async (tx, events) => … });
 *   webhooks.routes(app, role);   // in buildApp: routes (api roles), processor (worker roles)
 */
import pg from 'pg';
import { z } from 'zod';
import type { Config } from '../platform/config.ts';
import { shopifySecrets } from '../shopify/index.ts';
import type { Database, Tx } from '../platform/db/client.ts';
import type { ScopeDefinition } from '../platform/http/auth.ts';
import type { App, Role } from '../platform/http/server.ts';
import type { Jobs } from '../platform/jobs.ts';
import type { Logger } from '../platform/logger.ts';
import type { Metrics } from '../platform/metrics.ts';
import type { Mirror } from '../mirror/index.ts';
import type { Shopify } from '../shopify/index.ts';
import type { WebhookHandler, WebhookSource } from './handler-types.ts';
import { createInboxWriter } from './inbox.ts';
import { adoptOrphans } from './inbox-rows.ts';
import { registerWebhookIntake } from './intake.ts';
import { createWebhookMetrics } from './metrics.ts';
import { createProcessor, type StatusChange } from './processor.ts';
import { createHandlerRegistry } from './registry.ts';
import { runRetention } from './retention.ts';
import { registerWebhookRoutes } from './routes/index.ts';
import { createShopResolver } from './shop-resolver.ts';
import { onShopRedacted, subscribeShopHandlers } from './shop-handlers.ts';
import { shopifyIntake } from './sources/shopify.ts';
import { type PaymentIntentTenantLookup, stripeIntake } from './sources/stripe.ts';
import { createLiveStream } from './stream.ts';
import { createSubscriptions } from './subscriptions.ts';

export type {
  Subscribe,
  TopicHandler,
  WebhookEvent,
  WebhookHandler,
  WebhookSource,
} from './handler-types.ts';
export { PermanentError } from './handler-types.ts';
export type { StatusChange } from './processor.ts';
export type { RetentionResult } from './retention.ts';
export type { EnsureResult, Subscription } from './subscriptions.ts';
export { DEFAULT_TOPICS, SUBSCRIBABLE_TOPICS } from './topics.ts';

/** The API-key scopes of this module's routes. */
export const WEBHOOK_SCOPES: readonly ScopeDefinition[] = [
  {
    name: 'events:read',
    description: 'Read the event log, dead letters, compliance requests and the live stream',
  },
  { name: 'events:replay', description: 'Replay events and redrive dead letters' },
];

/** The webhook module; its `routes` go on the app of every role. */
export function createWebhooks(deps: {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  database: Database;
  jobs: Jobs;
  mirror: Mirror;
  shopify: Pick<
    Shopify,
    'resolveShop' | 'handleAppUninstalled' | 'handleShopRedact' | 'adminClient' | 'events'
  >;
  /** True when StoreOps holds the tenant (Stripe events name theirs in metadata). */
  tenantExists: (tenantId: string) => Promise<boolean>;
}) {
  const { config, database, jobs, mirror, shopify } = deps;
  const logger = deps.logger.child({ module: 'webhooks' });
  const metrics = createWebhookMetrics(deps.metrics.registry);
  const stream = createLiveStream({ databaseUrl: config.DATABASE_URL, logger });
  const resolver = createShopResolver(async (shop) => {
    const held = await shopify.resolveShop(shop);
    // A redacted shop's data is gone: its deliveries are recorded as orphans, never applied.
    return held && held.status !== 'redacted' ? held.tenantId : null;
  });

  // Stripe events name their tenant; a cached existence check keeps unknown ones orphaned.
  const tenantCache = createShopResolver(async (tenantId) =>
    (await deps.tenantExists(tenantId)) ? tenantId : null,
  );
  let stripePaymentIntentTenant: PaymentIntentTenantLookup | undefined;

  const registry = createHandlerRegistry();
  subscribeShopHandlers(registry.subscribe, { mirror, shopify, resolver });

  const processor = createProcessor({
    database,
    logger,
    metrics,
    settings: {
      maxAttempts: config.WEBHOOK_MAX_ATTEMPTS,
      retryBaseMs: config.WEBHOOK_RETRY_BASE_MS,
      retryMaxMs: 3_600_000,
      leaseSeconds: config.WEBHOOK_LEASE_SECONDS,
      // PGlite runs one statement at a time: smaller transactions keep the intake's waits short.
      batchSize: database.kind === 'pglite' ? 50 : 200,
      loops: database.kind === 'pglite' ? 1 : 2,
      pollMs: 250,
      yieldToIntake: database.kind === 'pglite' ? 8 : 0,
    },
    handlers: registry.handlers,
    publish: stream.publish,
    notify: database.kind === 'postgres' ? stream.notify : undefined,
    intakeBusy: () => inbox.busy(),
  });

  // PostgreSQL: the intake's own connections (see inbox.ts); PGlite has one connection anyway.
  const intakePool =
    database.kind === 'postgres' && config.DATABASE_URL
      ? new pg.Pool({ connectionString: config.DATABASE_URL, max: 3, application_name: 'storeops-intake' })
      : undefined;
  // node-postgres hangs the whole client object on the error: log only what says what happened.
  intakePool?.on('error', (error: Error & { code?: string }) =>
    logger.warn({ code: error.code, reason: error.message }, 'webhook intake connection lost'),
  );
  const inbox = createInboxWriter({
    database,
    logger,
    maxInFlight: intakePool ? 3 : 1,
    execute: intakePool ? (statement) => intakePool.query(statement) : undefined,
    onStored(rows) {
      processor.wake();
      if (!stream.hasSubscribers()) return;
      const at = new Date().toISOString();
      stream.publish(
        rows
          .filter((r) => r.tenantId !== null)
          .map((r) => ({
            id: r.id,
            source: r.source,
            tenantId: r.tenantId as string,
            topic: r.topic,
            status: r.status,
            attempts: 0,
            error: null,
            at,
          })),
      );
    },
    onBatch: (rows, seconds) => {
      metrics.inboxBatchRows.observe(rows);
      metrics.inboxWriteSeconds.observe(seconds);
    },
  });

  let app: App | undefined;
  /** `${STOREOPS_PUBLIC_URL}/webhooks`; with PORT=0 (tests) the port this process listens on. */
  function callbackUrl(): string {
    const url = new URL(config.STOREOPS_PUBLIC_URL);
    const address = app?.server.listening ? app.server.address() : null;
    if (url.port === '0' && address && typeof address === 'object') url.port = String(address.port);
    return `${url.origin}${url.pathname.replace(/\/+$/, '')}/webhooks`;
  }
  const subscriptions = createSubscriptions({
    database,
    logger,
    adminClient: (tenantId) => shopify.adminClient(tenantId),
    callbackUrl,
  });

  const ensureQueue = jobs.define<{ tenantId: string }>({
    name: 'webhooks.ensure-subscriptions',
    schema: z.object({ tenantId: z.uuid() }),
    policy: 'stately',
    retryLimit: 8,
    retryDelaySeconds: 30,
    handler: async ({ data }) => {
      const result = await subscriptions.ensure(data.tenantId);
      return { created: result.created.length, deleted: result.deleted.length, kept: result.kept };
    },
  });

  const retentionSettings = {
    payloadRetentionMs: config.WEBHOOK_PAYLOAD_RETENTION_HOURS * 3_600_000,
    eventRetentionMs: config.WEBHOOK_EVENT_RETENTION_DAYS * 86_400_000,
  };
  jobs.define<Record<string, never>>({
    name: 'webhooks.retention',
    schema: z.object({}).strict() as z.ZodType<Record<string, never>>,
    policy: 'singleton',
    retryLimit: 2,
    cron: [{ schedule: '17 * * * *', data: {} }],
    handler: () => runRetention(database, logger, retentionSettings),
  });

  // Install: subscriptions ensured (with the job's retries) and early deliveries adopted.
  shopify.events.subscribe('connection-installed', {
    name: 'webhooks-ensure',
    retryLimit: 8,
    retryDelaySeconds: 30,
    handler: async ({ data }) => {
      resolver.forget(data.shop);
      const adopted = await adoptOrphans(database, data.tenantId, data.shop);
      if (adopted > 0) {
        logger.info(
          { tenantId: data.tenantId, shop: data.shop, adopted },
          'orphaned deliveries adopted on install',
        );
        processor.wake();
      }
      const result = await subscriptions.ensure(data.tenantId);
      return { adopted, created: result.created.length, deleted: result.deleted.length };
    },
  });
  // Both redactions (Shopify's shop/redact, the 48 h schedule) erase through the compliance handler.
  onShopRedacted({ database, shopify, resolver, wake: () => processor.wake() });

  function requeued(tenantId: string, events: { id: number; source: string; topic: string }[]): void {
    processor.wake();
    const at = new Date().toISOString();
    stream.publish(
      events.map((e) => ({
        id: e.id,
        source: e.source,
        tenantId,
        topic: e.topic,
        status: 'pending',
        attempts: 0,
        error: null,
        at,
      })),
    );
  }

  return {
    scopes: WEBHOOK_SCOPES,
    /**
     * Wires the module into a process: the intake and management routes on roles that serve the
     * API, the processor on roles that run workers, and an orderly stop when the app closes.
     */
    routes(target: App, role: Role): void {
      app = target;
      if (role !== 'worker') {
        registerWebhookIntake(target, {
          // One adapter per source; pixel joins this list with its issue.
          adapters: [
            shopifyIntake({ secrets: shopifySecrets(config), resolver }),
            stripeIntake({
              secrets: [config.STRIPE_WEBHOOK_SECRET, config.STRIPE_WEBHOOK_SECRET_PREVIOUS].filter(
                (s): s is string => Boolean(s),
              ),
              tenantExists: async (tenantId) => (await tenantCache.tenantFor(tenantId)) !== null,
              paymentIntentTenant: () => stripePaymentIntentTenant,
            }),
          ],
          bodyLimit: config.BODY_LIMIT_BYTES,
          inbox,
          metrics,
        });
        registerWebhookRoutes(target, { stream, subscriptions, requeued });
        void stream.start();
      }
      if (role !== 'api') processor.start();
      target.addHook('onClose', async () => {
        await processor.stop();
        await inbox.close();
        await intakePool?.end();
        await stream.close();
      });
    },

    /**
     * The one way to react to events: `handler` runs for `source`'s `topics`, after the handlers
     * registered before it, inside the tenant transaction, with the same retries, dead letters and
     * replay. Wiring time only. (A plain function: deps.ts hands it to modules below webhooks.)
     */
    subscribe: (source: WebhookSource, topics: readonly string[], handler: WebhookHandler): void =>
      registry.subscribe(source, topics, handler),

    /** Queues `ensure` for a tenant (with retries); `{ tx }` to commit it with the caller's writes. */
    ensureSubscriptions: (tenantId: string, options: { tx?: Tx } = {}) =>
      ensureQueue.send({ tenantId }, { ...options, singletonKey: tenantId }),

    /**
     * Commerce registers how to find the tenant of a Stripe payment intent, for events whose object
     * carries no `tenant_id` metadata (disputes). Wiring time only.
     */
    resolveStripePaymentIntents(lookup: PaymentIntentTenantLookup): void {
      stripePaymentIntentTenant = lookup;
    },

    /** Subscription management (desired topics, ensure, list/get/register/delete). */
    subscriptions,

    /** Applies due events now, in the caller's flow (CLI, tests); returns how many were claimed. */
    processDue: () => processor.runOnce(),

    /** Runs retention now (the hourly job does the same). */
    runRetention: (options: { now?: Date; payloadRetentionMs?: number; eventRetentionMs?: number } = {}) =>
      runRetention(database, logger, { ...retentionSettings, ...options }, options.now),

    /** Subscribes to a tenant's live status changes (what the SSE route streams). */
    watch: (tenantId: string, listener: (change: StatusChange) => void) =>
      stream.subscribe(tenantId, listener),

    /** Queue names (tests and status pages). */
    queues: { ensureSubscriptions: ensureQueue.name, retention: 'webhooks.retention' },
  };
}

/** The webhook module of one process. */
export type Webhooks = ReturnType<typeof createWebhooks>;
