import { randomUUID } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import type { Config } from '../platform/config.ts';
import { hashPassword, verifyAgainstDummy, verifyPassword } from '../platform/crypto/passwords.ts';
import { hashToken, randomDigits, randomToken, safeEqual } from '../platform/crypto/tokens.ts';
import type { Database, Tx } from '../platform/db/client.ts';
import { AppError, unauthorized } from '../platform/errors.ts';
import type { TenantRef } from '../platform/http/auth.ts';
import type { Logger } from '../platform/logger.ts';
import type { Mailer, MailMessage } from '../platform/mail.ts';
import type { Audit } from './audit.ts';
import { invalidCredentials } from './logins.ts';
import { assertStrongPassword } from './password-policy.ts';
import {
  ACCESS_TOKEN_SECONDS,
  CODE_DIGITS,
  CODE_MAX_ATTEMPTS,
  CODE_TTL_SECONDS,
  REFRESH_FAMILY_SECONDS,
  REFRESH_TOKEN_SECONDS,
  THROTTLE,
} from './policy.ts';
import type { IdentitySecrets } from './secrets.ts';
import type { Throttle } from './throttle.ts';

/** A shopper as the API returns it. */
export type Shopper = { id: string; email: string; name: string; emailVerified: boolean; createdAt: string };

type Row = {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  email_verified_at: Date | string | null;
  token_version: number;
  created_at: Date | string;
};

const toShopper = (r: Row): Shopper => ({
  id: r.id,
  email: r.email,
  name: r.name,
  emailVerified: r.email_verified_at !== null,
  createdAt: new Date(r.created_at).toISOString(),
});

/** Code purposes. */
type Purpose = 'verify' | 'reset';

/** Name of the refresh-token cookie of one tenant's storefront (HttpOnly, path /api/v1/stores/). */
export const refreshCookieName = (tenantId: string) => `storeops_refresh_${tenantId}`;
/** Name of the readable CSRF cookie for refresh and logout (double submit). */
export const shopperCsrfCookieName = (tenantId: string) => `storeops_shopper_csrf_${tenantId}`;
const REFRESH_COOKIE_PATH = '/api/v1/stores/';

const invalidCode = () =>
  new AppError(400, 'INVALID_CODE', 'The code is wrong or has expired; request a new one');
const ACCEPTED = {
  register: {
    status: 'verification_required',
    message: 'If this address can be registered, a 6-digit code is on its way to it',
  },
  resend: { status: 'sent', message: 'If this address has an unverified account, a new code is on its way' },
  reset: { status: 'sent', message: 'If this address has an account, a reset code is on its way' },
} as const;

/** A successful login or refresh: the access token for the body, the refresh token for the cookie. */
export type ShopperTokens = {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  csrfToken: string;
  shopper: Shopper;
  refresh: { token: string; expiresAt: Date };
};

/**
 * Storefront accounts (seeds 002 and 004): sign-up with an e-mailed 6-digit code, login once
 * verified, short-lived access JWTs with rotating refresh tokens (reuse revokes the family),
 * logout, and password reset by code. Every query runs inside `withTenant`, so row-level security
 * keeps one storefront's shoppers away from another's.
 */
