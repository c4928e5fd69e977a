import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/platform/config.ts';
import { openDatabase } from '../../src/platform/db/client.ts';
import { copyRows, prepareTarget } from '../../src/platform/db/transfer/copy.ts';
import { postgresSource, postgresTarget } from '../../src/platform/db/transfer/endpoints.ts';
import { createTestDatabase } from '../support/database.ts';
import { fingerprint } from '../support/fingerprint.ts';
import { startSyncStack, type SyncStack } from '../support/sync.ts';

// DATABASE_READ_URL (issue 15): mirrored-data reads go to the replica, everything else to the
// primary. A second PostgreSQL database stands in for the replica: a copy of the primary taken
// once, so a change made on the primary afterwards shows which database a read came from.

const serverUrl = process.env.DATABASE_URL;

it('DATABASE_READ_URL needs DATABASE_URL', () => {
  expect(() =>
    loadConfig({ DATABASE_READ_URL: 'postgres://replica/x', STOREOPS_DATA_DIR: '/tmp/x' }),
  ).toThrow(/DATABASE_READ_URL: only used with DATABASE_URL/);
});

describe.skipIf(!serverUrl)('reads from a replica (needs PostgreSQL: DATABASE_URL)', () => {
  let stack: SyncStack;
  let tenantId: string;
  let replica: { databaseUrl?: string; drop(): Promise<void> };
  let productId: string;

  beforeAll(async () => {
    stack = await startSyncStack();
    ({ tenantId } = await stack.installShop({ products: 3, customers: 2, orders: 2 }));
    replica = await createTestDatabase();
    const target = await openDatabase({ databaseUrl: replica.databaseUrl, dataDir: '.' });
    try {
      await prepareTarget(target);
    } finally {
      await target.close();
    }
    await copyRows(
      await postgresSource(stack.storage.databaseUrl!),
      await postgresTarget(replica.databaseUrl!),
    );
    [{ id: productId }] = await stack.q(
      'SELECT id::text AS id FROM shop_products WHERE tenant_id = $1 ORDER BY id LIMIT 1',
      [tenantId],
    );
    // A change only the primary has (the replica "lags").
    await stack.q(`UPDATE shop_products SET title = 'primary only' WHERE tenant_id = $1 AND id = $2`, [
      tenantId,
      productId,
    ]);
    await stack.restartServer({ DATABASE_READ_URL: replica.databaseUrl! });
  });
  afterAll(async () => {
    await stack?.close();
    await replica?.drop();
  });

  it('serves mirrored lists and records from the replica', async () => {
    expect(stack.server.deps.database.hasReplica).toBe(true);
    const one = await stack.api('GET', `/api/v1/tenants/${tenantId}/products/${productId}`);
    expect(one.status, one.text).toBe(200);
    expect(one.body.item.title).not.toBe('primary only');
    const list = await stack.api('GET', `/api/v1/tenants/${tenantId}/products`);
    expect(list.status, list.text).toBe(200);
    expect(list.body.items.map((p: any) => p.title)).not.toContain('primary only');
  });

  it('keeps writes and read-your-write paths on the primary; nothing is written to the replica', async () => {
    const before = await fingerprint({ databaseUrl: replica.databaseUrl });
    // live=true reads Shopify and writes the record back: primary.
    const live = await stack.api('GET', `/api/v1/tenants/${tenantId}/products/${productId}?live=true`);
    expect(live.status, live.text).toBe(200);
    const [row] = await stack.q('SELECT title FROM shop_products WHERE tenant_id = $1 AND id = $2', [
      tenantId,
      productId,
    ]);
    expect(row.title).toBe(live.body.item.title);
    const started = await stack.api('POST', `/api/v1/tenants/${tenantId}/sync`, { mode: 'incremental' });
    expect(started.status, started.text).toBe(202);
    await stack.idle(tenantId, Date.now() - 1000);
    expect(await fingerprint({ databaseUrl: replica.databaseUrl })).toEqual(before);
  });
});
