import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import type { Database } from '../client.ts';
import { migrate } from '../migrate.ts';
import { assertRestorableVersion, digestFile, headerFor, type Manifest, readBackup } from './backup-file.ts';
import { appliedMigrations, countRows, DbToolError, listTables, shippedMigrations } from './inspect.ts';
import { displayUrl, openEmbedded, openServer } from './index.ts';

export type BackupReport = { file: string; manifest: Manifest };

async function describe(database: Database): Promise<Pick<Manifest, 'migrations' | 'rows'>> {
  const applied = await appliedMigrations(database.query);
  const counts = await countRows(database.query, await listTables(database.query));
  return {
    migrations: { count: applied.length, latestHash: applied.at(-1) ?? null },
    rows: Object.fromEntries(counts),
  };
}

/** Writes header + payload to `out` atomically (a temporary name, renamed when complete). */
async function writeBackup(out: string, manifest: Manifest, payload: string | Buffer): Promise<void> {
  const partial = `${out}.partial-${randomBytes(3).toString('hex')}`;
  try {
    const fd = openSync(partial, 'wx', 0o600);
    try {
      writeSync(fd, headerFor(manifest));
      if (Buffer.isBuffer(payload)) writeSync(fd, payload);
    } finally {
      closeSync(fd);
    }
    if (typeof payload === 'string')
      await pipeline(createReadStream(payload), createWriteStream(partial, { flags: 'a' }));
    renameSync(partial, out);
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  }
}

/** The embedded database, dumped by PGlite itself (`dumpDataDir`, a gzipped tarball of its data dir). */
export async function backupEmbedded(options: { dataDir: string; out: string }): Promise<BackupReport> {
  const database = await openEmbedded(options.dataDir);
  let manifest: Manifest;
  let payload: Buffer;
  try {
    const described = await describe(database);
    payload = Buffer.from(await (await database.pglite!.dumpDataDir('gzip')).arrayBuffer());
    manifest = {
      format: 1,
      engine: 'pglite',
      createdAt: new Date().toISOString(),
      ...described,
      migrationTag: shippedMigrations().latest,
      payloadBytes: payload.length,
      sha256: createHash('sha256').update(payload).digest('hex'),
    };
  } finally {
    await database.close();
  }
  await writeBackup(options.out, manifest, payload);
  return { file: options.out, manifest };
}

/** Restores an embedded backup into a data dir that holds no embedded database yet. */
export async function restoreEmbedded(options: { file: string; dataDir: string }): Promise<Manifest> {
  const { manifest, payloadOffset } = await readBackup(options.file);
  if (manifest.engine !== 'pglite')
    throw new DbToolError(
      'this is a backup of a PostgreSQL server: restore it with DATABASE_URL set to an empty database (then `storeops db copy --from` for an embedded copy)',
    );
  const { pending } = assertRestorableVersion(manifest);
  const root = path.resolve(options.dataDir);
  const destination = path.join(root, 'pglite');
  if (existsSync(destination) && readdirSync(destination).length > 0)
    throw new DbToolError(
      `${destination} already holds an embedded database; restore into an empty data dir`,
    );
  const scratch = path.join(root, `.pglite-restore-${randomBytes(4).toString('hex')}`);
  mkdirSync(root, { recursive: true });
  try {
    const payload = readFileSync(options.file).subarray(payloadOffset);
    const pglite = await PGlite.create(scratch, {
      loadDataDir: new Blob([payload], { type: 'application/x-gzip' }),
      extensions: { pg_trgm },
    });
    await pglite.close();
    renameSync(scratch, destination);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const database = await openEmbedded(options.dataDir);
  try {
    const applied = await appliedMigrations(database.query);
    if (applied.length !== manifest.migrations.count) {
      throw new DbToolError('the restored database does not match its manifest');
    }
    if (pending > 0) await migrate(database);
  } catch (error) {
    await database.close();
    rmSync(destination, { recursive: true, force: true });
    throw error;
  }
  await database.close();
  return manifest;
}

/** The directory of the newest PostgreSQL client tools: PATH first, then Debian's layout. */
export function pgToolPath(tool: 'pg_dump' | 'pg_restore'): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, tool))) return path.join(dir, tool);
  }
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter((v) => /^\d+$/.test(v) && existsSync(path.join(base, v, 'bin', tool)))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0)
    throw new DbToolError(`${tool} not found (install the PostgreSQL client tools, e.g. postgresql-client)`);
  return path.join(base, versions[0], 'bin', tool);
}

