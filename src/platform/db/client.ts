import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PGlite, type Transaction as PGliteTransaction } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import pg from 'pg';
import { from as copyFromStream } from 'pg-copy-streams';

/** Drizzle over either engine; the SQL dialect is PostgreSQL in both cases. */
export type Db = PgDatabase<PgQueryResultHKT>;

/** Raw parametrised SQL, in the shape pg-boss's `db.executeSql` also expects. */
export type QueryFn = <Row = Record<string, unknown>>(
  text: string,
  params?: unknown[],
) => Promise<{ rows: Row[] }>;

/**
 * One open transaction: Drizzle for queries, `query` for SQL that reads best as SQL, and on
 * PostgreSQL `copyFrom` (`COPY … FROM STDIN` fed with text chunks) for bulk loads.
 */
export type Tx = {
  db: Db;
  query: QueryFn;
  copyFrom?: (copySql: string, chunks: Iterable<string>) => Promise<void>;
};

/** The role tenant-scoped transactions switch to; row-level security applies to it. */
export const APP_ROLE = 'storeops_app';

/** The database behind a StoreOps process, embedded or server. */
export type Database = {
  kind: 'pglite' | 'postgres';
  /** Owner-level Drizzle handle: system work only (migrations, jobs, cross-tenant maintenance). */
  db: Db;
  /** Owner-level raw SQL outside a transaction. */
  query: QueryFn;
  /** Runs `fn` in a transaction as the owner (sees every tenant). */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` in a transaction as the restricted role with `storeops.tenant_id` set, so row-level
   * security hides every other tenant's rows whatever the queries inside do.
   */
  withTenant<T>(tenantId: string, fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * Like `withTenant`, READ ONLY, on the read replica when `DATABASE_READ_URL` is set (else on the
   * primary). Only for reads that may lag behind writes: never one that must see its own write.
   */
  readTenant<T>(tenantId: string, fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** True when reads of `readTenant` go to a replica. */
  hasReplica: boolean;
  /**
   * Same connection semantics as pg-boss needs for `db.executeSql`: one result for one statement,
   * an array of results (one per statement) for a multi-statement script, as node-postgres does.
   */
  executeSql(text: string, values?: unknown[]): Promise<{ rows: any[] } | { rows: any[] }[]>;
  /** Runs `fn` while holding a cluster-wide advisory lock (PGlite has one process, so no lock). */
  withAdvisoryLock<T>(key: number, fn: () => Promise<T>): Promise<T>;
  /** For PGlite only: the embedded instance (tests and tooling). */
  pglite?: PGlite;
  close(): Promise<void>;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function enterTenant(query: QueryFn, tenantId: string): Promise<void> {
  // The id goes through set_config as a bound parameter; the role name is a constant.
  if (!UUID.test(tenantId)) throw new Error(`withTenant: "${tenantId}" is not a tenant id`);
  await query(`SET LOCAL ROLE ${APP_ROLE}`);
  await query(`SELECT set_config('storeops.tenant_id', $1, true)`, [tenantId]);
}

/** Opens PostgreSQL when `databaseUrl` is set, else PGlite in `dataDir` (or in memory for `memory://`). */
export async function openDatabase(options: {
  databaseUrl?: string;
  /** A read replica of `databaseUrl` (PostgreSQL only) for `readTenant`. */
  readUrl?: string;
  dataDir: string;
  poolMax?: number;
}): Promise<Database> {
  return options.databaseUrl
    ? openPostgres(options.databaseUrl, options.poolMax ?? 10, options.readUrl)
    : openPglite(options.dataDir);
}

/**
 * A client taken from the pool for a transaction or a lock. node-postgres emits `error` on a
 * checked-out client whose connection breaks between queries (a server restart terminates it);
 * with no listener that event would end the process, so one is attached for the checkout. A
 * client whose connection broke, or whose ROLLBACK failed, is destroyed on release instead of
 * going back to the pool.
 */
async function checkout(pool: pg.Pool): Promise<{ client: pg.PoolClient; release(destroy?: boolean): void }> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error) => {
    broken = error;
  };
  client.on('error', onError);
  return {
    client,
    release(destroy = false) {
      client.off('error', onError);
      client.release(broken ?? (destroy ? new Error('connection state unknown') : undefined));
    },
  };
}

