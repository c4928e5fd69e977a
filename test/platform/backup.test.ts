import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAGIC } from '../../src/platform/db/transfer/backup-file.ts';
import { createTestDatabase } from '../support/database.ts';
import { fingerprint } from '../support/fingerprint.ts';
import { call, createOperatorSession, createTenant, type Credentials } from '../support/identity.ts';
import { spawnCli } from '../support/process.ts';
import { createTestStorage, startTestServer, type TestStorage } from '../support/server.ts';

// `storeops backup` / `storeops restore` (issue 15) on the engine of this run: PGlite's own dump
// without DATABASE_URL, pg_dump/pg_restore with it. Round trip compared table by table, then the
// refusals: corrupt, truncated, foreign file, newer schema, other engine, non-empty target.

const engine = process.env.DATABASE_URL ? 'postgres' : 'pglite';
let storage: TestStorage;
let work: string;
let backup: string;
let original: Record<string, string>;
let operator: Credentials;
let tenantId: string;
const cleanups: (() => Promise<void>)[] = [];

async function cli(args: string[], location: { dataDir: string; databaseUrl?: string }) {
  const child = spawnCli(args, {
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    STOREOPS_DATA_DIR: location.dataDir,
    DATABASE_URL: location.databaseUrl,
  });
  const { code } = await child.exited;
  return { code, output: child.output.join('\n') };
}

/** A place to restore into: a new data dir (and a new empty database on the PostgreSQL run). */
async function freshLocation() {
  const dataDir = mkdtempSync(path.join(work, 'restore-'));
  const database = await createTestDatabase();
  cleanups.push(() => database.drop());
  return { dataDir, databaseUrl: database.databaseUrl };
}

/** True when nothing was restored there (checked without opening an embedded database). */
async function untouched(target: { dataDir: string; databaseUrl?: string }): Promise<boolean> {
  if (!target.databaseUrl) return !existsSync(path.join(target.dataDir, 'pglite'));
  const client = new pg.Client({ connectionString: target.databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`,
    );
    return rows[0].n === 0;
  } finally {
    await client.end();
  }
}

/** Writes a variant of the backup with its manifest changed (the dump and its checksum kept). */
function withManifest(change: (m: any) => void): string {
  const bytes = readFileSync(backup);
  const end = bytes.indexOf(0x0a, MAGIC.length);
  const manifest = JSON.parse(bytes.subarray(MAGIC.length, end).toString('utf8'));
  change(manifest);
  const file = path.join(work, `variant-${Math.random().toString(36).slice(2)}.backup`);
  writeFileSync(
    file,
    Buffer.concat([Buffer.from(`${MAGIC}${JSON.stringify(manifest)}\n`), bytes.subarray(end + 1)]),
  );
  return file;
}

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'storeops-backup-'));
  storage = await createTestStorage();
  const server = await startTestServer({ storage });
  operator = await createOperatorSession(server);
  tenantId = (await createTenant(server, { currency: 'EUR' })).id;
  const product = await call(server, operator, 'POST', `/api/v1/tenants/${tenantId}/catalog/products`, {
    title: 'Backed up',
  });
  expect(product.status, product.text).toBe(201);
  await server.close();
  original = await fingerprint(storage);
  backup = path.join(work, 'first.backup');
});
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup().catch(() => {});
  await storage?.drop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe(`storeops backup and restore (${engine})`, () => {
  it('backs up into one file with a manifest: engine, schema version, checksum', async () => {
    const result = await cli(['backup', '--out', backup], storage);
    expect(result.code, result.output).toBe(0);
    const bytes = readFileSync(backup);
    expect(bytes.subarray(0, MAGIC.length).toString()).toBe(MAGIC);
    const manifest = JSON.parse(bytes.subarray(MAGIC.length, bytes.indexOf(0x0a, MAGIC.length)).toString());
    expect(manifest).toMatchObject({ format: 1, engine, migrations: { count: expect.any(Number) } });
    expect(manifest.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.rows['public.catalog_products']).toBe(1);
  });

  it('restores into a new place: identical table by table, and the server serves it', async () => {
    const target = await freshLocation();
    const result = await cli(['restore', backup], target);
    expect(result.code, result.output).toBe(0);
    expect(await fingerprint(target)).toEqual(original);
    // The same secrets (they live beside the data in development): sessions and keys keep working.
    writeFileSync(
      path.join(target.dataDir, 'secrets.json'),
      readFileSync(path.join(storage.dataDir, 'secrets.json')),
    );
    const server = await startTestServer({ storage: { ...target, drop: async () => {} } });
    try {
      const products = await call(server, operator, 'GET', `/api/v1/tenants/${tenantId}/catalog/products`);
      expect(products.status, products.text).toBe(200);
      expect(products.body.items.map((p: any) => p.title)).toEqual(['Backed up']);
    } finally {
      await server.close();
    }
  });

  it('refuses to restore over an existing database, which stays as it was', async () => {
    const result = await cli(['restore', backup], storage);
    expect(result.code).toBe(1);
    expect(result.output).toMatch(/already holds an embedded database|is not empty/);
    expect(await fingerprint(storage)).toEqual(original);
  });

  it('refuses a corrupt, truncated or foreign file before writing anything', async () => {
    const bytes = readFileSync(backup);
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 100] ^= 0xff;
    const cases: [string, Buffer, RegExp][] = [
      ['flipped.backup', flipped, /checksum of its dump does not match/],
      ['truncated.backup', bytes.subarray(0, bytes.length - 10), /truncated or appended/],
      ['foreign.backup', Buffer.from('PGDMP not ours'), /not a StoreOps backup/],
    ];
    for (const [name, content, message] of cases) {
      const file = path.join(work, name);
      writeFileSync(file, content);
      const target = await freshLocation();
      const result = await cli(['restore', file], target);
      expect(result.code, name).toBe(1);
      expect(result.output, name).toMatch(message);
      expect(await untouched(target), name).toBe(true);
    }
  });

  it('refuses a backup of a newer schema and one of the other engine', async () => {
    const newer = withManifest((m) => {
      m.migrations.count += 1;
    });
    const other = withManifest((m) => {
      m.engine = engine === 'postgres' ? 'pglite' : 'postgres';
    });
    for (const [file, message] of [
      [newer, /newer StoreOps schema/],
      [other, /this is a backup of/],
    ] as const) {
      const target = await freshLocation();
      const result = await cli(['restore', file], target);
      expect(result.code).toBe(1);
      expect(result.output).toMatch(message);
      expect(await untouched(target)).toBe(true);
    }
  });
});
