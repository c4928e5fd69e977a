import { createHash, randomBytes } from 'node:crypto';
import { verifyOAuthQuery } from './signing.ts';
import type { Database } from '../platform/db/client.ts';
import { AppError, badGateway, badRequest, unauthorized } from '../platform/errors.ts';
import type { Logger } from '../platform/logger.ts';
import { createAdminClient, ShopifyAdminError } from './admin-client.ts';
import { normalizeShopDomain } from './api.ts';
import type { Connections, ShopInfo } from './connections.ts';
import {
  authorizeUrl,
  exchangeCode,
  exchangeSessionToken,
  OAuthGrantError,
  type ShopifyApp,
  type TokenGrant,
  verifySessionToken,
} from './oauth.ts';

/**
 * Main flow 1 (DESIGN.md): install → authorize → callback → token stored → tenant → hooks.
 * Every check fails with its own error code and stores nothing (a consumed state aside: states are
 * single use by design).
 */

/** How long an OAuth state stays valid. */
export const STATE_TTL_MS = 10 * 60 * 1000;
/**
 * How far the callback's `timestamp` may be from our clock. Shopify's own library allows 90 s; the
 * state's ten-minute expiry bounds the whole dance separately.
 */
export const CALLBACK_TIMESTAMP_TOLERANCE_S = 90;

const hashState = (state: string) => createHash('sha256').update(state).digest('hex');

function invalidShop(value: unknown): AppError {
  return badRequest(
    'INVALID_SHOP_DOMAIN',
    'shop must be a *.myshopify.com domain (letters, digits and hyphens)',
    {
      shop: typeof value === 'string' ? value.slice(0, 255) : null,
    },
  );
}

/** Reads the shop's name, currency and timezone with a new token: it also proves the token works. */
export async function fetchShopInfo(app: ShopifyApp, shop: string, accessToken: string): Promise<ShopInfo> {
  const client = createAdminClient({
    shop,
    apiVersion: app.apiVersion,
    adminUrlTemplate: app.adminUrlTemplate,
    timeoutMs: 15_000,
    tokens: { get: async () => ({ token: accessToken, version: 0 }), onUnauthorized: async () => false },
  });
  const { data } = await client.request<{
    shop: { name: string; myshopifyDomain?: string; currencyCode?: string; ianaTimezone?: string };
  }>('query StoreOpsShop { shop { name myshopifyDomain currencyCode ianaTimezone } }');
  if (!data?.shop || typeof data.shop.name !== 'string') {
    throw new ShopifyAdminError('invalid_response', shop, 'Shopify did not return the shop');
  }
  if (data.shop.myshopifyDomain && data.shop.myshopifyDomain.toLowerCase() !== shop) {
    throw new ShopifyAdminError('invalid_response', shop, 'The token belongs to a different shop');
  }
  return { name: data.shop.name, currencyCode: data.shop.currencyCode, ianaTimezone: data.shop.ianaTimezone };
}

