import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant } from '../support/identity.ts';
import { spawnCli } from '../support/process.ts';
import { type ShopifyStack, startShopifyStack } from '../support/shopify.ts';

// Issue 5: after `storeops keys rotate` every token decrypts under the new key and the old key can
// be removed. Runs on PGlite (server stopped: one process owns the files) and on PostgreSQL
// (online: the CLI rotates while the server keeps serving).
const oldKey = `old:${randomBytes(32).toString('base64')}`;
const newKey = `new:${randomBytes(32).toString('base64')}`;
const shops = ['rotate-a.myshopify.com', 'rotate-b.myshopify.com', 'rotate-c.myshopify.com'];
const manualShop = 'rotate-manual.myshopify.com';
const online = Boolean(process.env.DATABASE_URL);

let stack: ShopifyStack;
const tokens = new Map<string, string>();

beforeAll(async () => {
  stack = await startShopifyStack({ env: { STOREOPS_ENCRYPTION_KEYS: oldKey } });
});
afterAll(async () => {
  await stack?.close();
});

async function keysCli(args: string[], keys: string) {
  const cli = spawnCli(['keys', ...args], {
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    STOREOPS_DATA_DIR: stack.storage.dataDir,
    STOREOPS_ENCRYPTION_KEYS: keys,
    ...(stack.storage.databaseUrl ? { DATABASE_URL: stack.storage.databaseUrl } : {}),
  });
  const { code } = await cli.exited;
  return { code, output: cli.output.join('\n') };
}

const keyIds = async () =>
  (
    await stack.server.deps.database.query<{
      token_key_id: string;
      access_token_enc: string;
      refresh_token_enc: string | null;
    }>(
      'SELECT token_key_id, access_token_enc, refresh_token_enc FROM shopify_connections ORDER BY shop_domain',
    )
  ).rows;

describe('storeops keys rotate', () => {
  it('re-encrypts every stored token under the newest key, after which the old key can go', async () => {
    for (const shop of shops) await stack.install(shop);
    const tenantId = (await createTenant(stack.server)).id;
    const issued = stack.sim.issueAccessToken(manualShop, { scopes: ['read_products'] });
    await stack.server.deps.shopify.setManualToken(tenantId, {
      shop: manualShop,
      accessToken: issued.access_token as string,
    });
    for (const shop of [...shops, manualShop]) {
      tokens.set(shop, (await stack.server.deps.shopify.tokenForShop(shop)).accessToken);
    }
    expect(
      (await keyIds()).every((r) => r.token_key_id === 'old' && r.access_token_enc.startsWith('v1.old.')),
    ).toBe(true);

    // Removing the key that still protects secrets is a clear start-up error.
    await expect(stack.restartServer({ STOREOPS_ENCRYPTION_KEYS: newKey })).rejects.toThrowError(
      /key "old" is missing but protects 7 stored secret\(s\) in shopify_connections/,
    );

    // Step 2 of the runbook: the new key goes first, the old one stays for decryption.
    await stack.restartServer({ STOREOPS_ENCRYPTION_KEYS: `${newKey},${oldKey}` });
    if (!online) await stack.server.close();
    const status = await keysCli(['status'], `${newKey},${oldKey}`);
    expect(status.code).toBe(0);
    expect(status.output).toContain('old: 7 secret(s)');
    expect(status.output).toContain('7 secret(s) would be re-encrypted under "new"');

    const rotate = await keysCli(['rotate', '--batch-size', '2'], `${newKey},${oldKey}`);
    expect(rotate.output).toContain('Re-encrypted 7 secret(s) under "new"');
    expect(rotate.output).toContain('Key(s) old protect nothing now and can be removed');
    expect(rotate.code).toBe(0);
    const again = await keysCli(['rotate'], `${newKey},${oldKey}`);
    expect(again.output).toContain('Nothing to do');

    // The old key is removed: the server starts and every token decrypts to what it was.
    await stack.restartServer({ STOREOPS_ENCRYPTION_KEYS: newKey });
    const rows = await keyIds();
    expect(rows).toHaveLength(4);
    for (const row of rows) {
      expect(row.token_key_id).toBe('new');
      expect(row.access_token_enc.startsWith('v1.new.')).toBe(true);
      if (row.refresh_token_enc) expect(row.refresh_token_enc.startsWith('v1.new.')).toBe(true);
    }
    for (const [shop, token] of tokens) {
      expect((await stack.server.deps.shopify.tokenForShop(shop)).accessToken).toBe(token);
    }
    const resolved = await stack.server.deps.shopify.resolveShop(shops[0]);
    const client = await stack.server.deps.shopify.adminClient(resolved?.tenantId as string);
    expect((await client.request<any>('{ shop { myshopifyDomain } }')).data.shop.myshopifyDomain).toBe(
      shops[0],
    );
  });

  it('refuses to rotate when a stored secret names a key that is not in the ring', async () => {
    const other = `other:${randomBytes(32).toString('base64')}`;
    if (!online) await stack.server.close();
    const status = await keysCli(['status'], other);
    expect(status.code).toBe(1);
    expect(status.output).toContain('new: 7 secret(s) — NOT IN STOREOPS_ENCRYPTION_KEYS');
    const rotate = await keysCli(['rotate'], other);
    expect(rotate.code).toBe(1);
    expect(rotate.output).toContain('cannot rotate');
    if (!online) await stack.restartServer({ STOREOPS_ENCRYPTION_KEYS: newKey });
  });

  it('prints fresh key entries', async () => {
    const out = await keysCli(['generate', '--id', 'k9'], newKey);
    expect(out.code).toBe(0);
    const line = out.output.split('\n').find((l) => l.startsWith('k9:')) as string;
    expect(Buffer.from(line.slice(3), 'base64')).toHaveLength(32);
  });
});
