import { createHmac } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { Config } from '../platform/config.ts';
import { deriveToken, pepperedHash } from '../platform/crypto/tokens.ts';
import { ACCESS_TOKEN_SECONDS } from './policy.ts';

const ISSUER = 'storeops';
const AUDIENCE = 'storeops:shopper';

/** Claims of a shopper access token. */
export type AccessClaims = { shopperId: string; tenantId: string; version: number };

/**
 * Every value identity derives from the configured secrets: CSRF tokens, API-key and code hashes,
 * and the shopper JWT key. Each use has its own purpose label, so one value never doubles as another.
 */
export function createIdentitySecrets(config: Config) {
  const sessionSecret = config.STOREOPS_SESSION_SECRET;
  const pepper = config.STOREOPS_API_KEY_PEPPER;
  const jwtKey = createHmac('sha256', sessionSecret).update('storeops shopper access jwt v1').digest();

  return {
    /** CSRF token bound to a dashboard session (by the hash of its id). */
    sessionCsrf: (sessionTokenHash: string) => deriveToken(sessionSecret, 'csrf:session', sessionTokenHash),
    /** CSRF token bound to a shopper's refresh family (stable across rotations). */
    familyCsrf: (familyId: string) => deriveToken(sessionSecret, 'csrf:shopper', familyId),
    /** Stored hash of an API key. */
    apiKeyHash: (key: string) => pepperedHash(pepper, `api-key\0${key}`),
    /** Stored hash of a one-time code, bound to its shopper and purpose. */
    codeHash: (shopperId: string, purpose: string, code: string) =>
      pepperedHash(pepper, `code\0${shopperId}\0${purpose}\0${code}`),

    /** A short-lived HS256 access token for a shopper. */
    async signAccessToken(claims: AccessClaims): Promise<{ token: string; expiresAt: Date }> {
      const expiresAt = new Date(Date.now() + ACCESS_TOKEN_SECONDS * 1000);
      const token = await new SignJWT({ tid: claims.tenantId, ver: claims.version })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(claims.shopperId)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
        .sign(jwtKey);
      return { token, expiresAt };
    },

    /** Verifies signature, issuer, audience and expiry. */
    async verifyAccessToken(
      token: string,
    ): Promise<{ ok: true; claims: AccessClaims } | { ok: false; reason: 'expired' | 'invalid' }> {
      try {
        const { payload } = await jwtVerify(token, jwtKey, {
          issuer: ISSUER,
          audience: AUDIENCE,
          algorithms: ['HS256'],
        });
        if (
          typeof payload.sub !== 'string' ||
          typeof payload.tid !== 'string' ||
          typeof payload.ver !== 'number'
        ) {
          return { ok: false, reason: 'invalid' };
        }
        return { ok: true, claims: { shopperId: payload.sub, tenantId: payload.tid, version: payload.ver } };
      } catch (error) {
        return { ok: false, reason: error instanceof joseErrors.JWTExpired ? 'expired' : 'invalid' };
      }
    },
  };
}

/** Identity's derived secrets. */
export type IdentitySecrets = ReturnType<typeof createIdentitySecrets>;
