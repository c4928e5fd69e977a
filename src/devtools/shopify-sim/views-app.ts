/** GraphQL views of app-level objects: app, shop, webhook subscriptions, bulk operations, pixels. */
import type { BulkOp } from './bulk.ts';
import type { Ctx } from './context.ts';
import { gid, isoTime } from './format.ts';
import { hashString } from './rng.ts';
import type { DeletionEvent, ShopState, Subscription, WebPixel } from './shops.ts';
import type { SimState } from './state.ts';
import { topicToEnum } from './topics.ts';

/** The App view: the one app this simulator serves, with a stable id derived from its client id. */
export function appView(sim: SimState) {
  return { id: gid('App', 1_000_000 + hashString(sim.options.apiKey)), apiKey: sim.options.apiKey };
}

/** The Shop view. */
export function shopView(shop: ShopState) {
  const plan = {
    standard: { displayName: 'Basic', shopifyPlus: false },
    advanced: { displayName: 'Advanced', shopifyPlus: false },
    plus: { displayName: 'Shopify Plus', shopifyPlus: true },
  }[shop.plan];
  return {
    __typename: 'Shop',
    id: gid('Shop', shop.id),
    name: shop.name,
    email: `owner@${shop.domain}`,
    contactEmail: `owner@${shop.domain}`,
    myshopifyDomain: shop.domain,
    primaryDomain: { host: shop.domain, url: `https://${shop.domain}` },
    url: `https://${shop.domain}`,
    currencyCode: shop.currency,
    ianaTimezone: 'UTC',
    timezoneAbbreviation: 'UTC',
    plan: { ...plan, partnerDevelopment: false },
    createdAt: isoTime(shop.createdAt),
    updatedAt: isoTime(shop.createdAt),
  };
}

/** A WebhookSubscription view. */
export function subscriptionView(sub: Subscription) {
  return {
    __typename: 'WebhookSubscription',
    id: gid('WebhookSubscription', sub.id),
    topic: topicToEnum(sub.topic),
    format: sub.format,
    uri: sub.uri,
    callbackUrl: sub.uri,
    endpoint: { __typename: 'WebhookHttpEndpoint', callbackUrl: sub.uri },
    includeFields: sub.includeFields,
    filter: sub.filter,
    apiVersion: { handle: sub.apiVersion, displayName: sub.apiVersion, supported: true },
    createdAt: isoTime(sub.createdAt),
    updatedAt: isoTime(sub.updatedAt),
  };
}

/** A BulkOperation view; the URL only appears once the file is complete. */
export function bulkView(ctx: Pick<Ctx, 'sim'>, op: BulkOp) {
  const done = op.status === 'COMPLETED';
  return {
    __typename: 'BulkOperation',
    id: gid('BulkOperation', op.id),
    status: op.status,
    errorCode: op.errorCode,
    createdAt: isoTime(op.createdAt),
    completedAt: op.completedAt === null ? null : isoTime(op.completedAt),
    objectCount: String(op.objectCount),
    rootObjectCount: String(op.rootObjectCount),
    fileSize: done && op.objectCount > 0 ? String(op.fileSize) : null,
    url: done && op.objectCount > 0 ? `${ctx.sim.url}/_sim/bulk/${op.id}.jsonl` : null,
    partialDataUrl:
      op.status === 'FAILED' && op.objectCount > 0 ? `${ctx.sim.url}/_sim/bulk/${op.id}.jsonl` : null,
    query: op.query,
    type: 'QUERY',
  };
}

/** A WebPixel view; settings come back as the JSON string that was stored. */
export function pixelView(p: WebPixel) {
  return { __typename: 'WebPixel', id: gid('WebPixel', p.id), settings: p.settings };
}

/** A DeletionEvent view. */
export function deletionView(e: DeletionEvent) {
  return {
    subjectId: gid(e.subjectType === 'PRODUCT' ? 'Product' : 'Collection', e.subjectId),
    subjectType: e.subjectType,
    occurredAt: isoTime(e.occurredAt),
  };
}