/** The install, callback and token-exchange steps, used by routes.ts. */
export function createInstallFlow(deps: {
  database: Database;
  logger: Logger;
  app: () => ShopifyApp;
  connections: Connections;
}) {
  const { database, logger, connections } = deps;

  /**
   * `GET /shopify/install?shop=`: validates the shop (and the hmac when Shopify sent one, as on an
   * App Store install), stores a single-use state bound to the shop, returns the authorize URL.
   */
  async function start(rawQuery: string): Promise<{ shop: string; redirect: string }> {
    const app = deps.app();
    const params = new URLSearchParams(rawQuery);
    const shop = normalizeShopDomain(params.get('shop'));
    if (!shop) throw invalidShop(params.get('shop'));
    if (params.has('hmac')) {
      const check = verifyOAuthQuery(params, app.secrets);
      if (!check.ok)
        throw unauthorized(`The install request's hmac is invalid: ${check.reason}`, 'INVALID_HMAC');
    }
    const state = randomBytes(32).toString('base64url');
    await database.query(
      `INSERT INTO shopify_oauth_states (state_hash, shop_domain, expires_at) VALUES ($1, $2, $3)`,
      [hashState(state), shop, new Date(Date.now() + STATE_TTL_MS)],
    );
    return { shop, redirect: authorizeUrl(app, shop, state) };
  }

  /** Marks the state used (whatever happens next) and checks expiry and shop binding. */
  async function consumeState(state: string, shop: string): Promise<void> {
    const hash = hashState(state);
    const { rows } = await database.query<{ shop_domain: string; expires_at: Date | string }>(
      `UPDATE shopify_oauth_states SET used_at = now()
        WHERE state_hash = $1 AND used_at IS NULL
        RETURNING shop_domain, expires_at`,
      [hash],
    );
    const row = rows[0];
    if (!row) {
      const known = await database.query('SELECT 1 FROM shopify_oauth_states WHERE state_hash = $1', [hash]);
      if (known.rows.length > 0) {
        throw badRequest('OAUTH_STATE_USED', 'This install link was already used; start the install again');
      }
      throw badRequest('OAUTH_STATE_UNKNOWN', 'Unknown OAuth state; start the install again');
    }
    if (new Date(row.expires_at).getTime() < Date.now()) {
      throw badRequest(
        'OAUTH_STATE_EXPIRED',
        'The install took longer than 10 minutes; start the install again',
      );
    }
    if (row.shop_domain !== shop) {
      throw badRequest('OAUTH_STATE_SHOP_MISMATCH', 'The OAuth state was issued for another shop');
    }
  }

  /** Exchanges a grant and reads the shop with it; Shopify's refusals become clear 4xx errors. */
  async function grantAndInfo(
    app: ShopifyApp,
    shop: string,
    obtain: () => Promise<TokenGrant>,
    rejectedCode: string,
  ) {
    let grant: Awaited<ReturnType<typeof obtain>>;
    try {
      grant = await obtain();
    } catch (error) {
      if (error instanceof OAuthGrantError && error.rejected) {
        throw new AppError(400, rejectedCode, `Shopify refused the grant: ${error.message}`, {
          details: { shop, oauthError: error.oauthError ?? null },
        });
      }
      throw badGateway(
        'SHOPIFY_UNAVAILABLE',
        `Could not get a token from Shopify: ${(error as Error).message}`,
        { shop },
      );
    }
    let info: ShopInfo;
    try {
      info = await fetchShopInfo(app, shop, grant.accessToken);
    } catch (error) {
      const message = error instanceof Error ? error.message : 'unknown error';
      throw badGateway('SHOPIFY_SHOP_QUERY_FAILED', `The new token could not read the shop: ${message}`, {
        shop,
      });
    }
    return { grant, info };
  }

  /**
   * `GET /shopify/callback`: hmac (constant time, current or previous secret), shop domain,
   * timestamp freshness, single-use state bound to the shop, then the code exchange, the shop
   * query and one transaction for connection + tenant + events.
   */
  async function callback(
    rawQuery: string,
  ): Promise<{ shop: string; tenantId: string; host?: string; reinstalled: boolean }> {
    const app = deps.app();
    const params = new URLSearchParams(rawQuery);
    for (const name of ['code', 'hmac', 'shop', 'state', 'timestamp']) {
      const value = params.get(name);
      if (!value || value.length > 2048) {
        throw badRequest(
          'OAUTH_CALLBACK_INVALID',
          `The callback is missing "${name}"; start the install again`,
        );
      }
    }
    const check = verifyOAuthQuery(params, app.secrets);
    if (!check.ok) throw unauthorized(`The callback's hmac is invalid: ${check.reason}`, 'INVALID_HMAC');
    const shop = normalizeShopDomain(params.get('shop'));
    if (!shop) throw invalidShop(params.get('shop'));
    const timestamp = Number(params.get('timestamp'));
    if (
      !Number.isInteger(timestamp) ||
      Math.abs(Date.now() / 1000 - timestamp) > CALLBACK_TIMESTAMP_TOLERANCE_S
    ) {
      throw badRequest('OAUTH_TIMESTAMP_STALE', 'The callback timestamp is too old or in the future');
    }
    await consumeState(params.get('state') as string, shop);
    const code = params.get('code') as string;
    const { grant, info } = await grantAndInfo(
      app,
      shop,
      () => exchangeCode(app, shop, code),
      'OAUTH_CODE_REJECTED',
    );
    const stored = await connections.storeGrant({ shop, grant, source: 'oauth', info });
    const host = params.get('host') ?? undefined;
    return { shop, tenantId: stored.tenantId, host, reinstalled: stored.reinstalled };
  }

  /**
   * `POST /shopify/token-exchange` (embedded apps): verifies the App Bridge session token, then
   * exchanges it for an expiring offline token unless the shop already has a usable one.
   */
  async function tokenExchange(sessionToken: string) {
    const app = deps.app();
    const verified = await verifySessionToken(app, sessionToken);
    if (!verified.ok)
      throw unauthorized(`Invalid session token: ${verified.reason}`, 'INVALID_SESSION_TOKEN');
    const { shop } = verified.claims;
    const existing = await connections.findByShop(shop);
    if (existing?.status === 'active' && existing.access_token_enc) {
      return { shop, tenantId: existing.tenant_id, status: existing.status, reinstalled: false };
    }
    const { grant, info } = await grantAndInfo(
      app,
      shop,
      () => exchangeSessionToken(app, shop, sessionToken),
      'SESSION_TOKEN_REJECTED',
    );
    const stored = await connections.storeGrant({ shop, grant, source: 'token_exchange', info });
    logger.info({ shop, tenantId: stored.tenantId }, 'shopify token exchange completed');
    return { shop, tenantId: stored.tenantId, status: 'active' as const, reinstalled: stored.reinstalled };
  }

  /** Deletes states that expired more than a day ago (run by the refresh cron). */
  async function pruneStates(): Promise<void> {
    await database.query(`DELETE FROM shopify_oauth_states WHERE expires_at < now() - interval '1 day'`);
  }

  return { start, callback, tokenExchange, pruneStates };
}

/** The install flow of one process. */
export type InstallFlow = ReturnType<typeof createInstallFlow>;
