import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { type Database, openDatabase } from '../client.ts';
import {
  assertCurrentSchema,
  checkTarget,
  type CopyProgress,
  type CopyReport,
  copyRows,
  dropPreparedSchema,
  prepareTarget,
} from './copy.ts';
import { pgliteSource, pgliteTarget, postgresSource, postgresTarget } from './endpoints.ts';
import { DbToolError } from './inspect.ts';

export { DbToolError } from './inspect.ts';
export type { CopyProgress, CopyReport } from './copy.ts';

/** A connection URL with its password masked, for messages. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'the given URL';
  }
}

/** Opens PostgreSQL and proves it answers, with an operator-friendly error when it does not. */
export async function openServer(url: string, which: string): Promise<Database> {
  const database = await openDatabase({ databaseUrl: url, dataDir: '.', poolMax: 2 });
  try {
    await database.query('SELECT 1');
    return database;
  } catch (error) {
    await database.close().catch(() => {});
    throw new DbToolError(
      `cannot reach the ${which} database ${displayUrl(url)}: ${(error as Error).message}`,
    );
  }
}

/** The embedded database of a data dir (which must exist). */
export async function openEmbedded(dataDir: string): Promise<Database> {
  embeddedLocation(dataDir);
  return openDatabase({ dataDir });
}

/** Where a data dir's embedded database lives; fails when there is none. */
export function embeddedLocation(dataDir: string): string {
  const location = path.resolve(dataDir, 'pglite');
  if (!existsSync(path.join(location, 'PG_VERSION')))
    throw new DbToolError(`no embedded database in ${path.resolve(dataDir)} (expected ${location})`);
  return location;
}

/**
 * `storeops db copy --to`: the embedded database of `dataDir` into an empty PostgreSQL database.
 * A failure leaves the target as it was: a target that had no table at all is emptied again.
 */
export async function copyEmbeddedToServer(options: {
  dataDir: string;
  targetUrl: string;
  progress?: CopyProgress;
  /** Heap pages per slice read from PGlite (tests use 1 to exercise many slices). */
  pagesPerSlice?: number;
}): Promise<CopyReport> {
  embeddedLocation(options.dataDir);
  // The target first: it is the cheaper one to find unreachable.
  const target = await openServer(options.targetUrl, 'target');
  let source: Database;
  try {
    source = await openEmbedded(options.dataDir);
  } catch (error) {
    await target.close();
    throw error;
  }
  let wasEmpty = false;
  try {
    await assertCurrentSchema(source, 'embedded');
    wasEmpty = (await checkTarget(target)).wasEmpty;
    await prepareTarget(target);
    await assertCurrentSchema(target, 'target');
    return await copyRows(
      await pgliteSource(source.pglite!, options.pagesPerSlice),
      await postgresTarget(options.targetUrl),
      options.progress,
    );
  } catch (error) {
    // Only a target that had no table at all is emptied again; a prepared one keeps its schema.
    if (wasEmpty) await dropPreparedSchema(target).catch(() => {});
    throw error;
  } finally {
    await target.close();
    await source.close();
  }
}

/**
 * `storeops db copy --from`: a PostgreSQL database into a new embedded database in `dataDir`. It
 * is built in a hidden directory beside it and only renamed into place once complete.
 */
export async function copyServerToEmbedded(options: {
  sourceUrl: string;
  dataDir: string;
  progress?: CopyProgress;
}): Promise<CopyReport> {
  const root = path.resolve(options.dataDir);
  const destination = path.join(root, 'pglite');
  if (existsSync(destination) && readdirSync(destination).length > 0)
    throw new DbToolError(`${destination} already holds an embedded database; choose another --data-dir`);
  const source = await openServer(options.sourceUrl, 'source');
  try {
    await assertCurrentSchema(source, 'source');
  } finally {
    await source.close();
  }
  const scratch = path.join(root, `.pglite-copy-${randomBytes(4).toString('hex')}`);
  try {
    const target = await openDatabase({ dataDir: scratch });
    let report: CopyReport;
    try {
      await checkTarget(target);
      await prepareTarget(target);
      report = await copyRows(
        await postgresSource(options.sourceUrl),
        await pgliteTarget(target.pglite!),
        options.progress,
      );
    } finally {
      await target.close();
    }
    rmSync(destination, { recursive: true, force: true });
    renameSync(path.join(scratch, 'pglite'), destination);
    return report;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
