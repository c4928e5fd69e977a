import { tenantParams } from '../identity/api.ts';
import { errorResponses } from '../platform/http/schemas.ts';
import type { App } from '../platform/http/server.ts';
import { startSyncBody, syncStartedSchema, syncStatusSchema } from './api.ts';
import type { SyncCore } from './index.ts';

/*
 * Routes of issue 7: sync status and runs (`/api/v1/tenants/:tenant/sync`). Thin: validate, call,
 * respond. The mirrored-data routes belong to the mirror module.
 */

const errors = errorResponses(400, 401, 403, 404);
const readAccess = { operator: true, staff: 'any', apiKey: ['data:read'] } as const;

/** Registers the sync routes. */
export function registerSyncRoutes(app: App, deps: { sync: SyncCore }) {
  const { sync } = deps;

  app.get(
    '/api/v1/tenants/:tenant/sync',
    {
      config: { access: readAccess },
      schema: {
        tags: ['sync'],
        summary:
          'Sync status: per-resource state, progress, checkpoints, counts, last errors and recent runs',
        params: tenantParams,
        response: { 200: syncStatusSchema, ...errors },
      },
    },
    async (request) => sync.status(request.auth.tenant?.id as string),
  );

  app.post(
    '/api/v1/tenants/:tenant/sync',
    {
      config: { access: { operator: true, staff: 'owner' } },
      schema: {
        tags: ['sync'],
        summary:
          'Start a full, incremental or reconcile run (one per tenant and resource), optionally set the schedule',
        params: tenantParams,
        body: startSyncBody,
        response: {
          202: syncStartedSchema,
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const tenantId = request.auth.tenant?.id as string;
      if (request.body.schedule) await sync.setSchedule(tenantId, request.body.schedule);
      const result = await sync.start(tenantId, {
        mode: request.body.mode,
        resources: request.body.resources,
        trigger: 'api',
      });
      reply.code(202);
      return result;
    },
  );
}
