/**
 * The Shopify simulator (issue 3): a local Shopify that speaks Shopify's documented formats so
 * StoreOps is exercised for real over HTTP. Start it in-process with startShopifySim, or run
 * `storeops shopify-sim` (cli.ts). Docs: docs/shopify-simulator.md.
 */
import { parse as parseQuery } from 'node:querystring';
import Fastify from 'fastify';
import type { Runtime } from './admin-api.ts';
import { closeBulk, createBulkState } from './bulk.ts';
import { type ChaosOptions, createChaos } from './chaos.ts';
import * as control from './control.ts';
import { registerControlRoutes } from './control-routes.ts';
import type { CustomerPatch, OrderPatch, ProductPatch } from './records.ts';
import { DEFAULT_SIZES, type Plan, type ShopSizes } from './shops.ts';
import type { SimState } from './state.ts';
import { registerShopifyRoutes } from './shopify-routes.ts';
import type { Kind } from './types.ts';
import { closeWebhooks, createWebhookEngine, type Delivery, type DeliveryFilter } from './webhooks.ts';

export type { ChaosOptions } from './chaos.ts';
export type { Delivery, DeliveryFilter } from './webhooks.ts';
export type { ShopInfo, RecordResult } from './control.ts';
export type { Plan, ShopSizes } from './shops.ts';
export { runWebhookLoad, type WebhookLoadOptions, type WebhookLoadReport } from './load.ts';
export { RETRY_DELAYS_SECONDS, signWebhook } from './webhooks.ts';
export { oauthHmac } from './oauth.ts';

/** Options of startShopifySim. */
export type ShopifySimOptions = {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Interface to bind; default 127.0.0.1. */
  host?: string;
  /** The app's client id (SHOPIFY_API_KEY). */
  apiKey: string;
  /** The app's client secret (SHOPIFY_API_SECRET): signs webhooks, OAuth redirects and session tokens. */
  apiSecret: string;
  /** Seed of the data generator; same seed and shop name, same data. Default 1. */
  seed?: number;
  /** Plan for new shops (sets the GraphQL bucket). Default standard. */
  plan?: Plan;
  /** Multiplies simulated durations such as the 4-hour webhook retry schedule. Default 1. */
  timeScale?: number;
  /** Sizes of shops that appear on first use. */
  defaultSizes?: Partial<ShopSizes>;
  /** Scopes the app's configuration requests; token exchange grants these. */
  scopes?: string[];
  /** Clock in epoch ms (tests step it to drive the leaky bucket). Default Date.now. */
  clock?: () => number;
  /** Send webhooks to non-loopback hosts too. Default false. */
  allowRemoteWebhooks?: boolean;
};

/** Scopes granted by token exchange when the app configuration is not given. */
export const DEFAULT_APP_SCOPES = [
  'read_products',
  'write_products',
  'read_orders',
  'read_all_orders',
  'read_customers',
  'write_customers',
  'write_pixels',
  'read_customer_events',
];

type Resource = 'products' | 'customers' | 'orders';
const KIND: Record<Resource, Kind> = { products: 'product', customers: 'customer', orders: 'order' };

/** A running simulator with in-process equivalents of the control API. */
export type ShopifySim = {
  /** Base URL, e.g. http://127.0.0.1:4100. */
  url: string;
  /** Value for SHOPIFY_ADMIN_URL_TEMPLATE, e.g. http://127.0.0.1:4100/{shop}. */
  adminUrlTemplate: string;
  port: number;
  /** Stops retries, waits for bulk exports, deletes their files and closes the server. */
  close(): Promise<void>;
  createShop(input: { shop: string; plan?: Plan } & Partial<ShopSizes>): control.ShopInfo;
  shopInfo(shop: string): control.ShopInfo;
  createRecord(shop: string, resource: 'products', patch?: ProductPatch): control.RecordResult;
  createRecord(shop: string, resource: 'customers', patch?: CustomerPatch): control.RecordResult;
  createRecord(shop: string, resource: 'orders', patch?: OrderPatch): control.RecordResult;
  updateRecord(
    shop: string,
    resource: Resource,
    id: number,
    patch: ProductPatch | CustomerPatch | OrderPatch,
  ): control.RecordResult;
  deleteRecord(shop: string, resource: Resource, id: number): control.RecordResult;
  readRecord(shop: string, resource: Resource, id: number): Record<string, unknown>;
  triggerCompliance(
    shop: string,
    topic: 'customers/data_request' | 'customers/redact' | 'shop/redact',
    input?: { customerId?: number; orderIds?: number[] },
  ): Delivery[];
  uninstall(shop: string): Delivery[];
  mintSessionToken(input: { shop: string; userId?: string; expiresInSeconds?: number }): Promise<string>;
  issueAccessToken(shop: string, input: { scopes: string[]; expiring?: boolean }): Record<string, unknown>;
  expireToken(token: string): void;
  revokeToken(token: string): void;
  setChaos(patch: Partial<ChaosOptions>, shop?: string): void;
  resetChaos(): void;
  deliveries(filter?: DeliveryFilter): Delivery[];
  clearDeliveries(): void;
  /** Resolves once `count` deliveries match and none of them is pending; rejects after timeoutMs. */
  waitForDeliveries(filter: DeliveryFilter & { count: number; timeoutMs?: number }): Promise<Delivery[]>;
  /** App-level subscription, as shopify.app.toml declares them (compliance topics live here). */
  setAppWebhook(topic: string, uri: string | null): void;
  throttleStatus(shop: string): ReturnType<typeof control.bucketStatus>;
  setBucket(shop: string, currentlyAvailable: number): ReturnType<typeof control.setBucket>;
  /**
   * Test hook: bulk result downloads started from now on stall after `afterLines` lines until the
   * returned function is called (e.g. to kill a syncing process at a known point).
   */
  holdBulkDownloads(afterLines: number): () => void;
};

