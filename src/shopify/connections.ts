import { randomUUID } from 'node:crypto';
import type { AttachShopInput } from '../identity/shop-tenants.ts';
import type { SecretStore, Vault } from '../platform/crypto/vault.ts';
import type { Database, Tx } from '../platform/db/client.ts';
import { conflict } from '../platform/errors.ts';
import type { Queue } from '../platform/jobs.ts';
import type { Logger } from '../platform/logger.ts';
import { type AdminClient, createAdminClient, ShopifyAdminError, type TokenSource } from './admin-client.ts';
import type { ConnectionSource, ConnectionStatus, ConnectionView } from './api.ts';
import type { ShopifyEventBus } from './events.ts';
import { OAuthGrantError, refreshGrant, type ShopifyApp, type TokenGrant } from './oauth.ts';

/**
 * The `shopify_connections` store (issue 5): the only code that reads or writes a shop's tokens.
 * Tokens are sealed by the vault with the row id and column as context, decrypted only to make a
 * call or to answer the token endpoint, and erased on uninstall.
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

const COLUMNS = `id, tenant_id, shop_domain, shop_name, status, source, scopes, access_token_enc,
  refresh_token_enc, token_key_id, token_version, expires_at, refresh_token_expires_at, last_refreshed_at,
  last_error, installed_at, uninstalled_at, redact_at, redacted_at`;

/** Shopify sends shop/redact 48 hours after an uninstall; StoreOps schedules its own at the same time. */
export const REDACT_AFTER_MS = 48 * 60 * 60 * 1000;
/** The scheduled job refreshes expiring tokens this long before they expire. */
export const REFRESH_AHEAD_MS = 10 * 60 * 1000;
/** A call refreshes first when the token has less than this left. */
const REFRESH_ON_USE_MS = 60 * 1000;

const sealContext = (connectionId: string, column: 'access_token' | 'refresh_token') =>
  `shopify_connections:${connectionId}:${column}`;

const toDate = (value: Date | string | null): Date | null =>
  value === null ? null : value instanceof Date ? value : new Date(value);

