import type { ConnectionSource } from './api.ts';
import { connectionSecretStore } from './connection-keys.ts';
import { storeGrant } from './connection-grants.ts';
import {
  type ConnectionDeps,
  type ConnectionRow,
  dueForRefresh,
  findById,
  findByShop,
  findByTenant,
  listAll,
  type ShopInfo,
} from './connection-rows.ts';
import { clientFor, currentToken, refreshConnection } from './connection-tokens.ts';
import { redact, uninstall } from './connection-uninstall.ts';
import type { TokenGrant } from './oauth.ts';

/**
 * The `shopify_connections` store (issue 5): the only code that reads or writes a shop's tokens.
 * Tokens are sealed by the vault with the row id and column as context, decrypted only to make a
 * call or to answer the token endpoint, and erased on uninstall. The work is split by seam:
 * connection-rows.ts (shape, view, lookups), connection-grants.ts (storing a grant),
 * connection-tokens.ts (use and refresh), connection-uninstall.ts (uninstall, redact),
 * connection-keys.ts (key rotation).
 */

export {
  type ConnectionRow,
  connectionView,
  REDACT_AFTER_MS,
  REFRESH_AHEAD_MS,
  type RedactJob,
  type ShopInfo,
  type ShopTenants,
} from './connection-rows.ts';

/** The connections store; see the JSDoc of each function. */
export function createConnections(deps: ConnectionDeps) {
  const { database } = deps;
  return {
    findByShop: (shop: string) => findByShop(database, shop),
    findById: (id: string) => findById(database, id),
    findByTenant: (tenantId: string) => findByTenant(database, tenantId),
    listAll: () => listAll(database),
    storeGrant: (input: {
      shop: string;
      grant: TokenGrant;
      source: ConnectionSource;
      info: ShopInfo;
      tenantId?: string;
    }) => storeGrant(deps, input),
    refresh: (connectionId: string, options?: { failedVersion?: number; dueWithinMs?: number }) =>
      refreshConnection(deps, connectionId, options),
    currentToken: (connectionId: string) => currentToken(deps, connectionId),
    clientFor: (row: ConnectionRow) => clientFor(deps, row),
    uninstall: (shop: string, reason: 'app_uninstalled' | 'disconnected') => uninstall(deps, shop, reason),
    redact: (
      where: { shop: string } | { connectionId: string; uninstalledAt: string },
      trigger: 'scheduled' | 'shop_redact_webhook',
    ) => redact(deps, where, trigger),
    dueForRefresh: (limit?: number) => dueForRefresh(database, limit),
    /** `storeops keys rotate` and the start-up key check for this table. */
    secretStore: connectionSecretStore(database, deps.vault),
  };
}

/** The connections store of one process. */
export type Connections = ReturnType<typeof createConnections>;
