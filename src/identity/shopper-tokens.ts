import { randomUUID } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { hashToken, randomToken, safeEqual } from '../platform/crypto/tokens.ts';
import type { Database, Tx } from '../platform/db/client.ts';
import { AppError, unauthorized } from '../platform/errors.ts';
import type { TenantRef } from '../platform/http/auth.ts';
import type { Audit } from './audit.ts';
import { ACCESS_TOKEN_SECONDS, REFRESH_FAMILY_SECONDS, REFRESH_TOKEN_SECONDS } from './policy.ts';
import type { IdentitySecrets } from './secrets.ts';
import { findById, type Shopper, type ShopperRow, shopperAudit, toShopper } from './shopper-rows.ts';

/**
 * Shopper sessions: short-lived access JWTs with rotating refresh tokens (reuse revokes the
 * family), logout, and the storefront cookies that carry them.
 */

/** A successful login or refresh: the access token for the body, the refresh token for the cookie. */
export type ShopperTokens = {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  csrfToken: string;
  shopper: Shopper;
  refresh: { token: string; expiresAt: Date };
};

/** Name of the refresh-token cookie of one tenant's storefront (HttpOnly, path /api/v1/stores/). */
export const refreshCookieName = (tenantId: string) => `storeops_refresh_${tenantId}`;
/** Name of the readable CSRF cookie for refresh and logout (double submit). */
export const shopperCsrfCookieName = (tenantId: string) => `storeops_shopper_csrf_${tenantId}`;
const REFRESH_COOKIE_PATH = '/api/v1/stores/';

const csrfInvalid = () => new AppError(403, 'CSRF_TOKEN_INVALID', 'Missing or invalid X-CSRF-Token header');

type Deps = { database: Database; audit: Audit; secrets: IdentitySecrets };

