import { errors as joseErrors, jwtVerify } from 'jose';
import { z } from 'zod';
import { normalizeShopDomain } from './api.ts';

/**
 * Shopify's OAuth endpoints as StoreOps calls them (issue 5): authorization-code grant, refresh
 * grant for expiring offline tokens, and token exchange of an App Bridge session token. Every URL is
 * built from `SHOPIFY_ADMIN_URL_TEMPLATE`, so the simulator and Shopify take the same code path.
 * https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/authorization-code-grant
 * https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/offline-access-tokens
 * https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/token-exchange
 */

/** The app's side of OAuth, from configuration. */
export type ShopifyApp = {
  apiKey: string;
  /** Current secret first, then the previous one during a rotation. */
  secrets: readonly string[];
  scopes: readonly string[];
  apiVersion: string;
  adminUrlTemplate: string;
  publicUrl: string;
};

/** A token grant as StoreOps stores it. */
export type TokenGrant = {
  accessToken: string;
  scopes: string[];
  /** Null for non-expiring offline tokens. */
  expiresAt: Date | null;
  refreshToken: string | null;
  refreshTokenExpiresAt: Date | null;
};

/**
 * Shopify refused a grant (`status` 4xx with an OAuth `error` such as `invalid_request` or
 * `invalid_grant`), or could not be reached / answered nonsense (`status` 0 or 5xx). The message
 * never contains a token or code.
 */
export class OAuthGrantError extends Error {
  readonly status: number;
  readonly oauthError: string | undefined;
  constructor(status: number, oauthError: string | undefined, message: string) {
    super(message);
    this.name = 'OAuthGrantError';
    this.status = status;
    this.oauthError = oauthError;
  }
  /** True when Shopify rejected the grant itself (retrying the same request cannot help). */
  get rejected(): boolean {
    return this.status >= 400 && this.status < 500;
  }
}

const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';
const OFFLINE_TOKEN_TYPE = 'urn:shopify:params:oauth:token-type:offline-access-token';
const OAUTH_TIMEOUT_MS = 10_000;

/** `https://{shop}` (or the simulator's equivalent) without a trailing slash. */
export function adminBaseUrl(template: string, shop: string): string {
  return template.replaceAll('{shop}', shop).replace(/\/+$/, '');
}

/** The callback Shopify redirects to; it must be listed in the app's allowed redirection URLs. */
export function redirectUri(app: Pick<ShopifyApp, 'publicUrl'>): string {
  return `${app.publicUrl}/shopify/callback`;
}

/** The authorize URL for an offline-access install (no `grant_options[]`). */
export function authorizeUrl(app: ShopifyApp, shop: string, state: string): string {
  const url = new URL(`${adminBaseUrl(app.adminUrlTemplate, shop)}/admin/oauth/authorize`);
  url.searchParams.set('client_id', app.apiKey);
  url.searchParams.set('scope', app.scopes.join(','));
  url.searchParams.set('redirect_uri', redirectUri(app));
  url.searchParams.set('state', state);
  return url.toString();
}

const grantSchema = z.object({
  access_token: z.string().min(1),
  scope: z.string().default(''),
  expires_in: z.number().int().positive().optional(),
  refresh_token: z.string().min(1).optional(),
  refresh_token_expires_in: z.number().int().positive().optional(),
});

const errorSchema = z
  .object({ error: z.string().optional(), error_description: z.string().optional() })
  .loose();

/** Splits Shopify's comma-separated scope string. */
export function parseScopes(scope: string | null | undefined): string[] {
  return (scope ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

async function postTokenEndpoint(
  app: ShopifyApp,
  shop: string,
  body: Record<string, string>,
  fetchImpl: typeof fetch = fetch,
): Promise<TokenGrant> {
  const url = `${adminBaseUrl(app.adminUrlTemplate, shop)}/admin/oauth/access_token`;
  const requestedAt = Date.now();
  let response: Response;
  try {
    response = await fetchImpl(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ client_id: app.apiKey, client_secret: app.secrets[0], ...body }),
      signal: AbortSignal.timeout(OAUTH_TIMEOUT_MS),
      redirect: 'error',
    });
  } catch (error) {
    throw new OAuthGrantError(
      0,
      undefined,
      `Shopify's token endpoint is unreachable (${(error as Error).name})`,
    );
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!response.ok) {
    const parsed = errorSchema.safeParse(json);
    const oauthError = parsed.success ? parsed.data.error : undefined;
    const description = parsed.success ? parsed.data.error_description : undefined;
    throw new OAuthGrantError(
      response.status,
      oauthError,
      `Shopify answered ${response.status}${oauthError ? ` ${oauthError}` : ''}${description ? `: ${description}` : ''}`,
    );
  }
  const parsed = grantSchema.safeParse(json);
  if (!parsed.success)
    throw new OAuthGrantError(502, undefined, 'Shopify answered with an unexpected token response');
  const grant = parsed.data;
  // Expiry is counted from when we asked, so network time never makes us think a token lives longer.
  const after = (seconds: number | undefined) => (seconds ? new Date(requestedAt + seconds * 1000) : null);
  return {
    accessToken: grant.access_token,
    scopes: parseScopes(grant.scope),
    expiresAt: after(grant.expires_in),
    refreshToken: grant.refresh_token ?? null,
    refreshTokenExpiresAt: after(grant.refresh_token_expires_in),
  };
}

