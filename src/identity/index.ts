import type { Config } from '../platform/config.ts';
import type { Database } from '../platform/db/client.ts';
import type { Principal, ScopeRegistry } from '../platform/http/auth.ts';
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
import { THROTTLE } from './policy.ts';
import { cleanupExpired, defineCleanupJob } from './cleanup.ts';
import { describePrincipal } from './me.ts';
import { createIdentitySecrets } from './secrets.ts';
import { createSessions } from './sessions.ts';
import { createShoppers } from './shoppers.ts';
import { createStaff } from './staff.ts';
import { createTenants } from './tenants.ts';
import { createThrottle } from './throttle.ts';

export type { Me } from './me.ts';
export { type AuditInput, actorOf } from './audit.ts';
export type { AttachShopInput } from './shop-tenants.ts';

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

  const describe = (principal: Principal, csrfToken?: string) =>
    describePrincipal({ database, operators, authenticator }, principal, csrfToken);
  const cleanup = () => cleanupExpired(database);
  defineCleanupJob(jobs, cleanup);

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

    /**
     * Password login to the dashboard: a new server-side session (the caller sets the cookies). A
     * session the browser already carried (`previousToken`) is ended, so no session id survives a
     * login (session fixation).
     */
    async login(
      input: { email: string; password: string; tenant?: string },
      meta: { ip: string; userAgent?: string; previousToken?: string },
    ) {
      const account = await logins.check({ ...input, operators: true, ip: meta.ip, via: 'session' });
      if (meta.previousToken) await sessions.revokeToken(meta.previousToken);
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
    throttleRegistration: (ip: string) => throttle.limit(`register:ip:${ip}`, THROTTLE.ipRegister),
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
