import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

describe('GET /app (post-install landing page)', () => {
  it('says a shop StoreOps does not hold is not installed, with the install link (never "connected")', async () => {
    const res = await server.fetch('/app?shop=Acme-Store.myshopify.com&host=YWNtZQ');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    expect(html).toContain('StoreOps is not installed on acme-store.myshopify.com');
    expect(html).toContain('href="/shopify/install?shop=acme-store.myshopify.com"');
    expect(html).not.toMatch(/connected|is installed/i);
  });

  it('refuses anything that is not a shop domain (no markup is echoed)', async () => {
    const res = await server.fetch(`/app?shop=${encodeURIComponent('<script>x</script>.myshopify.com')}`);
    expect(res.status).toBe(400);
    const body: any = await res.json();
    expect(body.error.code).toBe('INVALID_SHOP_DOMAIN');
    expect(JSON.stringify(body)).not.toContain('<script>');
  });
});