/**
 * Authorization-code grant. `expiring: '1'` asks for an expiring offline token (required for new
 * public apps); a shop that answers without `expires_in` gets a non-expiring token, which also works.
 */
export function exchangeCode(app: ShopifyApp, shop: string, code: string, fetchImpl?: typeof fetch) {
  return postTokenEndpoint(app, shop, { code, expiring: '1' }, fetchImpl);
}

/** Refresh grant: a new access token and a new refresh token (the old one is retired). */
export function refreshGrant(app: ShopifyApp, shop: string, refreshToken: string, fetchImpl?: typeof fetch) {
  return postTokenEndpoint(
    app,
    shop,
    { grant_type: 'refresh_token', refresh_token: refreshToken },
    fetchImpl,
  );
}

/** Token exchange: an App Bridge session token for an expiring offline access token. */
export function exchangeSessionToken(
  app: ShopifyApp,
  shop: string,
  sessionToken: string,
  fetchImpl?: typeof fetch,
) {
  return postTokenEndpoint(
    app,
    shop,
    {
      grant_type: TOKEN_EXCHANGE_GRANT,
      subject_token: sessionToken,
      subject_token_type: ID_TOKEN_TYPE,
      requested_token_type: OFFLINE_TOKEN_TYPE,
      expiring: '1',
    },
    fetchImpl,
  );
}

/** Clock skew allowed on `exp`/`nbf` (Shopify's own libraries allow 10 seconds). */
export const SESSION_TOKEN_CLOCK_TOLERANCE_SECONDS = 10;

/** Verified claims of a session token that matter to StoreOps. */
export type SessionTokenClaims = { shop: string; sub?: string; sid?: string; exp: number };

/**
 * Verifies an App Bridge session token: HS256 signed with the app secret (or the previous one),
 * `aud` = the app's API key, `exp`/`nbf` within the tolerance, `dest` a valid shop and `iss` that
 * shop's admin. Never throws; the reason is safe to show.
 * https://shopify.dev/docs/apps/build/authentication-authorization/session-tokens
 */
export async function verifySessionToken(
  app: Pick<ShopifyApp, 'apiKey' | 'secrets'>,
  jwt: string,
  now: Date = new Date(),
): Promise<{ ok: true; claims: SessionTokenClaims } | { ok: false; reason: string }> {
  let reason = 'signature does not match the app secret';
  for (const secret of app.secrets) {
    try {
      const { payload } = await jwtVerify(jwt, new TextEncoder().encode(secret), {
        algorithms: ['HS256'],
        audience: app.apiKey,
        clockTolerance: SESSION_TOKEN_CLOCK_TOLERANCE_SECONDS,
        currentDate: now,
        requiredClaims: ['exp', 'nbf', 'dest', 'iss', 'aud'],
      });
      const dest =
        typeof payload.dest === 'string' && URL.canParse(payload.dest) ? new URL(payload.dest) : undefined;
      const shop = dest?.protocol === 'https:' ? normalizeShopDomain(dest.hostname) : undefined;
      if (!shop) return { ok: false, reason: 'dest is not a *.myshopify.com shop' };
      const iss =
        typeof payload.iss === 'string' && URL.canParse(payload.iss) ? new URL(payload.iss) : undefined;
      if (!iss || iss.hostname.toLowerCase() !== shop)
        return { ok: false, reason: 'iss does not match dest' };
      return {
        ok: true,
        claims: {
          shop,
          sub: typeof payload.sub === 'string' ? payload.sub : undefined,
          sid: typeof payload.sid === 'string' ? payload.sid : undefined,
          exp: payload.exp as number,
        },
      };
    } catch (error) {
      if (error instanceof joseErrors.JWSSignatureVerificationFailed) continue;
      if (error instanceof joseErrors.JWTExpired) return { ok: false, reason: 'session token expired' };
      if (error instanceof joseErrors.JWTClaimValidationFailed) {
        reason =
          error.claim === 'aud'
            ? 'session token is for another app (aud)'
            : error.claim === 'nbf'
              ? 'session token is not valid yet (nbf)'
              : `session token claim "${error.claim}" is invalid or missing`;
        return { ok: false, reason };
      }
      return { ok: false, reason: 'not a valid HS256 session token' };
    }
  }
  return { ok: false, reason };
}
