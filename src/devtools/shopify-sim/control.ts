/**
 * The control API's operations as plain functions. The /_sim HTTP routes and the in-process
 * ShopifySim handle both call these, so tests can use either.
 */
import { GraphQLError } from 'graphql';
import type { Runtime } from './admin-api.ts';
import { createBucket, refill, throttleStatus, type ThrottleStatus } from './bucket.ts';
import { type ChaosOptions, NO_CHAOS } from './chaos.ts';
import { liveCount } from './collection.ts';
import { gid } from './format.ts';
import { issueToken, mintSessionToken, type OAuthResult } from './oauth.ts';
import {
  type CustomerPatch,
  createRecord,
  deleteRecordById,
  findRecord,
  type OrderPatch,
  type ProductPatch,
  triggerCompliance,
  uninstallApp,
  updateRecord,
} from './records.ts';
import { customerToRest, orderToRest, productToRest } from './rest.ts';
import type { Plan, ShopSizes, ShopState } from './shops.ts';
import { createShop, shopFor } from './state.ts';
import { isKnownTopic } from './topics.ts';
import type { CustomerRec, Kind, OrderRec, ProductRec } from './types.ts';
import { type Delivery, type DeliveryFilter, listDeliveries } from './webhooks.ts';

/** A control API failure with the HTTP status to answer. */
export class ControlError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** Summary of a shop. */
export type ShopInfo = {
  shop: string;
  name: string;
  plan: Plan;
  currency: string;
  installed: boolean;
  generated: ShopSizes;
  counts: ShopSizes;
  adminApiUrl: string;
};

function requireShop(rt: Runtime, domain: string): ShopState {
  const shop = shopFor(rt.sim, domain);
  if (!shop) throw new ControlError(404, `not a *.myshopify.com shop: ${domain}`);
  return shop;
}

/** Describes a shop (creating it with default sizes if it did not exist yet). */
export function shopInfo(rt: Runtime, domain: string): ShopInfo {
  const s = requireShop(rt, domain);
  return {
    shop: s.domain,
    name: s.name,
    plan: s.plan,
    currency: s.currency,
    installed: rt.sim.installed.has(s.domain),
    generated: {
      products: s.products.generated,
      customers: s.customers.generated,
      orders: s.orders.generated,
    },
    counts: {
      products: liveCount(s.products),
      customers: liveCount(s.customers),
      orders: liveCount(s.orders),
    },
    adminApiUrl: `${rt.sim.url}/${s.domain}/admin/api`,
  };
}

/** Creates (or replaces) a shop with chosen sizes and plan. */
export function createShopWithSizes(
  rt: Runtime,
  input: { shop: string; plan?: Plan } & Partial<ShopSizes>,
): ShopInfo {
  const { shop, plan, ...sizes } = input;
  if (!createShop(rt.sim, shop, sizes, plan))
    throw new ControlError(400, `not a *.myshopify.com shop: ${shop}`);
  rt.sim.buckets.delete(shop);
  return shopInfo(rt, shop);
}

/** A record in REST form with its gid, plus the deliveries the write caused. */
export type RecordResult = {
  id: number;
  admin_graphql_api_id: string;
  record: Record<string, unknown> | null;
  deliveries: Delivery[];
};

const TYPE: Record<Kind, string> = { product: 'Product', customer: 'Customer', order: 'Order' };

function restRecord(
  shop: ShopState,
  kind: Kind,
  rec: ProductRec | CustomerRec | OrderRec | null,
): Record<string, unknown> | null {
  if (!rec) return null;
  if (kind === 'product') return productToRest(rec as ProductRec);
  if (kind === 'customer') return customerToRest(rec as CustomerRec, shop);
  const o = rec as OrderRec;
  const customer =
    o.customerId === null ? null : (findRecord(shop, 'customer', o.customerId) as CustomerRec | null);
  return orderToRest(o, customer);
}

/** Patch types per kind. */
export type Patch = ProductPatch | CustomerPatch | OrderPatch;

/** Creates a record and emits its create webhook(s). */
export function createRecordIn(rt: Runtime, domain: string, kind: Kind, patch: Patch): RecordResult {
  const shop = requireShop(rt, domain);
  const { record, deliveries } = createRecord(rt, shop, kind, patch);
  const id = (record as ProductRec).id;
  return {
    id,
    admin_graphql_api_id: gid(TYPE[kind], id),
    record: restRecord(shop, kind, record),
    deliveries,
  };
}

/** Updates a record and emits its update webhook(s). */
export function updateRecordIn(
  rt: Runtime,
  domain: string,
  kind: Kind,
  id: number,
  patch: Patch,
): RecordResult {
  const shop = requireShop(rt, domain);
  const { record, deliveries } = updateRecord(rt, shop, kind, id, patch);
  if (!record) throw new ControlError(404, `${kind} ${id} not found`);
  return {
    id,
    admin_graphql_api_id: gid(TYPE[kind], id),
    record: restRecord(shop, kind, record),
    deliveries,
  };
}

/** Deletes a record and emits its delete webhook. */
export function deleteRecordIn(rt: Runtime, domain: string, kind: Kind, id: number): RecordResult {
  const shop = requireShop(rt, domain);
  if (!findRecord(shop, kind, id)) throw new ControlError(404, `${kind} ${id} not found`);
  const { deliveries } = deleteRecordById(rt, shop, kind, id);
  return { id, admin_graphql_api_id: gid(TYPE[kind], id), record: null, deliveries };
}

