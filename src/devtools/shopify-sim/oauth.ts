/**
 * OAuth as Shopify runs it: the authorize redirect (auto-approved) with its hex HMAC, the
 * authorization-code grant (offline, expiring offline, online), the refresh grant and token
 * exchange of a session token.
 * https://shopify.dev/docs/apps/build/authentication-authorization/get-access-tokens/authorization-code-grant
 * https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/offline-access-tokens
 * https://shopify.dev/docs/apps/build/authentication-authorization/get-access-tokens/exchange-tokens
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import type { RefreshRec, SimState, TokenRec } from './state.ts';

/** Lifetime of an expiring offline access token (60 minutes). */
export const EXPIRING_TOKEN_SECONDS = 3600;
/** Lifetime of a refresh token (90 days). */
export const REFRESH_TOKEN_SECONDS = 7_776_000;
/** Lifetime of an online (per-user) access token. */
export const ONLINE_TOKEN_SECONDS = 86_399;
/** Lifetime of an App Bridge session token (one minute). */
export const SESSION_TOKEN_SECONDS = 60;
const CODE_SECONDS = 600;

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';
const OFFLINE_TYPE = 'urn:shopify:params:oauth:token-type:offline-access-token';
const ONLINE_TYPE = 'urn:shopify:params:oauth:token-type:online-access-token';

/** A JSON answer with its HTTP status. */
export type OAuthResult = { status: number; body: Record<string, unknown> };

/**
 * Shopify's OAuth HMAC: drop `hmac` (and legacy `signature`), sort the rest by key, join as
 * `key=value&…` (form-encoded, as Shopify's own libraries rebuild it) and take the hex HMAC-SHA256.
 */
export function oauthHmac(secret: string, params: Record<string, string>): string {
  const sorted = Object.keys(params)
    .filter((k) => k !== 'hmac' && k !== 'signature')
    .sort();
  const search = new URLSearchParams();
  for (const k of sorted) search.append(k, params[k]);
  return createHmac('sha256', secret).update(search.toString()).digest('hex');
}

function token(prefix: string): string {
  return `${prefix}${randomBytes(16).toString('hex')}`;
}

