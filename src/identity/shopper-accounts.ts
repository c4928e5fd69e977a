import { hashPassword, verifyAgainstDummy, verifyPassword } from '../platform/crypto/passwords.ts';
import type { Database } from '../platform/db/client.ts';
import { AppError, unauthorized } from '../platform/errors.ts';
import type { TenantRef } from '../platform/http/auth.ts';
import type { Logger } from '../platform/logger.ts';
import type { Mailer } from '../platform/mail.ts';
import type { Audit } from './audit.ts';
import { invalidCredentials } from './logins.ts';
import { assertStrongPassword } from './password-policy.ts';
import { THROTTLE } from './policy.ts';
import type { IdentitySecrets } from './secrets.ts';
import {
  ACCEPTED,
  type Attempt,
  codeMail,
  consumeCode,
  invalidCode,
  issueCode,
  mailLater,
  throttled,
} from './shopper-codes.ts';
import { findByEmail, findById, type Shopper, shopperAudit, toShopper } from './shopper-rows.ts';
import { issueRefresh, type ShopperTokens, tokensFor } from './shopper-tokens.ts';
import type { Throttle } from './throttle.ts';

/** Storefront accounts: sign-up with a code, verification, login, `me` and password reset. */

export type AccountDeps = {
  database: Database;
  logger: Logger;
  mailer: Mailer;
  audit: Audit;
  throttle: Throttle;
  secrets: IdentitySecrets;
};

/**
 * Sign-up. The answer is the same whether the address is new, unverified or taken (no
 * enumeration): new and unverified accounts get a code, verified ones a "you already have an
 * account" note.
 */
export async function register(
  deps: AccountDeps,
  tenant: TenantRef,
  input: { email: string; password: string; name: string },
  ip: string,
) {
  await deps.throttle.limit(`register:ip:${ip}`, THROTTLE.ipRegister);
  assertStrongPassword(input.password, { email: input.email });
  const passwordHash = await hashPassword(input.password);
  const record = shopperAudit(deps.audit, tenant, ip);
  const mail = await deps.database.withTenant(tenant.id, async (tx) => {
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
      await tx.query('UPDATE shoppers SET password_hash = $2, name = $3, updated_at = now() WHERE id = $1', [
        existing.id,
        passwordHash,
        input.name,
      ]);
      shopperId = existing.id;
    } else {
      const { rows } = await tx.query<{ id: string }>(
        `INSERT INTO shoppers (tenant_id, email, name, password_hash) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING RETURNING id`,
        [tenant.id, input.email, input.name, passwordHash],
      );
      if (!rows[0]) return undefined; // a concurrent sign-up of the same address won
      shopperId = rows[0].id;
      await record(tx, 'registered', { shopper: { id: shopperId, email: input.email } });
    }
    const code = await issueCode(tx, deps.secrets, tenant.id, shopperId, 'verify');
    return codeMail(tenant, input.email, 'verify', code);
  });
  await mailLater(deps, tenant.id, input.email, mail);
  return ACCEPTED.register;
}

/** Confirms the e-mail address with the code; 400 INVALID_CODE for anything wrong. */
export async function verify(
  deps: AccountDeps,
  tenant: TenantRef,
  input: { email: string; code: string },
  ip: string,
) {
  const record = shopperAudit(deps.audit, tenant, ip);
  await throttled(deps.throttle, [[`code:ip:${ip}`, THROTTLE.ipCode]], () =>
    deps.database.withTenant(tenant.id, async (tx): Promise<Attempt<true>> => {
      const failed = { ok: false, error: invalidCode(), counts: true } as const;
      const shopper = await findByEmail(tx, input.email, true);
      if (!shopper || shopper.email_verified_at) return failed;
      if (!(await consumeCode(tx, deps.secrets, shopper.id, 'verify', input.code))) {
        await record(tx, 'verify_failed', { anonymous: input.email, target: shopper.id });
        return failed;
      }
      await tx.query('UPDATE shoppers SET email_verified_at = now(), updated_at = now() WHERE id = $1', [
        shopper.id,
      ]);
      await record(tx, 'verified', { shopper: { id: shopper.id, email: shopper.email } });
      return { ok: true, value: true };
    }),
  );
  return { status: 'verified', message: 'Your e-mail address is confirmed; you can log in' };
}

/** Sends a fresh verification code to an unverified account (always the same answer). */
export async function resendVerification(
  deps: AccountDeps,
  tenant: TenantRef,
  input: { email: string },
  ip: string,
) {
  await deps.throttle.limit(`mail:ip:${ip}`, THROTTLE.ipMail);
  const mail = await deps.database.withTenant(tenant.id, async (tx) => {
    const shopper = await findByEmail(tx, input.email, true);
    if (!shopper || shopper.email_verified_at) return undefined;
    const code = await issueCode(tx, deps.secrets, tenant.id, shopper.id, 'verify');
    return codeMail(tenant, shopper.email, 'verify', code);
  });
  await mailLater(deps, tenant.id, input.email, mail);
  return ACCEPTED.resend;
}

