import pino from 'pino';
import type { Database } from '../client.ts';
import { migrate } from '../migrate.ts';
import { createJobs } from '../../jobs.ts';
import { createMetrics } from '../../metrics.ts';
import type { CopySource, CopyTarget } from './endpoints.ts';
import {
  appliedMigrations,
  BOOKKEEPING,
  countRows,
  DbToolError,
  jobSchemaVersion,
  keyOf,
  listTables,
  quoteIdent,
  sequenceValues,
  shippedMigrations,
  type TableInfo,
  targetState,
} from './inspect.ts';

/** What a copy reports while it runs (the CLI draws progress bars from it). */
export type CopyProgress = {
  onStart?(tables: { name: string; rows: number }[], totalRows: number): void;
  onTable?(name: string, rows: number): void;
  onRows?(name: string, done: number): void;
  onVerify?(): void;
};

export type CopyReport = {
  tables: { name: string; rows: number }[];
  rows: number;
  /** Milliseconds per table loaded (and for the index builds), for benchmarks. */
  timings: Record<string, number>;
  durationMs: number;
  rowsPerSecond: number;
};

/** Fails unless the database's applied migrations are exactly the ones this build ships. */
export async function assertCurrentSchema(database: Database, which: string): Promise<string[]> {
  const applied = await appliedMigrations(database.query);
  const shipped = shippedMigrations();
  if (applied.length !== shipped.count) {
    throw new DbToolError(
      applied.length < shipped.count
        ? `the ${which} database has ${applied.length} of this version's ${shipped.count} migrations; run \`storeops migrate\` on it first`
        : `the ${which} database has ${applied.length} migrations, newer than this version of StoreOps (${shipped.count}, up to ${shipped.latest}); use the StoreOps version that wrote it`,
    );
  }
  return applied;
}

/**
 * Refuses a target holding any data; `wasEmpty` tells whether it had no table at all (so a failed
 * copy may drop everything again).
 */
export async function checkTarget(target: Database): Promise<{ wasEmpty: boolean }> {
  const state = await targetState(target.query);
  if (state.state === 'used') {
    const listed = state.tablesWithRows.slice(0, 5).join(', ');
    throw new DbToolError(
      state.tablesWithRows.length > 0
        ? `the target database is not empty (rows in ${listed}${state.tablesWithRows.length > 5 ? ', …' : ''}); copy into a new, empty database`
        : 'the target database has tables that are not StoreOps’; copy into a new, empty database',
    );
  }
  return { wasEmpty: state.state === 'empty' };
}

/** Gives a target StoreOps' schema (migrations, row-level security, pg-boss's tables) as a first start would. */
export async function prepareTarget(target: Database): Promise<void> {
  await migrate(target);
  const jobs = createJobs({ database: target, logger: pino({ level: 'silent' }), metrics: createMetrics() });
  await jobs.start({ work: false });
  await jobs.stop(1000);
}

/** Drops what `prepareTarget` created in a target that was empty before (PostgreSQL). */
export async function dropPreparedSchema(target: Database): Promise<void> {
  await target.query('DROP SCHEMA IF EXISTS drizzle, pgboss CASCADE');
  const tables = await listTables(target.query);
  for (const t of tables) await target.query(`DROP TABLE IF EXISTS ${t.qualified} CASCADE`);
  const { rows } = await target.query<{ name: string }>(
    `SELECT t.typname AS name FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = 'public' AND t.typtype = 'e'`,
  );
  for (const r of rows) await target.query(`DROP TYPE IF EXISTS public.${quoteIdent(r.name)} CASCADE`);
}

/**
 * Copies every row of `source` into `target`, whose schema `prepareTarget` has set up: one read
 * snapshot on the source, one transaction on the target (nothing is visible there until the row
 * counts of every table matched), tables in foreign-key order, sequences carried over, row-level
 * security switched off only inside that transaction.
 */
