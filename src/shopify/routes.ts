import { z } from 'zod';
import { tenantParams } from '../identity/api.ts';
import { type AuditInput, actorOf } from '../identity/index.ts';
import type { Tx } from '../platform/db/client.ts';
import { notFound, unauthorized } from '../platform/errors.ts';
import type { Principal } from '../platform/http/auth.ts';
import { errorEnvelopeSchema } from '../platform/http/schemas.ts';
import type { App } from '../platform/http/server.ts';
import {
  connectionView as connectionViewSchema,
  disconnectResponse,
  manualTokenBody,
  normalizeShopDomain,
  oauthConfigResponse,
  shopDomainSchema,
  statusResponse,
  tokenExchangeResponse,
  tokenResponse,
} from './api.ts';
import { connectionView } from './connections.ts';
import type { ShopifyCore } from './index.ts';
import { browserFlow } from './pages.ts';

const rawQuery = (url: string) => {
  const q = url.indexOf('?');
  return q < 0 ? '' : url.slice(q + 1);
};

/** Where a merchant lands after installing: the dashboard, told which shop it is. */
export function dashboardUrl(shop: string, host?: string): string {
  const params = new URLSearchParams({ shop, ...(host ? { host } : {}) });
  return `/app?${params.toString()}`;
}

/**
 * The Shopify-facing routes sit outside `/api`, where the global rate limit does not apply; each
 * gets its own per-IP budget so nobody can fill the state table or hammer the token endpoint.
 */
const browserFlowRateLimit = { max: 120, timeWindow: 60_000, allowList: () => false };

/**
 * The Shopify-facing routes (no StoreOps credentials: Shopify's own signatures authenticate them):
 * `GET /shopify/install`, `GET /shopify/callback`, `POST /shopify/token-exchange`.
 */
export function registerShopifyOAuthRoutes(app: App, deps: { shopify: ShopifyCore }) {
  const { shopify } = deps;
  // The query is read raw (the hmac covers the exact parameters), so the schema lets anything through.
  const anyQuery = z.record(z.string(), z.union([z.string(), z.array(z.string())]));

  app.get(
    '/shopify/install',
    {
      config: { access: 'public', rateLimit: browserFlowRateLimit },
      schema: {
        tags: ['shopify'],
        summary: 'Start installing the app on a shop: redirects to Shopify to authorise (offline access)',
        description:
          'Validates `shop` (`*.myshopify.com`), stores a single-use OAuth state (10 minutes, bound to the shop) and redirects to Shopify. Verifies `hmac` when Shopify sent one. Browsers get an HTML page on errors, other clients the JSON envelope.',
        querystring: anyQuery,
        response: {
          302: z.null().describe('Redirect to the shop’s authorize page'),
          400: errorEnvelopeSchema,
          401: errorEnvelopeSchema,
          503: errorEnvelopeSchema,
        },
      },
    },
    async (request, reply) =>
      browserFlow(request, reply, async () => {
        const { redirect } = await shopify.install.start(rawQuery(request.url));
        return reply.header('cache-control', 'no-store').redirect(redirect, 302);
      }),
  );

  app.get(
    '/shopify/callback',
    {
      config: { access: 'public', rateLimit: browserFlowRateLimit },
      schema: {
        tags: ['shopify'],
        summary:
          'OAuth callback: verifies hmac, state, shop and timestamp, stores the token, lands on the dashboard',
        description:
          'Errors: 401 INVALID_HMAC, 400 INVALID_SHOP_DOMAIN, OAUTH_CALLBACK_INVALID, OAUTH_TIMESTAMP_STALE, OAUTH_STATE_UNKNOWN, OAUTH_STATE_USED, OAUTH_STATE_EXPIRED, OAUTH_STATE_SHOP_MISMATCH, OAUTH_CODE_REJECTED; 502 when Shopify fails. Nothing is stored on failure.',
        querystring: anyQuery,
        response: {
          302: z.null().describe('Redirect to the dashboard: /app?shop=…&host=…'),
          400: errorEnvelopeSchema,
          401: errorEnvelopeSchema,
          502: errorEnvelopeSchema,
          503: errorEnvelopeSchema,
        },
      },
    },
    async (request, reply) =>
      browserFlow(
        request,
        reply,
        async () => {
          const result = await shopify.install.callback(rawQuery(request.url));
          return reply
            .header('cache-control', 'no-store')
            .redirect(dashboardUrl(result.shop, result.host), 302);
        },
        () => normalizeShopDomain(new URLSearchParams(rawQuery(request.url)).get('shop')),
      ),
  );

  app.post(
    '/shopify/token-exchange',
    {
      config: { access: 'public', rateLimit: browserFlowRateLimit },
      schema: {
        tags: ['shopify'],
        summary:
          'Embedded apps: exchange an App Bridge session token for an offline token (kept server-side)',
        description:
          'Send the session token as `Authorization: Bearer <token>`. It is verified (HS256 with the app secret, `aud`, `dest`, `iss`, `exp`/`nbf` with 10 s skew) before the exchange. The access token is stored encrypted and never returned.',
        headers: z.object({ authorization: z.string().optional() }).loose(),
        security: [{ bearer: [] }],
        response: {
          200: tokenExchangeResponse,
          400: errorEnvelopeSchema,
          401: errorEnvelopeSchema,
          502: errorEnvelopeSchema,
          503: errorEnvelopeSchema,
        },
      },
    },
    async (request) => {
      const header = request.headers.authorization ?? '';
      const match = /^Bearer\s+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(header.trim());
      if (!match)
        throw unauthorized(
          'Send the App Bridge session token as Authorization: Bearer <token>',
          'INVALID_SESSION_TOKEN',
        );
      return shopify.install.tokenExchange(match[1]);
    },
  );
}