export function createShoppers(deps: {
  config: Config;
  database: Database;
  logger: Logger;
  mailer: Mailer;
  audit: Audit;
  throttle: Throttle;
  secrets: IdentitySecrets;
}) {
  const { config, database, logger, mailer, audit, throttle, secrets } = deps;
  const secure = config.NODE_ENV === 'production';

  /**
   * Sent after the transaction commits and without holding up the response: the answer takes as
   * long whether or not a mail goes out, so timing does not reveal which addresses have accounts.
   * A lost mail is recovered by asking for a new code.
   */
  function sendLater(message: MailMessage) {
    setImmediate(() => {
      mailer
        .send(message)
        .catch((error: unknown) => logger.error({ err: error, to: message.to }, 'mail failed'));
    });
  }

  async function findByEmail(tx: Tx, email: string, lock = false): Promise<Row | undefined> {
    const { rows } = await tx.query<Row>(
      `SELECT id, email, name, password_hash, email_verified_at, token_version, created_at
         FROM shoppers WHERE lower(email) = lower($1) ${lock ? 'FOR UPDATE' : ''}`,
      [email],
    );
    return rows[0];
  }

  /** Replaces the shopper's live code for `purpose` with a fresh one and returns it. */
  async function issueCode(tx: Tx, tenantId: string, shopperId: string, purpose: Purpose): Promise<string> {
    const code = randomDigits(CODE_DIGITS);
    await tx.query(
      `INSERT INTO shopper_codes (tenant_id, shopper_id, purpose, code_hash, attempts, expires_at)
       VALUES ($1, $2, $3, $4, 0, now() + make_interval(secs => $5::float8))
       ON CONFLICT (shopper_id, purpose) DO UPDATE
         SET code_hash = excluded.code_hash, attempts = 0, expires_at = excluded.expires_at, created_at = now()`,
      [tenantId, shopperId, purpose, secrets.codeHash(shopperId, purpose, code), CODE_TTL_SECONDS],
    );
    return code;
  }

  /**
   * Checks a code: every wrong guess counts, and the code is burnt after CODE_MAX_ATTEMPTS. Returns
   * false (never throws) so the caller's transaction commits the counter.
   */
  async function consumeCode(tx: Tx, shopperId: string, purpose: Purpose, code: string): Promise<boolean> {
    const { rows } = await tx.query<{ id: string; code_hash: string; attempts: number; live: boolean }>(
      `SELECT id, code_hash, attempts, expires_at > now() AS live
         FROM shopper_codes WHERE shopper_id = $1 AND purpose = $2 FOR UPDATE`,
      [shopperId, purpose],
    );
    const row = rows[0];
    if (!row?.live || row.attempts >= CODE_MAX_ATTEMPTS) return false;
    if (safeEqual(row.code_hash, secrets.codeHash(shopperId, purpose, code))) {
      await tx.query('DELETE FROM shopper_codes WHERE id = $1', [row.id]);
      return true;
    }
    if (row.attempts + 1 >= CODE_MAX_ATTEMPTS)
      await tx.query('DELETE FROM shopper_codes WHERE id = $1', [row.id]);
    else await tx.query('UPDATE shopper_codes SET attempts = attempts + 1 WHERE id = $1', [row.id]);
    return false;
  }

  /** Whether another code mail may go to this account now (silently no when over the limit). */
  async function mayMail(tenantId: string, email: string): Promise<boolean> {
    const key = `mail:acct:${tenantId}:${email}`;
    try {
      await throttle.check(key);
    } catch {
      return false;
    }
    await throttle.record(key, THROTTLE.accountMail);
    return true;
  }

  async function limitIp(key: string, rule: (typeof THROTTLE)[keyof typeof THROTTLE]) {
    await throttle.check(key);
    await throttle.record(key, rule);
  }

  function codeMail(tenant: TenantRef, to: string, purpose: Purpose, code: string): MailMessage {
    const minutes = Math.round(CODE_TTL_SECONDS / 60);
    const what = purpose === 'verify' ? 'confirm your e-mail address' : 'choose a new password';
    return {
      to,
      subject:
        purpose === 'verify'
          ? `Confirm your account at ${tenant.name}`
          : `Reset your password at ${tenant.name}`,
      text: `Use this code to ${what} at ${tenant.name}:\n\n    ${code}\n\nIt expires in ${minutes} minutes. If you did not ask for it, ignore this e-mail.\n`,
    };
  }

  async function issueRefresh(
    tx: Tx,
    tenantId: string,
    shopperId: string,
    family?: { id: string; expiresAt: Date },
  ): Promise<{ token: string; expiresAt: Date; familyId: string }> {
    const familyId = family?.id ?? randomUUID();
    const familyExpiresAt = family?.expiresAt ?? new Date(Date.now() + REFRESH_FAMILY_SECONDS * 1000);
    const expiresAt = new Date(
      Math.min(Date.now() + REFRESH_TOKEN_SECONDS * 1000, familyExpiresAt.getTime()),
    );
    const token = randomToken(32);
    await tx.query(
      `INSERT INTO shopper_refresh_tokens (tenant_id, shopper_id, family_id, token_hash, expires_at, family_expires_at)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [tenantId, shopperId, familyId, hashToken(token), expiresAt, familyExpiresAt],
    );
    return { token, expiresAt, familyId };
  }

  async function tokensFor(
    tenantId: string,
    row: Row,
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

  return {
    /**
     * Sign-up. The answer is the same whether the address is new, unverified or taken (no
     * enumeration): new and unverified accounts get a code, verified ones a "you already have an
     * account" note.
     */
    async register(tenant: TenantRef, input: { email: string; password: string; name: string }, ip: string) {
      await limitIp(`register:ip:${ip}`, THROTTLE.ipRegister);
      assertStrongPassword(input.password, { email: input.email });
      const passwordHash = await hashPassword(input.password);
      const mail = await database.withTenant(tenant.id, async (tx) => {
        const existing = await findByEmail(tx, input.email, true);
        if (existing?.email_verified_at) {
          return {
            to: existing.email,
            subject: `Your account at ${tenant.name}`,
            text: `Someone tried to create an account at ${tenant.name} with this address. You already have one: log in, or reset your password if you forgot it.\n`,
          };
        }
        let shopperId: string;
        if (existing) {
          // The latest sign-up wins; only the owner of the mailbox can finish it with the code.
          await tx.query(
            'UPDATE shoppers SET password_hash = $2, name = $3, updated_at = now() WHERE id = $1',
            [existing.id, passwordHash, input.name],
          );
          shopperId = existing.id;
        } else {
          const { rows } = await tx.query<{ id: string }>(
            `INSERT INTO shoppers (tenant_id, email, name, password_hash) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING RETURNING id`,
            [tenant.id, input.email, input.name, passwordHash],
          );
          if (!rows[0]) return undefined; // a concurrent sign-up of the same address won
          shopperId = rows[0].id;
          await audit.record(
            {
              action: 'shopper.registered',
              tenantId: tenant.id,
              actor: { kind: 'shopper', id: shopperId, label: input.email },
              target: { kind: 'shopper', id: shopperId },
              ip,
            },
            tx,
          );
        }
        return codeMail(tenant, input.email, 'verify', await issueCode(tx, tenant.id, shopperId, 'verify'));
      });
      if (mail && (await mayMail(tenant.id, input.email))) sendLater(mail);
      return ACCEPTED.register;
    },

    /** Confirms the e-mail address with the code; 400 INVALID_CODE for anything wrong. */
    async verify(tenant: TenantRef, input: { email: string; code: string }, ip: string) {
      const ipKey = `code:ip:${ip}`;
      await throttle.check(ipKey);
      const ok = await database.withTenant(tenant.id, async (tx) => {
        const shopper = await findByEmail(tx, input.email, true);
        if (!shopper || shopper.email_verified_at) return false;
        if (!(await consumeCode(tx, shopper.id, 'verify', input.code))) {
          await audit.record(
            {
              action: 'shopper.verify_failed',
              tenantId: tenant.id,
              actor: { kind: 'anonymous', label: input.email },
              target: { kind: 'shopper', id: shopper.id },
              ip,
            },
            tx,
          );
          return false;
        }
        await tx.query('UPDATE shoppers SET email_verified_at = now(), updated_at = now() WHERE id = $1', [
          shopper.id,
        ]);
        await audit.record(
          {
            action: 'shopper.verified',
            tenantId: tenant.id,
            actor: { kind: 'shopper', id: shopper.id, label: shopper.email },
            target: { kind: 'shopper', id: shopper.id },
            ip,
          },
          tx,
        );
        return true;
      });
      if (!ok) {
        await throttle.record(ipKey, THROTTLE.ipCode);
        throw invalidCode();
      }
      return { status: 'verified', message: 'Your e-mail address is confirmed; you can log in' };
    },

    /** Sends a fresh verification code to an unverified account (always the same answer). */
    async resendVerification(tenant: TenantRef, input: { email: string }, ip: string) {
      await limitIp(`mail:ip:${ip}`, THROTTLE.ipMail);
      const mail = await database.withTenant(tenant.id, async (tx) => {
        const shopper = await findByEmail(tx, input.email, true);
        if (!shopper || shopper.email_verified_at) return undefined;
        return codeMail(
          tenant,
          shopper.email,
          'verify',
          await issueCode(tx, tenant.id, shopper.id, 'verify'),
        );
      });
      if (mail && (await mayMail(tenant.id, input.email))) sendLater(mail);
      return ACCEPTED.resend;
    },

    /** Password login; only verified accounts get tokens. */
    async login(
      tenant: TenantRef,
      input: { email: string; password: string },
      ip: string,
    ): Promise<ShopperTokens> {
      const accountKey = `shopper:login:${tenant.id}:${input.email}`;
      const ipKey = `login:ip:${ip}`;
      await throttle.check(ipKey);
      const failures = await throttle.check(accountKey);
      const outcome = await database.withTenant(tenant.id, async (tx) => {
        const shopper = await findByEmail(tx, input.email);
        const ok = shopper
          ? await verifyPassword(shopper.password_hash, input.password)
          : await verifyAgainstDummy(input.password);
        if (!shopper || !ok) {
          await audit.record(
            {
              action: 'shopper.login_failed',
              tenantId: tenant.id,
              actor: { kind: 'anonymous', label: input.email },
              ip,
            },
            tx,
          );
          return { ok: false as const, error: invalidCredentials() };
        }
        if (!shopper.email_verified_at) {
          return {
            ok: false as const,
            error: new AppError(403, 'EMAIL_NOT_VERIFIED', 'Confirm your e-mail address with the code first'),
          };
        }
        await tx.query('UPDATE shoppers SET last_login_at = now() WHERE id = $1', [shopper.id]);
        await audit.record(
          {
            action: 'shopper.login',
            tenantId: tenant.id,
            actor: { kind: 'shopper', id: shopper.id, label: shopper.email },
            ip,
          },
          tx,
        );
        return {
          ok: true as const,
          tokens: await tokensFor(tenant.id, shopper, await issueRefresh(tx, tenant.id, shopper.id)),
        };
      });
      if (!outcome.ok) {
        if (outcome.error.code === 'INVALID_CREDENTIALS') {
          await throttle.record(ipKey, THROTTLE.ipLogin);
          await throttle.record(accountKey, THROTTLE.accountLogin);
        }
        throw outcome.error;
      }
      if (failures > 0) await throttle.clear(accountKey);
      return outcome.tokens;
    },

    /**
     * Swaps a refresh token for a new pair. A token that was already used means two parties hold
     * it: the whole family (this login) is revoked and both must log in again.
     */
    async refresh(
      tenant: TenantRef,
      token: string | undefined,
      csrf: string | undefined,
      ip: string,
    ): Promise<ShopperTokens> {
      if (!token) throw unauthorized('No refresh token', 'REFRESH_TOKEN_MISSING');
      const outcome: RefreshOutcome = await database.withTenant(tenant.id, async (tx) => {
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
        if (typeof csrf !== 'string' || !safeEqual(csrf, secrets.familyCsrf(row.family_id))) {
          return {
            ok: false,
            error: new AppError(403, 'CSRF_TOKEN_INVALID', 'Missing or invalid X-CSRF-Token header'),
          };
        }
        if (row.used) {
          await tx.query(
            'UPDATE shopper_refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL',
            [row.family_id],
          );
          await audit.record(
            {
              action: 'shopper.refresh_reused',
              tenantId: tenant.id,
              actor: { kind: 'anonymous' },
              target: { kind: 'shopper', id: row.shopper_id },
              ip,
              details: { family: row.family_id, outcome: 'family revoked' },
            },
            tx,
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
        const { rows: shoppers } = await tx.query<Row>(
          `SELECT id, email, name, password_hash, email_verified_at, token_version, created_at FROM shoppers WHERE id = $1`,
          [row.shopper_id],
        );
        const next = await issueRefresh(tx, tenant.id, row.shopper_id, {
          id: row.family_id,
          expiresAt: new Date(row.family_expires_at),
        });
        return { ok: true, tokens: await tokensFor(tenant.id, shoppers[0], next) };
      });
      if (!outcome.ok) throw outcome.error;
      return outcome.tokens;
    },

    /** Ends the login behind a refresh token (its whole family). Idempotent. */
    async logout(tenant: TenantRef, token: string | undefined, csrf: string | undefined, ip: string) {
      if (!token) return;
      const error = await database.withTenant(tenant.id, async (tx) => {
        const { rows } = await tx.query<{ family_id: string; shopper_id: string }>(
          'SELECT family_id, shopper_id FROM shopper_refresh_tokens WHERE token_hash = $1',
          [hashToken(token)],
        );
        const row = rows[0];
        if (!row) return undefined;
        if (typeof csrf !== 'string' || !safeEqual(csrf, secrets.familyCsrf(row.family_id))) {
          return new AppError(403, 'CSRF_TOKEN_INVALID', 'Missing or invalid X-CSRF-Token header');
        }
        await tx.query(
          'UPDATE shopper_refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL',
          [row.family_id],
        );
        await audit.record(
          {
            action: 'shopper.logout',
            tenantId: tenant.id,
            actor: { kind: 'shopper', id: row.shopper_id },
            ip,
          },
          tx,
        );
        return undefined;
      });
      if (error) throw error;
    },

    /** The signed-in shopper. */
    async me(tenant: TenantRef, shopperId: string): Promise<Shopper> {
      return database.withTenant(tenant.id, async (tx) => {
        const { rows } = await tx.query<Row>(
          `SELECT id, email, name, password_hash, email_verified_at, token_version, created_at FROM shoppers WHERE id = $1`,
          [shopperId],
        );
        if (!rows[0]) throw unauthorized('Invalid access token', 'INVALID_TOKEN');
        return toShopper(rows[0]);
      });
    },

    /** E-mails a reset code if the account exists (always the same answer). */
    async requestPasswordReset(tenant: TenantRef, input: { email: string }, ip: string) {
      await limitIp(`mail:ip:${ip}`, THROTTLE.ipMail);
      const mail = await database.withTenant(tenant.id, async (tx) => {
        const shopper = await findByEmail(tx, input.email, true);
        if (!shopper) return undefined;
        await audit.record(
          {
            action: 'shopper.password_reset_requested',
            tenantId: tenant.id,
            actor: { kind: 'anonymous', label: input.email },
            target: { kind: 'shopper', id: shopper.id },
            ip,
          },
          tx,
        );
        return codeMail(tenant, shopper.email, 'reset', await issueCode(tx, tenant.id, shopper.id, 'reset'));
      });
      if (mail && (await mayMail(tenant.id, input.email))) sendLater(mail);
      return ACCEPTED.reset;
    },

    /**
     * Sets a new password with the e-mailed code. Every refresh token and access token of the
     * shopper stops working; the code also proves the address, so it counts as verified.
     */
    async confirmPasswordReset(
      tenant: TenantRef,
      input: { email: string; code: string; newPassword: string },
      ip: string,
    ) {
      const ipKey = `code:ip:${ip}`;
      await throttle.check(ipKey);
      assertStrongPassword(input.newPassword, { email: input.email });
      const passwordHash = await hashPassword(input.newPassword);
      const ok = await database.withTenant(tenant.id, async (tx) => {
        const shopper = await findByEmail(tx, input.email, true);
        if (!shopper) return false;
        if (!(await consumeCode(tx, shopper.id, 'reset', input.code))) {
          await audit.record(
            {
              action: 'shopper.password_reset_failed',
              tenantId: tenant.id,
              actor: { kind: 'anonymous', label: input.email },
              target: { kind: 'shopper', id: shopper.id },
              ip,
            },
            tx,
          );
          return false;
        }
        await tx.query(
          `UPDATE shoppers SET password_hash = $2, token_version = token_version + 1,
                  email_verified_at = coalesce(email_verified_at, now()), updated_at = now()
            WHERE id = $1`,
          [shopper.id, passwordHash],
        );
        await tx.query(
          'UPDATE shopper_refresh_tokens SET revoked_at = now() WHERE shopper_id = $1 AND revoked_at IS NULL',
          [shopper.id],
        );
        await audit.record(
          {
            action: 'shopper.password_reset',
            tenantId: tenant.id,
            actor: { kind: 'shopper', id: shopper.id, label: shopper.email },
            target: { kind: 'shopper', id: shopper.id },
            ip,
          },
          tx,
        );
        return true;
      });
      if (!ok) {
        await throttle.record(ipKey, THROTTLE.ipCode);
        throw invalidCode();
      }
      await throttle.clear(`shopper:login:${tenant.id}:${input.email}`);
      return { status: 'password_reset', message: 'Your password is changed; log in with the new one' };
    },

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

/** The shoppers service. */
export type Shoppers = ReturnType<typeof createShoppers>;
