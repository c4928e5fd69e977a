import type { Config } from '../platform/config.ts';
import { z } from 'zod';
import type { Database } from '../platform/db/client.ts';
import type { ApiKeyScope, Principal, ScopeRegistry } from '../platform/http/auth.ts';
import type { App, Role } from '../platform/http/server.ts';
import type { Jobs } from '../platform/jobs.ts';
import type { Logger } from '../platform/logger.ts';
import type { Mailer } from '../platform/mail.ts';
import { createApiKeys } from './api-keys.ts';
import { actorOf, createAudit } from './audit.ts';
import { createAuthenticator } from './authenticate.ts';
import { createPasswordLogins } from './logins.ts';
import { registerIdentityRoutes } from './routes.ts';
import { registerShopperRoutes } from './shopper-routes.ts';
import { createOperators } from './operators.ts';
import { SESSION_IDLE_SECONDS, THROTTLE } from './policy.ts';
import { createIdentitySecrets } from './secrets.ts';
import { createSessions } from './sessions.ts';
import { createShoppers } from './shoppers.ts';
import { createStaff } from './staff.ts';
import { createTenants } from './tenants.ts';
import { createThrottle } from './throttle.ts';

/** What `GET /api/v1/me` and login return. */
export type Me = {
  kind: 'operator' | 'staff' | 'api_key';
  id: string;
  email?: string;
  name?: string;
  tenant?: { id: string; slug: string; name: string };
  role?: 'owner' | 'staff';
  scopes?: ApiKeyScope[];
  via: 'session' | 'basic' | 'api_key';
  csrfToken?: string;
};

