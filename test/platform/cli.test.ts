import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/platform/db/client.ts';
import { createTestDatabase } from '../support/database.ts';
import { spawnCli } from '../support/process.ts';

let dataDir: string;
let databaseUrl: string | undefined;
let drop: () => Promise<void> = async () => {};
beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'storeops-cli-'));
  const test = await createTestDatabase();
  databaseUrl = test.databaseUrl;
  drop = test.drop;
});
afterAll(async () => drop());

const env = () => ({ STOREOPS_DATA_DIR: dataDir, PORT: '0', DATABASE_URL: databaseUrl, LOG_LEVEL: 'info' });

describe('storeops CLI', () => {
  it('prints help', async () => {
    const cli = spawnCli(['--help'], env());
    expect((await cli.exited).code).toBe(0);
    expect(cli.output.join('\n')).toMatch(/Usage: storeops <command>[\s\S]*serve[\s\S]*migrate/);
  });

  it('exits 2 on an unknown command or a bad flag', async () => {
    const unknown = spawnCli(['frobnicate'], env());
    expect((await unknown.exited).code).toBe(2);
    const badRole = spawnCli(['serve', '--role', 'janitor'], env());
    expect((await badRole.exited).code).toBe(2);
    expect(badRole.output.join('\n')).toContain('--role');
  });

  it('refuses to start half-configured, naming each bad variable', async () => {
    const cli = spawnCli(['serve'], { ...env(), PORT: 'eighty', SHOPIFY_ADMIN_URL_TEMPLATE: 'https://nope' });
    expect((await cli.exited).code).toBe(1);
    const text = cli.output.join('\n');
    expect(text).toContain('PORT:');
    expect(text).toContain('SHOPIFY_ADMIN_URL_TEMPLATE:');
    expect(text).not.toContain('listening');
  });

  it('migrates, serves, drains on SIGTERM with exit 0, and keeps data across restarts', async () => {
    const migrate = spawnCli(['migrate'], env());
    expect((await migrate.exited).code).toBe(0);
    expect(migrate.output.join('\n')).toMatch(/row-level security on \d+ tenant tables/);

    // A row written between runs must still be there after the server has run again.
    const db = await openDatabase({ databaseUrl, dataDir });
    await db.query(`INSERT INTO tenants (slug, name) VALUES ('persisted', 'Persisted')`);
    await db.close();

    for (const role of ['all', 'worker']) {
      const server = spawnCli(['serve', '--role', role], env());
      const listening = await server.waitForLog('StoreOps is listening');
      const url = String(listening.url);
      expect((await fetch(`${url}/health`)).status).toBe(200);
      expect((await fetch(`${url}/ready`)).status).toBe(200);
      server.child.kill('SIGTERM');
      expect(await server.exited).toEqual({ code: 0, signal: null });
      expect(server.output.some((l) => l.includes('"msg":"StoreOps stopped"'))).toBe(true);
    }

    const after = await openDatabase({ databaseUrl, dataDir });
    const { rows } = await after.query<{ slug: string }>(`SELECT slug FROM tenants`);
    await after.close();
    expect(rows.map((r) => r.slug)).toContain('persisted');
  });
});
