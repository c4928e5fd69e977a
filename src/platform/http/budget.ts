import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyRequest } from 'fastify';
import { tooManyRequests } from '../errors.ts';
import type { App } from './server.ts';

/*
 * The request budget of `/api` (issue 16): `RATE_LIMIT_PER_MINUTE` requests per minute per caller.
 * Every request counts — refused ones too (401, 403, 404, 422), since probing is what a limit is
 * for. The caller is the principal when the credentials are valid (its own budget, so nobody
 * behind the same address can use it up) and the client address otherwise.
 *
 * The access layer charges each guarded route once it knows who is calling (before refusing);
 * `/api` requests it never sees (no such route) are charged to their address here. Routes that
 * carry throttles of their own (logins, sign-ups, codes: src/identity/policy.ts) opt out with
 * `config: { rateLimit: false }`, so failed logins never spend the budget of a whole address.
 */

/** Charges one request to `key`; throws 429 RATE_LIMITED with Retry-After once it is spent. */
export type RequestBudget = {
  charge(request: FastifyRequest, key: string): Promise<void>;
  /** The key of the caller's address (`ip:<address>`, IPv6 by /64). */
  addressKey(request: FastifyRequest): string;
};

declare module 'fastify' {
  interface FastifyInstance {
    /** The `/api` request budget; the access layer charges guarded routes with it. */
    requestBudget: RequestBudget;
  }
}

const CHARGED = Symbol('storeops.budgetCharged');
const KEY = Symbol('storeops.budgetKey');
type Charged = FastifyRequest & { [CHARGED]?: boolean; [KEY]?: string };

/** True for the requests the budget covers. */
export const isBudgeted = (request: FastifyRequest): boolean =>
  request.url.startsWith('/api/') && request.routeOptions.config?.rateLimit !== false;

/**
 * Installs the budget on `app` (`app.requestBudget`) and charges the `/api` requests no access
 * declaration covers (unknown routes, bare test routes) to their address.
 */
export async function installRequestBudget(app: App, options: { perMinute: number }): Promise<void> {
  // The plugin's in-memory store does the counting; its own per-route hooks stay off (global: false).
  await app.register(rateLimit, { global: false });
  const limiter = app.createRateLimit({
    max: options.perMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => (request as Charged)[KEY] as string,
  });
  const budget: RequestBudget = {
    async charge(request, key) {
      const r = request as Charged;
      if (r[CHARGED] || !isBudgeted(request)) return;
      r[CHARGED] = true;
      r[KEY] = key;
      const result = await limiter(request);
      if (!result.isAllowed && result.isExceeded) throw tooManyRequests(result.ttlInSeconds);
    },
    addressKey: (request) => `ip:${normalizeIP(request.ip)}`,
  };
  app.decorate('requestBudget', budget);
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config?.access === undefined)
      await budget.charge(request, budget.addressKey(request));
  });
}
