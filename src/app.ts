import type { Deps } from './deps.ts';
import { assertKeyRing } from './platform/crypto/vault.ts';
import { installAccessControl } from './platform/http/auth.ts';
import { registerHealthRoutes } from './platform/http/health.ts';
import { registerMediaRoutes } from './platform/http/media.ts';
import { metricsAccess } from './platform/http/metrics-access.ts';
import { type App, createHttpServer, type Role } from './platform/http/server.ts';

export type { Role } from './platform/http/server.ts';

/** Builds the HTTP app for a role. It never listens (Fastify's testing guide). */
export async function buildApp(deps: Deps, role: Role = 'all'): Promise<App> {
  // A secret sealed with a key that left the ring is a start-up error, never a silent failure later.
  await assertKeyRing(deps.shopify.vault, deps.secretStores);
  const app = await createHttpServer(deps);
  // Before any route: every /api route must declare who may call it (docs/security.md).
  installAccessControl(app, {
    authenticator: deps.identity.authenticator,
    database: deps.database,
    scopes: deps.scopes,
  });
  registerHealthRoutes(app, {
    metrics: deps.metrics,
    metricsAccess: metricsAccess(deps.config),
    checks: {
      database: async () => (await deps.database.query('SELECT 1 AS ok')).rows.length === 1,
      jobs: () => deps.jobs.healthy(),
    },
  });
  // Stored objects (product images) at /media/*, wherever the storage keeps them.
  if (role !== 'worker') registerMediaRoutes(app, { storage: deps.storage });
  // Each module registers its own routes (and, on worker roles, starts its own loops).
  for (const door of deps.doors) door.routes(app, role);
  return app;
}
