import type { FastifyReply, FastifyRequest, onRequestHookHandler, RouteOptions } from 'fastify';
import { safeEqual } from '../crypto/tokens.ts';
import type { Database, Tx } from '../db/client.ts';
import { AppError, forbidden, notFound, unauthorized } from '../errors.ts';
import type { StaffRole } from './roles.ts';
import type { App } from './server.ts';

/**
 * The one authorization layer (issue 4). Every route declares who may call it in `config.access`;
 * an onRoute check refuses to start the server when an `/api` route forgets to. Identity plugs in
 * how credentials are read (`Authenticator`); this file only knows the shapes, so platform stays
 * free of domain imports. See docs/security.md for the model and examples.
 */

/**
 * One API-key scope, `resource:verb` (`data:read`). Scopes belong to the modules whose routes need
 * them: each door declares its own (`scopes` on the door, wired into a `ScopeRegistry` in deps.ts),
 * so platform holds the mechanism and no domain vocabulary. A route lists the scopes it needs; a
 * key needs all of them.
 */
export type ApiKeyScope = string;

/** A scope as a module declares it (the dashboard's key form shows the description). */
export type ScopeDefinition = { name: ApiKeyScope; description: string };

/** What a scope name looks like. */
export const SCOPE_NAME = /^[a-z][a-z_]*:[a-z][a-z_]*$/;

/**
 * The scopes the modules declared, filled at wiring time. The access layer refuses to start when a
 * route names an undeclared scope (a typo would otherwise lock every key out), and key creation
 * refuses scopes nobody declared.
 */
export function createScopeRegistry() {
  const scopes = new Map<ApiKeyScope, ScopeDefinition>();
  return {
    /** Adds a module's scopes; a bad or twice-declared name is a wiring error. */
    declare(definitions: readonly ScopeDefinition[]): void {
      for (const definition of definitions) {
        if (!SCOPE_NAME.test(definition.name)) throw new Error(`bad API-key scope name: ${definition.name}`);
        if (scopes.has(definition.name)) throw new Error(`API-key scope declared twice: ${definition.name}`);
        scopes.set(definition.name, definition);
      }
    },
    /** True when some module declared `name`. */
    has: (name: string): boolean => scopes.has(name),
    /** Every declared scope, in declaration order. */
    list: (): ScopeDefinition[] => [...scopes.values()],
  };
}

/** The scope registry of one process. */
export type ScopeRegistry = ReturnType<typeof createScopeRegistry>;

export { STAFF_ROLES, type StaffRole } from './roles.ts';

/** Who is calling. Resolved once per request from the session cookie, Basic, X-API-Key or Bearer. */
export type Principal =
  | { kind: 'anonymous' }
  | { kind: 'operator'; id: string; email: string; via: 'session'; sessionId: string }
  | {
      kind: 'staff';
      id: string;
      email: string;
      tenantId: string;
      role: StaffRole;
      via: 'session' | 'basic';
      sessionId?: string;
    }
  | { kind: 'api_key'; id: string; name: string; tenantId: string; scopes: readonly ApiKeyScope[] }
  | { kind: 'shopper'; id: string; email: string; tenantId: string };

/** The tenant a request acts on (from `:tenant`, or bound by the handler with `bindTenant`). */
export type TenantRef = { id: string; slug: string; name: string; status: string };

/**
 * Who may call a route. `'public'` means anyone (credentials, if sent and valid, are still read).
 * Otherwise list the principal kinds allowed; anything not listed is refused:
 * - `operator: true` — platform operators (they may act on every tenant);
 * - `staff: 'any' | 'owner'` — staff of the route's tenant, any role or owners only;
 * - `apiKey: [...scopes]` — keys of the route's tenant holding every listed scope (`[]`: any key);
 * - `shopper: true` — shoppers of the route's tenant.
 */
export type Access =
  | 'public'
  | { operator?: boolean; staff?: 'any' | 'owner'; apiKey?: readonly ApiKeyScope[]; shopper?: boolean };

/** What `request.auth` holds. */
export type RequestAuth = {
  principal: Principal;
  /** The CSRF token expected from this principal (cookie sessions only); `me` and login return it. */
  csrfToken?: string;
  /** The tenant of the request once resolved (routes with `:tenant`, or after `bindTenant`). */
  tenant?: TenantRef;
  /** Runs `fn` in a transaction with row-level security set to the request's tenant. */
  withTenant<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * For routes that find their tenant another way (e.g. by shop domain): checks the principal may
   * act on the tenant (operators: any; others: their own, else 404) and makes it the request's tenant.
   */
  bindTenant(idOrSlug: string): Promise<TenantRef>;
};

