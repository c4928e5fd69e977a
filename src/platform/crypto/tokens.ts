import { createHash, createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

/**
 * Opaque secrets (session ids, refresh tokens, API keys, one-time codes) and the hashes stored in
 * their place (issue 4). The database only ever holds a hash, so a leaked table cannot be replayed.
 */

/** A random URL-safe token with `bytes` bytes of entropy (default 32 = 256 bits). */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Random letters and digits (no bias: `randomInt` rejects out-of-range draws). */
export function randomAlphanumeric(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return out;
}

/** A numeric one-time code such as `042917` (leading zeros kept). */
export function randomDigits(length = 6): string {
  let out = '';
  for (let i = 0; i < length; i++) out += String(randomInt(10));
  return out;
}

/**
 * SHA-256 (hex) of a high-entropy token. Enough for 256-bit random values: nobody can brute-force
 * the preimage, so no salt or slow hash is needed and lookups stay an index probe.
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * HMAC-SHA256 (hex) keyed with a server-side pepper: for values that are guessable on their own
 * (API keys by prefix, 6-digit codes), so a stolen table without the pepper is useless.
 */
export function pepperedHash(pepper: string, value: string): string {
  return createHmac('sha256', pepper).update(value, 'utf8').digest('hex');
}

/** Compares two strings in constant time (for equal lengths; different lengths are simply unequal). */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  if (left.length !== right.length) {
    // Still spend a comparison so the length check is not the only work done.
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}

/** A keyed, purpose-bound derivation (base64url): e.g. a CSRF token from a session id hash. */
export function deriveToken(secret: string, purpose: string, value: string): string {
  return createHmac('sha256', secret).update(`${purpose}\0${value}`, 'utf8').digest('base64url');
}
