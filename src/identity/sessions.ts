import type { FastifyReply } from 'fastify';
import type { Config } from '../platform/config.ts';
import { hashToken, randomToken } from '../platform/crypto/tokens.ts';
import type { Database } from '../platform/db/client.ts';
import type { StaffRole } from '../platform/http/auth.ts';
import type { DashboardAccount } from './logins.ts';
import { SESSION_ABSOLUTE_SECONDS, SESSION_IDLE_SECONDS, SESSION_TOUCH_SECONDS } from './policy.ts';
import type { IdentitySecrets } from './secrets.ts';

/** The dashboard session cookie (HttpOnly; only the SHA-256 of its value is stored). */
export const SESSION_COOKIE = 'storeops_session';
/** The readable copy of the CSRF token for the dashboard's scripts (double submit). */
export const CSRF_COOKIE = 'storeops_csrf';

/** A live session, as the authenticator sees it. */
export type SessionRecord =
  | { sessionId: string; kind: 'operator'; id: string; email: string }
  | {
      sessionId: string;
      kind: 'staff';
      id: string;
      email: string;
      tenantId: string;
      role: StaffRole;
      tenantStatus: string;
    };

type Row = {
  id: string;
  operator_id: string | null;
  operator_email: string | null;
  tenant_user_id: string | null;
  user_email: string | null;
  role: StaffRole | null;
  tenant_id: string | null;
  tenant_status: string | null;
  stale: boolean;
};

/**
 * Server-side dashboard sessions (operators and staff): an opaque 256-bit id in an HttpOnly
 * cookie, its hash in `sessions`, an idle and an absolute expiry, revocation on logout.
 */
export function createSessions(deps: { config: Config; database: Database; secrets: IdentitySecrets }) {
  const { config, database, secrets } = deps;
  const secure = config.NODE_ENV === 'production';

  return {
    /** Starts a session for `account`; returns the cookie value (shown to nobody else) and its CSRF token. */
    async create(account: DashboardAccount, meta: { ip: string; userAgent?: string }) {
      const token = randomToken(32);
      const tokenHash = hashToken(token);
      const expiresAt = new Date(Date.now() + SESSION_ABSOLUTE_SECONDS * 1000);
      const { rows } = await database.query<{ id: string }>(
        `INSERT INTO sessions (token_hash, operator_id, tenant_user_id, expires_at, ip, user_agent)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
        [
          tokenHash,
          account.kind === 'operator' ? account.id : null,
          account.kind === 'staff' ? account.id : null,
          expiresAt,
          meta.ip,
          meta.userAgent?.slice(0, 300) ?? null,
        ],
      );
      const table = account.kind === 'operator' ? 'operators' : 'tenant_users';
      await database.query(`UPDATE ${table} SET last_login_at = now() WHERE id = $1`, [account.id]);
      return { sessionId: rows[0].id, token, csrfToken: secrets.sessionCsrf(tokenHash), expiresAt };
    },

    /** The live session behind a cookie value, or undefined (unknown, revoked, idle or expired). */
    async find(token: string): Promise<(SessionRecord & { csrfToken: string }) | undefined> {
      const tokenHash = hashToken(token);
      const { rows } = await database.query<Row>(
        `SELECT s.id, s.operator_id, o.email AS operator_email, s.tenant_user_id, u.email AS user_email,
                u.role, u.tenant_id, t.status AS tenant_status,
                s.last_seen_at < now() - make_interval(secs => $3::float8) AS stale
           FROM sessions s
           LEFT JOIN operators o ON o.id = s.operator_id
           LEFT JOIN tenant_users u ON u.id = s.tenant_user_id
           LEFT JOIN tenants t ON t.id = u.tenant_id
          WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now()
            AND s.last_seen_at > now() - make_interval(secs => $2::float8)`,
        [tokenHash, SESSION_IDLE_SECONDS, SESSION_TOUCH_SECONDS],
      );
      const row = rows[0];
      if (!row) return undefined;
      if (row.stale) await database.query('UPDATE sessions SET last_seen_at = now() WHERE id = $1', [row.id]);
      const csrfToken = secrets.sessionCsrf(tokenHash);
      if (row.operator_id && row.operator_email) {
        return {
          sessionId: row.id,
          kind: 'operator',
          id: row.operator_id,
          email: row.operator_email,
          csrfToken,
        };
      }
      if (row.tenant_user_id && row.user_email && row.tenant_id && row.role) {
        return {
          sessionId: row.id,
          kind: 'staff',
          id: row.tenant_user_id,
          email: row.user_email,
          tenantId: row.tenant_id,
          role: row.role,
          tenantStatus: row.tenant_status ?? 'active',
          csrfToken,
        };
      }
      return undefined;
    },

    /** Ends one session. */
    async revoke(sessionId: string): Promise<void> {
      await database.query('UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [
        sessionId,
      ]);
    },

    /** Ends the session behind a cookie value, if there is one (a login replaces it). */
    async revokeToken(token: string): Promise<void> {
      await database.query(
        'UPDATE sessions SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL',
        [hashToken(token)],
      );
    },

    /** Ends every session of a staff member (role change to nothing, removal, password change). */
    async revokeForUser(tenantUserId: string): Promise<void> {
      await database.query(
        'UPDATE sessions SET revoked_at = now() WHERE tenant_user_id = $1 AND revoked_at IS NULL',
        [tenantUserId],
      );
    },

    /** Sets the session cookie and the readable CSRF cookie. */
    setCookies(reply: FastifyReply, session: { token: string; csrfToken: string; expiresAt: Date }) {
      const common = { path: '/', sameSite: 'lax', secure, expires: session.expiresAt } as const;
      reply.setCookie(SESSION_COOKIE, session.token, { ...common, httpOnly: true });
      reply.setCookie(CSRF_COOKIE, session.csrfToken, { ...common, httpOnly: false });
    },

    /** Clears both cookies. */
    clearCookies(reply: FastifyReply) {
      reply.clearCookie(SESSION_COOKIE, { path: '/', sameSite: 'lax', secure, httpOnly: true });
      reply.clearCookie(CSRF_COOKIE, { path: '/', sameSite: 'lax', secure });
    },
  };
}

/** Dashboard sessions. */
export type Sessions = ReturnType<typeof createSessions>;