/** How identity turns a request's credentials into a principal. */
export type Authenticator = {
  /**
   * Reads the credentials of a request. Returns anonymous when none were sent; throws an AppError
   * (401 bad credentials, 403 deactivated tenant, 429 locked) when they are wrong. `tenantHint` is
   * the raw `:tenant` parameter, if the route has one (Basic auth uses it to pick the account).
   */
  authenticate(
    request: FastifyRequest,
    hints: { tenant?: string },
  ): Promise<{ principal: Principal; csrfToken?: string }>;
  /** Finds a tenant by id or slug (case-insensitive). */
  findTenant(idOrSlug: string): Promise<TenantRef | undefined>;
};

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller and the tenant of this request (issue 4); see src/platform/http/auth.ts. */
    auth: RequestAuth;
  }
  interface FastifyContextConfig {
    /** Who may call this route; required for every `/api` route. */
    access?: Access;
  }
}

/** The header carrying the CSRF token on cookie-authenticated writes. */
export const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Tenants in this state are refused to everyone but operators. */
const DEACTIVATED = 'deactivated';

/** Routes under this prefix must declare `config.access`; others (webhooks, OAuth callbacks) may. */
const GUARDED_PREFIX = '/api/';

/** True when `principal` is allowed by `access`, ignoring tenants. */
export function allows(access: Exclude<Access, 'public'>, principal: Principal): boolean {
  switch (principal.kind) {
    case 'operator':
      return access.operator === true;
    case 'staff':
      return access.staff === 'any' || (access.staff === 'owner' && principal.role === 'owner');
    case 'api_key':
      return access.apiKey?.every((scope) => principal.scopes.includes(scope)) ?? false;
    case 'shopper':
      return access.shopper === true;
    default:
      return false;
  }
}

/** The request-budget key of a principal (its own budget); undefined for anonymous callers. */
function budgetKey(principal: Principal): string | undefined {
  return principal.kind === 'anonymous' ? undefined : `${principal.kind}:${principal.id}`;
}

/** The tenant a principal belongs to (undefined for operators and anonymous callers). */
export function principalTenantId(principal: Principal): string | undefined {
  return 'tenantId' in principal ? principal.tenantId : undefined;
}

/** OpenAPI `security` requirements matching an access declaration. */
function securityFor(access: Access): Record<string, string[]>[] {
  if (access === 'public') return [];
  const schemes: Record<string, string[]>[] = [];
  if (access.operator || access.staff) schemes.push({ session: [] });
  if (access.staff) schemes.push({ basic: [] });
  if (access.apiKey) schemes.push({ apiKey: [...access.apiKey] });
  if (access.shopper) schemes.push({ bearer: [] });
  return schemes;
}

function describeAccess(access: Access): string {
  if (access === 'public') return 'Access: public.';
  const parts: string[] = [];
  if (access.operator) parts.push('operators');
  if (access.staff === 'any') parts.push('staff (any role)');
  if (access.staff === 'owner') parts.push('staff owners');
  if (access.apiKey)
    parts.push(access.apiKey.length ? `API keys with ${access.apiKey.join(', ')}` : 'API keys (any scope)');
  if (access.shopper) parts.push('shoppers');
  return `Access: ${parts.join(', ') || 'nobody'}.`;
}

const toArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/**
 * Installs the authorization layer on `app`. Call it right after creating the server and before
 * registering domain routes: it only sees routes registered after it.
 */
