import { sql } from 'drizzle-orm';
import {
  bigint,
  doublePrecision,
  index,
  integer,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { tenants } from '../identity/tables.ts';

/**
 * OAuth `state` values between `/shopify/install` and `/shopify/callback` (issue 5): kept in the
 * database (not in memory, seeds 000/003's gap) so any API process can finish an install another
 * one started. Only a SHA-256 of the state is stored; it is single use (`used_at`), expires after
 * ten minutes and is bound to the shop it was issued for. Global: there is no tenant yet.
 */
export const shopifyOauthStates = pgTable(
  'shopify_oauth_states',
  {
    stateHash: text('state_hash').primaryKey(),
    shopDomain: text('shop_domain').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
  },
  (t) => [index('shopify_oauth_states_expires_idx').on(t.expiresAt)],
);

/**
 * A tenant's link to its Shopify shop and the offline token that lets StoreOps act for it. Tokens
 * are vault values (AES-256-GCM, key id inside, bound to the row id and column); `token_key_id`
 * repeats the key id so `storeops keys rotate` can find stale rows with an index.
 *
 * status: `active` (usable), `needs_reauth` (refresh failed or token revoked: the merchant must
 * open the app again), `uninstalled` (app removed or disconnected; tokens erased; shop data
 * redacted 48 h later unless reinstalled), `redacted` (shop data erased after uninstall).
 */
export const shopifyConnections = pgTable(
  'shopify_connections',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    shopDomain: text('shop_domain').notNull(),
    shopName: text('shop_name'),
    status: text('status').notNull().default('active'),
    /** oauth | token_exchange | manual */
    source: text('source').notNull(),
    scopes: text('scopes').notNull().default(''),
    accessTokenEnc: text('access_token_enc'),
    refreshTokenEnc: text('refresh_token_enc'),
    tokenKeyId: text('token_key_id'),
    /** Bumped on every token change: a caller that got a 401 with version N refreshes only if still N. */
    tokenVersion: integer('token_version').notNull().default(0),
    /** Null for non-expiring offline tokens. */
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    refreshTokenExpiresAt: timestamp('refresh_token_expires_at', { withTimezone: true }),
    lastRefreshedAt: timestamp('last_refreshed_at', { withTimezone: true }),
    /** Short, secret-free reason for the last failure (shown in status). */
    lastError: text('last_error'),
    installedAt: timestamp('installed_at', { withTimezone: true }).notNull().defaultNow(),
    uninstalledAt: timestamp('uninstalled_at', { withTimezone: true }),
    /** When the shop's data is redacted unless the app is reinstalled first (uninstall + 48 h). */
    redactAt: timestamp('redact_at', { withTimezone: true }),
    redactedAt: timestamp('redacted_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('shopify_connections_shop_key').on(sql`lower(${t.shopDomain})`),
    uniqueIndex('shopify_connections_tenant_key').on(t.tenantId),
    index('shopify_connections_expiry_idx').on(t.expiresAt),
    index('shopify_connections_key_idx').on(t.tokenKeyId),
  ],
);

/**
 * Each shop's Admin GraphQL cost bucket as last seen, with the cost reserved since (issue 7): shared
 * by every worker process so all pace against one budget. Global: a shop's bucket is not tenant
 * data. `rate-budget.ts` reads and writes it.
 */
export const shopifyRateBudgets = pgTable('shopify_rate_budgets', {
  shopDomain: text('shop_domain').primaryKey(),
  /** Points available at `at` after our own reservations (may be negative: callers queue behind it). */
  available: doublePrecision('available').notNull(),
  maximum: doublePrecision('maximum').notNull(),
  restoreRate: doublePrecision('restore_rate').notNull(),
  at: timestamp('at', { withTimezone: true }).notNull(),
  /** Cost reserved by requests still waiting for their answer (Shopify has not charged it yet). */
  pending: doublePrecision('pending').notNull().default(0),
  throttledCount: bigint('throttled_count', { mode: 'number' }).notNull().default(0),
});