/** Stores a new refresh token, in `family` when refreshing (its end never moves) or a new one. */
export async function issueRefresh(
  tx: Tx,
  tenantId: string,
  shopperId: string,
  family?: { id: string; expiresAt: Date },
): Promise<{ token: string; expiresAt: Date; familyId: string }> {
  const familyId = family?.id ?? randomUUID();
  const familyExpiresAt = family?.expiresAt ?? new Date(Date.now() + REFRESH_FAMILY_SECONDS * 1000);
  const expiresAt = new Date(Math.min(Date.now() + REFRESH_TOKEN_SECONDS * 1000, familyExpiresAt.getTime()));
  const token = randomToken(32);
  await tx.query(
    `INSERT INTO shopper_refresh_tokens (tenant_id, shopper_id, family_id, token_hash, expires_at, family_expires_at)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [tenantId, shopperId, familyId, hashToken(token), expiresAt, familyExpiresAt],
  );
  return { token, expiresAt, familyId };
}

/** The token pair answered for `row` with a freshly issued refresh token. */
export async function tokensFor(
  secrets: IdentitySecrets,
  tenantId: string,
  row: ShopperRow,
  refresh: { token: string; expiresAt: Date; familyId: string },
): Promise<ShopperTokens> {
  const access = await secrets.signAccessToken({ shopperId: row.id, tenantId, version: row.token_version });
  return {
    accessToken: access.token,
    tokenType: 'Bearer',
    expiresIn: ACCESS_TOKEN_SECONDS,
    csrfToken: secrets.familyCsrf(refresh.familyId),
    shopper: toShopper(row),
    refresh: { token: refresh.token, expiresAt: refresh.expiresAt },
  };
}

/** Result of a refresh-token lookup, decided inside the transaction and thrown after it commits. */
type RefreshOutcome = { ok: true; tokens: ShopperTokens } | { ok: false; error: AppError };

/** Ends every live token of `family` (logout, reuse). */
const revokeFamily = (tx: Tx, familyId: string) =>
  tx.query(
    'UPDATE shopper_refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL',
    [familyId],
  );

/**
 * Swaps a refresh token for a new pair. A token that was already used means two parties hold it:
 * the whole family (this login) is revoked and both must log in again.
 */
export async function refreshShopper(
  deps: Deps,
  tenant: TenantRef,
  token: string | undefined,
  csrf: string | undefined,
  ip: string,
): Promise<ShopperTokens> {
  if (!token) throw unauthorized('No refresh token', 'REFRESH_TOKEN_MISSING');
  const record = shopperAudit(deps.audit, tenant, ip);
  const outcome: RefreshOutcome = await deps.database.withTenant(tenant.id, async (tx) => {
    const { rows } = await tx.query<{
      id: string;
      shopper_id: string;
      family_id: string;
      used: boolean;
      revoked: boolean;
      expired: boolean;
      family_expires_at: Date | string;
    }>(
      `SELECT id, shopper_id, family_id, used_at IS NOT NULL AS used, revoked_at IS NOT NULL AS revoked,
              (expires_at <= now() OR family_expires_at <= now()) AS expired, family_expires_at
         FROM shopper_refresh_tokens WHERE token_hash = $1 FOR UPDATE`,
      [hashToken(token)],
    );
    const row = rows[0];
    if (!row) return { ok: false, error: unauthorized('Invalid refresh token', 'INVALID_REFRESH_TOKEN') };
    if (typeof csrf !== 'string' || !safeEqual(csrf, deps.secrets.familyCsrf(row.family_id))) {
      return { ok: false, error: csrfInvalid() };
    }
    if (row.used) {
      await revokeFamily(tx, row.family_id);
      await record(
        tx,
        'refresh_reused',
        { anonymous: undefined, target: row.shopper_id },
        { family: row.family_id, outcome: 'family revoked' },
      );
      return {
        ok: false,
        error: unauthorized('This refresh token was already used; log in again', 'REFRESH_TOKEN_REUSED'),
      };
    }
    if (row.revoked)
      return {
        ok: false,
        error: unauthorized('This session has ended; log in again', 'REFRESH_TOKEN_REVOKED'),
      };
    if (row.expired)
      return {
        ok: false,
        error: unauthorized('This session has expired; log in again', 'REFRESH_TOKEN_EXPIRED'),
      };
    await tx.query('UPDATE shopper_refresh_tokens SET used_at = now() WHERE id = $1', [row.id]);
    const shopper = (await findById(tx, row.shopper_id)) as ShopperRow;
    const next = await issueRefresh(tx, tenant.id, row.shopper_id, {
      id: row.family_id,
      expiresAt: new Date(row.family_expires_at),
    });
    return { ok: true, tokens: await tokensFor(deps.secrets, tenant.id, shopper, next) };
  });
  if (!outcome.ok) throw outcome.error;
  return outcome.tokens;
}

/** Ends the login behind a refresh token (its whole family). Idempotent. */
export async function logoutShopper(
  deps: Deps,
  tenant: TenantRef,
  token: string | undefined,
  csrf: string | undefined,
  ip: string,
): Promise<void> {
  if (!token) return;
  const record = shopperAudit(deps.audit, tenant, ip);
  const error = await deps.database.withTenant(tenant.id, async (tx) => {
    const { rows } = await tx.query<{ family_id: string; shopper_id: string }>(
      'SELECT family_id, shopper_id FROM shopper_refresh_tokens WHERE token_hash = $1',
      [hashToken(token)],
    );
    const row = rows[0];
    if (!row) return undefined;
    if (typeof csrf !== 'string' || !safeEqual(csrf, deps.secrets.familyCsrf(row.family_id))) {
      return csrfInvalid();
    }
    await revokeFamily(tx, row.family_id);
    await record(tx, 'logout', { shopper: { id: row.shopper_id }, target: false });
    return undefined;
  });
  if (error) throw error;
}

/** The storefront cookies: the refresh token (HttpOnly) and the readable CSRF token. */
export function shopperCookies(secure: boolean) {
  return {
    /** Sets the refresh cookie (HttpOnly) and the readable CSRF cookie of a tenant's storefront. */
    setCookies(reply: FastifyReply, tenantId: string, tokens: ShopperTokens) {
      const expires = tokens.refresh.expiresAt;
      reply.setCookie(refreshCookieName(tenantId), tokens.refresh.token, {
        path: REFRESH_COOKIE_PATH,
        httpOnly: true,
        sameSite: 'lax',
        secure,
        expires,
      });
      reply.setCookie(shopperCsrfCookieName(tenantId), tokens.csrfToken, {
        path: '/',
        httpOnly: false,
        sameSite: 'lax',
        secure,
        expires,
      });
    },

    /** Clears both storefront cookies. */
    clearCookies(reply: FastifyReply, tenantId: string) {
      reply.clearCookie(refreshCookieName(tenantId), {
        path: REFRESH_COOKIE_PATH,
        httpOnly: true,
        sameSite: 'lax',
        secure,
      });
      reply.clearCookie(shopperCsrfCookieName(tenantId), { path: '/', sameSite: 'lax', secure });
    },
  };
}