export async function copyRows(
  source: CopySource,
  target: CopyTarget,
  progress: CopyProgress = {},
): Promise<CopyReport> {
  const started = performance.now();
  try {
    const [fromMigrations, toMigrations] = [
      await appliedMigrations(source.query),
      await appliedMigrations(target.query),
    ];
    if (fromMigrations.join() !== toMigrations.join())
      throw new DbToolError('source and target are at different migrations; both must be at this version');
    const [fromJobs, toJobs] = [await jobSchemaVersion(source.query), await jobSchemaVersion(target.query)];
    if (fromJobs !== undefined && fromJobs !== toJobs)
      throw new DbToolError(`the job tables differ in version (source ${fromJobs}, target ${toJobs})`);

    const sourceTables = (await listTables(source.query)).filter((t) => !BOOKKEEPING.has(keyOf(t)));
    const targetTables = new Map((await listTables(target.query)).map((t) => [keyOf(t), t]));
    const plan: TableInfo[] = [];
    for (const t of sourceTables) {
      const there = targetTables.get(keyOf(t));
      if (!there) throw new DbToolError(`table ${keyOf(t)} exists in the source but not in the target`);
      const missing = t.columns.filter((c) => !there.columns.includes(c));
      if (missing.length > 0)
        throw new DbToolError(`table ${keyOf(t)}: columns ${missing.join(', ')} are missing in the target`);
      plan.push({ ...t, rowSecurity: there.rowSecurity });
    }
    const counts = await countRows(source.query, plan);
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    progress.onStart?.(
      plan.map((t) => ({ name: keyOf(t), rows: counts.get(keyOf(t)) ?? 0 })),
      total,
    );

    // Set-up rows (pg-boss queues) give way to the source's; RLS would refuse COPY FROM for a
    // non-superuser owner; replica mode skips foreign-key triggers where the role may (the order
    // is right anyway).
    const withRows = [];
    for (const t of plan) {
      if ((await target.query(`SELECT 1 FROM ${t.qualified} LIMIT 1`)).rows.length > 0) withRows.push(t);
    }
    if (withRows.length > 0) await target.query(`TRUNCATE ${plan.map((t) => t.qualified).join(', ')}`);
    for (const t of plan.filter((p) => p.rowSecurity))
      await target.query(`ALTER TABLE ${t.qualified} DISABLE ROW LEVEL SECURITY`);
    await target.attempt('SET LOCAL session_replication_role = replica');

    // Secondary indexes are built once after the load instead of row by row (constraint indexes stay).
    const indexes = await secondaryIndexes(target, plan);
    for (const index of indexes) await target.query(`DROP INDEX ${index.qualified}`);
    await target.attempt(`SET LOCAL maintenance_work_mem = '256MB'`);
    const timings = new Map<string, number>();
    for (const t of plan) {
      const name = keyOf(t);
      progress.onTable?.(name, counts.get(name) ?? 0);
      if ((counts.get(name) ?? 0) === 0) continue;
      const tableStarted = performance.now();
      const onRows = (done: number) => progress.onRows?.(name, done);
      // Binary COPY skips the text output and parsing of every value (PGlite → PostgreSQL).
      if (source.binarySlices && target.loadBinary && t.builtinTypes)
        await target.loadBinary(t, source.rows(t, 'binary'), onRows);
      else await target.load(t, source.rows(t), onRows);
      timings.set(name, performance.now() - tableStarted);
    }
    progress.onTable?.('building indexes', 0);
    const indexStarted = performance.now();
    for (const index of indexes) await target.query(index.definition);
    timings.set('(indexes)', performance.now() - indexStarted);
    for (const s of await sequenceValues(source.query))
      await target.query('SELECT setval($1::regclass, $2::bigint, $3)', [s.qualified, s.value, s.called]);

    progress.onVerify?.();
    const copied = await countRows(target.query, plan);
    const wrong = plan.filter((t) => copied.get(keyOf(t)) !== counts.get(keyOf(t)));
    if (wrong.length > 0) {
      const detail = wrong
        .map((t) => `${keyOf(t)}: ${counts.get(keyOf(t))} in the source, ${copied.get(keyOf(t))} copied`)
        .join('; ');
      throw new DbToolError(`row counts differ after the copy (${detail}); nothing was committed`);
    }
    await target.attempt('SET LOCAL session_replication_role = DEFAULT');
    for (const t of plan.filter((p) => p.rowSecurity))
      await target.query(`ALTER TABLE ${t.qualified} ENABLE ROW LEVEL SECURITY`);
    await target.commit();
    const durationMs = performance.now() - started;
    return {
      tables: plan.map((t) => ({ name: keyOf(t), rows: counts.get(keyOf(t)) ?? 0 })),
      timings: Object.fromEntries(timings),
      rows: total,
      durationMs,
      rowsPerSecond: total / Math.max(durationMs / 1000, 0.001),
    };
  } catch (error) {
    await target.rollback();
    throw error;
  } finally {
    await source.close();
  }
}

/** Indexes of plain tables that back no constraint: dropped for the load, rebuilt after it. */
async function secondaryIndexes(target: CopyTarget, plan: TableInfo[]) {
  const { rows } = await target.query<{ schema: string; name: string; definition: string; tbl: string }>(
    `SELECT n.nspname AS schema, x.relname AS name, pg_get_indexdef(i.indexrelid) AS definition,
            n.nspname || '.' || c.relname AS tbl
       FROM pg_index i
       JOIN pg_class x ON x.oid = i.indexrelid
       JOIN pg_class c ON c.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND NOT c.relispartition AND x.relkind = 'i'
        AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)`,
  );
  const planned = new Set(plan.map(keyOf));
  return rows
    .filter((r) => planned.has(r.tbl))
    .map((r) => ({ qualified: `${quoteIdent(r.schema)}.${quoteIdent(r.name)}`, definition: r.definition }));
}
