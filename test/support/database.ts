import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * A fresh, empty database for one test file. With DATABASE_URL set (the PostgreSQL run) it creates
 * a new database on that server and drops it afterwards; otherwise it is an in-memory PGlite.
 * Benchmarks pass the server to use instead.
 */
export async function createTestDatabase(
  serverUrl = process.env.DATABASE_URL,
): Promise<{ databaseUrl?: string; drop(): Promise<void> }> {
  if (!serverUrl) return { databaseUrl: undefined, drop: async () => {} };
  const name = `storeops_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    databaseUrl: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
