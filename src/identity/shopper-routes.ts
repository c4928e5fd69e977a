import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CSRF_HEADER } from '../platform/http/auth.ts';
import { errorEnvelopeSchema } from '../platform/http/schemas.ts';
import type { App } from '../platform/http/server.ts';
import {
  acceptedSchema,
  emailBody,
  loginBody,
  registerBody,
  resetConfirmBody,
  shopperSchema,
  shopperTokenSchema,
  tenantParams,
  verifyBody,
} from './api.ts';
import type { IdentityCore } from './index.ts';
import { tenantOf, throttledPublic } from './route-kit.ts';
import { refreshCookieName, type ShopperTokens } from './shoppers.ts';

const errors = {
  400: errorEnvelopeSchema,
  401: errorEnvelopeSchema,
  403: errorEnvelopeSchema,
  404: errorEnvelopeSchema,
  422: errorEnvelopeSchema,
  429: errorEnvelopeSchema,
};
const shopperLogin = loginBody.omit({ tenant: true });

const csrfOf = (request: FastifyRequest) => {
  const value = request.headers[CSRF_HEADER];
  return typeof value === 'string' ? value : undefined;
};
const body = ({ refresh: _refresh, ...tokens }: ShopperTokens) => tokens;

/**
 * Storefront accounts at `/api/v1/stores/:tenant/shoppers/…` (seeds 002 and 004: register,
 * verify, login, refresh, logout, me, password reset).
 */
export function registerShopperRoutes(app: App, deps: { identity: IdentityCore }) {
  const { shoppers } = deps.identity;
  const base = '/api/v1/stores/:tenant/shoppers';

  app.post(
    `${base}/register`,
    {
      config: throttledPublic,
      schema: {
        tags: ['shoppers'],
        summary: 'Sign up: e-mails a 6-digit verification code',
        description:
          'Password: 8+ characters with upper, lower and a digit, not a common one. The answer is the same for new and existing addresses.',
        params: tenantParams,
        body: registerBody,
        response: { 202: acceptedSchema, ...errors },
      },
    },
    async (request, reply) =>
      reply.status(202).send(await shoppers.register(tenantOf(request), request.body, request.ip)),
  );

  app.post(
    `${base}/verify`,
    {
      config: throttledPublic,
      schema: {
        tags: ['shoppers'],
        summary: 'Confirm the e-mail address with the code (5 tries, 15 minutes)',
        params: tenantParams,
        body: verifyBody,
        response: { 200: acceptedSchema, ...errors },
      },
    },
    async (request) => shoppers.verify(tenantOf(request), request.body, request.ip),
  );

  app.post(
    `${base}/verify/resend`,
    {
      config: throttledPublic,
      schema: {
        tags: ['shoppers'],
        summary: 'E-mail a new verification code',
        params: tenantParams,
        body: emailBody,
        response: { 202: acceptedSchema, ...errors },
      },
    },
    async (request, reply) =>
      reply.status(202).send(await shoppers.resendVerification(tenantOf(request), request.body, request.ip)),
  );

  app.post(
    `${base}/login`,
    {
      config: throttledPublic,
      schema: {
        tags: ['shoppers'],
        summary: 'Log in (verified accounts): access token in the body, refresh token in an HttpOnly cookie',
        params: tenantParams,
        body: shopperLogin,
        response: { 200: shopperTokenSchema, ...errors },
      },
    },
    async (request, reply) => {
      const tenant = tenantOf(request);
      const tokens = await shoppers.login(tenant, request.body, request.ip);
      shoppers.setCookies(reply, tenant.id, tokens);
      return reply.header('cache-control', 'no-store').send(body(tokens));
    },
  );

  app.post(
    `${base}/refresh`,
    {
      config: { access: 'public' },
      schema: {
        tags: ['shoppers'],
        summary: 'New access token from the refresh cookie (rotated on every use; needs X-CSRF-Token)',
        description: 'Presenting a refresh token twice revokes every token of that login (reuse detection).',
        params: tenantParams,
        response: { 200: shopperTokenSchema, ...errors },
      },
    },
    async (request, reply) => {
      const tenant = tenantOf(request);
      const token = request.cookies[refreshCookieName(tenant.id)];
      try {
        const tokens = await shoppers.refresh(tenant, token, csrfOf(request), request.ip);
        shoppers.setCookies(reply, tenant.id, tokens);
        return reply.header('cache-control', 'no-store').send(body(tokens));
      } catch (error) {
        // A dead refresh token is of no use to the browser any more.
        if ((error as { status?: number }).status === 401) shoppers.clearCookies(reply, tenant.id);
        throw error;
      }
    },
  );

  app.post(
    `${base}/logout`,
    {
      config: { access: 'public' },
      schema: {
        tags: ['shoppers'],
        summary: 'Log out: revokes the refresh token family and clears the cookies (needs X-CSRF-Token)',
        params: tenantParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (request, reply) => {
      const tenant = tenantOf(request);
      await shoppers.logout(
        tenant,
        request.cookies[refreshCookieName(tenant.id)],
        csrfOf(request),
        request.ip,
      );
      shoppers.clearCookies(reply, tenant.id);
      return reply.status(204).send(null);
    },
  );

  app.get(
    `${base}/me`,
    {
      config: { access: { shopper: true } },
      schema: {
        tags: ['shoppers'],
        summary: 'The signed-in shopper (Bearer access token)',
        params: tenantParams,
        response: { 200: shopperSchema, ...errors },
      },
    },
    async (request) =>
      shoppers.me(
        tenantOf(request),
        request.auth.principal.kind === 'shopper' ? request.auth.principal.id : '',
      ),
  );

  app.post(
    `${base}/password-reset`,
    {
      config: throttledPublic,
      schema: {
        tags: ['shoppers'],
        summary: 'E-mail a password reset code',
        params: tenantParams,
        body: emailBody,
        response: { 202: acceptedSchema, ...errors },
      },
    },
    async (request, reply) =>
      reply
        .status(202)
        .send(await shoppers.requestPasswordReset(tenantOf(request), request.body, request.ip)),
  );

  app.post(
    `${base}/password-reset/confirm`,
    {
      config: throttledPublic,
      schema: {
        tags: ['shoppers'],
        summary: 'Set a new password with the e-mailed code (signs out every device)',
        params: tenantParams,
        body: resetConfirmBody,
        response: { 200: acceptedSchema, ...errors },
      },
    },
    async (request) => shoppers.confirmPasswordReset(tenantOf(request), request.body, request.ip),
  );
}
