import type { AttachShopInput } from '../identity/index.ts';
import type { Vault } from '../platform/crypto/vault.ts';
import type { Database, Tx } from '../platform/db/client.ts';
import type { Queue } from '../platform/jobs.ts';
import type { Logger } from '../platform/logger.ts';
import type { ConnectionSource, ConnectionStatus, ConnectionView } from './api.ts';
import type { ShopifyEventBus } from './events.ts';
import type { ShopifyApp } from './oauth.ts';

/**
 * The `shopify_connections` rows (issue 5): their shape, the API view, and the lookups. Tokens stay
 * sealed here (connection-grants.ts seals them, connection-tokens.ts opens them).
 */

/** What identity provides for shops (src/identity/index.ts); both run inside the caller's transaction. */
export type ShopTenants = {
  /**
   * Creates the tenant for a newly connected shop, or reattaches `existingTenantId` (reactivating it
   * if it was marked uninstalled). Returns the tenant id.
   */
  attachShop(tx: Tx, input: AttachShopInput): Promise<string>;
  /** Marks the tenant as uninstalled (its Shopify app was removed or disconnected). */
  markUninstalled(tx: Tx, tenantId: string, shopDomain: string): Promise<void>;
};

/** Shop facts read with the new token before anything is stored. */
export type ShopInfo = { name: string; currencyCode?: string; ianaTimezone?: string };

/** A connection row as stored (tokens still sealed). */
export type ConnectionRow = {
  id: string;
  tenant_id: string;
  shop_domain: string;
  shop_name: string | null;
  status: ConnectionStatus;
  source: ConnectionSource;
  scopes: string;
  access_token_enc: string | null;
  refresh_token_enc: string | null;
  token_key_id: string | null;
  token_version: number;
  expires_at: Date | null;
  refresh_token_expires_at: Date | null;
  last_refreshed_at: Date | null;
  last_error: string | null;
  installed_at: Date;
  uninstalled_at: Date | null;
  redact_at: Date | null;
  redacted_at: Date | null;
};

export const COLUMNS = `id, tenant_id, shop_domain, shop_name, status, source, scopes, access_token_enc,
  refresh_token_enc, token_key_id, token_version, expires_at, refresh_token_expires_at, last_refreshed_at,
  last_error, installed_at, uninstalled_at, redact_at, redacted_at`;

/** Shopify sends shop/redact 48 hours after an uninstall; StoreOps schedules its own at the same time. */
export const REDACT_AFTER_MS = 48 * 60 * 60 * 1000;
/** The scheduled job refreshes expiring tokens this long before they expire. */
export const REFRESH_AHEAD_MS = 10 * 60 * 1000;
/** A call refreshes first when the token has less than this left. */
export const REFRESH_ON_USE_MS = 60 * 1000;

export const sealContext = (connectionId: string, column: 'access_token' | 'refresh_token') =>
  `shopify_connections:${connectionId}:${column}`;

const toDate = (value: Date | string | null): Date | null =>
  value === null ? null : value instanceof Date ? value : new Date(value);

export function normalizeRow(row: ConnectionRow): ConnectionRow {
  return {
    ...row,
    expires_at: toDate(row.expires_at),
    refresh_token_expires_at: toDate(row.refresh_token_expires_at),
    last_refreshed_at: toDate(row.last_refreshed_at),
    installed_at: toDate(row.installed_at) as Date,
    uninstalled_at: toDate(row.uninstalled_at),
    redact_at: toDate(row.redact_at),
    redacted_at: toDate(row.redacted_at),
  };
}

/** The API view of a row: status, scopes, expiry and health, never a token. */
export function connectionView(row: ConnectionRow, now = Date.now()): ConnectionView {
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  const health: ConnectionView['health'] =
    row.status === 'needs_reauth'
      ? 'needs_reauth'
      : row.status !== 'active'
        ? 'disconnected'
        : row.expires_at && row.expires_at.getTime() - now < REFRESH_AHEAD_MS
          ? 'expiring'
          : 'ok';
  return {
    shop: row.shop_domain,
    shopName: row.shop_name,
    tenantId: row.tenant_id,
    status: row.status,
    source: row.source,
    scopes: row.scopes ? row.scopes.split(',').filter(Boolean) : [],
    expiresAt: iso(row.expires_at),
    lastRefreshedAt: iso(row.last_refreshed_at),
    installedAt: row.installed_at.toISOString(),
    uninstalledAt: iso(row.uninstalled_at),
    redactAt: iso(row.redact_at),
    health,
    lastError: row.last_error,
  };
}

