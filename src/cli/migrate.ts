import { z } from 'zod';
import { loadConfig, loadDotEnv } from '../platform/config.ts';
import { openDatabase } from '../platform/db/client.ts';
import { migrate } from '../platform/db/migrate.ts';
import { parseCommandArgs } from './args.ts';

/** `storeops migrate`: applies pending migrations and row-level security, then exits. */
export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(argv, {
    help: 'Usage: storeops migrate\n\nApplies pending database migrations to DATABASE_URL (or the embedded database).',
    options: {},
    schema: z.object({}),
  });
  if (!args) return 0;
  loadDotEnv();
  const config = loadConfig();
  const database = await openDatabase({
    databaseUrl: config.DATABASE_URL,
    dataDir: config.STOREOPS_DATA_DIR,
  });
  try {
    const { tenantTables } = await migrate(database);
    console.log(
      `migrated ${database.kind} database; row-level security on ${tenantTables.length} tenant tables`,
    );
  } finally {
    await database.close();
  }
  return 0;
}
