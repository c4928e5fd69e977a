import type { Deps } from './deps.ts';
import { registerHealthRoutes } from './platform/http/health.ts';
import { installAccessControl } from './platform/http/auth.ts';
import { registerIdentityRoutes } from './identity/routes.ts';
import { registerShopperRoutes } from './identity/shopper-routes.ts';
import { type App, createHttpServer } from './platform/http/server.ts';
import { registerLandingPage } from './shopify/landing.ts';
import { registerShopifyApiRoutes, registerShopifyOAuthRoutes } from './shopify/routes.ts';
import { assertKeyRing } from './platform/crypto/vault.ts';
import { registerSyncRoutes } from './sync/routes.ts';

/** Which parts a process runs: `all` (default), `api` (HTTP only) or `worker` (jobs + health). */
export type Role = 'all' | 'api' | 'worker';

/** Builds the HTTP app for a role. It never listens (Fastify's testing guide). */
export async function buildApp(deps: Deps, role: Role = 'all'): Promise<App> {
  // A secret sealed with a key that left the ring is a start-up error, never a silent failure later.
  await assertKeyRing(deps.shopify.vault, deps.secretStores);
  const app = await createHttpServer(deps);
  // Before any route: every /api route must declare who may call it (docs/security.md).
  installAccessControl(app, { authenticator: deps.identity.authenticator, database: deps.database });
  registerHealthRoutes(app, {
    metrics: deps.metrics,
    checks: {
      database: async () => (await deps.database.query('SELECT 1 AS ok')).rows.length === 1,
      jobs: () => deps.jobs.healthy(),
    },
  });
  if (role !== 'worker') {
    // Domain routes are registered here, one module at a time.
    registerIdentityRoutes(app, { identity: deps.identity });
    registerShopperRoutes(app, { identity: deps.identity });
    registerShopifyOAuthRoutes(app, { shopify: deps.shopify });
    registerLandingPage(app);
    registerShopifyApiRoutes(app, { shopify: deps.shopify, audit: deps.identity.audit });
    registerSyncRoutes(app, { sync: deps.sync });
  }
  // Intake and event-log routes on API roles, the event processor on worker roles.
  deps.webhooks.attach(app, role);
  return app;
}