/** Password login; only verified accounts get tokens. */
export async function login(
  deps: AccountDeps,
  tenant: TenantRef,
  input: { email: string; password: string },
  ip: string,
): Promise<ShopperTokens> {
  const accountKey = `shopper:login:${tenant.id}:${input.email}`;
  const record = shopperAudit(deps.audit, tenant, ip);
  const ipKey = `login:ip:${ip}`;
  const keys = [
    [ipKey, THROTTLE.ipLogin],
    [accountKey, THROTTLE.accountLogin],
  ] as const;
  return throttled(
    deps.throttle,
    keys,
    () =>
      deps.database.withTenant(tenant.id, async (tx): Promise<Attempt<ShopperTokens>> => {
        const shopper = await findByEmail(tx, input.email);
        const ok = shopper
          ? await verifyPassword(shopper.password_hash, input.password)
          : await verifyAgainstDummy(input.password);
        if (!shopper || !ok) {
          await record(tx, 'login_failed', { anonymous: input.email });
          return { ok: false, error: invalidCredentials(), counts: true };
        }
        if (!shopper.email_verified_at) {
          const error = new AppError(
            403,
            'EMAIL_NOT_VERIFIED',
            'Confirm your e-mail address with the code first',
          );
          return { ok: false, error, counts: false };
        }
        await tx.query('UPDATE shoppers SET last_login_at = now() WHERE id = $1', [shopper.id]);
        await record(tx, 'login', { shopper: { id: shopper.id, email: shopper.email }, target: false });
        const refresh = await issueRefresh(tx, tenant.id, shopper.id);
        return { ok: true, value: await tokensFor(deps.secrets, tenant.id, shopper, refresh) };
      }),
    accountKey,
    // The same policy as staff logins: a blocked address refuses only accounts that have failed.
    () => deps.throttle.checkLogin(accountKey, ipKey, THROTTLE.accountLogin),
  );
}

/** The signed-in shopper. */
export async function me(deps: AccountDeps, tenant: TenantRef, shopperId: string): Promise<Shopper> {
  return deps.database.withTenant(tenant.id, async (tx) => {
    const row = await findById(tx, shopperId);
    if (!row) throw unauthorized('Invalid access token', 'INVALID_TOKEN');
    return toShopper(row);
  });
}

/** E-mails a reset code if the account exists (always the same answer). */
export async function requestPasswordReset(
  deps: AccountDeps,
  tenant: TenantRef,
  input: { email: string },
  ip: string,
) {
  await deps.throttle.limit(`mail:ip:${ip}`, THROTTLE.ipMail);
  const record = shopperAudit(deps.audit, tenant, ip);
  const mail = await deps.database.withTenant(tenant.id, async (tx) => {
    const shopper = await findByEmail(tx, input.email, true);
    if (!shopper) return undefined;
    await record(tx, 'password_reset_requested', { anonymous: input.email, target: shopper.id });
    const code = await issueCode(tx, deps.secrets, tenant.id, shopper.id, 'reset');
    return codeMail(tenant, shopper.email, 'reset', code);
  });
  await mailLater(deps, tenant.id, input.email, mail);
  return ACCEPTED.reset;
}

/**
 * Sets a new password with the e-mailed code. Every refresh token and access token of the shopper
 * stops working; the code also proves the address, so it counts as verified.
 */
export async function confirmPasswordReset(
  deps: AccountDeps,
  tenant: TenantRef,
  input: { email: string; code: string; newPassword: string },
  ip: string,
) {
  const record = shopperAudit(deps.audit, tenant, ip);
  await throttled(deps.throttle, [[`code:ip:${ip}`, THROTTLE.ipCode]], async () => {
    assertStrongPassword(input.newPassword, { email: input.email });
    const passwordHash = await hashPassword(input.newPassword);
    return deps.database.withTenant(tenant.id, async (tx): Promise<Attempt<true>> => {
      const failed = { ok: false, error: invalidCode(), counts: true } as const;
      const shopper = await findByEmail(tx, input.email, true);
      if (!shopper) return failed;
      if (!(await consumeCode(tx, deps.secrets, shopper.id, 'reset', input.code))) {
        await record(tx, 'password_reset_failed', { anonymous: input.email, target: shopper.id });
        return failed;
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
      await record(tx, 'password_reset', { shopper: { id: shopper.id, email: shopper.email } });
      return { ok: true, value: true };
    });
  });
  await deps.throttle.clear(`shopper:login:${tenant.id}:${input.email}`);
  return { status: 'password_reset', message: 'Your password is changed; log in with the new one' };
}
