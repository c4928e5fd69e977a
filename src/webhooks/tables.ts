import { sql } from 'drizzle-orm';
import {
  bigint,
  date,
  index,
  integer,
  json,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { tenants } from '../identity/tables.ts';

const ts = (name: string) => timestamp(name, { withTimezone: true });

/**
 * The inbox and event log (issue 6): one row per verified delivery of any source (`shopify` today;
 * `stripe`, `pixel` with their issues), written before the 200 and unique per `(source, dedupe_key)`
 * so a source's retries of a delivery are stored once. Each source's intake adapter derives the
 * key (Shopify: `<shop domain>/<X-Shopify-Webhook-Id>`).
 *
 * status: `pending` (waiting for its first attempt or a retry at `run_at`), `processing` (claimed
 * by a worker; `run_at` is then the lease expiry), `processed`, `duplicate` (the same Shopify event
 * was already applied through another subscription), `skipped` (no handler for the topic), `dead`
 * (retries exhausted or permanently invalid), `orphaned` (verified, but for a shop StoreOps does
 * not hold: `tenant_id` is null and the row is never applied).
 *
 * `payload` is `json` (validated, stored as sent, cheaper to write than `jsonb`) and is pruned by
 * retention (`payload_pruned_at`); the row itself stays, so counts survive.
 */
export const webhookInbox = pgTable(
  'webhook_inbox',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    /**
     * No foreign key on purpose: the check would lock the tenant's row (FOR KEY SHARE) for every
     * delivery, and concurrent intake batches of one shop would then share it through MultiXacts on
     * the hottest write path. Tenants are never deleted (only deactivated); row-level security uses
     * the column as it is.
     */
    tenantId: uuid('tenant_id'),
    /** Who sent it: `shopify`, later `stripe`, `pixel`… (handlers subscribe per source). */
    source: text('source').notNull().default('shopify'),
    /** The source's identity of one delivery, unique within the source (its retries repeat it). */
    dedupeKey: text('dedupe_key').notNull(),
    shopDomain: text('shop_domain').notNull(),
    topic: text('topic').notNull(),
    /** The source's delivery id (X-Shopify-Webhook-Id: Shopify's retries repeat it). */
    webhookId: text('webhook_id').notNull(),
    /** X-Shopify-Event-Id: one merchant action (several subscriptions share it). */
    eventId: text('event_id'),
    triggeredAt: ts('triggered_at'),
    apiVersion: text('api_version'),
    payload: json('payload'),
    payloadBytes: integer('payload_bytes').notNull(),
    status: text('status').notNull(),
    /** Attempts since it was (re)queued; replays and redrives start again at 0. */
    attempts: integer('attempts').notNull().default(0),
    /** Incremented by every claim, never reset: the fencing token of the worker holding it. */
    claims: integer('claims').notNull().default(0),
    /**
     * Why the row is (re)queued: `delivery` (Shopify sent it), `replay` (an operator asked to apply
     * it again, even if the Shopify event was applied before) or `redrive` (a dead letter retried).
     */
    trigger: text('trigger').notNull().default('delivery'),
    runAt: ts('run_at').notNull().defaultNow(),
    receivedAt: ts('received_at').notNull().defaultNow(),
    processedAt: ts('processed_at'),
    lastError: text('last_error'),
    payloadPrunedAt: ts('payload_pruned_at'),
  },
  (t) => [
    uniqueIndex('webhook_inbox_dedupe_key').on(t.source, t.dedupeKey),
    // Adopting a newly installed shop's orphans (the only lookup by shop outside a tenant).
    index('webhook_inbox_orphans_idx').on(t.shopDomain, t.receivedAt).where(sql`status = 'orphaned'`),
    index('webhook_inbox_due_idx').on(t.runAt).where(sql`status IN ('pending', 'processing')`),
    index('webhook_inbox_tenant_idx').on(t.tenantId, t.id),
    index('webhook_inbox_dead_idx').on(t.tenantId, t.id).where(sql`status = 'dead'`),
    // Retention finds finished rows that still hold a payload without scanning the table.
    index('webhook_inbox_prunable_idx')
      .on(t.id)
      .where(sql`payload IS NOT NULL AND status IN ('processed', 'duplicate', 'skipped', 'orphaned')`),
  ],
);