/** Reads a record in REST form. */
export function readRecordIn(rt: Runtime, domain: string, kind: Kind, id: number): Record<string, unknown> {
  const shop = requireShop(rt, domain);
  const rec = findRecord(shop, kind, id);
  if (!rec) throw new ControlError(404, `${kind} ${id} not found`);
  return restRecord(shop, kind, rec) as Record<string, unknown>;
}

/** Compliance topics by their control API names. */
export const COMPLIANCE_ROUTES = {
  'customers-data-request': 'customers/data_request',
  'customers-redact': 'customers/redact',
  'shop-redact': 'shop/redact',
} as const;

/** Fires a compliance webhook. */
export function compliance(
  rt: Runtime,
  domain: string,
  topic: 'customers/data_request' | 'customers/redact' | 'shop/redact',
  input: { customerId?: number; orderIds?: number[] },
): Delivery[] {
  return triggerCompliance(rt, requireShop(rt, domain), topic, input);
}

/** Uninstalls the app from a shop (app/uninstalled, then tokens revoked). */
export function uninstall(rt: Runtime, domain: string): Delivery[] {
  return uninstallApp(rt, requireShop(rt, domain));
}

/** Issues an offline token without the OAuth dance. */
export function issueAccessToken(
  rt: Runtime,
  domain: string,
  scopes: string[],
  expiring: boolean,
): OAuthResult['body'] {
  const shop = requireShop(rt, domain);
  return issueToken(rt.sim, shop.domain, scopes, expiring).body;
}

/** Makes an access or refresh token expire now. */
export function expireToken(rt: Runtime, token: string): void {
  const now = rt.sim.options.clock();
  const access = rt.sim.tokens.get(token);
  const refresh = rt.sim.refreshTokens.get(token);
  if (!access && !refresh) throw new ControlError(404, 'unknown token');
  if (access) access.expiresAt = now - 1;
  if (refresh) refresh.expiresAt = now - 1;
}

/** Revokes an access or refresh token. */
export function revokeToken(rt: Runtime, token: string): void {
  const access = rt.sim.tokens.get(token);
  const refresh = rt.sim.refreshTokens.get(token);
  if (!access && !refresh) throw new ControlError(404, 'unknown token');
  if (access) access.revoked = true;
  if (refresh) refresh.revoked = true;
}

/** Mints an App Bridge session token for a shop. */
export async function sessionToken(
  rt: Runtime,
  input: { shop: string; userId?: string; expiresInSeconds?: number },
) {
  const shop = requireShop(rt, input.shop);
  return mintSessionToken(rt.sim, { ...input, shop: shop.domain });
}

/** Changes chaos settings for the simulator, or for one shop. */
export function setChaos(rt: Runtime, patch: Partial<ChaosOptions>, domain?: string): void {
  if (domain) {
    const shop = requireShop(rt, domain);
    rt.sim.chaos.perShop.set(shop.domain, { ...rt.sim.chaos.perShop.get(shop.domain), ...patch });
  } else Object.assign(rt.sim.chaos.global, patch);
}

/** Turns every fault off everywhere. */
export function resetChaos(rt: Runtime): void {
  rt.sim.chaos.global = { ...NO_CHAOS };
  rt.sim.chaos.perShop.clear();
}

/** Current chaos settings. */
export function getChaos(rt: Runtime) {
  return { global: rt.sim.chaos.global, perShop: Object.fromEntries(rt.sim.chaos.perShop) };
}

/** Reads the delivery log. */
export function deliveries(rt: Runtime, filter: DeliveryFilter = {}): Delivery[] {
  return listDeliveries(rt.engine, filter);
}

/** Empties the delivery log (pending retries keep going). */
export function clearDeliveries(rt: Runtime): void {
  rt.engine.log.length = 0;
}

/** Sets an app-level subscription (as the app's TOML would), e.g. for compliance topics. */
export function setAppWebhook(rt: Runtime, topic: string, uri: string | null): void {
  if (!isKnownTopic(topic)) throw new ControlError(400, `unknown topic: ${topic}`);
  if (uri === null) rt.sim.appSubscriptions.delete(topic);
  else rt.sim.appSubscriptions.set(topic, uri);
}

/** The shop's GraphQL bucket, refilled to now. */
export function bucketStatus(rt: Runtime, domain: string): ThrottleStatus {
  const shop = requireShop(rt, domain);
  const now = rt.sim.options.clock();
  let bucket = rt.sim.buckets.get(shop.domain);
  if (!bucket) {
    bucket = createBucket(shop.plan, now);
    rt.sim.buckets.set(shop.domain, bucket);
  }
  refill(bucket, now);
  return throttleStatus(bucket);
}

/** Sets how many points are available right now (tests drive throttling with this). */
export function setBucket(rt: Runtime, domain: string, available: number): ThrottleStatus {
  bucketStatus(rt, domain);
  const bucket = rt.sim.buckets.get(requireShop(rt, domain).domain);
  if (!bucket) throw new GraphQLError('no bucket');
  bucket.available = Math.max(0, Math.min(bucket.max, available));
  bucket.at = rt.sim.options.clock();
  return throttleStatus(bucket);
}
