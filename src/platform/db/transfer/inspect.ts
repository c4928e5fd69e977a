import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { QueryFn } from '../client.ts';

/** A failure of a database tool (copy, backup, restore) with a message meant for the operator. */
export class DbToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DbToolError';
  }
}

/** One table to copy: schema-qualified, with its columns and row-level security flags. */
export type TableInfo = {
  schema: string;
  name: string;
  /** `"schema"."name"`, ready for SQL. */
  qualified: string;
  /** Copyable columns in order (generated columns excluded), already quoted. */
  columns: string[];
  rowSecurity: boolean;
  /** Every column has a built-in type, so COPY's binary format carries it between servers. */
  builtinTypes: boolean;
};

export const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

const SYSTEM_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'`;

/**
 * Schema bookkeeping written by the schema set-up itself (migrations, pg-boss's version): compared
 * between the two databases, never copied.
 */
export const BOOKKEEPING = new Set(['drizzle.__drizzle_migrations', 'pgboss.version']);

/** Rows the set-up may write without the database counting as used (queues, cron schedules). */
export const SETUP_ROWS = new Set([...BOOKKEEPING, 'pgboss.queue', 'pgboss.schedule', 'pgboss.subscription']);

/**
 * Every table outside the system schemas (partitions are copied through their root), in an order
 * where each table comes after the tables its foreign keys point to. Generic: a new module's
 * tables, and pg-boss's, are included without being named here.
 */
export async function listTables(query: QueryFn): Promise<TableInfo[]> {
  const { rows } = await query<{ oid: number; schema: string; name: string; rls: boolean }>(
    `SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS name, c.relrowsecurity AS rls
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND ${SYSTEM_SCHEMAS}
      ORDER BY 2, 3`,
  );
  const columns = await query<{ oid: number; name: string; type: number }>(
    `SELECT a.attrelid::int AS oid, a.attname AS name, a.atttypid::int AS type
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND ${SYSTEM_SCHEMAS}
        AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
      ORDER BY a.attrelid, a.attnum`,
  );
  const edges = await query<{ child: number; parent: number }>(
    `SELECT DISTINCT coalesce(pg_partition_root(k.conrelid), k.conrelid)::int AS child,
                     coalesce(pg_partition_root(k.confrelid), k.confrelid)::int AS parent
       FROM pg_constraint k WHERE k.contype = 'f'`,
  );
  const byOid = new Map<number, TableInfo>();
  for (const r of rows) {
    byOid.set(r.oid, {
      schema: r.schema,
      name: r.name,
      qualified: `${quoteIdent(r.schema)}.${quoteIdent(r.name)}`,
      columns: [],
      rowSecurity: r.rls,
      builtinTypes: true,
    });
  }
  for (const c of columns.rows) {
    const table = byOid.get(c.oid);
    if (!table) continue;
    table.columns.push(quoteIdent(c.name));
    // Binary arrays and composites embed type OIDs, which differ between databases for user types.
    if (c.type >= 16_384) table.builtinTypes = false;
  }
  const parents = new Map<number, Set<number>>();
  for (const e of edges.rows) {
    if (e.child === e.parent || !byOid.has(e.child) || !byOid.has(e.parent)) continue;
    if (!parents.has(e.child)) parents.set(e.child, new Set());
    parents.get(e.child)!.add(e.parent);
  }
  // Depth-first topological order; a cycle (not made by StoreOps' migrations) is reported.
  const ordered: TableInfo[] = [];
  const state = new Map<number, 'visiting' | 'done'>();
  const visit = (oid: number) => {
    if (state.get(oid) === 'done') return;
    if (state.get(oid) === 'visiting') {
      const t = byOid.get(oid)!;
      throw new DbToolError(`foreign keys form a cycle through ${t.schema}.${t.name}; cannot order the copy`);
    }
    state.set(oid, 'visiting');
    for (const parent of parents.get(oid) ?? []) visit(parent);
    state.set(oid, 'done');
    ordered.push(byOid.get(oid)!);
  };
  for (const oid of byOid.keys()) visit(oid);
  return ordered;
}

export const keyOf = (t: { schema: string; name: string }) => `${t.schema}.${t.name}`;

/** Exact row counts of the given tables (inside the caller's snapshot). */
export async function countRows(query: QueryFn, tables: TableInfo[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const t of tables) {
    const { rows } = await query<{ n: string }>(`SELECT count(*)::text AS n FROM ${t.qualified}`);
    counts.set(keyOf(t), Number(rows[0].n));
  }
  return counts;
}

/** The applied migrations (hashes, oldest first); empty when the database was never migrated. */
export async function appliedMigrations(query: QueryFn): Promise<string[]> {
  const exists = await query(
    `SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'drizzle' AND c.relname = '__drizzle_migrations'`,
  );
  if (exists.rows.length === 0) return [];
  const { rows } = await query<{ hash: string }>(
    'SELECT hash FROM drizzle.__drizzle_migrations ORDER BY created_at, id',
  );
  return rows.map((r) => r.hash);
}

/** pg-boss's schema version, or undefined when its schema is not installed. */
export async function jobSchemaVersion(query: QueryFn): Promise<number | undefined> {
  const exists = await query(
    `SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'pgboss' AND c.relname = 'version'`,
  );
  if (exists.rows.length === 0) return undefined;
  const { rows } = await query<{ version: number }>(
    'SELECT max(version)::int AS version FROM pgboss.version',
  );
  return rows[0]?.version ?? undefined;
}

/** The migrations this build ships (drizzle/meta/_journal.json): count and the latest tag. */
export function shippedMigrations(): { count: number; latest: string } {
  const file = fileURLToPath(new URL('../../../../drizzle/meta/_journal.json', import.meta.url));
  const journal = JSON.parse(readFileSync(file, 'utf8')) as { entries: { tag: string }[] };
  return { count: journal.entries.length, latest: journal.entries.at(-1)?.tag ?? 'none' };
}

/** Sequence positions (identity columns included), to carry over after the rows. */
export async function sequenceValues(
  query: QueryFn,
): Promise<{ qualified: string; value: string; called: boolean }[]> {
  const { rows } = await query<{ schema: string; name: string; value: string | null }>(
    `SELECT schemaname AS schema, sequencename AS name, last_value::text AS value FROM pg_sequences
      WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`,
  );
  return rows
    .filter((r) => r.value !== null)
    .map((r) => ({
      qualified: `${quoteIdent(r.schema)}.${quoteIdent(r.name)}`,
      value: r.value!,
      called: true,
    }));
}

/**
 * What a would-be target already holds: `empty` (no table at all), `prepared` (StoreOps' schema
 * and nothing but set-up rows) or `used` (rows somewhere: it is refused).
 */
export async function targetState(
  query: QueryFn,
): Promise<{ state: 'empty' | 'prepared' | 'used'; tablesWithRows: string[] }> {
  const tables = await listTables(query);
  if (tables.length === 0) return { state: 'empty', tablesWithRows: [] };
  const tablesWithRows: string[] = [];
  for (const t of tables) {
    if (SETUP_ROWS.has(keyOf(t))) continue;
    const { rows } = await query(`SELECT 1 FROM ${t.qualified} LIMIT 1`);
    if (rows.length > 0) tablesWithRows.push(keyOf(t));
  }
  const migrated = (await appliedMigrations(query)).length > 0;
  if (tablesWithRows.length > 0 || !migrated) return { state: 'used', tablesWithRows };
  return { state: 'prepared', tablesWithRows };
}
