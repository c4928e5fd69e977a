import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createTenant, type TestTenant } from '../support/identity.ts';
import { fetchObject } from '../support/images.ts';
import { spawnCli } from '../support/process.ts';
import { createTestStorage, startTestServer, type TestServer, type TestStorage } from '../support/server.ts';

// The demo catalog (issue 11): the door function in process, then `storeops catalog seed` against
// the same data with the server stopped, and the storefront showing what was loaded.

let storage: TestStorage;
let server: TestServer | undefined;
let shop: TestTenant;
let yen: TestTenant;
let cliShop: TestTenant;

const anon = { kind: 'none' } as const;
const store = (t: TestTenant, path: string) => `/api/v1/stores/${t.slug}${path}`;

async function storefront(s: TestServer, t: TestTenant) {
  const res = await call(s, anon, 'GET', store(t, '/products?limit=100'));
  expect(res.status, res.text).toBe(200);
  return res.body.items as any[];
}

beforeAll(async () => {
  storage = await createTestStorage();
  server = await startTestServer({ storage });
  shop = await createTenant(server, { currency: 'USD' });
  yen = await createTenant(server, { currency: 'JPY' });
  cliShop = await createTenant(server);
}, 120_000);
afterAll(async () => {
  await server?.close();
  await storage?.drop();
});

describe('catalog demo seed', () => {
  it('loads four categories and 32 products with variants, stock and resized pictures; twice adds nothing', async () => {
    const s = server as TestServer;
    const lines: string[] = [];
    const first = await s.deps.catalog.seedDemo(shop.id, {
      onProgress: (p) => lines.push(`${p.done}/${p.total} ${p.action}`),
    });
    expect(first).toEqual({
      categories: { created: 4, kept: 0 },
      products: { created: 32, kept: 0 },
      images: { created: 32 },
    });
    expect(lines.at(-1)).toBe('32/32 created');

    const categories = (await call(s, anon, 'GET', store(shop, '/categories'))).body.items;
    expect(categories.map((c: any) => [c.name, c.productCount])).toEqual([
      ['Electronics', 8],
      ['Clothing', 8],
      ['Books', 8],
      ['Home', 8],
    ]);
    const clothing = (await call(s, anon, 'GET', store(shop, '/products?category=clothing&limit=50'))).body
      .items;
    expect(clothing).toHaveLength(8);
    const tee = clothing.find((p: any) => p.handle === 'organic-cotton-t-shirt');
    expect(tee.optionNames).toEqual(['Size', 'Colour']);
    expect(tee.variants).toHaveLength(6);
    expect(tee.variants[0]).toMatchObject({ option1: 'S', price: 1999 });
    const products = await storefront(s, shop);
    expect(products).toHaveLength(32);
    for (const p of products) {
      expect(p.images, p.handle).toHaveLength(1);
      expect(Object.keys(p.images[0].urls).sort()).toEqual(['1080', '160', '480', 'original']);
    }
    const picture = await fetchObject(s, products[0].images[0].urls['480']);
    expect(picture).toMatchObject({ status: 200, width: 480, format: 'webp' });

    const again = await s.deps.catalog.seedDemo(shop.id);
    expect(again).toEqual({
      categories: { created: 0, kept: 4 },
      products: { created: 0, kept: 32 },
      images: { created: 0 },
    });
    expect(await storefront(s, shop)).toHaveLength(32);
  });

  it('is deterministic and prices in the tenant currency (JPY has no minor unit)', async () => {
    const s = server as TestServer;
    await s.deps.catalog.seedDemo(yen.id);
    const usd = await storefront(s, shop);
    const jpy = await storefront(s, yen);
    const skus = (list: any[]) => list.flatMap((p) => p.variants.map((v: any) => v.sku)).sort();
    expect(skus(jpy)).toEqual(skus(usd));
    const tee = jpy.find((p) => p.handle === 'organic-cotton-t-shirt');
    expect(tee.currency).toBe('JPY');
    expect(tee.variants[0].price).toBe(20); // 19.99 major units, rounded to whole yen
  });

  it('runs as `storeops catalog seed --tenant <slug>` with progress, says so when already loaded, and refuses an unknown tenant', async () => {
    await server?.close();
    server = undefined;
    const env = {
      STOREOPS_DATA_DIR: storage.dataDir,
      DATABASE_URL: storage.databaseUrl,
      PORT: '0',
      LOG_LEVEL: 'warn',
    };
    const run = async (args: string[]) => {
      const cli = spawnCli(['catalog', ...args], env);
      const { code } = await cli.exited;
      return { code, output: cli.output.join('\n') };
    };
    const seeded = await run(['seed', '--tenant', cliShop.slug]);
    expect(seeded.code, seeded.output).toBe(0);
    expect(seeded.output).toContain(`[32/32] created  wall-clock`);
    expect(seeded.output).toMatch(/Done: 32 products created \(0 already there\), 4 categories created/);
    const again = await run(['seed', '--tenant', cliShop.slug]);
    expect(again.code, again.output).toBe(0);
    expect(again.output).toContain(
      'The demo catalog is already loaded: 32 products and 4 categories were there',
    );
    const unknown = await run(['seed', '--tenant', 'no-such-store']);
    expect(unknown.code).toBe(2);
    expect(unknown.output).toContain('no tenant with the slug or id "no-such-store"');
    const missing = await run(['seed']);
    expect(missing.code).toBe(2);
    expect(missing.output).toContain('--tenant');

    server = await startTestServer({ storage });
    const products = await storefront(server, cliShop);
    expect(products).toHaveLength(32);
    expect(products.every((p) => p.images.length === 1)).toBe(true);
  }, 180_000);
});
