import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * HMAC primitives for checking signed requests (the providers' own rules — which bytes are signed,
 * how the digest travels — live with each provider, e.g. src/shopify/signing.ts). Checks return
 * `{ ok: false, reason }` instead of throwing, compare in constant time, and accept a list of
 * secrets so a previous secret keeps working while it is rotated.
 */

/** Outcome of a check: which secret matched (0 = current, 1 = previous), or why it failed. */
export type HmacResult = { ok: true; secretIndex: number } | { ok: false; reason: string };

/** HMAC-SHA256 of `message` with `secret`. */
export function hmacSha256(secret: string, message: string | Buffer): Buffer {
  return createHmac('sha256', secret).update(message).digest();
}

/**
 * Compares `received` with every digest `digests(secret)` yields for every secret, in constant time
 * and without an early exit (timing reveals neither which secret nor which candidate matched).
 */
export function matchAnySecret(
  secrets: readonly string[],
  digests: (secret: string) => readonly Buffer[],
  received: Buffer,
): HmacResult {
  let matched = -1;
  for (let i = 0; i < secrets.length; i++) {
    for (const computed of digests(secrets[i])) {
      if (computed.length === received.length && timingSafeEqual(computed, received) && matched < 0)
        matched = i;
    }
  }
  return matched >= 0 ? { ok: true, secretIndex: matched } : { ok: false, reason: 'hmac does not match' };
}
