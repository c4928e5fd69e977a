import { z } from 'zod';
import { tenantParams } from '../identity/api.ts';
import { errorResponses } from '../platform/http/schemas.ts';
import type { Tx } from '../platform/db/client.ts';
import type { App } from '../platform/http/server.ts';
import type { AdminClient } from '../shopify/index.ts';
import { LIST_QUERIES, liveOnly, RECORD_SCHEMAS, recordParams, recordSource } from './api.ts';
import { RESOURCES, type Resource } from './queries.ts';
import { getLive, listLive } from './read-through.ts';
import { getRecord, type ListFilters, listRecords } from './reads.ts';

/*
 * The mirrored-data API (issue 7): `/api/v1/tenants/:tenant/{products,orders,customers}[/:id]`,
 * from the mirror or, with `live=true`, read through to Shopify. Thin: validate, call, respond.
 */

const errors = errorResponses(400, 401, 403, 404);
const readAccess = { operator: true, staff: 'any', apiKey: ['data:read'] } as const;

/** Registers the list and get routes of the three resources. */
type MirrorRouteDeps = {
  adminClient: (tenantId: string) => Promise<AdminClient>;
  /** Replica-capable tenant reads (DATABASE_READ_URL); the request's own transaction otherwise. */
  readTenant?: <T>(tenantId: string, fn: (tx: Tx) => Promise<T>) => Promise<T>;
};

export function registerMirrorRoutes(app: App, deps: MirrorRouteDeps) {
  for (const resource of RESOURCES) registerDataRoutes(app, deps, resource);
}

function registerDataRoutes(app: App, deps: MirrorRouteDeps, resource: Resource) {
  // Plain list/get reads may lag a replica; live reads write back, so they stay on the primary.
  const read = <T>(tenantId: string, fn: (tx: Tx) => Promise<T>) =>
    deps.readTenant ? deps.readTenant(tenantId, fn) : undefined;
  const item = RECORD_SCHEMAS[resource];
  const singular = resource.slice(0, -1);
  app.get(
    `/api/v1/tenants/:tenant/${resource}`,
    {
      config: { access: readAccess },
      schema: {
        tags: ['data'],
        summary: `List mirrored ${resource} (cursor pagination, filters, text query q in Shopify search syntax; live=true reads Shopify)`,
        params: tenantParams,
        querystring: LIST_QUERIES[resource],
        response: {
          200: z.object({ items: z.array(item), nextCursor: z.string().nullable(), source: recordSource }),
          ...errors,
        },
      },
    },
    async (request) => {
      const tenantId = request.auth.tenant?.id as string;
      const filters = request.query as ListFilters;
      if (filters.live)
        return listLive(
          await deps.adminClient(tenantId),
          tenantId,
          resource,
          filters,
          request.auth.withTenant,
        );
      const work = (tx: Tx) => listRecords(tx, tenantId, resource, filters);
      return read(tenantId, work) ?? request.auth.withTenant(work);
    },
  );
  app.get(
    `/api/v1/tenants/:tenant/${resource}/:id`,
    {
      config: { access: readAccess },
      schema: {
        tags: ['data'],
        summary: `One mirrored ${singular} by its Shopify id (live=true reads Shopify and refreshes the mirror)`,
        params: recordParams,
        querystring: liveOnly,
        response: { 200: z.object({ item, source: recordSource }), ...errors },
      },
    },
    async (request) => {
      const tenantId = request.auth.tenant?.id as string;
      const { id } = request.params;
      if (request.query.live)
        return getLive(await deps.adminClient(tenantId), tenantId, resource, id, request.auth.withTenant);
      const work = (tx: Tx) => getRecord(tx, tenantId, resource, id);
      return read(tenantId, work) ?? request.auth.withTenant(work);
    },
  );
}
