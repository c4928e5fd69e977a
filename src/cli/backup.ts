import path from 'node:path';
import { z } from 'zod';
import { loadDotEnv } from '../platform/config.ts';
import {
  backupEmbedded,
  backupServer,
  restoreEmbedded,
  restoreServer,
} from '../platform/db/transfer/backup.ts';
import { DbToolError, displayUrl } from '../platform/db/transfer/index.ts';
import { parseCommandArgs } from './args.ts';

const backupHelp = `Usage: storeops backup [--out FILE] [--data-dir DIR]

Writes one backup file of the configured database: with DATABASE_URL, pg_dump's custom format; without
it, PGlite's own dump of the embedded data dir (stop StoreOps first: the embedded database has one
user). The file starts with a manifest (engine, schema version, row counts, SHA-256 of the dump).
  --out FILE      where to write (default ./storeops-<engine>-<time>.backup); written under a temporary
                  name and renamed when complete
  --data-dir DIR  the data dir of the embedded database (default STOREOPS_DATA_DIR, ./data)
See docs/operations.md for the runbook.`;

const restoreHelp = `Usage: storeops restore FILE [--data-dir DIR]

Restores a \`storeops backup\` file after checking its checksum and version: with DATABASE_URL into
that (empty) PostgreSQL database in one transaction, without it into a data dir that holds no
embedded database yet. A backup from an older StoreOps is upgraded by its pending migrations; one
from a newer StoreOps, a corrupt file or a backup of the other engine is refused.
  --data-dir DIR  the data dir to restore an embedded backup into (default STOREOPS_DATA_DIR, ./data)`;

const dataDirOf = (given?: string) => given ?? (process.env.STOREOPS_DATA_DIR || './data');

async function reporting(fn: () => Promise<void>, what: string): Promise<number> {
  try {
    await fn();
    return 0;
  } catch (error) {
    if (error instanceof DbToolError) {
      console.error(`storeops: ${what} failed: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

/** `storeops backup`. */
export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(argv, {
    help: backupHelp,
    options: { out: { type: 'string' }, 'data-dir': { type: 'string' } },
    schema: z.object({ out: z.string().min(1).optional(), 'data-dir': z.string().min(1).optional() }),
  });
  if (!args) return 0;
  loadDotEnv();
  const url = process.env.DATABASE_URL || undefined;
  const engine = url ? 'postgres' : 'pglite';
  const out = path.resolve(
    args.out ?? `storeops-${engine}-${new Date().toISOString().replace(/[:.]/g, '-')}.backup`,
  );
  return reporting(async () => {
    const { manifest } = url
      ? await backupServer({ url, out })
      : await backupEmbedded({ dataDir: dataDirOf(args['data-dir']), out });
    const rows = Object.values(manifest.rows ?? {}).reduce((a, b) => a + b, 0);
    console.log(
      `Backed up the ${engine === 'postgres' ? `PostgreSQL database ${displayUrl(url!)}` : 'embedded database'} (${rows} rows, ${manifest.migrations.count} migrations) to ${out} (${manifest.payloadBytes} bytes, sha256 ${manifest.sha256.slice(0, 12)}…).`,
    );
  }, 'backup');
}

/** `storeops restore FILE` (loaded through src/cli/restore.ts). */
export async function runRestore(argv: string[]): Promise<number> {
  const args = parseCommandArgs(argv, {
    help: restoreHelp,
    positionals: true,
    options: { 'data-dir': { type: 'string' } },
    schema: z.object({ positionals: z.tuple([z.string().min(1)]), 'data-dir': z.string().min(1).optional() }),
  });
  if (!args) return 0;
  loadDotEnv();
  const file = path.resolve(args.positionals[0]);
  const url = process.env.DATABASE_URL || undefined;
  return reporting(async () => {
    const manifest = url
      ? await restoreServer({ file, url })
      : await restoreEmbedded({ file, dataDir: dataDirOf(args['data-dir']) });
    const rows = Object.values(manifest.rows ?? {}).reduce((a, b) => a + b, 0);
    console.log(
      `Restored ${file} (taken ${manifest.createdAt}, ${rows} rows) into ${url ? displayUrl(url) : path.resolve(dataDirOf(args['data-dir']), 'pglite')}. Start StoreOps with the same STOREOPS_ENCRYPTION_KEYS as when it was taken.`,
    );
  }, 'restore');
}