export function installAccessControl(
  app: App,
  deps: { authenticator: Authenticator; database: Database; scopes: ScopeRegistry },
) {
  const { authenticator, database, scopes } = deps;

  /** A fresh `request.auth` for the anonymous caller of a route that declares no access. */
  function createAuth(principal: Principal, csrfToken?: string): RequestAuth {
    const auth: RequestAuth = {
      principal,
      csrfToken,
      tenant: undefined,
      withTenant(fn) {
        if (!auth.tenant) throw new Error('request.auth.withTenant: this request has no tenant');
        return database.withTenant(auth.tenant.id, fn);
      },
      async bindTenant(idOrSlug) {
        const tenant = await authenticator.findTenant(idOrSlug);
        auth.tenant = checkTenant(auth.principal, tenant);
        return auth.tenant;
      },
    };
    return auth;
  }

  /** Same answer for "no such tenant" and "not yours": the caller learns nothing about others. */
  function checkTenant(principal: Principal, tenant: TenantRef | undefined): TenantRef {
    if (!tenant) throw notFound('tenant');
    if (principal.kind === 'operator') return tenant;
    const own = principalTenantId(principal);
    if (own !== undefined && own !== tenant.id) throw notFound('tenant');
    if (tenant.status === DEACTIVATED) {
      // Credentials of a deactivated tenant are refused by the authenticator already; this is the
      // public storefront of one.
      throw notFound('tenant');
    }
    return tenant;
  }

  app.decorateRequest('auth', null as unknown as RequestAuth);
  app.addHook('onRequest', async (request) => {
    request.auth = createAuth({ kind: 'anonymous' });
  });

  function guardFor(access: Access): onRequestHookHandler {
    return async function guard(request: FastifyRequest, _reply: FastifyReply) {
      const params = (request.params ?? {}) as Record<string, string | undefined>;
      const tenantParam = params.tenant;
      let resolved: { principal: Principal; csrfToken?: string };
      let refused: unknown;
      try {
        resolved = await authenticator.authenticate(request, { tenant: tenantParam });
      } catch (error) {
        // Public routes still see a valid caller (an optional shopper on a storefront route), but
        // a stale or wrong credential only makes the caller anonymous: a storefront must keep
        // working (and be able to refresh) with an expired access token attached.
        resolved = { principal: { kind: 'anonymous' } };
        if (access !== 'public') refused = error;
      }
      // Every request is charged before anything is refused (probes count): to the principal's
      // own budget, or to the address when the caller is anonymous or its credentials are wrong.
      const budget = request.server.requestBudget;
      await budget.charge(request, budgetKey(resolved.principal) ?? budget.addressKey(request));
      if (refused) throw refused;
      const auth = createAuth(resolved.principal, resolved.csrfToken);
      request.auth = auth;

      if (access !== 'public') {
        if (auth.principal.kind === 'anonymous') throw unauthorized();
        if (!allows(access, auth.principal)) {
          throw forbidden('Your credentials do not allow this operation', 'FORBIDDEN');
        }
        // Cookies ride along on cross-site requests; a header the attacker's page cannot read or
        // set proves the request comes from our own pages (double-submit, bound to the session).
        if (auth.csrfToken !== undefined && !SAFE_METHODS.has(request.method)) {
          const sent = request.headers[CSRF_HEADER];
          if (typeof sent !== 'string' || !safeEqual(sent, auth.csrfToken)) {
            throw new AppError(403, 'CSRF_TOKEN_INVALID', 'Missing or invalid X-CSRF-Token header');
          }
        }
      }
      if (tenantParam !== undefined) {
        const tenant = await authenticator.findTenant(tenantParam);
        const own = principalTenantId(auth.principal);
        if (access === 'public' && tenant && own !== undefined && own !== tenant.id) {
          // Someone else's public page (a shopper of one store browsing another): they are simply
          // anonymous here, never a principal of this tenant.
          auth.principal = { kind: 'anonymous' };
          auth.csrfToken = undefined;
        }
        auth.tenant = checkTenant(auth.principal, tenant);
      }
    };
  }

  app.addHook('onRoute', (routeOptions: RouteOptions) => {
    const access = routeOptions.config?.access;
    if (access === undefined) {
      if (routeOptions.url.startsWith(GUARDED_PREFIX)) {
        throw new Error(
          `${routeOptions.method} ${routeOptions.url} declares no access: add config.access (see docs/security.md)`,
        );
      }
      return;
    }
    if (access !== 'public') {
      const kinds = [access.operator, access.staff, access.apiKey, access.shopper].filter(
        (v) => v !== undefined,
      );
      if (kinds.length === 0)
        throw new Error(`${routeOptions.method} ${routeOptions.url}: access allows nobody`);
      const unknown = (access.apiKey ?? []).filter((scope) => !scopes.has(scope));
      if (unknown.length > 0) {
        throw new Error(
          `${routeOptions.method} ${routeOptions.url}: undeclared API-key scope ${unknown.join(', ')} (declare it on the module's door)`,
        );
      }
    }
    routeOptions.onRequest = [guardFor(access), ...toArray(routeOptions.onRequest)];
    // The declaration is published in the OpenAPI document, so clients and the cross-tenant probe
    // (test/security) know what each route expects.
    routeOptions.schema ??= {};
    const schema = routeOptions.schema as Record<string, unknown>;
    schema.security = securityFor(access);
    schema['x-storeops-access'] = access === 'public' ? { public: true } : access;
    // A GET route's HEAD twin shares its schema object: add the line once.
    const line = describeAccess(access);
    const described = typeof schema.description === 'string' ? schema.description : '';
    if (!described.endsWith(line)) schema.description = described ? `${described}\n\n${line}` : line;
  });
}
