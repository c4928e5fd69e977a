/**
 * Identity's numbers in one place (issue 4): lifetimes, code rules and rate limits. docs/security.md
 * repeats them; change both together.
 */

/** Dashboard sessions: signed out after this long without a request… */
export const SESSION_IDLE_SECONDS = 2 * 60 * 60;
/** …and after this long in any case. */
export const SESSION_ABSOLUTE_SECONDS = 12 * 60 * 60;
/** `last_seen_at` is written at most this often (one write per minute, not per request). */
export const SESSION_TOUCH_SECONDS = 60;

/** Longest password accepted: argon2 would take more, but megabyte "passwords" are a DoS vector. */
export const MAX_PASSWORD_LENGTH = 256;

/** Shopper access JWT lifetime. */
export const ACCESS_TOKEN_SECONDS = 15 * 60;
/** One refresh token lives this long unless used (and replaced) earlier. */
export const REFRESH_TOKEN_SECONDS = 14 * 24 * 60 * 60;
/** A refresh family (one login) ends after this, however often it is refreshed. */
export const REFRESH_FAMILY_SECONDS = 30 * 24 * 60 * 60;

/** E-mailed codes: 6 digits, valid this long, this many guesses before the code is burnt. */
export const CODE_DIGITS = 6;
export const CODE_TTL_SECONDS = 15 * 60;
export const CODE_MAX_ATTEMPTS = 5;

/** `api_keys.last_used_at` is written at most this often. */
export const API_KEY_TOUCH_SECONDS = 60;

/**
 * A rate-limit rule: `max` events within `windowSeconds` block the key for `blockSeconds`, doubled
 * on each further block (backoff) up to `maxBlockSeconds`.
 */
export type ThrottleRule = {
  max: number;
  windowSeconds: number;
  blockSeconds: number;
  maxBlockSeconds: number;
};

/** The rules, by what they count. */
export const THROTTLE = {
  /** Failed logins (session, Basic, shopper) of one account: the lockout. */
  accountLogin: { max: 5, windowSeconds: 15 * 60, blockSeconds: 60, maxBlockSeconds: 60 * 60 },
  /** Failed logins from one IP, whatever the account (credential stuffing). */
  ipLogin: { max: 50, windowSeconds: 15 * 60, blockSeconds: 60, maxBlockSeconds: 60 * 60 },
  /** Sign-ups from one IP. */
  ipRegister: { max: 30, windowSeconds: 60 * 60, blockSeconds: 5 * 60, maxBlockSeconds: 6 * 60 * 60 },
  /** Wrong codes from one IP (verification and password reset). */
  ipCode: { max: 30, windowSeconds: 15 * 60, blockSeconds: 60, maxBlockSeconds: 60 * 60 },
  /** Codes e-mailed to one account (resend, password reset requests). */
  accountMail: { max: 3, windowSeconds: 15 * 60, blockSeconds: 15 * 60, maxBlockSeconds: 6 * 60 * 60 },
  /** Code e-mails requested from one IP. */
  ipMail: { max: 30, windowSeconds: 15 * 60, blockSeconds: 5 * 60, maxBlockSeconds: 6 * 60 * 60 },
} as const satisfies Record<string, ThrottleRule>;
