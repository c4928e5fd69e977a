import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ShopifyStack, startShopifyStack } from '../support/shopify.ts';

// GET /app?shop= is where a merchant lands after installing. It used to say "installed" for any
// shop (issue 16); it now answers from what StoreOps holds.

let stack: ShopifyStack;
const newShop = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}.myshopify.com`;

beforeAll(async () => {
  stack = await startShopifyStack();
});
afterAll(async () => {
  await stack?.close();
});

describe('GET /app (post-install landing page)', () => {
  it('greets the merchant of an installed shop', async () => {
    const shop = newShop('landing');
    await stack.install(shop);
    const res = await stack.server.fetch(`/app?shop=${shop.toUpperCase()}&host=YWNtZQ`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    expect(html).toContain(`StoreOps is connected to ${shop}`);
    expect(html).toContain('href="/docs"');
  });

  it('says so when StoreOps does not hold the shop, and offers the install', async () => {
    const shop = newShop('stranger');
    const res = await stack.server.fetch(`/app?shop=${shop}`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    expect(html).not.toMatch(/is installed|connected to/i);
    expect(html).toContain(`StoreOps is not installed on ${shop}`);
    expect(html).toContain(`href="/shopify/install?shop=${encodeURIComponent(shop)}"`);
  });

  it('says so after an uninstall', async () => {
    const shop = newShop('gone');
    await stack.install(shop);
    await stack.server.deps.shopify.handleAppUninstalled(shop);
    const res = await stack.server.fetch(`/app?shop=${shop}`);
    expect(res.status).toBe(404);
    const html = await res.text();
    expect(html).not.toMatch(/is installed|connected to/i);
    expect(html).toContain('/shopify/install?shop=');
  });

  it('refuses anything that is not a shop domain (no markup is echoed)', async () => {
    const res = await stack.server.fetch(
      `/app?shop=${encodeURIComponent('<script>x</script>.myshopify.com')}`,
    );
    expect(res.status).toBe(400);
    const body: any = await res.json();
    expect(body.error.code).toBe('INVALID_SHOP_DOMAIN');
    expect(JSON.stringify(body)).not.toContain('<script>');
  });
});
