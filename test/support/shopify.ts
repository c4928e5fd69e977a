import { randomBytes } from 'node:crypto';
import { type ShopifySim, startShopifySim } from '../../src/devtools/shopify-sim/index.ts';
import { signOAuthQuery } from '../../src/shopify/signing.ts';
import { createTestStorage, startTestServer, type TestServer, type TestStorage } from './server.ts';

/** A StoreOps test server wired to its own Shopify simulator, with a steerable simulator clock. */
export type ShopifyStack = {
  sim: ShopifySim;
  /** The current server (replaced by `restartServer`). */
  server: TestServer;
  /** Data dir and database shared by every server of this stack. */
  storage: TestStorage;
  /** The environment the servers start with (Shopify settings for the simulator). */
  env: Record<string, string>;
  /** Stops the server (data kept) and starts a new one with `env` overrides on the same data. */
  restartServer(env?: Record<string, string>): Promise<TestServer>;
  apiKey: string;
  apiSecret: string;
  /** Moves the simulator's clock (ms) relative to real time: tokens expire there, not here. */
  advanceSimClock(ms: number): void;
  resetSimClock(): void;
  /** `/shopify/install` → simulator authorize; returns the callback URL Shopify would redirect to. */
  authorize(shop: string): Promise<URL>;
  /** Requests a callback URL (path + query) on the StoreOps server, without following redirects. */
  callback(url: URL, init?: RequestInit): Promise<Response>;
  /** The whole install; resolves with the tenant id. */
  install(shop: string): Promise<string>;
  /** Re-signs callback parameters with the app secret (to build hostile-but-signed callbacks). */
  resign(url: URL, changes: Record<string, string>): URL;
  close(): Promise<void>;
};

/** Starts a simulator and a StoreOps server configured for it (PGlite or PostgreSQL per env). */
export async function startShopifyStack(
  options: { env?: Record<string, string> } = {},
): Promise<ShopifyStack> {
  const apiKey = `test-app-${randomBytes(4).toString('hex')}`;
  const apiSecret = `shpss_${randomBytes(16).toString('hex')}`;
  let offset = 0;
  const sim = await startShopifySim({ apiKey, apiSecret, clock: () => Date.now() + offset });
  const storage = await createTestStorage();
  const env = {
    SHOPIFY_API_KEY: apiKey,
    SHOPIFY_API_SECRET: apiSecret,
    SHOPIFY_ADMIN_URL_TEMPLATE: sim.adminUrlTemplate,
    SHOPIFY_SCOPES: 'read_products,read_orders,read_customers',
    ...options.env,
  };
  let server: TestServer | undefined;
  try {
    server = await startTestServer({ env, storage });
  } catch (error) {
    await storage.drop();
    await sim.close();
    throw error;
  }
  const current = () => server as TestServer;

  const authorize = async (shop: string) => {
    const start = await current().fetch(`/shopify/install?shop=${encodeURIComponent(shop)}`, {
      redirect: 'manual',
    });
    if (start.status !== 302) throw new Error(`install answered ${start.status}: ${await start.text()}`);
    const approve = await fetch(start.headers.get('location') as string, { redirect: 'manual' });
    if (approve.status !== 302)
      throw new Error(`simulator authorize answered ${approve.status}: ${await approve.text()}`);
    return new URL(approve.headers.get('location') as string);
  };
  const callback = (url: URL, init: RequestInit = {}) =>
    current().fetch(`${url.pathname}${url.search}`, { redirect: 'manual', ...init });

  return {
    sim,
    get server() {
      return current();
    },
    storage,
    env,
    async restartServer(overrides = {}) {
      await server?.close();
      server = undefined;
      server = await startTestServer({ env: { ...env, ...overrides }, storage });
      return server;
    },
    apiKey,
    apiSecret,
    advanceSimClock: (ms) => {
      offset += ms;
    },
    resetSimClock: () => {
      offset = 0;
    },
    authorize,
    callback,
    async install(shop) {
      const response = await callback(await authorize(shop));
      if (response.status !== 302)
        throw new Error(`callback answered ${response.status}: ${await response.text()}`);
      const resolved = await current().deps.shopify.resolveShop(shop);
      if (!resolved) throw new Error(`install of ${shop} stored nothing`);
      return resolved.tenantId;
    },
    resign(url, changes) {
      const params = Object.fromEntries(url.searchParams);
      Object.assign(params, changes);
      delete params.hmac;
      const next = new URL(url);
      next.search = new URLSearchParams({ ...params, hmac: signOAuthQuery(params, apiSecret) }).toString();
      return next;
    },
    async close() {
      await server?.close();
      await storage.drop();
      await sim.close();
    },
  };
}

/** Polls `check` until it returns a truthy value (no timing assertions: only a generous deadline). */
export async function waitFor<T>(
  check: () => Promise<T | undefined | null | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('waitFor: condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