/** Payload of the scheduled redaction job. */
export type RedactJob = { connectionId: string; uninstalledAt: string };

/** What the connection functions work with (wired once by `createConnections`). */
export type ConnectionDeps = {
  database: Database;
  vault: Vault;
  logger: Logger;
  /** The app's OAuth settings; throws 503 SHOPIFY_NOT_CONFIGURED when absent. */
  app: () => ShopifyApp;
  tenants: ShopTenants;
  events: ShopifyEventBus;
  /** Queue that runs the redaction 48 h after an uninstall (defined by index.ts). */
  redactQueue: () => Queue<RedactJob>;
};

const first = (rows: ConnectionRow[]) => (rows[0] ? normalizeRow(rows[0]) : undefined);

/** Locks the connection of `shop` for the rest of the transaction. */
export async function lockByShop(tx: Tx, shop: string): Promise<ConnectionRow | undefined> {
  const { rows } = await tx.query<ConnectionRow>(
    `SELECT ${COLUMNS} FROM shopify_connections WHERE lower(shop_domain) = lower($1) FOR UPDATE`,
    [shop],
  );
  return first(rows);
}

/** Locks the connection `id` for the rest of the transaction. */
export async function lockById(tx: Tx, id: string): Promise<ConnectionRow | undefined> {
  const { rows } = await tx.query<ConnectionRow>(
    `SELECT ${COLUMNS} FROM shopify_connections WHERE id = $1 FOR UPDATE`,
    [id],
  );
  return first(rows);
}

/** Reads a connection by shop domain as the owner (system work: webhooks, jobs, install). */
export async function findByShop(database: Database, shop: string): Promise<ConnectionRow | undefined> {
  const { rows } = await database.query<ConnectionRow>(
    `SELECT ${COLUMNS} FROM shopify_connections WHERE lower(shop_domain) = lower($1)`,
    [shop],
  );
  return first(rows);
}

/** Reads a connection by id as the owner. */
export async function findById(database: Database, id: string): Promise<ConnectionRow | undefined> {
  const { rows } = await database.query<ConnectionRow>(
    `SELECT ${COLUMNS} FROM shopify_connections WHERE id = $1`,
    [id],
  );
  return first(rows);
}

/** The tenant's connection, read under row-level security for that tenant. */
export async function findByTenant(database: Database, tenantId: string): Promise<ConnectionRow | undefined> {
  return database.withTenant(tenantId, async (tx) => {
    const { rows } = await tx.query<ConnectionRow>(`SELECT ${COLUMNS} FROM shopify_connections LIMIT 1`);
    return first(rows);
  });
}

/** Every connection (operators' status page). */
export async function listAll(database: Database): Promise<ConnectionRow[]> {
  const { rows } = await database.query<ConnectionRow>(
    `SELECT ${COLUMNS} FROM shopify_connections ORDER BY shop_domain LIMIT 1000`,
  );
  return rows.map(normalizeRow);
}

/** The shop already linked to `tenantId`, if any. */
export async function shopOfTenant(tx: Tx, tenantId: string): Promise<string | undefined> {
  const { rows } = await tx.query<{ shop_domain: string }>(
    'SELECT shop_domain FROM shopify_connections WHERE tenant_id = $1',
    [tenantId],
  );
  return rows[0]?.shop_domain;
}

/** Active connections whose token expires within `REFRESH_AHEAD_MS` and can be refreshed. */
export async function dueForRefresh(database: Database, limit = 500): Promise<string[]> {
  const { rows } = await database.query<{ id: string }>(
    `SELECT id FROM shopify_connections
      WHERE status = 'active' AND refresh_token_enc IS NOT NULL AND expires_at IS NOT NULL
        AND expires_at < now() + make_interval(secs => $1)
      ORDER BY expires_at LIMIT $2`,
    [REFRESH_AHEAD_MS / 1000, limit],
  );
  return rows.map((r) => r.id);
}