function newPool(connectionString: string, max: number) {
  const pool = new pg.Pool({ connectionString, max, application_name: 'storeops' });
  // An idle client that errors (server restart) must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  return pool;
}

async function openPostgres(connectionString: string, max: number, readUrl?: string): Promise<Database> {
  const pool = newPool(connectionString, max);
  const replica = readUrl ? newPool(readUrl, max) : undefined;
  const query: QueryFn = async (text, params) => pool.query(text, params as unknown[]) as any;

  async function transaction<T>(
    fn: (tx: Tx) => Promise<T>,
    tenantId?: string,
    on: { pool: pg.Pool; readOnly?: boolean } = { pool },
  ): Promise<T> {
    const { client, release } = await checkout(on.pool);
    let destroy = false;
    try {
      await client.query(on.readOnly ? 'BEGIN READ ONLY' : 'BEGIN');
      const txQuery: QueryFn = async (text, params) => client.query(text, params as unknown[]) as any;
      if (tenantId) await enterTenant(txQuery, tenantId);
      const copyFrom = (copySql: string, chunks: Iterable<string>) =>
        pipeline(Readable.from(chunks), client.query(copyFromStream(copySql)));
      const result = await fn({ db: drizzlePg({ client }) as unknown as Db, query: txQuery, copyFrom });
      await client.query('COMMIT');
      return result;
    } catch (error) {
      destroy = await client.query('ROLLBACK').then(
        () => false,
        () => true,
      );
      throw error;
    } finally {
      release(destroy);
    }
  }

  return {
    kind: 'postgres',
    db: drizzlePg({ client: pool }) as unknown as Db,
    query,
    transaction: (fn) => transaction(fn),
    withTenant: (tenantId, fn) => transaction(fn, tenantId),
    readTenant: (tenantId, fn) => transaction(fn, tenantId, { pool: replica ?? pool, readOnly: true }),
    hasReplica: replica !== undefined,
    executeSql: (text, values) => pool.query(text, values as unknown[]),
    async withAdvisoryLock(key, fn) {
      const { client, release } = await checkout(pool);
      try {
        await client.query('SELECT pg_advisory_lock($1)', [key]);
        return await fn();
      } finally {
        // A lock that cannot be released must not stay held by a pooled connection.
        const unlocked = await client.query('SELECT pg_advisory_unlock($1)', [key]).then(
          () => true,
          () => false,
        );
        release(!unlocked);
      }
    },
    async close() {
      await pool.end();
      await replica?.end();
    },
  };
}

async function openPglite(dataDir: string): Promise<Database> {
  let location = dataDir;
  if (!dataDir.startsWith('memory://')) {
    location = path.resolve(dataDir, 'pglite');
    mkdirSync(location, { recursive: true });
  }
  // pg_trgm: trigram similarity for typo-tolerant search (the catalog), as on a PostgreSQL server.
  const pglite = await PGlite.create(location, { extensions: { pg_trgm } });
  const query: QueryFn = async (text, params) => pglite.query(text, params) as any;

  async function transaction<T>(fn: (tx: Tx) => Promise<T>, tenantId?: string): Promise<T> {
    return pglite.transaction(async (t: PGliteTransaction) => {
      const txQuery: QueryFn = async (text, params) => t.query(text, params) as any;
      if (tenantId) await enterTenant(txQuery, tenantId);
      return fn({ db: drizzlePglite({ client: t as unknown as PGlite }) as unknown as Db, query: txQuery });
    });
  }

  return {
    kind: 'pglite',
    db: drizzlePglite({ client: pglite }) as unknown as Db,
    query,
    transaction: (fn) => transaction(fn),
    withTenant: (tenantId, fn) => transaction(fn, tenantId),
    readTenant: (tenantId, fn) => transaction(fn, tenantId),
    hasReplica: false,
    // pg-boss sends some multi-statement scripts without parameters: PGlite runs parameterless SQL
    // through `exec` (simple protocol, many statements) and the rest through `query`. Like
    // node-postgres, one statement answers one result and several answer one result each (the
    // supervisor reads every statement's rows of its `BEGIN; …; COMMIT` scripts).
    async executeSql(text, values) {
      if (values && values.length > 0) return pglite.query(text, values);
      const results = await pglite.exec(text);
      return results.length === 1 ? results[0] : results;
    },
    withAdvisoryLock: (_key, fn) => fn(),
    pglite,
    close: () => pglite.close(),
  };
}
