import { z } from 'zod';
import { tenantParams } from '../identity/api.ts';
import { isoTimeQueryDate, paginationQuery } from '../platform/http/schemas.ts';
import { SUBSCRIBABLE_TOPICS } from './topics.ts';

export { tenantParams };

/** Zod schemas of the webhook management API (issue 6), shared with web/. */

/** Every status an event can have (see tables.ts). */
export const EVENT_STATUSES = [
  'pending',
  'processing',
  'processed',
  'duplicate',
  'skipped',
  'dead',
  'orphaned',
] as const;

const time = isoTimeQueryDate;
/** Shopify's `orders/create` or Stripe's `payment_intent.succeeded`. */
const topic = z
  .string()
  .max(128)
  .regex(
    /^[a-z0-9_]+(\/[a-z0-9_]+)+$|^[a-z0-9_]+(\.[a-z0-9_]+)+$/,
    'must look like orders/create or charge.refunded',
  );

/** `:event` */
export const eventParams = tenantParams.extend({
  event: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER),
});

/** An event source: `shopify`, `stripe`, later `pixel`. */
export const eventSource = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,31}$/, 'must look like shopify')
  .meta({ example: 'shopify' });

/** Filters shared by the list and bulk replay. */
export const eventFilterSchema = z.object({
  source: eventSource.optional().describe('Only events of this source (shopify, stripe, pixel…)'),
  topic: topic.optional(),
  /** One status or a comma-separated list. */
  status: z
    .string()
    .max(200)
    .transform((v) => v.split(',').map((s) => s.trim()))
    .pipe(z.array(z.enum(EVENT_STATUSES)).min(1))
    .optional(),
  from: time.optional(),
  to: time.optional(),
  shop: z
    .string()
    .max(255)
    .regex(/^[A-Za-z0-9][A-Za-z0-9-]*\.myshopify\.com$/)
    .optional(),
  q: z.string().min(1).max(200).optional(),
});

/** GET /events */
export const eventListQuery = paginationQuery.extend(eventFilterSchema.shape);

/** GET /events/stats */
export const statsQuery = z.object({ from: time.optional(), to: time.optional() });

/** GET /events/stream */
export const streamQuery = z.object({ source: eventSource.optional(), topic: topic.optional() });

const isoOut = z.string().meta({ format: 'date-time' });

/** One event in a list. */
export const eventSummarySchema = z.object({
  id: z.number().int(),
  source: z.string().describe('Who sent it: shopify, stripe (later pixel)'),
  topic: z.string(),
  shopDomain: z.string(),
  webhookId: z.string(),
  eventId: z.string().nullable(),
  status: z.enum(EVENT_STATUSES),
  attempts: z.number().int(),
  trigger: z.enum(['delivery', 'replay', 'redrive']),
  apiVersion: z.string().nullable(),
  triggeredAt: isoOut.nullable(),
  receivedAt: isoOut,
  processedAt: isoOut.nullable(),
  lastError: z.string().nullable(),
  payloadBytes: z.number().int(),
  payloadPruned: z.boolean(),
});

/** One attempt of an event. */
export const attemptSchema = z.object({
  attempt: z.number().int(),
  trigger: z.string(),
  outcome: z.enum(['processed', 'duplicate', 'skipped', 'failed', 'dead']),
  error: z.string().nullable(),
  startedAt: isoOut,
  finishedAt: isoOut,
});

/** GET /events/:event */
export const eventDetailSchema = eventSummarySchema.extend({
  payload: z.unknown().describe('The JSON body as the source sent it; null once pruned'),
  history: z.array(attemptSchema),
});

/** A page of events. */
export const eventPageSchema = z.object({
  events: z.array(eventSummarySchema),
  nextCursor: z.string().nullable(),
});

/** POST /events/replay */
export const replayBody = eventFilterSchema.extend({
  /** At most this many events (oldest first). */
  limit: z.number().int().min(1).max(10_000).default(1000),
});

/** POST /dead-letters/redrive */
export const redriveBody = z.object({
  source: eventSource.optional(),
  topic: topic.optional(),
  limit: z.number().int().min(1).max(10_000).default(1000),
});

/** Result of a bulk replay or redrive. */
export const requeueResultSchema = z.object({
  queued: z.number().int(),
  eventIds: z.array(z.number().int()),
  limitReached: z.boolean(),
});

/** GET /events/stats */
export const statsSchema = z.object({
  counts: z.array(z.object({ topic: z.string(), status: z.string(), count: z.number().int() })),
});

/** A topic subscribable through the Admin API. */
export const subscribableTopic = z.enum(
  Object.keys(SUBSCRIBABLE_TOPICS) as [keyof typeof SUBSCRIBABLE_TOPICS],
);

/** A webhook subscription at Shopify. */
export const subscriptionSchema = z.object({
  id: z.string().describe('Numeric id (the tail of the gid), as used in the path'),
  gid: z.string(),
  topic: z.string(),
  uri: z.string(),
  format: z.string(),
  includeFields: z.array(z.string()),
  filter: z.string().nullable(),
  apiVersion: z.string().nullable(),
  createdAt: z.string().nullable(),
  updatedAt: z.string().nullable(),
});

/** `:id` of a subscription: its numeric id. */
export const subscriptionParams = tenantParams.extend({ id: z.string().regex(/^\d{1,20}$/) });

/** POST /webhook-subscriptions */
export const registerBody = z.object({
  topic: subscribableTopic,
  /** Defaults to `${STOREOPS_PUBLIC_URL}/webhooks`. */
  uri: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .optional(),
  includeFields: z.array(z.string().min(1).max(100)).max(100).optional(),
  filter: z.string().min(1).max(1000).optional(),
});

/** GET/PUT /webhook-subscriptions/settings */
export const subscriptionSettingsSchema = z.object({
  topics: z.array(z.string()),
  isDefault: z.boolean(),
  callbackUrl: z.string(),
  lastEnsuredAt: isoOut.nullable(),
  lastEnsureResult: z.record(z.string(), z.number()).nullable(),
});

/** PUT /webhook-subscriptions/settings: null goes back to the default topics. */
export const settingsBody = z.object({ topics: z.array(subscribableTopic).max(50).nullable() });

/** POST /webhook-subscriptions/ensure */
export const ensureResultSchema = z.object({
  callbackUrl: z.string(),
  desired: z.array(z.string()),
  created: z.array(subscriptionSchema),
  deleted: z.array(
    z.object({
      id: z.string(),
      gid: z.string(),
      topic: z.string(),
      uri: z.string(),
      reason: z.enum(['not desired', 'other address', 'duplicate']),
    }),
  ),
  kept: z.number().int(),
});

/** A compliance-log entry. */
export const complianceRequestSchema = z.object({
  id: z.string(),
  eventId: z.number().int(),
  topic: z.string(),
  shopDomain: z.string(),
  customerId: z.number().int().nullable(),
  customerEmail: z.string().nullable(),
  orderIds: z.array(z.number().int()),
  dataRequestId: z.number().int().nullable(),
  status: z.enum(['pending', 'completed', 'failed', 'skipped']),
  requestedAt: isoOut,
  completedAt: isoOut.nullable(),
  summary: z.record(z.string(), z.unknown()).nullable(),
  error: z.string().nullable(),
});

/** GET /compliance-requests/:id: the entry with its export (customers/data_request). */
export const complianceDetailSchema = complianceRequestSchema.extend({
  export: z.unknown().describe('customers/data_request: everything StoreOps holds on the customer'),
});

/** `:id` of a compliance request. */
export const complianceParams = tenantParams.extend({ id: z.uuid() });