/** Starts the simulator and resolves once it listens. */
export async function startShopifySim(options: ShopifySimOptions): Promise<ShopifySim> {
  if (!options.apiKey || !options.apiSecret) throw new Error('startShopifySim needs apiKey and apiSecret');
  const sim: SimState = {
    options: {
      apiKey: options.apiKey,
      apiSecret: options.apiSecret,
      seed: options.seed ?? 1,
      plan: options.plan ?? 'standard',
      timeScale: options.timeScale ?? 1,
      clock: options.clock ?? Date.now,
      defaultSizes: { ...DEFAULT_SIZES, ...options.defaultSizes },
      scopes: options.scopes ?? DEFAULT_APP_SCOPES,
      allowRemoteWebhooks: options.allowRemoteWebhooks ?? false,
    },
    url: '',
    shops: new Map(),
    tokens: new Map(),
    refreshTokens: new Map(),
    codes: new Map(),
    installed: new Set(),
    grantedScopes: new Map(),
    chaos: createChaos(options.seed ?? 1),
    buckets: new Map(),
    appSubscriptions: new Map(),
    counters: { subscription: 0, bulk: 0, pixel: 0, user: 0 },
  };
  const rt: Runtime = { sim, engine: createWebhookEngine(), bulk: createBulkState() };
  const app = Fastify({ logger: false, bodyLimit: 5 * 1024 * 1024 });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, parseQuery(body as string));
  });
  app.addContentTypeParser('application/graphql', { parseAs: 'string' }, (_req, body, done) => {
    done(null, { query: body });
  });
  registerControlRoutes(app, rt);
  registerShopifyRoutes(app, rt);
  const host = options.host ?? '127.0.0.1';
  await app.listen({ port: options.port ?? 0, host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 0);
  sim.url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const handle: ShopifySim = {
    url: sim.url,
    adminUrlTemplate: `${sim.url}/{shop}`,
    port,
    async close() {
      await closeWebhooks(rt.engine);
      await closeBulk(rt.bulk);
      await app.close();
    },
    createShop: (input) => control.createShopWithSizes(rt, input),
    shopInfo: (shop) => control.shopInfo(rt, shop),
    createRecord: (shop: string, resource: Resource, patch: ProductPatch | CustomerPatch | OrderPatch = {}) =>
      control.createRecordIn(rt, shop, KIND[resource], patch),
    updateRecord: (shop, resource, id, patch) => control.updateRecordIn(rt, shop, KIND[resource], id, patch),
    deleteRecord: (shop, resource, id) => control.deleteRecordIn(rt, shop, KIND[resource], id),
    readRecord: (shop, resource, id) => control.readRecordIn(rt, shop, KIND[resource], id),
    triggerCompliance: (shop, topic, input = {}) => control.compliance(rt, shop, topic, input),
    uninstall: (shop) => control.uninstall(rt, shop),
    mintSessionToken: async (input) => (await control.sessionToken(rt, input)).token,
    issueAccessToken: (shop, input) =>
      control.issueAccessToken(rt, shop, input.scopes, input.expiring ?? false),
    expireToken: (token) => control.expireToken(rt, token),
    revokeToken: (token) => control.revokeToken(rt, token),
    setChaos: (patch, shop) => control.setChaos(rt, patch, shop),
    resetChaos: () => control.resetChaos(rt),
    deliveries: (filter) => control.deliveries(rt, filter),
    clearDeliveries: () => control.clearDeliveries(rt),
    async waitForDeliveries({ count, timeoutMs = 10_000, ...filter }) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = control.deliveries(rt, filter);
        if (found.length >= count && found.every((d) => d.state !== 'pending')) return found;
        if (Date.now() > deadline) {
          throw new Error(
            `waitForDeliveries: ${found.length}/${count} matched (${found.filter((d) => d.state === 'pending').length} pending)`,
          );
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    setAppWebhook: (topic, uri) => control.setAppWebhook(rt, topic, uri),
    throttleStatus: (shop) => control.bucketStatus(rt, shop),
    setBucket: (shop, available) => control.setBucket(rt, shop, available),
    holdBulkDownloads(afterLines) {
      let release = () => {};
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      rt.bulk.downloadHold = { afterLines, released };
      return () => {
        rt.bulk.downloadHold = null;
        release();
      };
    },
  };
  return handle;
}
