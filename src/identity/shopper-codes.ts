import { randomDigits, safeEqual } from '../platform/crypto/tokens.ts';
import type { Tx } from '../platform/db/client.ts';
import { AppError } from '../platform/errors.ts';
import type { TenantRef } from '../platform/http/auth.ts';
import type { Logger } from '../platform/logger.ts';
import type { Mailer, MailMessage } from '../platform/mail.ts';
import { CODE_DIGITS, CODE_MAX_ATTEMPTS, CODE_TTL_SECONDS, THROTTLE, type ThrottleRule } from './policy.ts';
import type { IdentitySecrets } from './secrets.ts';
import type { Throttle } from './throttle.ts';

/** E-mailed 6-digit codes (verification, password reset), their mails and the limits around them. */

/** Code purposes. */
export type Purpose = 'verify' | 'reset';

export const invalidCode = () =>
  new AppError(400, 'INVALID_CODE', 'The code is wrong or has expired; request a new one');

/** The answers that never reveal whether an address has an account. */
export const ACCEPTED = {
  register: {
    status: 'verification_required',
    message: 'If this address can be registered, a 6-digit code is on its way to it',
  },
  resend: { status: 'sent', message: 'If this address has an unverified account, a new code is on its way' },
  reset: { status: 'sent', message: 'If this address has an account, a reset code is on its way' },
} as const;

/** Replaces the shopper's live code for `purpose` with a fresh one and returns it. */
export async function issueCode(
  tx: Tx,
  secrets: IdentitySecrets,
  tenantId: string,
  shopperId: string,
  purpose: Purpose,
): Promise<string> {
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
export async function consumeCode(
  tx: Tx,
  secrets: IdentitySecrets,
  shopperId: string,
  purpose: Purpose,
  code: string,
): Promise<boolean> {
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

/** The mail that carries a code. */
export function codeMail(tenant: TenantRef, to: string, purpose: Purpose, code: string): MailMessage {
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

/**
 * Sends a code mail after the transaction commits, if the account may get another one now
 * (silently not when over its limit), without holding up the response: the answer takes as long
 * whether or not a mail goes out, so timing does not reveal which addresses have accounts. A lost
 * mail is recovered by asking for a new code.
 */
export async function mailLater(
  deps: { throttle: Throttle; mailer: Mailer; logger: Logger },
  tenantId: string,
  email: string,
  message: MailMessage | undefined,
): Promise<void> {
  if (!message) return;
  const key = `mail:acct:${tenantId}:${email}`;
  try {
    await deps.throttle.check(key);
  } catch {
    return;
  }
  await deps.throttle.record(key, THROTTLE.accountMail);
  setImmediate(() => {
    deps.mailer
      .send(message)
      .catch((error: unknown) => deps.logger.error({ err: error, to: message.to }, 'mail failed'));
  });
}

/** An attempt that may fail: a failure that `counts` is charged to every throttle key. */
export type Attempt<T> = { ok: true; value: T } | { ok: false; error: AppError; counts: boolean };

/**
 * The throttle around a guessable secret (password, code): 429 while any key is blocked, each
 * counted failure recorded against every key after the transaction, and on success the key
 * `clearOnSuccess` forgotten if it had failures.
 */
export async function throttled<T>(
  throttle: Throttle,
  keys: readonly (readonly [string, ThrottleRule])[],
  attempt: () => Promise<Attempt<T>>,
  clearOnSuccess?: string,
  /** Replaces the default check (every key blocks); returns the failures of `clearOnSuccess`. */
  check?: () => Promise<number>,
): Promise<T> {
  let failures = 0;
  if (check) failures = await check();
  else
    for (const [key] of keys) {
      const count = await throttle.check(key);
      if (key === clearOnSuccess) failures = count;
    }
  const outcome = await attempt();
  if (!outcome.ok) {
    if (outcome.counts) for (const [key, rule] of keys) await throttle.record(key, rule);
    throw outcome.error;
  }
  if (clearOnSuccess && failures > 0) await throttle.clear(clearOnSuccess);
  return outcome.value;
}