/** Splits a comma-separated scope list. */
export function parseScopes(scope: string | undefined | null): string[] {
  return (scope ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** True when the scopes grant `required` (a write scope implies its read scope). */
export function hasScope(scopes: readonly string[], required: string): boolean {
  if (scopes.includes(required)) return true;
  if (required.startsWith('read_')) return scopes.includes(`write_${required.slice(5)}`);
  return false;
}

/** The `host` parameter: base64url of the admin URL for the store, without padding. */
export function hostParam(shop: string): string {
  return Buffer.from(`admin.shopify.com/store/${shop.replace('.myshopify.com', '')}`).toString('base64url');
}

/** Handles GET /{shop}/admin/oauth/authorize; the merchant always approves. */
export function authorize(
  sim: SimState,
  shop: string,
  query: Record<string, string | string[] | undefined>,
): { redirect: string } | { status: number; text: string } {
  const one = (k: string) => {
    const v = query[k];
    return Array.isArray(v) ? v[0] : v;
  };
  if (one('client_id') !== sim.options.apiKey) {
    return { status: 400, text: 'Oauth error invalid_request: The client_id provided is invalid' };
  }
  const redirectUri = one('redirect_uri');
  if (!redirectUri || !URL.canParse(redirectUri)) {
    return {
      status: 400,
      text: 'Oauth error invalid_request: The redirect_uri is missing or not whitelisted',
    };
  }
  const grantOptions = query['grant_options[]'] ?? query.grant_options;
  const online = (Array.isArray(grantOptions) ? grantOptions : [grantOptions]).includes('per-user');
  const scopes = parseScopes(one('scope'));
  const code = randomBytes(16).toString('hex');
  const now = sim.options.clock();
  sim.codes.set(code, { code, shop, scopes, expiresAt: now + CODE_SECONDS * 1000, used: false, online });
  const params: Record<string, string> = {
    code,
    host: hostParam(shop),
    shop,
    timestamp: String(Math.floor(now / 1000)),
  };
  const state = one('state');
  if (state !== undefined) params.state = state;
  params.hmac = oauthHmac(sim.options.apiSecret, params);
  const url = new URL(redirectUri);
  for (const k of Object.keys(params).sort()) url.searchParams.set(k, params[k]);
  return { redirect: url.toString() };
}

function badClient(): OAuthResult {
  return {
    status: 400,
    body: {
      error: 'invalid_client',
      error_description:
        'Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.',
    },
  };
}

function issueOffline(sim: SimState, shop: string, scopes: string[], expiring: boolean): OAuthResult {
  const now = sim.options.clock();
  sim.installed.add(shop);
  sim.grantedScopes.set(shop, scopes);
  if (!expiring) {
    // Re-authorising with offline access returns the same non-expiring token each time.
    for (const t of sim.tokens.values()) {
      if (t.shop === shop && t.kind === 'offline' && t.expiresAt === null && !t.revoked) {
        t.scopes = scopes;
        return { status: 200, body: { access_token: t.token, scope: scopes.join(',') } };
      }
    }
    const rec: TokenRec = {
      token: token('shpat_'),
      shop,
      scopes,
      kind: 'offline',
      expiresAt: null,
      revoked: false,
      refreshToken: null,
    };
    sim.tokens.set(rec.token, rec);
    return { status: 200, body: { access_token: rec.token, scope: scopes.join(',') } };
  }
  return issueExpiring(sim, shop, scopes, now, null);
}

function issueExpiring(
  sim: SimState,
  shop: string,
  scopes: string[],
  now: number,
  previous: string | null,
): OAuthResult {
  const access: TokenRec = {
    token: token('shpat_'),
    shop,
    scopes,
    kind: 'offline',
    expiresAt: now + EXPIRING_TOKEN_SECONDS * 1000,
    revoked: false,
    refreshToken: token('shprt_'),
  };
  const refresh: RefreshRec = {
    token: access.refreshToken as string,
    shop,
    scopes,
    expiresAt: now + REFRESH_TOKEN_SECONDS * 1000,
    revoked: false,
    accessToken: access.token,
    previous,
    used: false,
  };
  sim.tokens.set(access.token, access);
  sim.refreshTokens.set(refresh.token, refresh);
  return {
    status: 200,
    body: {
      access_token: access.token,
      scope: scopes.join(','),
      expires_in: EXPIRING_TOKEN_SECONDS,
      refresh_token: refresh.token,
      refresh_token_expires_in: REFRESH_TOKEN_SECONDS,
    },
  };
}

function issueOnline(sim: SimState, shop: string, scopes: string[], userId: number): OAuthResult {
  const now = sim.options.clock();
  const rec: TokenRec = {
    token: token('shpua_'),
    shop,
    scopes,
    kind: 'online',
    expiresAt: now + ONLINE_TOKEN_SECONDS * 1000,
    revoked: false,
    refreshToken: null,
  };
  sim.tokens.set(rec.token, rec);
  return {
    status: 200,
    body: {
      access_token: rec.token,
      scope: scopes.join(','),
      expires_in: ONLINE_TOKEN_SECONDS,
      associated_user_scope: scopes.join(','),
      associated_user: {
        id: userId,
        first_name: 'Sim',
        last_name: 'Merchant',
        email: `merchant@${shop}`,
        account_owner: true,
        locale: 'en',
        collaborator: false,
        email_verified: true,
      },
    },
  };
}

function truthy(v: unknown): boolean {
  return v === true || v === 1 || v === '1' || v === 'true';
}

/** Handles POST /{shop}/admin/oauth/access_token for every grant the simulator supports. */
export async function accessToken(
  sim: SimState,
  shop: string,
  body: Record<string, unknown>,
): Promise<OAuthResult> {
  const str = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : undefined);
  if (str('client_id') !== sim.options.apiKey || str('client_secret') !== sim.options.apiSecret)
    return badClient();
  const grant = str('grant_type') ?? 'authorization_code';
  const now = sim.options.clock();
  if (grant === 'authorization_code') {
    const rec = sim.codes.get(str('code') ?? '');
    if (!rec || rec.used || rec.shop !== shop || rec.expiresAt < now) {
      return {
        status: 400,
        body: {
          error: 'invalid_request',
          error_description: 'The authorization code was not found or was already used',
        },
      };
    }
    rec.used = true;
    if (rec.online) {
      sim.installed.add(shop);
      sim.grantedScopes.set(shop, rec.scopes);
      return issueOnline(sim, shop, rec.scopes, 70_000_000 + ++sim.counters.user);
    }
    return issueOffline(sim, shop, rec.scopes, truthy(body.expiring));
  }
  if (grant === 'refresh_token') {
    const rec = sim.refreshTokens.get(str('refresh_token') ?? '');
    if (!rec || rec.revoked || rec.shop !== shop || rec.expiresAt < now) {
      return {
        status: 400,
        body: { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' },
      };
    }
    // Using a refresh token retires the one it replaced; it stays usable until its own successor is used.
    if (rec.previous) {
      const prev = sim.refreshTokens.get(rec.previous);
      if (prev) prev.revoked = true;
    }
    rec.used = true;
    return issueExpiring(sim, shop, rec.scopes, now, rec.token);
  }
  if (grant === TOKEN_EXCHANGE) {
    if (str('subject_token_type') !== ID_TOKEN_TYPE) {
      return {
        status: 400,
        body: { error: 'invalid_request', error_description: 'Invalid subject_token_type' },
      };
    }
    const claims = await verifySessionToken(sim, str('subject_token') ?? '');
    if (!claims || claims.dest !== `https://${shop}`) {
      return {
        status: 400,
        body: { error: 'invalid_subject_token', error_description: 'Subject token is invalid' },
      };
    }
    const scopes = sim.grantedScopes.get(shop) ?? sim.options.scopes;
    const requested = str('requested_token_type');
    if (requested === ONLINE_TYPE) {
      sim.installed.add(shop);
      sim.grantedScopes.set(shop, scopes);
      return issueOnline(sim, shop, scopes, Number(claims.sub) || 70_000_000);
    }
    if (requested !== OFFLINE_TYPE) {
      return {
        status: 400,
        body: { error: 'invalid_request', error_description: 'Invalid requested_token_type' },
      };
    }
    return issueOffline(sim, shop, scopes, truthy(body.expiring));
  }
  return {
    status: 400,
    body: {
      error: 'unsupported_grant_type',
      error_description: 'The authorization grant type is not supported by the authorization server.',
    },
  };
}

/** Claims of an App Bridge session token. */
export type SessionClaims = {
  iss: string;
  dest: string;
  aud: string;
  sub: string;
  exp: number;
  nbf: number;
  iat: number;
  jti: string;
  sid: string;
  sig: string;
};

/** Mints a session token as App Bridge would: HS256, signed with the app secret, one minute long. */
export async function mintSessionToken(
  sim: SimState,
  input: { shop: string; userId?: string; expiresInSeconds?: number; issuedAt?: number },
): Promise<{ token: string; claims: SessionClaims }> {
  const iat = input.issuedAt ?? Math.floor(sim.options.clock() / 1000);
  const claims: SessionClaims = {
    iss: `https://${input.shop}/admin`,
    dest: `https://${input.shop}`,
    aud: sim.options.apiKey,
    sub: input.userId ?? '70000001',
    exp: iat + (input.expiresInSeconds ?? SESSION_TOKEN_SECONDS),
    nbf: iat,
    iat,
    jti: randomUUID(),
    sid: randomBytes(16).toString('hex'),
    sig: randomBytes(32).toString('hex'),
  };
  const jwt = await new SignJWT({ ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(sim.options.apiSecret));
  return { token: jwt, claims };
}

/** Verifies a session token against the app secret and key; null when invalid or expired. */
export async function verifySessionToken(sim: SimState, jwt: string): Promise<SessionClaims | null> {
  try {
    const { payload } = await jwtVerify(jwt, new TextEncoder().encode(sim.options.apiSecret), {
      algorithms: ['HS256'],
      audience: sim.options.apiKey,
      currentDate: new Date(sim.options.clock()),
    });
    return payload as unknown as SessionClaims;
  } catch {
    return null;
  }
}

/** The token record behind an X-Shopify-Access-Token header, if it may call this shop now. */
export function authenticate(sim: SimState, shop: string, header: string | undefined): TokenRec | null {
  if (!header) return null;
  const rec = sim.tokens.get(header);
  if (!rec || rec.revoked || rec.shop !== shop) return null;
  if (rec.expiresAt !== null && rec.expiresAt <= sim.options.clock()) return null;
  return rec;
}

/** Uninstall: every token and refresh token of the shop stops working. */
export function revokeShop(sim: SimState, shop: string): void {
  for (const t of sim.tokens.values()) if (t.shop === shop) t.revoked = true;
  for (const r of sim.refreshTokens.values()) if (r.shop === shop) r.revoked = true;
  sim.installed.delete(shop);
  sim.grantedScopes.delete(shop);
}

/** Issues a token directly (control API shortcut for tests that skip the OAuth dance). */
export function issueToken(sim: SimState, shop: string, scopes: string[], expiring: boolean): OAuthResult {
  return issueOffline(sim, shop, scopes, expiring);
}
