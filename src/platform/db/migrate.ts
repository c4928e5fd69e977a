import { fileURLToPath } from 'node:url';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { APP_ROLE, type Database } from './client.ts';

const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../../drizzle', import.meta.url));
// Arbitrary constant: serialises migrations when many processes start at once on one server.
const MIGRATION_LOCK_KEY = 7_041_991;

/** Applies pending drizzle-kit migrations, then (re)asserts row-level security on tenant tables. */
export async function migrate(database: Database): Promise<{ tenantTables: string[] }> {
  return database.withAdvisoryLock(MIGRATION_LOCK_KEY, async () => {
    if (database.kind === 'postgres')
      await migratePg(database.db as any, { migrationsFolder: MIGRATIONS_FOLDER });
    else await migratePglite(database.db as any, { migrationsFolder: MIGRATIONS_FOLDER });
    return applyRowLevelSecurity(database);
  });
}

const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * Every table in `public` with a `tenant_id` column is tenant-owned: it gets FORCE ROW LEVEL
 * SECURITY and a policy that lets the restricted app role see only the tenant set for the current
 * transaction. Deriving this from the column (instead of per-table migration code) means a new
 * module's tables cannot forget it. The owner keeps a policy of its own for system work.
 * Tables without `tenant_id` are not granted to the app role at all, so tenant-scoped code cannot
 * reach global data (operators, sessions) even by mistake.
 */
export async function applyRowLevelSecurity(database: Database): Promise<{ tenantTables: string[] }> {
  const { query } = database;
  await query(`DO $$ BEGIN
    CREATE ROLE ${APP_ROLE} NOLOGIN;
  EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`);
  // A non-superuser owner must be a member of the role to SET ROLE to it.
  await query(`DO $$ BEGIN
    EXECUTE format('GRANT ${APP_ROLE} TO %I', current_user);
  EXCEPTION WHEN others THEN NULL; END $$`);
  await query(`GRANT USAGE ON SCHEMA public TO ${APP_ROLE}`);
  await query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${APP_ROLE}`);

  const { rows } = await query<{ table_name: string }>(
    `SELECT c.table_name FROM information_schema.columns c
       JOIN information_schema.tables t USING (table_schema, table_name)
      WHERE c.table_schema = 'public' AND c.column_name = 'tenant_id' AND t.table_type = 'BASE TABLE'
      ORDER BY c.table_name`,
  );
  const owner = (await query<{ u: string }>('SELECT current_user AS u')).rows[0].u;
  const current = `nullif(current_setting('storeops.tenant_id', true), '')::uuid`;
  const scoped: [string, string, string][] = rows.map((r) => [
    r.table_name,
    'tenant_id',
    'SELECT, INSERT, UPDATE, DELETE',
  ]);
  const hasTenants = (
    await query(
      `SELECT 1 FROM information_schema.tables WHERE table_schema='public' AND table_name='tenants'`,
    )
  ).rows.length;
  if (hasTenants) scoped.push(['tenants', 'id', 'SELECT']);

  for (const [table, column, privileges] of scoped) {
    const t = quoteIdent(table);
    await query(`GRANT ${privileges} ON ${t} TO ${APP_ROLE}`);
    await query(`ALTER TABLE ${t} ENABLE ROW LEVEL SECURITY`);
    await query(`ALTER TABLE ${t} FORCE ROW LEVEL SECURITY`);
    await query(`DROP POLICY IF EXISTS tenant_isolation ON ${t}`);
    await query(
      `CREATE POLICY tenant_isolation ON ${t} TO ${APP_ROLE} USING (${column} = ${current}) WITH CHECK (${column} = ${current})`,
    );
    await query(`DROP POLICY IF EXISTS owner_access ON ${t}`);
    await query(`CREATE POLICY owner_access ON ${t} TO ${quoteIdent(owner)} USING (true) WITH CHECK (true)`);
  }
  return { tenantTables: scoped.map(([t]) => t) };
}
