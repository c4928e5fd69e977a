import { z } from 'zod';
import { AppError } from '../platform/errors.ts';
import type { App } from '../platform/http/server.ts';
import {
  apiKeySchema,
  auditEventSchema,
  auditQuery,
  createApiKeyBody,
  createdApiKeySchema,
  keyParams,
  scopeDefinitionSchema,
  tenantParams,
} from './api.ts';
import type { IdentityCore } from './index.ts';
import { by, errors, listOf, pageQuery, tenantOf } from './route-kit.ts';

/** API keys (and the scopes they can hold) and the audit log (issue 4). */
export function registerKeyAndAuditRoutes(app: App, deps: { identity: IdentityCore }) {
  const { identity } = deps;

  // API keys ------------------------------------------------------------------------------------------

  app.get(
    '/api/v1/api-key-scopes',
    {
      config: { access: { operator: true, staff: 'owner' } },
      schema: {
        tags: ['api keys'],
        summary: 'The scopes an API key can hold, as the modules declare them',
        response: { 200: z.object({ items: z.array(scopeDefinitionSchema) }), ...errors },
      },
    },
    async () => ({ items: identity.apiKeyScopes.list() }),
  );

  app.get(
    '/api/v1/tenants/:tenant/api-keys',
    {
      config: { access: { operator: true, staff: 'owner' } },
      schema: {
        tags: ['api keys'],
        summary: 'List API keys (never their secrets)',
        params: tenantParams,
        querystring: pageQuery,
        response: { 200: listOf(apiKeySchema), ...errors },
      },
    },
    async (request) => request.auth.withTenant((tx) => identity.apiKeys.list(tx, request.query)),
  );

  app.post(
    '/api/v1/tenants/:tenant/api-keys',
    {
      config: { access: { operator: true, staff: 'owner' } },
      schema: {
        tags: ['api keys'],
        summary: 'Create an API key; the secret is in this response only',
        params: tenantParams,
        body: createApiKeyBody,
        response: { 201: createdApiKeySchema, ...errors },
      },
    },
    async (request, reply) => {
      const tenant = tenantOf(request);
      const key = await request.auth.withTenant((tx) =>
        identity.apiKeys.create(tx, tenant.id, request.body, by(request)),
      );
      return reply.status(201).header('cache-control', 'no-store').send(key);
    },
  );

  app.get(
    '/api/v1/tenants/:tenant/api-keys/:key',
    {
      config: { access: { operator: true, staff: 'owner' } },
      schema: {
        tags: ['api keys'],
        summary: 'Read an API key (never its secret)',
        params: keyParams,
        response: { 200: apiKeySchema, ...errors },
      },
    },
    async (request) => request.auth.withTenant((tx) => identity.apiKeys.get(tx, request.params.key)),
  );

  app.delete(
    '/api/v1/tenants/:tenant/api-keys/:key',
    {
      config: { access: { operator: true, staff: 'owner' } },
      schema: {
        tags: ['api keys'],
        summary: 'Revoke an API key (takes effect on the next request)',
        params: keyParams,
        response: { 200: apiKeySchema, ...errors },
      },
    },
    async (request) => {
      const tenant = tenantOf(request);
      return request.auth.withTenant((tx) =>
        identity.apiKeys.revoke(tx, tenant.id, request.params.key, by(request)),
      );
    },
  );

  // Audit log -----------------------------------------------------------------------------------------

  app.get(
    '/api/v1/tenants/:tenant/audit-log',
    {
      config: { access: { operator: true, staff: 'owner' } },
      schema: {
        tags: ['audit'],
        summary: "A tenant's security events, newest first",
        description: '`action` filters by an action or its family (`login` matches `login.failed`).',
        params: tenantParams,
        querystring: auditQuery.omit({ tenant: true }),
        response: { 200: listOf(auditEventSchema), ...errors },
      },
    },
    async (request) =>
      request.auth.withTenant((tx) =>
        identity.audit.list(
          { ...request.query, since: request.query.since ? new Date(request.query.since) : undefined },
          tx,
        ),
      ),
  );

  app.get(
    '/api/v1/audit-log',
    {
      config: { access: { operator: true } },
      schema: {
        tags: ['audit'],
        summary: 'Every security event of the platform, newest first (operators)',
        description: '`tenant` (id or slug) narrows it to one tenant.',
        querystring: auditQuery,
        response: { 200: listOf(auditEventSchema), ...errors },
      },
    },
    async (request) => {
      const { tenant: tenantRef, ...query } = request.query;
      let tenantId: string | undefined;
      if (tenantRef) {
        const tenant = await request.auth.bindTenant(tenantRef).catch(() => undefined);
        if (!tenant) throw new AppError(404, 'TENANT_NOT_FOUND', 'tenant not found');
        tenantId = tenant.id;
      }
      return identity.audit.list({
        ...query,
        tenantId,
        since: query.since ? new Date(query.since) : undefined,
      });
    },
  );
}