/** How routes record security events (identity's audit log). */
export type AuditSink = { record(input: AuditInput, tx?: Tx): Promise<void> };

const noStore = { 'cache-control': 'no-store' };

/**
 * The token service (seed 000) and connection management under `/api/v1`: status, the token
 * endpoint (API keys with `tokens:read` only, audited), manual token, disconnect, OAuth debug.
 */
export function registerShopifyApiRoutes(app: App, deps: { shopify: ShopifyCore; audit: AuditSink }) {
  const { shopify, audit } = deps;
  const record = (
    principal: Principal,
    ip: string,
    input: { action: string; tenantId: string; shop: string; details?: Record<string, unknown> },
  ) =>
    audit.record({
      action: input.action,
      tenantId: input.tenantId,
      actor: actorOf(principal),
      target: { kind: 'shop', id: input.shop },
      ip,
      details: input.details,
    });

  app.get(
    '/api/v1/shopify/status',
    {
      config: { access: { operator: true, staff: 'any', apiKey: [] } },
      schema: {
        tags: ['shopify'],
        summary: 'Shops the caller can act for: status, scopes, token expiry and health (never a token)',
        response: { 200: statusResponse, 401: errorEnvelopeSchema, 403: errorEnvelopeSchema },
      },
    },
    async (request) => {
      const { principal } = request.auth;
      if (principal.kind === 'operator') {
        return { shops: (await shopify.connections.listAll()).map((row) => connectionView(row)) };
      }
      const tenantId = 'tenantId' in principal ? principal.tenantId : undefined;
      if (!tenantId) return { shops: [] };
      await request.auth.bindTenant(tenantId);
      const row = await shopify.connections.findByTenant(tenantId);
      return { shops: row ? [connectionView(row)] : [] };
    },
  );

  app.get(
    '/api/v1/shops/:shop/token',
    {
      config: { access: { apiKey: ['tokens:read'] } },
      schema: {
        tags: ['shopify'],
        summary: "Hand a shop's Admin API access token to an authorised service (API keys with tokens:read)",
        description:
          "The one endpoint that returns a token (seed 000's token service). Only API keys of the shop's own tenant holding `tokens:read`; every read is written to the audit log. The token is refreshed first when it is about to expire.",
        params: z.object({ shop: shopDomainSchema }),
        response: {
          200: tokenResponse,
          401: errorEnvelopeSchema,
          403: errorEnvelopeSchema,
          404: errorEnvelopeSchema,
          409: errorEnvelopeSchema,
          422: errorEnvelopeSchema,
          502: errorEnvelopeSchema,
        },
      },
    },
    async (request, reply) => {
      const { shop } = request.params;
      const resolved = await shopify.resolveShop(shop);
      if (!resolved) throw notFound('shop', shop);
      // Another tenant's shop answers exactly like an unknown one.
      await request.auth.bindTenant(resolved.tenantId).catch(() => {
        throw notFound('shop', shop);
      });
      const token = await shopify.tokenForShop(shop);
      await record(request.auth.principal, request.ip, {
        action: 'shopify.token.read',
        tenantId: resolved.tenantId,
        shop,
        details: { expiresAt: token.expiresAt },
      });
      reply.headers(noStore);
      const { tenantId: _tenant, ...body } = token;
      return body;
    },
  );

  app.get(
    '/api/v1/tenants/:tenant/shopify/connection',
    {
      config: { access: { operator: true, staff: 'any', apiKey: [] } },
      schema: {
        tags: ['shopify'],
        summary: "The tenant's Shopify connection: shop, status, scopes, expiry, health",
        params: tenantParams,
        response: {
          200: connectionViewSchema,
          401: errorEnvelopeSchema,
          403: errorEnvelopeSchema,
          404: errorEnvelopeSchema,
        },
      },
    },
    async (request) => {
      const tenant = request.auth.tenant as { id: string };
      const row = await shopify.connections.findByTenant(tenant.id);
      if (!row) throw notFound('shopify connection', tenant.id);
      return connectionView(row);
    },
  );

  app.put(
    '/api/v1/tenants/:tenant/shopify/connection',
    {
      config: { access: { operator: true, staff: 'owner' } },
      schema: {
        tags: ['shopify'],
        summary: 'Connect a shop with a custom/private app access token (checked with a shop query first)',
        description:
          'For custom apps created in the Shopify admin (seed 001 set-token). The token is verified with a `shop { name }` query against the shop before it is stored encrypted; a token Shopify refuses is 422 INVALID_SHOPIFY_TOKEN and nothing is stored.',
        params: tenantParams,
        body: manualTokenBody,
        response: {
          200: connectionViewSchema,
          401: errorEnvelopeSchema,
          403: errorEnvelopeSchema,
          404: errorEnvelopeSchema,
          409: errorEnvelopeSchema,
          422: errorEnvelopeSchema,
          502: errorEnvelopeSchema,
          503: errorEnvelopeSchema,
        },
      },
    },
    async (request) => {
      const tenant = request.auth.tenant as { id: string };
      const view = await shopify.setManualToken(tenant.id, request.body);
      await record(request.auth.principal, request.ip, {
        action: 'shopify.connection.manual_token',
        tenantId: tenant.id,
        shop: view.shop,
      });
      return view;
    },
  );

  app.delete(
    '/api/v1/tenants/:tenant/shopify/connection',
    {
      config: { access: { operator: true, staff: 'owner' } },
      schema: {
        tags: ['shopify'],
        summary:
          'Disconnect the shop: uninstall at Shopify (best effort), erase tokens, schedule redaction in 48 h',
        params: tenantParams,
        response: {
          200: disconnectResponse,
          401: errorEnvelopeSchema,
          403: errorEnvelopeSchema,
          404: errorEnvelopeSchema,
        },
      },
    },
    async (request) => {
      const tenant = request.auth.tenant as { id: string };
      const result = await shopify.disconnect(tenant.id);
      await record(request.auth.principal, request.ip, {
        action: 'shopify.connection.disconnected',
        tenantId: tenant.id,
        shop: result.shop,
        details: { revokedAtShopify: result.revokedAtShopify },
      });
      return result;
    },
  );

  app.get(
    '/api/v1/shopify/oauth-config',
    {
      config: { access: { operator: true } },
      schema: {
        tags: ['shopify'],
        summary: 'OAuth configuration for troubleshooting, every secret masked (operators only)',
        description:
          "Seed 001's /api/debug/oauth-config done safely: the app secret appears only as `set` and a short SHA-256 fingerprint, encryption keys only by id.",
        response: { 200: oauthConfigResponse, 401: errorEnvelopeSchema, 403: errorEnvelopeSchema },
      },
    },
    async () => shopify.oauthConfig(),
  );
}
