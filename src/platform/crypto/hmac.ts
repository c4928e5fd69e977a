import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Shopify's two HMAC checks (issue 5, and the webhook intake of issue 6). Both return
 * `{ ok: false, reason }` instead of throwing (Shopify's own `webhooks/validate.ts` does the same),
 * compare in constant time, and accept a list of secrets so `SHOPIFY_API_SECRET_PREVIOUS` keeps
 * working while the app secret is rotated.
 *
 * A few lines of node:crypto instead of @shopify/shopify-api: its webhook validator spends ~45% of
 * the intake CPU in header lookups (DESIGN.md, peers/webhook-baseline), and here the caller hands
 * over exactly the bytes and the one header value.
 */

/** Outcome of a check: which secret matched (0 = current, 1 = previous), or why it failed. */
export type HmacResult = { ok: true; secretIndex: number } | { ok: false; reason: string };

/** The app secrets to try, current first; empty when Shopify is not configured. */
export function shopifySecrets(config: {
  SHOPIFY_API_SECRET?: string;
  SHOPIFY_API_SECRET_PREVIOUS?: string;
}): string[] {
  return [config.SHOPIFY_API_SECRET, config.SHOPIFY_API_SECRET_PREVIOUS].filter(
    (s): s is string => typeof s === 'string' && s.length > 0,
  );
}

/**
 * The message Shopify signs for OAuth redirects and app-URL requests: every query parameter except
 * `hmac` (and the legacy `signature`), sorted by name, form-encoded (`URLSearchParams`, as
 * Shopify's Node library rebuilds it).
 * Returns undefined when a parameter appears twice (Shopify never sends that).
 */
export function oauthQueryMessage(params: URLSearchParams): string | undefined {
  const entries: [string, string][] = [];
  const seen = new Set<string>();
  for (const [key, value] of params) {
    if (seen.has(key)) return undefined;
    seen.add(key);
    if (key !== 'hmac' && key !== 'signature') entries.push([key, value]);
  }
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return new URLSearchParams(entries).toString();
}

/** Signs query parameters the way Shopify does (hex HMAC-SHA256); for the simulator and tests. */
export function signOAuthQuery(params: Record<string, string> | URLSearchParams, secret: string): string {
  const search = params instanceof URLSearchParams ? params : new URLSearchParams(params);
  const message = oauthQueryMessage(search);
  if (message === undefined) throw new Error('duplicate query parameter');
  return createHmac('sha256', secret).update(message).digest('hex');
}

const HEX_SHA256 = /^[0-9a-f]{64}$/i;

/**
 * Verifies the `hmac` of a Shopify OAuth callback / install request. `query` is the raw query
 * string (with or without `?`) or parsed parameters.
 */
export function verifyOAuthQuery(query: string | URLSearchParams, secrets: readonly string[]): HmacResult {
  if (secrets.length === 0) return { ok: false, reason: 'no app secret configured' };
  const params = typeof query === 'string' ? new URLSearchParams(query.replace(/^\?/, '')) : query;
  const received = params.get('hmac');
  if (!received) return { ok: false, reason: 'missing hmac parameter' };
  if (!HEX_SHA256.test(received)) return { ok: false, reason: 'hmac is not a hex SHA-256 digest' };
  const message = oauthQueryMessage(params);
  if (message === undefined) return { ok: false, reason: 'a query parameter appears more than once' };
  const expected = Buffer.from(received, 'hex');
  return matchAny(secrets, (secret) => createHmac('sha256', secret).update(message).digest(), expected);
}

/** Signs a webhook body the way Shopify does (base64 HMAC-SHA256 of the raw bytes). */
export function signWebhook(rawBody: Buffer | string, secret: string): string {
  return createHmac('sha256', secret).update(rawBody).digest('base64');
}

const BASE64_SHA256 = /^[A-Za-z0-9+/]{43}=$/;

/**
 * Verifies `X-Shopify-Hmac-Sha256` (base64) over the exact bytes received. The caller passes the
 * raw body: re-serialised JSON would not match.
 */
export function verifyWebhookHmac(
  rawBody: Buffer | string,
  header: string | undefined,
  secrets: readonly string[],
): HmacResult {
  if (secrets.length === 0) return { ok: false, reason: 'no app secret configured' };
  if (!header) return { ok: false, reason: 'missing X-Shopify-Hmac-Sha256 header' };
  const value = header.trim();
  if (!BASE64_SHA256.test(value)) return { ok: false, reason: 'hmac header is not a base64 SHA-256 digest' };
  const expected = Buffer.from(value, 'base64');
  return matchAny(secrets, (secret) => createHmac('sha256', secret).update(rawBody).digest(), expected);
}

/** Tries every secret (no early exit, so timing does not reveal which one matched). */
function matchAny(
  secrets: readonly string[],
  digest: (secret: string) => Buffer,
  received: Buffer,
): HmacResult {
  let matched = -1;
  for (let i = 0; i < secrets.length; i++) {
    const computed = digest(secrets[i]);
    if (computed.length === received.length && timingSafeEqual(computed, received) && matched < 0)
      matched = i;
  }
  return matched >= 0 ? { ok: true, secretIndex: matched } : { ok: false, reason: 'hmac does not match' };
}
