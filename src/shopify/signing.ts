import { type HmacResult, hmacSha256, matchAnySecret } from '../platform/crypto/hmac.ts';

/**
 * Shopify's two signatures (issue 5, and the webhook intake of issue 6), over the platform's HMAC
 * primitives.
 *
 * A few lines of our own instead of @shopify/shopify-api: its webhook validator spends ~45% of the
 * intake CPU in header lookups (DESIGN.md, peers/webhook-baseline), and here the caller hands over
 * exactly the bytes and the one header value.
 */

export type { HmacResult };

/** The app secrets to try, current first; empty when Shopify is not configured. */
export function shopifySecrets(config: {
  SHOPIFY_API_SECRET?: string;
  SHOPIFY_API_SECRET_PREVIOUS?: string;
}): string[] {
  return [config.SHOPIFY_API_SECRET, config.SHOPIFY_API_SECRET_PREVIOUS].filter(
    (s): s is string => typeof s === 'string' && s.length > 0,
  );
}

/** The signed parameters: every one but `hmac` (and the legacy `signature`), sorted by name. */
function signedEntries(params: URLSearchParams): [string, string][] | undefined {
  const entries: [string, string][] = [];
  const seen = new Set<string>();
  for (const [key, value] of params) {
    if (seen.has(key)) return undefined;
    seen.add(key);
    if (key !== 'hmac' && key !== 'signature') entries.push([key, value]);
  }
  return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The messages Shopify may have signed for an OAuth redirect or app-URL request: every parameter
 * but `hmac`/`signature`, known or not (Shopify adds `host`, `session`, `locale`, `embedded`… over
 * time), sorted by name, `key=value` joined by `&`. Form-encoded (`+` for a space, as Shopify's
 * Node library rebuilds it) first, then percent-encoded (`%20`, as the URL carries it). Both are
 * unambiguous and never give the same text for different parameters (only the first emits `+`,
 * only the second a bare `!'()~`), so accepting either cannot turn one signed query into another.
 * Undefined when a parameter appears twice (Shopify never sends that).
 */
export function oauthQueryMessages(params: URLSearchParams): [string, string] | undefined {
  const entries = signedEntries(params);
  if (!entries) return undefined;
  const form = new URLSearchParams(entries).toString();
  const percent = entries.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  return [form, percent];
}

/** Signs query parameters the way Shopify does (hex HMAC-SHA256); for the simulator and tests. */
export function signOAuthQuery(params: Record<string, string> | URLSearchParams, secret: string): string {
  const search = params instanceof URLSearchParams ? params : new URLSearchParams(params);
  const messages = oauthQueryMessages(search);
  if (!messages) throw new Error('duplicate query parameter');
  return hmacSha256(secret, messages[0]).toString('hex');
}

/** Shopify sends the digest as lower-case hex; it is compared exactly, as Shopify's library does. */
const HEX_SHA256 = /^[0-9a-f]{64}$/;

/**
 * Verifies the `hmac` of a Shopify OAuth callback / install request. `query` is the raw query
 * string (with or without `?`) or parsed parameters.
 */
export function verifyOAuthQuery(query: string | URLSearchParams, secrets: readonly string[]): HmacResult {
  if (secrets.length === 0) return { ok: false, reason: 'no app secret configured' };
  const params = typeof query === 'string' ? new URLSearchParams(query.replace(/^\?/, '')) : query;
  const received = params.get('hmac');
  if (!received) return { ok: false, reason: 'missing hmac parameter' };
  if (!HEX_SHA256.test(received)) return { ok: false, reason: 'hmac is not a lower-case hex SHA-256 digest' };
  const both = oauthQueryMessages(params);
  if (!both) return { ok: false, reason: 'a query parameter appears more than once' };
  const messages = both[0] === both[1] ? [both[0]] : both;
  // The hex text itself is compared (not decoded bytes), so only the exact digest matches.
  return matchAnySecret(
    secrets,
    (secret) => messages.map((m) => Buffer.from(hmacSha256(secret, m).toString('hex'))),
    Buffer.from(received),
  );
}

/** Signs a webhook body the way Shopify does (base64 HMAC-SHA256 of the raw bytes). */
export function signWebhook(rawBody: Buffer | string, secret: string): string {
  return hmacSha256(secret, rawBody).toString('base64');
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
  return matchAnySecret(secrets, (secret) => [hmacSha256(secret, rawBody)], Buffer.from(value, 'base64'));
}
