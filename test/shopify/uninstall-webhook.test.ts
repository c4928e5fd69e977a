import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ShopifyStack, startShopifyStack, waitFor } from '../support/shopify.ts';

// Uninstall and reinstall end to end: install → the webhooks module ensures subscriptions (hook on
// `connection-installed`) → the merchant removes the app in the simulator → Shopify's signed
// app/uninstalled delivery reaches /webhooks → the uninstall path → reinstall reattaches the tenant.
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

let stack: ShopifyStack;
beforeAll(async () => {
  const port = await freePort();
  stack = await startShopifyStack({
    env: { PORT: String(port), STOREOPS_PUBLIC_URL: `http://127.0.0.1:${port}` },
  });
});
afterAll(async () => {
  await stack?.close();
});

const q = <T = any>(text: string, params: unknown[] = []) =>
  stack.server.deps.database.query<T>(text, params).then((r) => r.rows);

describe('app/uninstalled from Shopify, then reinstall', () => {
  it('erases the tokens on the webhook, schedules redaction, and reattaches the same tenant on reinstall', async () => {
    const shop = 'leaves-and-returns.myshopify.com';
    const tenantId = await stack.install(shop);
    // The webhooks module's subscriber ran: the shop now has subscriptions pointing at StoreOps.
    await waitFor(async () => {
      const rows = await q(
        `SELECT 1 FROM pgboss.job WHERE name = 'shopify.connection-installed.webhooks-ensure'
            AND data->>'shop' = $1 AND state = 'completed'`,
        [shop],
      );
      return rows.length > 0;
    });

    const deliveries = stack.sim.uninstall(shop);
    expect(deliveries.length).toBeGreaterThan(0);
    await stack.sim.waitForDeliveries({ shop, topic: 'app/uninstalled', count: 1 });
    const row = await waitFor(async () => {
      const [r] = await q('SELECT * FROM shopify_connections WHERE shop_domain = $1', [shop]);
      return r.status === 'uninstalled' ? r : undefined;
    });
    expect(row).toMatchObject({ access_token_enc: null, refresh_token_enc: null });
    expect(new Date(row.redact_at).getTime() - new Date(row.uninstalled_at).getTime()).toBe(48 * 3600_000);
    expect((await q('SELECT status FROM tenants WHERE id = $1', [tenantId]))[0].status).toBe('uninstalled');
    await expect(stack.server.deps.shopify.adminClient(tenantId)).rejects.toMatchObject({
      code: 'SHOPIFY_REAUTH_REQUIRED',
    });

    expect(await stack.install(shop)).toBe(tenantId);
    const [back] = await q('SELECT * FROM shopify_connections WHERE shop_domain = $1', [shop]);
    expect(back).toMatchObject({
      status: 'active',
      tenant_id: tenantId,
      redact_at: null,
      uninstalled_at: null,
    });
    expect((await q('SELECT status FROM tenants WHERE id = $1', [tenantId]))[0].status).toBe('active');
    const client = await stack.server.deps.shopify.adminClient(tenantId);
    expect((await client.request<any>('{ shop { myshopifyDomain } }')).data.shop.myshopifyDomain).toBe(shop);
  });
});
