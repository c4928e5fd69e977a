import { sql } from 'drizzle-orm';
import {
  bigint,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';
import { tenants } from '../identity/tables.ts';

/*
 * Sync bookkeeping (issue 7). One `sync_state` row per tenant and resource holds the checkpoint a
 * crashed or restarted run resumes from, the lease that makes runs singletons, and the live
 * progress the status route shows. `sync_runs` keeps the history (what each run did and fixed).
 */

const ts = (name: string) => timestamp(name, { withTimezone: true });

/** Per tenant and resource (`products`, `customers`, `orders`): checkpoint, lease and progress. */
export const syncState = pgTable(
  'sync_state',
  {
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    resource: text('resource').notNull(),
    /** idle | running | failed */
    status: text('status').notNull().default('idle'),
    /** The run holding the lease (a run id), null when idle. */
    runId: uuid('run_id'),
    /** A run that stops heartbeating loses the lease after this time (crash, kill -9). */
    leaseUntil: ts('lease_until'),
    /** full | incremental | reconcile: what the current (or last) run does. */
    mode: text('mode'),
    /**
     * Where a full backfill resumes: `{ bulkOperationId, lastId, written }` — every record with an
     * id ≤ lastId is stored. Null when no backfill is under way.
     */
    backfill: jsonb('backfill'),
    /** Newest Shopify `updated_at` fully synced; incremental runs start here minus the overlap. */
    updatedAtCursor: ts('updated_at_cursor'),
    /** When the last complete full backfill finished. */
    backfilledAt: ts('backfilled_at'),
    lastIncrementalAt: ts('last_incremental_at'),
    lastReconcileAt: ts('last_reconcile_at'),
    /** Progress of the current run. */
    done: bigint('done', { mode: 'number' }).notNull().default(0),
    total: bigint('total', { mode: 'number' }),
    /** Records per second over the current run. */
    rate: doublePrecision('rate'),
    startedAt: ts('started_at'),
    finishedAt: ts('finished_at'),
    lastError: text('last_error'),
    lastErrorAt: ts('last_error_at'),
    /** Minutes between scheduled incremental runs (null: the default); 0 disables them. */
    incrementalEveryMinutes: integer('incremental_every_minutes'),
    /** Hours between scheduled reconciles (null: the default); 0 disables them. */
    reconcileEveryHours: integer('reconcile_every_hours'),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.resource] })],
);

/** One row per sync run: mode, outcome and the report (counts written, deleted, repaired). */
export const syncRuns = pgTable(
  'sync_runs',
  {
    id: uuid('id').primaryKey(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    resource: text('resource').notNull(),
    mode: text('mode').notNull(),
    /** running | completed | failed | interrupted */
    status: text('status').notNull(),
    trigger: text('trigger').notNull(),
    startedAt: ts('started_at').notNull().defaultNow(),
    finishedAt: ts('finished_at'),
    report: jsonb('report').notNull().default(sql`'{}'::jsonb`),
    error: text('error'),
  },
  (t) => [index('sync_runs_tenant_idx').on(t.tenantId, t.startedAt)],
);
