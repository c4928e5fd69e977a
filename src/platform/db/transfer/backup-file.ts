import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { z } from 'zod';
import { DbToolError, shippedMigrations } from './inspect.ts';

/**
 * A StoreOps backup file: one line of magic, one line of JSON manifest, then the engine's own
 * dump (PGlite's data-dir tarball or pg_dump's custom format). The manifest names the engine, the
 * schema version and the payload's SHA-256, so a corrupt or mismatched file is refused before
 * anything is written.
 */
export const MAGIC = 'STOREOPS-BACKUP 1\n';

export const manifestSchema = z.object({
  format: z.literal(1),
  engine: z.enum(['pglite', 'postgres']),
  createdAt: z.string(),
  /** Migrations applied in the backed-up database (count and latest hash). */
  migrations: z.object({ count: z.number().int().min(0), latestHash: z.string().nullable() }),
  /** This build's latest migration tag when the backup was written. */
  migrationTag: z.string(),
  /** PostgreSQL major version of the dumped server (pg_restore must be at least as new). */
  serverMajor: z.number().int().optional(),
  payloadBytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Row counts per table at backup time (informational, shown by restore). */
  rows: z.record(z.string(), z.number()).optional(),
});
export type Manifest = z.infer<typeof manifestSchema>;

const MAX_MANIFEST = 1 << 20;

/** Reads and checks a backup's header: magic, manifest, size and checksum of the payload. */
export async function readBackup(file: string): Promise<{ manifest: Manifest; payloadOffset: number }> {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    throw new DbToolError(`cannot read the backup ${file}`);
  }
  const fd = openSync(file, 'r');
  let head: Buffer;
  try {
    head = Buffer.alloc(Math.min(size, MAX_MANIFEST + MAGIC.length));
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  if (head.subarray(0, MAGIC.length).toString('latin1') !== MAGIC)
    throw new DbToolError(`${file} is not a StoreOps backup (no StoreOps header)`);
  const end = head.indexOf(0x0a, MAGIC.length);
  if (end === -1) throw new DbToolError(`${file} is corrupt: its manifest is cut off`);
  let manifest: Manifest;
  try {
    manifest = manifestSchema.parse(JSON.parse(head.subarray(MAGIC.length, end).toString('utf8')));
  } catch {
    throw new DbToolError(`${file} is corrupt: its manifest does not parse`);
  }
  const payloadOffset = end + 1;
  if (size - payloadOffset !== manifest.payloadBytes)
    throw new DbToolError(
      `${file} is corrupt: ${size - payloadOffset} bytes of dump where the manifest says ${manifest.payloadBytes} (truncated or appended to)`,
    );
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { start: payloadOffset })) hash.update(chunk as Buffer);
  if (hash.digest('hex') !== manifest.sha256)
    throw new DbToolError(`${file} is corrupt: the checksum of its dump does not match the manifest`);
  return { manifest, payloadOffset };
}

/**
 * Refuses a backup this build cannot run: newer migrations than it ships. An older backup is
 * accepted; its pending migrations are applied after the restore (the documented upgrade path).
 */
export function assertRestorableVersion(manifest: Manifest): { pending: number } {
  const shipped = shippedMigrations();
  if (manifest.migrations.count > shipped.count)
    throw new DbToolError(
      `the backup is of a newer StoreOps schema (${manifest.migrations.count} migrations, up to ${manifest.migrationTag}) than this version (${shipped.count}, up to ${shipped.latest}); restore it with the version that wrote it`,
    );
  return { pending: shipped.count - manifest.migrations.count };
}

/** The header bytes of a backup with this manifest. */
export function headerFor(manifest: Manifest): Buffer {
  return Buffer.from(`${MAGIC}${JSON.stringify(manifest)}\n`, 'utf8');
}

/** SHA-256 and size of a file. */
export async function digestFile(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}