function normalizeRow(row: ConnectionRow): ConnectionRow {
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

/** The connections store; see the JSDoc of each function. */
export function createConnections(deps: {
  database: Database;
  vault: Vault;
  logger: Logger;
  /** The app's OAuth settings; throws 503 SHOPIFY_NOT_CONFIGURED when absent. */
  app: () => ShopifyApp;
  tenants: ShopTenants;
  events: ShopifyEventBus;
  /** Queue that runs `redactScheduled` 48 h after an uninstall (defined by index.ts). */
  redactQueue: () => Queue<RedactJob>;
}) {
  const { database, vault, logger, events } = deps;

  async function lockByShop(tx: Tx, shop: string): Promise<ConnectionRow | undefined> {
    const { rows } = await tx.query<ConnectionRow>(
      `SELECT ${COLUMNS} FROM shopify_connections WHERE lower(shop_domain) = lower($1) FOR UPDATE`,
      [shop],
    );
    return rows[0] ? normalizeRow(rows[0]) : undefined;
  }

  async function lockById(tx: Tx, id: string): Promise<ConnectionRow | undefined> {
    const { rows } = await tx.query<ConnectionRow>(
      `SELECT ${COLUMNS} FROM shopify_connections WHERE id = $1 FOR UPDATE`,
      [id],
    );
    return rows[0] ? normalizeRow(rows[0]) : undefined;
  }

  /** Reads a connection by shop domain as the owner (system work: webhooks, jobs, install). */
  async function findByShop(shop: string): Promise<ConnectionRow | undefined> {
    const { rows } = await database.query<ConnectionRow>(
      `SELECT ${COLUMNS} FROM shopify_connections WHERE lower(shop_domain) = lower($1)`,
      [shop],
    );
    return rows[0] ? normalizeRow(rows[0]) : undefined;
  }

  async function findById(id: string): Promise<ConnectionRow | undefined> {
    const { rows } = await database.query<ConnectionRow>(
      `SELECT ${COLUMNS} FROM shopify_connections WHERE id = $1`,
      [id],
    );
    return rows[0] ? normalizeRow(rows[0]) : undefined;
  }

  /** The tenant's connection, read under row-level security for that tenant. */
  async function findByTenant(tenantId: string): Promise<ConnectionRow | undefined> {
    return database.withTenant(tenantId, async (tx) => {
      const { rows } = await tx.query<ConnectionRow>(`SELECT ${COLUMNS} FROM shopify_connections LIMIT 1`);
      return rows[0] ? normalizeRow(rows[0]) : undefined;
    });
  }

  /** Every connection (operators' status page). */
  async function listAll(): Promise<ConnectionRow[]> {
    const { rows } = await database.query<ConnectionRow>(
      `SELECT ${COLUMNS} FROM shopify_connections ORDER BY shop_domain LIMIT 1000`,
    );
    return rows.map(normalizeRow);
  }

  function sealGrant(id: string, grant: TokenGrant) {
    return {
      access: vault.seal(grant.accessToken, sealContext(id, 'access_token')),
      refresh: grant.refreshToken ? vault.seal(grant.refreshToken, sealContext(id, 'refresh_token')) : null,
    };
  }

  /**
   * Stores a fresh grant for `shop` and attaches it to a tenant, all in one transaction with the
   * `connection-installed` event: a new shop gets a new tenant, a known shop (even uninstalled or
   * redacted) reattaches its tenant. With `tenantId` (manual token), the shop must be free or
   * already that tenant's.
   */
  async function storeGrant(input: {
    shop: string;
    grant: TokenGrant;
    source: ConnectionSource;
    info: ShopInfo;
    tenantId?: string;
  }): Promise<{ tenantId: string; connectionId: string; reinstalled: boolean }> {
    const { shop, grant, source, info } = input;
    const result = await database.transaction(async (tx) => {
      const existing = await lockByShop(tx, shop);
      if (input.tenantId && existing && existing.tenant_id !== input.tenantId) {
        throw conflict('SHOP_CONNECTED_TO_ANOTHER_TENANT', 'This shop is connected to another tenant', {
          shop,
        });
      }
      if (input.tenantId && !existing) {
        const { rows } = await tx.query<{ shop_domain: string }>(
          'SELECT shop_domain FROM shopify_connections WHERE tenant_id = $1',
          [input.tenantId],
        );
        if (rows[0]) {
          throw conflict('TENANT_HAS_ANOTHER_SHOP', 'This tenant is already linked to another shop', {
            shop: rows[0].shop_domain,
          });
        }
      }
      const id = existing?.id ?? randomUUID();
      const tenantId = await deps.tenants.attachShop(tx, {
        shopDomain: shop,
        name: info.name,
        currency: info.currencyCode,
        timezone: info.ianaTimezone,
        existingTenantId: existing?.tenant_id ?? input.tenantId,
      });
      const sealed = sealGrant(id, grant);
      const values = [
        id,
        tenantId,
        shop,
        info.name,
        source,
        grant.scopes.join(','),
        sealed.access,
        sealed.refresh,
        vault.currentKeyId,
        grant.expiresAt,
        grant.refreshTokenExpiresAt,
      ];
      if (existing) {
        await tx.query(
          `UPDATE shopify_connections
              SET shop_name = $4, status = 'active', source = $5, scopes = $6,
                  access_token_enc = $7, refresh_token_enc = $8, token_key_id = $9,
                  token_version = token_version + 1, expires_at = $10, refresh_token_expires_at = $11,
                  last_error = NULL, installed_at = CASE WHEN status = 'active' THEN installed_at ELSE now() END,
                  uninstalled_at = NULL, redact_at = NULL, redacted_at = NULL, updated_at = now()
            WHERE id = $1 AND tenant_id = $2 AND shop_domain = $3`,
          values,
        );
      } else {
        await tx.query(
          `INSERT INTO shopify_connections
             (id, tenant_id, shop_domain, shop_name, source, scopes, access_token_enc, refresh_token_enc,
              token_key_id, expires_at, refresh_token_expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
          values,
        );
      }
      const reinstalled = existing !== undefined;
      await events.publish(tx, 'connection-installed', {
        tenantId,
        shop,
        connectionId: id,
        source,
        reinstalled,
      });
      return { tenantId, connectionId: id, reinstalled };
    });
    logger.info(
      {
        shop,
        tenantId: result.tenantId,
        source,
        reinstalled: result.reinstalled,
        expiring: grant.expiresAt !== null,
      },
      'shopify connection stored',
    );
    return result;
  }

  async function markNeedsReauth(tx: Tx, row: ConnectionRow, reason: string): Promise<void> {
    // The dead credentials are erased: nothing can use them, so nothing should keep them.
    await tx.query(
      `UPDATE shopify_connections
          SET status = 'needs_reauth', access_token_enc = NULL, refresh_token_enc = NULL, token_key_id = NULL,
              token_version = token_version + 1, last_error = $2, updated_at = now()
        WHERE id = $1`,
      [row.id, reason],
    );
    logger.warn(
      { shop: row.shop_domain, tenantId: row.tenant_id, reason },
      'shopify connection needs re-authorisation',
    );
  }

  /**
   * Refreshes an expiring token, one refresh at a time per shop: the row is locked `FOR UPDATE`
   * for the whole exchange, so concurrent callers (any process) wait and then see the new token
   * instead of spending the same refresh token twice. With `failedVersion` (a call got 401 with
   * that token version) it refreshes only if nobody has since. A refresh Shopify rejects marks the
   * connection `needs_reauth` (no loop); network errors and 5xx throw so the caller can retry.
   * Returns true when the connection holds a usable token afterwards.
   */
  async function refresh(
    connectionId: string,
    options: { failedVersion?: number; dueWithinMs?: number } = {},
  ) {
    const app = deps.app();
    const refreshed = await database.transaction(async (tx) => {
      const row = await lockById(tx, connectionId);
      if (row?.status !== 'active' || !row.access_token_enc) return false;
      if (options.failedVersion !== undefined) {
        if (row.token_version !== options.failedVersion) return true;
      } else {
        const due =
          row.expires_at && row.expires_at.getTime() - Date.now() < (options.dueWithinMs ?? REFRESH_AHEAD_MS);
        if (!due) return true;
      }
      if (!row.refresh_token_enc) {
        await markNeedsReauth(tx, row, 'Shopify rejected the access token (revoked or app uninstalled)');
        return false;
      }
      const refreshToken = vault.open(row.refresh_token_enc, sealContext(row.id, 'refresh_token'));
      let grant: TokenGrant;
      try {
        grant = await refreshGrant(app, row.shop_domain, refreshToken);
      } catch (error) {
        if (error instanceof OAuthGrantError && error.rejected) {
          await markNeedsReauth(
            tx,
            row,
            `token refresh rejected by Shopify (${error.oauthError ?? error.status})`,
          );
          return false;
        }
        throw error;
      }
      // Shopify rotates the refresh token; if one ever came back without it, keep the old one
      // (re-sealed, so the whole row is under the current key).
      const sealed = sealGrant(row.id, { ...grant, refreshToken: grant.refreshToken ?? refreshToken });
      await tx.query(
        `UPDATE shopify_connections
            SET access_token_enc = $2, refresh_token_enc = $3, token_key_id = $4,
                token_version = token_version + 1, expires_at = $5,
                refresh_token_expires_at = COALESCE($6, refresh_token_expires_at),
                scopes = CASE WHEN $7 = '' THEN scopes ELSE $7 END,
                last_refreshed_at = now(), last_error = NULL, updated_at = now()
          WHERE id = $1`,
        [
          row.id,
          sealed.access,
          sealed.refresh,
          vault.currentKeyId,
          grant.expiresAt,
          grant.refreshTokenExpiresAt,
          grant.scopes.join(','),
        ],
      );
      logger.info({ shop: row.shop_domain, tenantId: row.tenant_id }, 'shopify token refreshed');
      return true;
    });
    return refreshed;
  }

  function notUsable(row: ConnectionRow | undefined, shop: string): ShopifyAdminError {
    if (row?.status === 'needs_reauth') {
      return new ShopifyAdminError(
        'reauth_required',
        shop,
        'The shop must re-authorise StoreOps (open the app again)',
      );
    }
    return new ShopifyAdminError('reauth_required', shop, 'The shop is not connected to StoreOps');
  }

  /**
   * The token of an active connection, refreshed first when it expires within a minute. Must not be
   * called inside a database transaction (it reads and may refresh on its own).
   */
  async function currentToken(
    connectionId: string,
  ): Promise<{ token: string; version: number; row: ConnectionRow }> {
    let row = await findById(connectionId);
    const shop = row?.shop_domain ?? 'unknown';
    if (row?.status !== 'active' || !row.access_token_enc) throw notUsable(row, shop);
    const msLeft = row.expires_at ? row.expires_at.getTime() - Date.now() : Number.POSITIVE_INFINITY;
    if (msLeft < REFRESH_ON_USE_MS && row.refresh_token_enc) {
      try {
        if (!(await refresh(connectionId, { dueWithinMs: REFRESH_ON_USE_MS })))
          throw notUsable(await findById(connectionId), shop);
      } catch (error) {
        // A transient refresh failure does not stop a call while the old token still works.
        if (error instanceof ShopifyAdminError || msLeft <= 0) {
          throw error instanceof ShopifyAdminError
            ? error
            : new ShopifyAdminError('unavailable', shop, 'Could not refresh the Shopify token', {
                cause: error,
              });
        }
      }
      row = await findById(connectionId);
      if (row?.status !== 'active' || !row.access_token_enc) throw notUsable(row, shop);
    }
    return {
      token: vault.open(row.access_token_enc, sealContext(row.id, 'access_token')),
      version: row.token_version,
      row,
    };
  }

  /** A `TokenSource` for the Admin client: decrypts per call, refreshes on expiry and on 401. */
  function tokenSource(connectionId: string): TokenSource {
    return {
      async get() {
        const { token, version } = await currentToken(connectionId);
        return { token, version };
      },
      async onUnauthorized(version) {
        try {
          return await refresh(connectionId, { failedVersion: version });
        } catch (error) {
          logger.warn({ err: error, connectionId }, 'shopify token refresh after 401 failed');
          return false;
        }
      },
    };
  }

  /** The Admin GraphQL client of a connection row. */
  function clientFor(row: ConnectionRow): AdminClient {
    const app = deps.app();
    return createAdminClient({
      shop: row.shop_domain,
      apiVersion: app.apiVersion,
      adminUrlTemplate: app.adminUrlTemplate,
      tokens: tokenSource(row.id),
    });
  }

  /**
   * Uninstall path shared by the `app/uninstalled` webhook and a manual disconnect: erase both
   * tokens, mark the connection and the tenant uninstalled, tell subscribers (sync stops its jobs)
   * and schedule the shop's redaction 48 hours later. Idempotent: a second call changes nothing.
   */
  async function uninstall(
    shop: string,
    reason: 'app_uninstalled' | 'disconnected',
  ): Promise<{ row: ConnectionRow; changed: boolean } | undefined> {
    const result = await database.transaction(async (tx) => {
      const row = await lockByShop(tx, shop);
      if (!row) return undefined;
      if (row.status === 'uninstalled' || row.status === 'redacted') return { row, changed: false };
      const uninstalledAt = new Date();
      const redactAt = new Date(uninstalledAt.getTime() + REDACT_AFTER_MS);
      await tx.query(
        `UPDATE shopify_connections
            SET status = 'uninstalled', access_token_enc = NULL, refresh_token_enc = NULL, token_key_id = NULL,
                token_version = token_version + 1, expires_at = NULL, refresh_token_expires_at = NULL,
                uninstalled_at = $2, redact_at = $3, last_error = NULL, updated_at = now()
          WHERE id = $1`,
        [row.id, uninstalledAt, redactAt],
      );
      await deps.tenants.markUninstalled(tx, row.tenant_id, row.shop_domain);
      await events.publish(tx, 'connection-uninstalled', {
        tenantId: row.tenant_id,
        shop: row.shop_domain,
        connectionId: row.id,
        reason,
        redactAt: redactAt.toISOString(),
      });
      await deps
        .redactQueue()
        .send(
          { connectionId: row.id, uninstalledAt: uninstalledAt.toISOString() },
          { tx, startAfter: redactAt },
        );
      return {
        row: {
          ...row,
          status: 'uninstalled' as const,
          access_token_enc: null,
          refresh_token_enc: null,
          uninstalled_at: uninstalledAt,
          redact_at: redactAt,
        },
        changed: true,
      };
    });
    if (result?.changed) {
      logger.info(
        { shop, tenantId: result.row.tenant_id, reason },
        'shopify connection uninstalled; tokens erased',
      );
    }
    return result;
  }

  /**
   * Redacts an uninstalled shop: marks the connection `redacted` and publishes `shop-redact` for the
   * data modules. Skipped when the shop was reinstalled in the meantime (or, for the scheduled job,
   * uninstalled again later: that uninstall has its own job). Returns true when it redacted.
   */
  async function redact(
    where: { shop: string } | { connectionId: string; uninstalledAt: string },
    trigger: 'scheduled' | 'shop_redact_webhook',
  ): Promise<boolean> {
    const done = await database.transaction(async (tx) => {
      const row = 'shop' in where ? await lockByShop(tx, where.shop) : await lockById(tx, where.connectionId);
      if (row?.status !== 'uninstalled') return undefined;
      if ('uninstalledAt' in where && row.uninstalled_at?.toISOString() !== where.uninstalledAt)
        return undefined;
      await tx.query(
        `UPDATE shopify_connections SET status = 'redacted', redacted_at = now(), redact_at = NULL, updated_at = now()
          WHERE id = $1`,
        [row.id],
      );
      await events.publish(tx, 'shop-redact', {
        tenantId: row.tenant_id,
        shop: row.shop_domain,
        connectionId: row.id,
        trigger,
      });
      return row;
    });
    if (done)
      logger.info({ shop: done.shop_domain, tenantId: done.tenant_id, trigger }, 'shopify shop redacted');
    return done !== undefined;
  }

  /** Active connections whose token expires within `REFRESH_AHEAD_MS` and can be refreshed. */
  async function dueForRefresh(limit = 500): Promise<string[]> {
    const { rows } = await database.query<{ id: string }>(
      `SELECT id FROM shopify_connections
        WHERE status = 'active' AND refresh_token_enc IS NOT NULL AND expires_at IS NOT NULL
          AND expires_at < now() + make_interval(secs => $1)
        ORDER BY expires_at LIMIT $2`,
      [REFRESH_AHEAD_MS / 1000, limit],
    );
    return rows.map((r) => r.id);
  }

  /** `storeops keys rotate` and the start-up key check for this table. */
  const secretStore: SecretStore = {
    name: 'shopify_connections',
    async keyUsage() {
      const { rows } = await database.query<{ key_id: string; n: number | string }>(
        `SELECT token_key_id AS key_id, count(access_token_enc) + count(refresh_token_enc) AS n
           FROM shopify_connections WHERE token_key_id IS NOT NULL GROUP BY token_key_id`,
      );
      return Object.fromEntries(rows.map((r) => [r.key_id, Number(r.n)]));
    },
    async probe(keyId) {
      const { rows } = await database.query<{
        id: string;
        access_token_enc: string | null;
        refresh_token_enc: string | null;
      }>(
        `SELECT id, access_token_enc, refresh_token_enc FROM shopify_connections WHERE token_key_id = $1 LIMIT 1`,
        [keyId],
      );
      const row = rows[0];
      if (row?.access_token_enc) vault.open(row.access_token_enc, sealContext(row.id, 'access_token'));
      if (row?.refresh_token_enc) vault.open(row.refresh_token_enc, sealContext(row.id, 'refresh_token'));
    },
    async rotateBatch(limit) {
      return database.transaction(async (tx) => {
        // SKIP LOCKED: a row being refreshed right now is re-sealed by the refresh itself.
        const { rows } = await tx.query<{
          id: string;
          access_token_enc: string | null;
          refresh_token_enc: string | null;
        }>(
          `SELECT id, access_token_enc, refresh_token_enc FROM shopify_connections
            WHERE token_key_id IS NOT NULL AND token_key_id <> $1
            ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`,
          [vault.currentKeyId, limit],
        );
        let values = 0;
        for (const row of rows) {
          const reseal = (sealed: string | null, column: 'access_token' | 'refresh_token') => {
            if (!sealed) return null;
            values++;
            return vault.seal(vault.open(sealed, sealContext(row.id, column)), sealContext(row.id, column));
          };
          await tx.query(
            `UPDATE shopify_connections SET access_token_enc = $2, refresh_token_enc = $3, token_key_id = $4 WHERE id = $1`,
            [
              row.id,
              reseal(row.access_token_enc, 'access_token'),
              reseal(row.refresh_token_enc, 'refresh_token'),
              vault.currentKeyId,
            ],
          );
        }
        return values;
      });
    },
  };

  return {
    findByShop,
    findById,
    findByTenant,
    listAll,
    storeGrant,
    refresh,
    currentToken,
    clientFor,
    uninstall,
    redact,
    dueForRefresh,
    secretStore,
  };
}

/** The connections store of one process. */
export type Connections = ReturnType<typeof createConnections>;
