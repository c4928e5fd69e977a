import type { FastifyRequest } from 'fastify';
import type { Database } from '../platform/db/client.ts';
import { safeEqual } from '../platform/crypto/tokens.ts';
import { AppError, unauthorized } from '../platform/errors.ts';
import type { ApiKeyScope, Authenticator, Principal, TenantRef } from '../platform/http/auth.ts';
import { isStorableText } from '../platform/http/hardening.ts';
import { API_KEY_TOUCH_SECONDS } from './policy.ts';
import type { IdentitySecrets } from './secrets.ts';
import type { PasswordLogins } from './logins.ts';
import { tenantMatch } from './logins.ts';
import { SESSION_COOKIE, type Sessions } from './sessions.ts';

/** API keys look like `sok_<12 letters/digits>_<43 base64url>`; the middle part finds the row. */
export const API_KEY_PATTERN = /^sok_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

const deactivated = () => new AppError(403, 'TENANT_DEACTIVATED', 'This tenant is deactivated');

/**
 * Identity's side of the authorization layer: turns the credentials of a request into a principal.
 * Order: `X-API-Key`, then `Authorization` (Basic for staff, Bearer for shoppers), then the session
 * cookie. Headers win over the cookie because they are explicit; a wrong header is a 401 even when
 * a valid cookie rides along.
 */
export function createAuthenticator(deps: {
  database: Database;
  secrets: IdentitySecrets;
  sessions: Sessions;
  logins: PasswordLogins;
}): Authenticator {
  const { database, secrets, sessions, logins } = deps;

  async function apiKeyPrincipal(key: string): Promise<Principal> {
    const match = API_KEY_PATTERN.exec(key.trim());
    if (!match) throw unauthorized('Invalid API key', 'INVALID_API_KEY');
    const { rows } = await database.query<{
      id: string;
      name: string;
      tenant_id: string;
      key_hash: string;
      scopes: ApiKeyScope[];
      revoked: boolean;
      expired: boolean;
      tenant_status: string;
    }>(
      `SELECT k.id, k.name, k.tenant_id, k.key_hash, k.scopes, k.revoked_at IS NOT NULL AS revoked,
              coalesce(k.expires_at <= now(), false) AS expired, t.status AS tenant_status
         FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
        WHERE k.prefix = $1`,
      [match[1]],
    );
    const row = rows[0];
    if (!row || !safeEqual(row.key_hash, secrets.apiKeyHash(key.trim()))) {
      throw unauthorized('Invalid API key', 'INVALID_API_KEY');
    }
    if (row.revoked) throw unauthorized('This API key was revoked', 'API_KEY_REVOKED');
    if (row.expired) throw unauthorized('This API key has expired', 'API_KEY_EXPIRED');
    if (row.tenant_status === 'deactivated') throw deactivated();
    await database.query(
      `UPDATE api_keys SET last_used_at = now()
        WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => $2::float8))`,
      [row.id, API_KEY_TOUCH_SECONDS],
    );
    return { kind: 'api_key', id: row.id, name: row.name, tenantId: row.tenant_id, scopes: row.scopes };
  }

  async function basicPrincipal(
    encoded: string,
    request: FastifyRequest,
    tenant?: string,
  ): Promise<Principal> {
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    // A NUL cannot be part of any stored e-mail (PostgreSQL refuses it): malformed, not a failed login.
    if (colon <= 0 || !isStorableText(decoded))
      throw unauthorized('Malformed Basic credentials', 'INVALID_CREDENTIALS');
    const account = await logins.check({
      email: decoded.slice(0, colon),
      password: decoded.slice(colon + 1),
      tenant,
      operators: false,
      ip: request.ip,
      via: 'basic',
    });
    if (account.kind !== 'staff') throw unauthorized('Invalid email or password', 'INVALID_CREDENTIALS');
    return { ...account, via: 'basic' };
  }

  async function bearerPrincipal(token: string): Promise<Principal> {
    const result = await secrets.verifyAccessToken(token);
    if (!result.ok) {
      throw result.reason === 'expired'
        ? unauthorized('The access token has expired; refresh it', 'TOKEN_EXPIRED')
        : unauthorized('Invalid access token', 'INVALID_TOKEN');
    }
    const { shopperId, tenantId, version } = result.claims;
    const { rows } = await database.query<{ email: string; token_version: number; tenant_status: string }>(
      `SELECT s.email, s.token_version, t.status AS tenant_status
         FROM shoppers s JOIN tenants t ON t.id = s.tenant_id
        WHERE s.id = $1 AND s.tenant_id = $2`,
      [shopperId, tenantId],
    );
    const row = rows[0];
    if (!row || row.token_version !== version) throw unauthorized('Invalid access token', 'INVALID_TOKEN');
    if (row.tenant_status === 'deactivated') throw deactivated();
    return { kind: 'shopper', id: shopperId, email: row.email, tenantId };
  }

  return {
    async authenticate(request, hints) {
      const apiKey = request.headers['x-api-key'];
      if (typeof apiKey === 'string' && apiKey.length > 0)
        return { principal: await apiKeyPrincipal(apiKey) };

      const authorization = request.headers.authorization;
      if (typeof authorization === 'string' && authorization.length > 0) {
        const [scheme, value] = authorization.split(/\s+/, 2);
        if (/^basic$/i.test(scheme) && value) {
          return { principal: await basicPrincipal(value, request, hints.tenant) };
        }
        if (/^bearer$/i.test(scheme) && value) return { principal: await bearerPrincipal(value) };
        throw unauthorized('Unsupported Authorization scheme (use Basic or Bearer)', 'INVALID_CREDENTIALS');
      }

      const cookie = request.cookies?.[SESSION_COOKIE];
      if (typeof cookie === 'string' && cookie.length > 0) {
        const session = await sessions.find(cookie);
        if (!session) throw unauthorized('The session has ended; log in again', 'SESSION_EXPIRED');
        if (session.kind === 'operator') {
          return {
            principal: {
              kind: 'operator',
              id: session.id,
              email: session.email,
              via: 'session',
              sessionId: session.sessionId,
            },
            csrfToken: session.csrfToken,
          };
        }
        if (session.tenantStatus === 'deactivated') throw deactivated();
        return {
          principal: {
            kind: 'staff',
            id: session.id,
            email: session.email,
            tenantId: session.tenantId,
            role: session.role,
            via: 'session',
            sessionId: session.sessionId,
          },
          csrfToken: session.csrfToken,
        };
      }
      return { principal: { kind: 'anonymous' } };
    },

    async findTenant(ref) {
      const { rows } = await database.query<TenantRef>(
        `SELECT id, slug, name, status FROM tenants t WHERE ${tenantMatch({ id: 't.id', slug: 't.slug' }, ref, 1)}`,
        [ref],
      );
      return rows[0];
    },
  };
}
