import { z } from 'zod';
import { badRequest } from '../platform/errors.ts';
import type { App } from '../platform/http/server.ts';
import {
  bootstrapBody,
  createStaffBody,
  createTenantBody,
  loginBody,
  meSchema,
  operatorSchema,
  sessionSchema,
  staffSchema,
  tenantListQuery,
  tenantParams,
  tenantSchema,
  updateStaffBody,
  updateTenantBody,
  userParams,
} from './api.ts';
import type { IdentityCore } from './index.ts';
import { registerKeyAndAuditRoutes } from './key-audit-routes.ts';
import { by, errors, listOf, pageQuery, tenantOf, throttledPublic } from './route-kit.ts';

/**
 * Operators, dashboard sessions, `me`, tenants, staff, API keys and the audit log (issue 4).
 * Handlers stay thin: validate (schemas), call identity, respond.
 */
export function registerIdentityRoutes(app: App, deps: { identity: IdentityCore }) {
  const { identity } = deps;

  app.post(
    '/api/v1/operators/bootstrap',
    {
      config: throttledPublic,
      schema: {
        tags: ['identity'],
        summary: 'Create the first operator (only while no operator exists)',
        body: bootstrapBody,
        response: { 201: operatorSchema, ...errors },
      },
    },
    async (request, reply) => {
      await identity.throttleRegistration(request.ip);
      const operator = await identity.operators.bootstrap(request.body, { ip: request.ip });
      return reply.status(201).send(operator);
    },
  );

  app.post(
    '/api/v1/sessions',
    {
      config: throttledPublic,
      schema: {
        tags: ['identity'],
        summary: 'Log in (operator or staff): sets the HttpOnly session cookie and returns the CSRF token',
        description:
          'Wrong e-mail and wrong password get the same 401. Repeated failures lock the account and the IP for a while (429 with Retry-After). When one e-mail has staff accounts in several tenants with the same password, name the tenant.',
        body: loginBody,
        response: { 201: sessionSchema, ...errors },
      },
    },
    async (request, reply) => {
      const result = await identity.login(request.body, {
        ip: request.ip,
        userAgent: request.headers['user-agent'],
      });
      identity.sessions.setCookies(reply, result.session);
      return reply.status(201).send({ ...result.me, expiresAt: result.session.expiresAt.toISOString() });
    },
  );

  app.delete(
    '/api/v1/sessions/current',
    {
      config: { access: { operator: true, staff: 'any' } },
      schema: {
        tags: ['identity'],
        summary: 'Log out: ends the current session and clears its cookies',
        response: { 204: z.null(), ...errors },
      },
    },
    async (request, reply) => {
      const principal = request.auth.principal;
      const sessionId = 'sessionId' in principal ? principal.sessionId : undefined;
      if (!sessionId) throw badRequest('NO_SESSION', 'This request is not authenticated by a session');
      await identity.logout(principal, sessionId, request.ip);
      identity.sessions.clearCookies(reply);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/api/v1/me',
    {
      config: { access: { operator: true, staff: 'any', apiKey: [] } },
      schema: {
        tags: ['identity'],
        summary: 'Who am I: the operator, staff member or API key making the request (and the CSRF token)',
        response: { 200: meSchema, ...errors },
      },
    },
    async (request) => identity.me(request.auth.principal, request.auth.csrfToken),
  );

  // Tenants ----------------------------------------------------------------------------------------

  app.post(
    '/api/v1/tenants',
    {
      config: { access: { operator: true } },
      schema: {
        tags: ['tenants'],
        summary: 'Create a tenant (store)',
        body: createTenantBody,
        response: { 201: tenantSchema, ...errors },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await identity.tenants.create(request.body, by(request))),
  );

  app.get(
    '/api/v1/tenants',
    {
      config: { access: { operator: true } },
      schema: {
        tags: ['tenants'],
        summary: 'List tenants',
        querystring: tenantListQuery,
        response: { 200: listOf(tenantSchema), ...errors },
      },
    },
    async (request) => identity.tenants.list(request.query),
  );

  app.get(
    '/api/v1/tenants/:tenant',
    {
      config: { access: { operator: true, staff: 'any', apiKey: [] } },
      schema: {
        tags: ['tenants'],
        summary: 'Read a tenant (by id or slug)',
        params: tenantParams,
        response: { 200: tenantSchema, ...errors },
      },
    },
    async (request) => request.auth.withTenant((tx) => identity.tenants.get(tenantOf(request).id, tx)),
  );

  app.patch(
    '/api/v1/tenants/:tenant',
    {
      config: { access: { operator: true } },
      schema: {
        tags: ['tenants'],
        summary: 'Update a tenant; `status: "deactivated"` shuts it (and all its credentials) out',
        params: tenantParams,
        body: updateTenantBody,
        response: { 200: tenantSchema, ...errors },
      },
    },
    async (request) => identity.tenants.update(tenantOf(request).id, request.body, by(request)),
  );

  // Staff (users and roles) -------------------------------------------------------------------------

  app.get(
    '/api/v1/tenants/:tenant/users',
    {
      config: { access: { operator: true, staff: 'owner' } },
      schema: {
        tags: ['staff'],
        summary: 'List the staff of a tenant with their roles',
        params: tenantParams,
        querystring: pageQuery,
        response: { 200: listOf(staffSchema), ...errors },
      },
    },
    async (request) => request.auth.withTenant((tx) => identity.staff.list(tx, request.query)),
  );

  app.post(
    '/api/v1/tenants/:tenant/users',
    {
      config: { access: { operator: true, staff: 'owner' } },
      schema: {
        tags: ['staff'],
        summary: 'Add a staff member (role owner or staff)',
        params: tenantParams,
        body: createStaffBody,
        response: { 201: staffSchema, ...errors },
      },
    },
    async (request, reply) => {
      const tenant = tenantOf(request);
      const member = await request.auth.withTenant((tx) =>
        identity.staff.create(tx, tenant.id, request.body, by(request)),
      );
      return reply.status(201).send(member);
    },
  );

  app.get(
    '/api/v1/tenants/:tenant/users/:user',
    {
      config: { access: { operator: true, staff: 'owner' } },
      schema: {
        tags: ['staff'],
        summary: 'Read a staff member',
        params: userParams,
        response: { 200: staffSchema, ...errors },
      },
    },
    async (request) => request.auth.withTenant((tx) => identity.staff.get(tx, request.params.user)),
  );

  app.patch(
    '/api/v1/tenants/:tenant/users/:user',
    {
      config: { access: { operator: true, staff: 'owner' } },
      schema: {
        tags: ['staff'],
        summary: "Change a staff member's role (user group), name or password",
        description: 'A password change ends the member’s sessions. The last owner cannot be demoted.',
        params: userParams,
        body: updateStaffBody,
        response: { 200: staffSchema, ...errors },
      },
    },
    async (request) => {
      const tenant = tenantOf(request);
      const { member, credentialsChanged } = await request.auth.withTenant((tx) =>
        identity.staff.update(tx, tenant.id, request.params.user, request.body, by(request)),
      );
      if (credentialsChanged) await identity.staff.onCredentialsChanged(member.id);
      return member;
    },
  );

  app.delete(
    '/api/v1/tenants/:tenant/users/:user',
    {
      config: { access: { operator: true, staff: 'owner' } },
      schema: {
        tags: ['staff'],
        summary: 'Remove a staff member (never the last owner)',
        params: userParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (request, reply) => {
      const tenant = tenantOf(request);
      await request.auth.withTenant((tx) =>
        identity.staff.remove(tx, tenant.id, request.params.user, by(request)),
      );
      return reply.status(204).send(null);
    },
  );

  registerKeyAndAuditRoutes(app, deps);
}
