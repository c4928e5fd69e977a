import type { SecretStore, Vault } from '../platform/crypto/vault.ts';
import type { Database } from '../platform/db/client.ts';
import { sealContext } from './connection-rows.ts';

/** `storeops keys rotate` and the start-up key check for this table. */
export function connectionSecretStore(database: Database, vault: Vault): SecretStore {
  return {
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
}