/** Runs a PostgreSQL tool with the password in PGPASSWORD (never on the command line). */
function runTool(
  tool: string,
  args: string[],
  url: string,
  stdin?: NodeJS.ReadableStream,
): Promise<{ code: number; stderr: string }> {
  const parsed = new URL(url);
  const password = decodeURIComponent(parsed.password);
  parsed.password = '';
  return new Promise((resolve, reject) => {
    const child = spawn(tool, [...args, `--dbname=${parsed.toString()}`], {
      env: { ...process.env, ...(password ? { PGPASSWORD: password } : {}) },
      stdio: [stdin ? 'pipe' : 'ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk) => {
      stderr += String(chunk);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stderr: stderr.trim() }));
    if (stdin) pipeline(stdin, child.stdin!).catch(() => {});
  });
}

/** A PostgreSQL database, dumped by `pg_dump -Fc` (custom format, compressed). */
export async function backupServer(options: { url: string; out: string }): Promise<BackupReport> {
  const database = await openServer(options.url, 'source');
  let described: Awaited<ReturnType<typeof describe>>;
  let serverMajor: number;
  try {
    described = await describe(database);
    const { rows } = await database.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
    serverMajor = Math.floor(Number(rows[0].v) / 10_000);
  } finally {
    await database.close();
  }
  const dump = `${options.out}.dump-${randomBytes(3).toString('hex')}`;
  try {
    const result = await runTool(pgToolPath('pg_dump'), ['--format=custom', `--file=${dump}`], options.url);
    if (result.code !== 0)
      throw new DbToolError(`pg_dump of ${displayUrl(options.url)} failed: ${result.stderr}`);
    const { sha256, bytes } = await digestFile(dump);
    const manifest: Manifest = {
      format: 1,
      engine: 'postgres',
      createdAt: new Date().toISOString(),
      ...described,
      migrationTag: shippedMigrations().latest,
      serverMajor,
      payloadBytes: bytes,
      sha256,
    };
    await writeBackup(options.out, manifest, dump);
    return { file: options.out, manifest };
  } finally {
    rmSync(dump, { force: true });
  }
}

/**
 * Restores a PostgreSQL backup into an empty database with `pg_restore --single-transaction`
 * (all or nothing), then re-applies row-level security and any pending migrations.
 */
export async function restoreServer(options: { file: string; url: string }): Promise<Manifest> {
  const { manifest, payloadOffset } = await readBackup(options.file);
  if (manifest.engine !== 'postgres')
    throw new DbToolError(
      'this is a backup of an embedded database: restore it without DATABASE_URL (into a data dir), then `storeops db copy --to` to move it to PostgreSQL',
    );
  const { pending } = assertRestorableVersion(manifest);
  const tool = pgToolPath('pg_restore');
  const database = await openServer(options.url, 'target');
  try {
    if ((await listTables(database.query)).length > 0)
      throw new DbToolError(
        `the target database ${displayUrl(options.url)} is not empty; restore into a new database`,
      );
    // Grants in the dump name the app role, which is cluster-wide and may not exist here yet.
    await database.query(`DO $$ BEGIN CREATE ROLE storeops_app NOLOGIN;
      EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`);
    const result = await runTool(
      tool,
      ['--single-transaction', '--exit-on-error', '--no-owner'],
      options.url,
      createReadStream(options.file, { start: payloadOffset }),
    );
    if (result.code !== 0)
      throw new DbToolError(
        `pg_restore failed (nothing was restored): ${result.stderr.split('\n').slice(0, 3).join(' ')}`,
      );
    await migrate(database);
    if (pending === 0 && (await appliedMigrations(database.query)).length !== manifest.migrations.count)
      throw new DbToolError('the restored database does not match its manifest');
  } finally {
    await database.close();
  }
  return manifest;
}
