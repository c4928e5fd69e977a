import type { Tx } from '../platform/db/client.ts';
import { randomAlphanumeric, randomToken } from '../platform/crypto/tokens.ts';
import { notFound, unprocessable } from '../platform/errors.ts';
import type { ApiKeyScope, ScopeRegistry } from '../platform/http/auth.ts';
import { decodeCursor, timeIdCursor, toPage } from '../platform/http/schemas.ts';
import type { Actor, Audit } from './audit.ts';
import type { IdentitySecrets } from './secrets.ts';

/** An API key as the API lists it (never the secret or its hash). */
export type ApiKey = {
  id: string;
  tenantId: string;
  name: string;
  prefix: string;
  scopes: ApiKeyScope[];
  createdBy: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
};

type Row = {
  id: string;
  tenant_id: string;
  name: string;
  prefix: string;
  scopes: ApiKeyScope[];
  created_by: string;
  created_at: Date | string;
  last_used_at: Date | string | null;
  expires_at: Date | string | null;
  revoked_at: Date | string | null;
  cursor_t?: string;
};

const COLUMNS =
  'id, tenant_id, name, prefix, scopes, created_by, created_at, last_used_at, expires_at, revoked_at';
const iso = (v: Date | string | null) => (v === null ? null : new Date(v).toISOString());
const toKey = (r: Row): ApiKey => ({
  id: r.id,
  tenantId: r.tenant_id,
  name: r.name,
  prefix: r.prefix,
  scopes: r.scopes,
  createdBy: r.created_by,
  createdAt: iso(r.created_at)!,
  lastUsedAt: iso(r.last_used_at),
  expiresAt: iso(r.expires_at),
  revokedAt: iso(r.revoked_at),
});

type By = { actor: Actor; ip: string };

/**
 * Per-tenant API keys for integrations (seed 001's X-API-Key): `sok_<prefix>_<secret>`, shown once,
 * stored as HMAC-SHA256 with a server pepper, found by the public prefix, revocable. Runs inside the
 * caller's tenant transaction.
 */
export function createApiKeys(deps: { audit: Audit; secrets: IdentitySecrets; scopes: ScopeRegistry }) {
  const { audit, secrets } = deps;

  return {
    /** Issues a key; the returned `key` is the only copy of the secret. */
    async create(
      tx: Tx,
      tenantId: string,
      input: { name: string; scopes: ApiKeyScope[]; expiresAt?: string },
      by: By,
    ): Promise<ApiKey & { key: string }> {
      if (input.expiresAt && new Date(input.expiresAt).getTime() <= Date.now()) {
        throw unprocessable('EXPIRY_IN_PAST', 'expiresAt must be in the future');
      }
      const prefix = randomAlphanumeric(12);
      const key = `sok_${prefix}_${randomToken(32)}`;
      const scopes = [...new Set(input.scopes)];
      const unknown = scopes.filter((scope) => !deps.scopes.has(scope));
      if (unknown.length > 0) {
        throw unprocessable('UNKNOWN_SCOPE', `Unknown API-key scope: ${unknown.join(', ')}`, {
          unknown,
          known: deps.scopes.list().map((s) => s.name),
        });
      }
      const { rows } = await tx.query<Row>(
        `INSERT INTO api_keys (tenant_id, name, prefix, key_hash, scopes, created_by, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
        [
          tenantId,
          input.name,
          prefix,
          secrets.apiKeyHash(key),
          scopes,
          by.actor.label ?? by.actor.kind,
          input.expiresAt ?? null,
        ],
      );
      await audit.record(
        {
          action: 'api_key.created',
          tenantId,
          actor: by.actor,
          target: { kind: 'api_key', id: rows[0].id },
          ip: by.ip,
          details: { name: input.name, prefix, scopes },
        },
        tx,
      );
      return { ...toKey(rows[0]), key };
    },

    async list(tx: Tx, options: { limit: number; cursor?: string }) {
      const after = decodeCursor(options.cursor, timeIdCursor);
      const { rows } = await tx.query<Row>(
        `SELECT ${COLUMNS}, created_at::text AS cursor_t FROM api_keys
          ${after ? 'WHERE (created_at, id) > ($2::timestamptz, $3::uuid)' : ''}
          ORDER BY created_at, id LIMIT $1`,
        after ? [options.limit + 1, after.t, after.id] : [options.limit + 1],
      );
      return toPage(rows, options.limit, toKey, (row) => ({ t: row.cursor_t, id: row.id }));
    },

    async get(tx: Tx, keyId: string): Promise<ApiKey> {
      const { rows } = await tx.query<Row>(`SELECT ${COLUMNS} FROM api_keys WHERE id = $1`, [keyId]);
      if (!rows[0]) throw notFound('api key', keyId);
      return toKey(rows[0]);
    },

    /** Revokes a key at once (idempotent); audited. */
    async revoke(tx: Tx, tenantId: string, keyId: string, by: By): Promise<ApiKey> {
      const { rows } = await tx.query<Row>(
        `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING ${COLUMNS}`,
        [keyId],
      );
      if (!rows[0]) throw notFound('api key', keyId);
      await audit.record(
        {
          action: 'api_key.revoked',
          tenantId,
          actor: by.actor,
          target: { kind: 'api_key', id: keyId },
          ip: by.ip,
          details: { name: rows[0].name, prefix: rows[0].prefix },
        },
        tx,
      );
      return toKey(rows[0]);
    },
  };
}

/** The API keys service. */
export type ApiKeys = ReturnType<typeof createApiKeys>;