/** Everything identity holds, without its routes. */
function createIdentityCore(deps: {
  config: Config;
  database: Database;
  logger: Logger;
  mailer: Mailer;
  jobs: Jobs;
  /** The API-key scopes the modules declare (filled at wiring time, read when keys are created). */
  scopes: ScopeRegistry;
}) {
  const { config, database, logger, mailer, jobs } = deps;
  const secrets = createIdentitySecrets(config);
  const audit = createAudit(database);
  const throttle = createThrottle(database);
  const sessions = createSessions({ config, database, secrets });
  const logins = createPasswordLogins({ database, throttle, audit });
  const authenticator = createAuthenticator({ database, secrets, sessions, logins });
  const operators = createOperators({ database, audit });
  const tenants = createTenants({ database, audit });
  const staff = createStaff({ audit, onCredentialsChanged: (userId) => sessions.revokeForUser(userId) });
  const apiKeys = createApiKeys({ audit, secrets, scopes: deps.scopes });
  const shoppers = createShoppers({ config, database, logger, mailer, audit, throttle, secrets });

  async function describe(principal: Principal, csrfToken?: string): Promise<Me> {
    switch (principal.kind) {
      case 'operator': {
        const operator = await operators.get(principal.id);
        return {
          kind: 'operator',
          id: principal.id,
          email: principal.email,
          name: operator?.name ?? '',
          via: 'session',
          csrfToken,
        };
      }
      case 'staff': {
        const { rows } = await database.query<{ name: string; slug: string; tenant_name: string }>(
          `SELECT u.name, t.slug, t.name AS tenant_name FROM tenant_users u JOIN tenants t ON t.id = u.tenant_id
            WHERE u.id = $1`,
          [principal.id],
        );
        return {
          kind: 'staff',
          id: principal.id,
          email: principal.email,
          name: rows[0]?.name ?? '',
          role: principal.role,
          tenant: { id: principal.tenantId, slug: rows[0]?.slug ?? '', name: rows[0]?.tenant_name ?? '' },
          via: principal.via,
          csrfToken,
        };
      }
      case 'api_key': {
        const tenant = await authenticator.findTenant(principal.tenantId);
        return {
          kind: 'api_key',
          id: principal.id,
          name: principal.name,
          scopes: [...principal.scopes],
          tenant: tenant ? { id: tenant.id, slug: tenant.slug, name: tenant.name } : undefined,
          via: 'api_key',
        };
      }
      default:
        throw new Error(`me: unsupported principal ${principal.kind}`);
    }
  }

  /**
   * Deletes what can no longer be used: ended sessions, dead refresh families, expired codes and
   * idle throttle counters (a day after they stopped mattering, so recent ones stay inspectable).
   * The audit log is kept.
   */
  async function cleanup(): Promise<Record<string, number>> {
    const statements: Record<string, string> = {
      sessions: `DELETE FROM sessions WHERE expires_at < now() - interval '1 day'
                    OR revoked_at < now() - interval '1 day'
                    OR last_seen_at < now() - make_interval(secs => ${SESSION_IDLE_SECONDS}) - interval '1 day'`,
      refreshTokens: `DELETE FROM shopper_refresh_tokens WHERE family_expires_at < now() - interval '1 day'
                         OR revoked_at < now() - interval '1 day'
                         OR (used_at < now() - interval '1 day' AND expires_at < now())`,
      codes: `DELETE FROM shopper_codes WHERE expires_at < now() - interval '1 day'`,
      throttles: `DELETE FROM auth_throttles WHERE updated_at < now() - interval '1 day'
                     AND (blocked_until IS NULL OR blocked_until < now())`,
    };
    const removed: Record<string, number> = {};
    for (const [name, sql] of Object.entries(statements)) {
      const { rows } = await database.query<{ n: number }>(
        `WITH gone AS (${sql} RETURNING 1) SELECT count(*)::int AS n FROM gone`,
      );
      removed[name] = rows[0].n;
    }
    return removed;
  }

  jobs.define<Record<string, never>>({
    name: 'identity.cleanup',
    schema: z.object({}).strict() as z.ZodType<Record<string, never>>,
    policy: 'singleton',
    retryLimit: 2,
    cron: [{ schedule: '17 * * * *', data: {} }],
    handler: async () => cleanup(),
  });

  return {
    /** Housekeeping run hourly by the `identity.cleanup` job. */
    cleanup,
    /** The scopes keys can hold (what `GET /api/v1/api-key-scopes` lists). */
    apiKeyScopes: deps.scopes,
    authenticator,
    audit,
    operators,
    tenants,
    staff,
    apiKeys,
    sessions,
    shoppers,

    /** Password login to the dashboard: a new server-side session (the caller sets the cookies). */
    async login(
      input: { email: string; password: string; tenant?: string },
      meta: { ip: string; userAgent?: string },
    ) {
      const account = await logins.check({ ...input, operators: true, ip: meta.ip, via: 'session' });
      const session = await sessions.create(account, meta);
      await audit.record({
        action: 'login.succeeded',
        tenantId: account.kind === 'staff' ? account.tenantId : null,
        actor: { kind: account.kind, id: account.id, label: account.email },
        ip: meta.ip,
        details: { via: 'session' },
      });
      const principal: Principal =
        account.kind === 'operator'
          ? { ...account, via: 'session', sessionId: session.sessionId }
          : { ...account, via: 'session', sessionId: session.sessionId };
      return { session, me: await describe(principal, session.csrfToken) };
    },

    /** Ends a dashboard session. */
    async logout(principal: Principal, sessionId: string, ip: string) {
      await sessions.revoke(sessionId);
      await audit.record({
        action: 'logout',
        tenantId: 'tenantId' in principal ? principal.tenantId : null,
        actor: actorOf(principal),
        ip,
      });
    },

    /** The caller as `GET /api/v1/me` shows it. */
    me: describe,

    /** Counts an account-creating request from `ip` (bootstrap, shopper sign-up); 429 when over. */
    async throttleRegistration(ip: string) {
      const key = `register:ip:${ip}`;
      await throttle.check(key);
      await throttle.record(key, THROTTLE.ipRegister);
    },
  };
}

/** Identity as its own routes use it (the door without `routes`). */
export type IdentityCore = ReturnType<typeof createIdentityCore>;

/**
 * Identity and tenancy (issue 4): operators, tenants, staff, API keys, shoppers, sessions, the
 * audit log, and the authenticator behind the platform's authorization layer.
 */
export function createIdentity(deps: Parameters<typeof createIdentityCore>[0]) {
  const identity = createIdentityCore(deps);
  return {
    ...identity,
    /** Operators, tenants, staff, keys, sessions and the shopper accounts of every storefront. */
    routes(app: App, role: Role): void {
      if (role === 'worker') return;
      registerIdentityRoutes(app, { identity });
      registerShopperRoutes(app, { identity });
    },
  };
}

/** The identity module. */
export type Identity = ReturnType<typeof createIdentity>;

/**
 * Adds an operator without a running server (`storeops operator create`): no bootstrap rule, the
 * CLI is trusted. The password policy still applies.
 */
export function createOperatorAccount(
  database: Database,
  input: { email: string; password: string; name?: string },
) {
  return createOperators({ database, audit: createAudit(database) }).create(input, {
    kind: 'system',
    label: 'cli',
  });
}
