import { openDatabase } from '../../src/platform/db/client.ts';
import { BOOKKEEPING, keyOf, listTables } from '../../src/platform/db/transfer/inspect.ts';

/**
 * Per table (schema bookkeeping aside): the row count and an order-independent digest of every
 * row's text, for "this database holds exactly what that one holds" (copies, backups).
 */
export async function fingerprint(location: { databaseUrl?: string; dataDir?: string }) {
  const database = await openDatabase({
    databaseUrl: location.databaseUrl,
    dataDir: location.dataDir ?? '.',
  });
  try {
    await database.query(`SET TimeZone = 'UTC'`);
    const result: Record<string, string> = {};
    for (const t of await listTables(database.query)) {
      if (BOOKKEEPING.has(keyOf(t))) continue;
      const { rows } = await database.query<{ n: number; digest: string | null }>(
        `SELECT count(*)::int AS n, md5(string_agg(r::text, E'\\n' ORDER BY r::text)) AS digest FROM ${t.qualified} r`,
      );
      result[keyOf(t)] = `${rows[0].n}:${rows[0].digest ?? '-'}`;
    }
    return result;
  } finally {
    await database.close();
  }
}
