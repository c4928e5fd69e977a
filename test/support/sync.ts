import { randomBytes } from 'node:crypto';
import { type ApiResponse, call, createOperatorSession, type Credentials } from './identity.ts';
import { type ShopifyStack, startShopifyStack, waitFor } from './shopify.ts';

/** A Shopify stack for sync tests: simulator + StoreOps + an operator session. */
export type SyncStack = ShopifyStack & {
  operator: Credentials;
  /** Creates a simulator shop of the given size, installs it and waits for the install backfill. */
  installShop(sizes: {
    products: number;
    customers: number;
    orders: number;
  }): Promise<{ shop: string; tenantId: string }>;
  /** GET /api/v1/tenants/:tenant/sync as the operator. */
  status(tenantId: string): Promise<any>;
  /** Waits until no resource of the tenant is running and each has finished a run after `since`. */
  idle(tenantId: string, since?: number): Promise<any>;
  /** Raw SQL as the database owner. */
  q<T = Record<string, any>>(text: string, params?: unknown[]): Promise<T[]>;
  /** A JSON request as the operator. */
  api(method: string, path: string, body?: unknown): Promise<ApiResponse<any>>;
};

/** A unique simulator shop domain. */
export const newShop = (prefix = 'sync') => `${prefix}-${randomBytes(4).toString('hex')}.myshopify.com`;

/** Starts the simulator and StoreOps for sync tests. */
export async function startSyncStack(options: { env?: Record<string, string> } = {}): Promise<SyncStack> {
  const stack = await startShopifyStack(options);
  const operator = await createOperatorSession(stack.server);
  const api = (method: string, path: string, body?: unknown) =>
    call(stack.server, operator, method, path, body);
  const status = async (tenantId: string) => {
    const res = await api('GET', `/api/v1/tenants/${tenantId}/sync`);
    if (res.status !== 200) throw new Error(`sync status answered ${res.status}: ${res.text}`);
    return res.body;
  };
  const idle = (tenantId: string, since = 0) =>
    waitFor(async () => {
      const s = await status(tenantId);
      const done = s.resources.every(
        (r: any) => r.status !== 'running' && r.finishedAt && Date.parse(r.finishedAt) >= since,
      );
      return done ? s : undefined;
    }, 60_000);
  return Object.assign(stack, {
    operator,
    api,
    status,
    idle,
    q: async <T = Record<string, any>>(text: string, params: unknown[] = []) =>
      (await stack.server.deps.database.query<T>(text, params)).rows,
    async installShop(sizes: { products: number; customers: number; orders: number }) {
      const shop = newShop();
      stack.sim.createShop({ shop, ...sizes });
      const tenantId = await stack.install(shop);
      await waitFor(async () => {
        const s = await status(tenantId);
        return s.resources.every((r: any) => r.backfilledAt && r.status === 'idle');
      }, 60_000);
      return { shop, tenantId };
    },
  });
}

/**
 * Stops the stack's server (PGlite allows one process at a time, and no worker may pick runs up)
 * and returns the environment for `storeops` child processes on the same data.
 */
export async function handOverToCli(stack: SyncStack): Promise<Record<string, string | undefined>> {
  await stack.server.close();
  return {
    ...stack.env,
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    STOREOPS_DATA_DIR: stack.storage.dataDir,
    DATABASE_URL: stack.storage.databaseUrl,
  };
}