/** Every processing attempt of an inbox row, with its outcome and error (the event's history). */
export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    inboxId: bigint('inbox_id', { mode: 'number' })
      .notNull()
      .references(() => webhookInbox.id, { onDelete: 'cascade' }),
    attempt: integer('attempt').notNull(),
    /** delivery | retry | replay | redrive */
    trigger: text('trigger').notNull(),
    /** processed | duplicate | skipped | failed | dead */
    outcome: text('outcome').notNull(),
    error: text('error'),
    startedAt: ts('started_at').notNull(),
    finishedAt: ts('finished_at').notNull().defaultNow(),
  },
  (t) => [index('webhook_attempts_inbox_idx').on(t.inboxId)],
);

/**
 * Shopify events already applied, by X-Shopify-Event-Id: written in the transaction that applies
 * the event, so a second subscription's copy of the same event is recognised as a duplicate.
 */
export const webhookEventReceipts = pgTable(
  'webhook_event_receipts',
  {
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    eventId: text('event_id').notNull(),
    inboxId: bigint('inbox_id', { mode: 'number' }).notNull(),
    appliedAt: ts('applied_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.eventId] }),
    index('webhook_event_receipts_applied_idx').on(t.appliedAt),
  ],
);

/**
 * The compliance log (GDPR topics): one entry per request, with its status, what was done and,
 * for `customers/data_request`, the export the operator sends to the merchant.
 * status: `pending` (failed attempt, retrying), `completed`, `failed` (dead-lettered), `skipped`.
 */
export const webhookComplianceRequests = pgTable(
  'webhook_compliance_requests',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    inboxId: bigint('inbox_id', { mode: 'number' }).notNull(),
    topic: text('topic').notNull(),
    shopDomain: text('shop_domain').notNull(),
    shopifyCustomerId: bigint('shopify_customer_id', { mode: 'number' }),
    /** customers/data_request only: where the operator sends the export. */
    customerEmail: text('customer_email'),
    orderIds: bigint('order_ids', { mode: 'number' }).array(),
    /** Shopify's data_request id, when given. */
    dataRequestId: bigint('data_request_id', { mode: 'number' }),
    status: text('status').notNull(),
    requestedAt: ts('requested_at').notNull().defaultNow(),
    completedAt: ts('completed_at'),
    summary: jsonb('summary'),
    export: jsonb('export'),
    error: text('error'),
  },
  (t) => [
    uniqueIndex('webhook_compliance_requests_inbox_key').on(t.inboxId),
    index('webhook_compliance_requests_tenant_idx').on(t.tenantId, t.requestedAt),
  ],
);

/** The topics a tenant wants subscribed and the last `ensure` result. */
export const webhookSubscriptionSettings = pgTable('webhook_subscription_settings', {
  tenantId: uuid('tenant_id')
    .primaryKey()
    .references(() => tenants.id, { onDelete: 'cascade' }),
  /** Null (or no row): the default set (topics.ts). */
  topics: text('topics').array(),
  lastEnsuredAt: ts('last_ensured_at'),
  lastEnsureResult: jsonb('last_ensure_result'),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

/**
 * Daily counts by tenant, topic and status of events deleted by retention, so totals survive the
 * rows (orphans have no tenant).
 */
export const webhookEventCounts = pgTable(
  'webhook_event_counts',
  {
    tenantId: uuid('tenant_id').references(() => tenants.id, { onDelete: 'cascade' }),
    day: date('day').notNull(),
    topic: text('topic').notNull(),
    status: text('status').notNull(),
    count: bigint('count', { mode: 'number' }).notNull(),
  },
  (t) => [
    uniqueIndex('webhook_event_counts_key').on(
      sql`coalesce(${t.tenantId}, '00000000-0000-0000-0000-000000000000'::uuid)`,
      t.day,
      t.topic,
      t.status,
    ),
  ],
);
