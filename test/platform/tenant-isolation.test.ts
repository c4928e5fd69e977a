import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/platform/db/client.ts';
import { migrate } from '../../src/platform/db/migrate.ts';
import { createTestDatabase } from '../support/database.ts';

// Row-level security is the backstop for every tenant-scoped query: prove it on the engine the
// suite runs on (PGlite by default, PostgreSQL when DATABASE_URL is set).
let database: Database;
let drop: () => Promise<void>;
let tenantA: string;
let tenantB: string;

beforeAll(async () => {
  const test = await createTestDatabase();
  drop = test.drop;
  database = await openDatabase({
    databaseUrl: test.databaseUrl,
    dataDir: mkdtempSync(path.join(tmpdir(), 'storeops-rls-')),
  });
  const { tenantTables } = await migrate(database);
  expect(tenantTables).toContain('tenant_users');
  const insertTenant = async (slug: string) =>
    (
      await database.query<{ id: string }>(`INSERT INTO tenants (slug, name) VALUES ($1, $1) RETURNING id`, [
        slug,
      ])
    ).rows[0].id;
  tenantA = await insertTenant('alpha');
  tenantB = await insertTenant('bravo');
  await database.query(
    `INSERT INTO tenant_users (tenant_id, email, password_hash) VALUES ($1, 'a@alpha.test', 'x'), ($2, 'b@bravo.test', 'x')`,
    [tenantA, tenantB],
  );
});
afterAll(async () => {
  await database?.close();
  await drop?.();
});

describe('tenant context', () => {
  it("sees only the current tenant's rows, whatever the query asks for", async () => {
    const rows = await database.withTenant(tenantA, async (tx) => {
      return (await tx.query<{ email: string }>('SELECT email FROM tenant_users ORDER BY email')).rows;
    });
    expect(rows.map((r) => r.email)).toEqual(['a@alpha.test']);
    const explicit = await database.withTenant(tenantA, async (tx) => {
      return (await tx.query('SELECT * FROM tenant_users WHERE tenant_id = $1', [tenantB])).rows;
    });
    expect(explicit).toEqual([]);
  });

  it('sees only its own tenant row', async () => {
    const rows = await database.withTenant(
      tenantB,
      async (tx) => (await tx.query<{ slug: string }>('SELECT slug FROM tenants')).rows,
    );
    expect(rows.map((r) => r.slug)).toEqual(['bravo']);
  });

  it('cannot write rows into another tenant', async () => {
    await expect(
      database.withTenant(tenantA, (tx) =>
        tx.query(
          `INSERT INTO tenant_users (tenant_id, email, password_hash) VALUES ($1, 'evil@x.test', 'x')`,
          [tenantB],
        ),
      ),
    ).rejects.toThrow(/row-level security/);
    await expect(
      database.withTenant(tenantA, (tx) => tx.query(`UPDATE tenant_users SET tenant_id = $1`, [tenantB])),
    ).rejects.toThrow(/row-level security/);
    const updated = await database.withTenant(
      tenantA,
      async (tx) =>
        (
          await tx.query(`UPDATE tenant_users SET name = 'renamed' WHERE tenant_id = $1 RETURNING id`, [
            tenantB,
          ])
        ).rows,
    );
    expect(updated).toEqual([]);
    const bravo = await database.query<{ name: string }>(
      `SELECT name FROM tenant_users WHERE tenant_id = $1`,
      [tenantB],
    );
    expect(bravo.rows[0].name).toBe('');
  });

  // RLS guards against handler bugs (a missing WHERE, a wrong id), not against arbitrary SQL: the
  // session user could still RESET ROLE. Clearing the tenant setting must hide everything.
  it('sees nothing when the tenant setting is cleared', async () => {
    const rows = await database.withTenant(tenantA, async (tx) => {
      await tx.query(`SELECT set_config('storeops.tenant_id', '', true)`);
      return (await tx.query('SELECT * FROM tenant_users')).rows;
    });
    expect(rows).toEqual([]);
  });

  it('does not leak the tenant context to the next transaction on the same connection', async () => {
    await database.withTenant(tenantA, async (tx) => tx.query('SELECT 1'));
    const { rows } = await database.query<{ role: string; tenant: string | null }>(
      `SELECT current_user AS role, current_setting('storeops.tenant_id', true) AS tenant`,
    );
    expect(rows[0].role).not.toBe('storeops_app');
    expect(rows[0].tenant ?? '').toBe('');
  });

  it('rolls the whole transaction back on error', async () => {
    await expect(
      database.withTenant(tenantA, async (tx) => {
        await tx.query(`UPDATE tenant_users SET name = 'half-done'`);
        throw new Error('handler failed');
      }),
    ).rejects.toThrow('handler failed');
    const { rows } = await database.query<{ name: string }>(
      `SELECT name FROM tenant_users WHERE tenant_id = $1`,
      [tenantA],
    );
    expect(rows[0].name).toBe('');
  });

  it('rejects a tenant id that is not a UUID before touching the database', async () => {
    await expect(database.withTenant("x'; DROP TABLE tenants; --", async () => 1)).rejects.toThrow(
      /not a tenant id/,
    );
  });

  it('lets system work (owner) see every tenant', async () => {
    const { rows } = await database.query('SELECT * FROM tenant_users');
    expect(rows).toHaveLength(2);
  });
});
