import { createHmac, randomBytes } from 'node:crypto';
import type { Database } from '../platform/db/client.ts';
import { verifyAgainstDummy, verifyPassword } from '../platform/crypto/passwords.ts';
import { AppError, unauthorized } from '../platform/errors.ts';
import type { StaffRole } from '../platform/http/auth.ts';
import type { Audit } from './audit.ts';
import { THROTTLE } from './policy.ts';
import type { Throttle } from './throttle.ts';

/** An account a password proved: an operator or one tenant's staff member. */
export type DashboardAccount =
  | { kind: 'operator'; id: string; email: string }
  | { kind: 'staff'; id: string; email: string; tenantId: string; role: StaffRole };

type Candidate = {
  kind: 'operator' | 'staff';
  id: string;
  email: string;
  password_hash: string;
  tenant_id: string | null;
  tenant_slug: string | null;
  role: StaffRole | null;
  tenant_status: string | null;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** SQL condition and parameter matching a tenant by id or slug (case-insensitive). */
export function tenantMatch(column: { id: string; slug: string }, ref: string, position: number): string {
  return UUID.test(ref) ? `${column.id} = $${position}::uuid` : `lower(${column.slug}) = lower($${position})`;
}

/** The same answer for an unknown e-mail and a wrong password (no account enumeration). */
export const invalidCredentials = () => unauthorized('Invalid email or password', 'INVALID_CREDENTIALS');

// HTTP Basic sends the password on every request. Verifying argon2id each time would cost ~20 ms
// of CPU per call, so a successful check is remembered for a few minutes, keyed by a hash of the
// stored password hash and the password: a password change (new hash) invalidates it at once. The
// key is an HMAC under a random per-process key, so the cache is no shortcut for guessing passwords.
const BASIC_CACHE_TTL_MS = 5 * 60 * 1000;
const BASIC_CACHE_MAX = 1000;

/**
 * Password logins of operators and staff (the dashboard session and HTTP Basic), with per-account
 * and per-IP lockout, generic failures, and an audit record of every failure.
 */
export function createPasswordLogins(deps: { database: Database; throttle: Throttle; audit: Audit }) {
  const { database, throttle, audit } = deps;
  const verified = new Map<string, number>();
  const cacheKey = randomBytes(32);

  async function matches(candidate: Candidate, password: string, cache: boolean): Promise<boolean> {
    if (!cache) return verifyPassword(candidate.password_hash, password);
    const key = createHmac('sha256', cacheKey)
      .update(`${candidate.password_hash}\0${password}`)
      .digest('base64url');
    const until = verified.get(key);
    if (until !== undefined && until > Date.now()) return true;
    const ok = await verifyPassword(candidate.password_hash, password);
    if (ok) {
      if (verified.size >= BASIC_CACHE_MAX) verified.delete(verified.keys().next().value!);
      verified.set(key, Date.now() + BASIC_CACHE_TTL_MS);
    }
    return ok;
  }

  async function candidates(email: string, options: { operators: boolean }) {
    const found: Candidate[] = [];
    if (options.operators) {
      const { rows } = await database.query<Candidate>(
        `SELECT 'operator' AS kind, id, email, password_hash, NULL AS tenant_id, NULL AS tenant_slug, NULL AS role,
                NULL AS tenant_status
           FROM operators WHERE lower(email) = lower($1)`,
        [email],
      );
      found.push(...rows);
    }
    const { rows } = await database.query<Candidate>(
      `SELECT 'staff' AS kind, u.id, u.email, u.password_hash, u.tenant_id, t.slug AS tenant_slug, u.role,
              t.status AS tenant_status
         FROM tenant_users u JOIN tenants t ON t.id = u.tenant_id
        WHERE lower(u.email) = lower($1)
        ORDER BY u.created_at LIMIT 5`,
      [email],
    );
    found.push(...rows);
    return found;
  }

  /**
   * Checks `email` + `password`. With several accounts under one e-mail (staff of two tenants, or
   * an operator who is also staff) the password picks the account; if it fits more than one,
   * `tenant` (the login body's, or the route's `:tenant` for Basic) chooses among them, and without
   * it the caller must name one. The tenant never narrows the search itself: Basic credentials sent
   * to another tenant's URL are still the caller's own (refused later with 404), not a failed login
   * that would lock the account. Throws 401 (generic), 403 (deactivated tenant), 422, or 429.
   */
  async function check(input: {
    email: string;
    password: string;
    tenant?: string;
    operators: boolean;
    ip: string;
    via: 'session' | 'basic';
  }): Promise<DashboardAccount> {
    const email = input.email.trim().toLowerCase();
    const accountKey = `login:acct:${email}`;
    const ipKey = `login:ip:${input.ip}`;
    const failures = await throttle.checkLogin(accountKey, ipKey, THROTTLE.accountLogin);

    const found = await candidates(email, { operators: input.operators });
    const matched: Candidate[] = [];
    if (found.length === 0) await verifyAgainstDummy(input.password);
    for (const candidate of found) {
      if (await matches(candidate, input.password, input.via === 'basic')) matched.push(candidate);
    }

    if (matched.length === 0) {
      await throttle.record(ipKey, THROTTLE.ipLogin);
      const blockedFor = await throttle.record(accountKey, THROTTLE.accountLogin);
      const tenantIds = [...new Set(found.map((c) => c.tenant_id).filter(Boolean))];
      await audit.record({
        action: blockedFor ? 'login.locked' : 'login.failed',
        // A failure against one tenant's staff member shows in that tenant's log too.
        tenantId: tenantIds.length === 1 ? tenantIds[0] : null,
        actor: { kind: 'anonymous', label: email },
        ip: input.ip,
        details: { via: input.via, ...(blockedFor ? { lockedSeconds: Math.ceil(blockedFor) } : {}) },
      });
      throw invalidCredentials();
    }
    if (matched.length > 1 && input.tenant) {
      const ref = input.tenant.toLowerCase();
      const chosen = matched.filter((c) => c.tenant_id === ref || c.tenant_slug?.toLowerCase() === ref);
      if (chosen.length === 1) matched.splice(0, matched.length, chosen[0]);
    }
    if (matched.length > 1) {
      throw new AppError(
        422,
        'TENANT_REQUIRED',
        'This e-mail has several accounts: name the tenant (id or slug)',
      );
    }
    const account = matched[0];
    if (account.kind === 'staff' && account.tenant_status === 'deactivated') {
      throw new AppError(403, 'TENANT_DEACTIVATED', 'This tenant is deactivated');
    }
    if (failures > 0) await throttle.clear(accountKey);
    return account.kind === 'operator'
      ? { kind: 'operator', id: account.id, email: account.email }
      : {
          kind: 'staff',
          id: account.id,
          email: account.email,
          tenantId: account.tenant_id!,
          role: account.role!,
        };
  }

  return { check };
}

/** Operator and staff password logins. */
export type PasswordLogins = ReturnType<typeof createPasswordLogins>;
