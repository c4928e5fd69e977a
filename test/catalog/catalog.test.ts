import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  basic,
  call,
  type Credentials,
  createApiKey,
  createOperatorSession,
  createShopper,
  createStaff,
  createTenant,
  expectNoSecretsInLogs,
  mailsTo,
  type TestStaff,
  type TestTenant,
} from '../support/identity.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

// The native catalog end to end (issue 11): staff CRUD with roles, optimistic concurrency, the
// category tree, stock with its ledger, the storefront's view, search, countries and low stock.

let server: TestServer;
let operator: Credentials;
let tenant: TestTenant;
let other: TestTenant;
let ownerStaff: TestStaff;
let owner: Credentials;
let staff: Credentials;
let writer: Credentials;
let reader: Credentials;
let foreignOwner: Credentials;

const cat = (path = '') => `/api/v1/tenants/${tenant.id}/catalog${path}`;
const store = (path: string, t: { slug: string } = tenant) => `/api/v1/stores/${t.slug}${path}`;
const anon: Credentials = { kind: 'none' };

beforeAll(async () => {
  server = await startTestServer();
  operator = await createOperatorSession(server);
  tenant = await createTenant(server, { currency: 'EUR' });
  other = await createTenant(server);
  ownerStaff = await createStaff(server, tenant, { role: 'owner' });
  owner = basic(ownerStaff);
  staff = basic(await createStaff(server, tenant, { role: 'staff' }));
  writer = (await createApiKey(server, tenant, { scopes: ['catalog:write', 'catalog:read'] })).credentials;
  reader = (await createApiKey(server, tenant, { scopes: ['catalog:read'] })).credentials;
  foreignOwner = basic(await createStaff(server, other, { role: 'owner' }));
});
afterAll(async () => {
  if (server) expectNoSecretsInLogs(server);
  await server?.close();
});

async function category(name: string, parentId?: string) {
  const res = await call(server, staff, 'POST', cat('/categories'), {
    name,
    ...(parentId ? { parentId } : {}),
  });
  expect(res.status, res.text).toBe(201);
  return res.body as { id: string; handle: string };
}

async function product(body: Record<string, unknown>, as: Credentials = staff) {
  const res = await call(server, as, 'POST', cat('/products'), body);
  expect(res.status, res.text).toBe(201);
  return res.body;
}

describe('catalog: staff API', () => {
  it('creates a product with variants, sanitised description, prices in minor units and stock', async () => {
    const electronics = await category('Electronics');
    const created = await product({
      title: 'Noise-cancelling Headphones',
      descriptionHtml:
        '<p>Quiet <b>everywhere</b>.</p><script>alert(1)</script><img src="x" onerror="steal()">',
      status: 'active',
      vendor: 'Acme',
      tags: ['audio', 'wireless'],
      categoryId: electronics.id,
      currency: 'EUR',
      variants: [
        { sku: 'HP-BLK', option1: 'Black', price: 19999, compareAtPrice: 24999, onHand: 12 },
        { sku: 'HP-WHT', option1: 'White', price: 21999, onHand: 3 },
      ],
    });
    expect(created).toMatchObject({
      handle: 'noise-cancelling-headphones',
      status: 'active',
      currency: 'EUR',
      priceRange: { min: 19999, max: 21999 },
      version: 1,
      descriptionText: 'Quiet everywhere.',
    });
    expect(created.descriptionHtml).not.toMatch(/script|onerror/);
    expect(created.variants.map((v: any) => [v.sku, v.title, v.inventory.available])).toEqual([
      ['HP-BLK', 'Black', 12],
      ['HP-WHT', 'White', 3],
    ]);
    const ledger = await call(
      server,
      reader,
      'GET',
      cat(`/inventory/ledger?variantId=${created.variants[0].id}`),
    );
    expect(ledger.body.items).toMatchObject([
      { reason: 'received', onHandDelta: 12, onHandAfter: 12, note: 'initial stock' },
    ]);
  });

  it('lets owners, staff and catalog:write keys write; catalog:read keys only read; others nothing', async () => {
    await product({ title: 'By owner' }, owner);
    await product({ title: 'By key' }, writer);
    expect((await call(server, reader, 'POST', cat('/products'), { title: 'x' })).status).toBe(403);
    expect((await call(server, reader, 'GET', cat('/products'))).status).toBe(200);
    expect((await call(server, operator, 'GET', cat('/products'))).status).toBe(200);
    expect((await call(server, anon, 'GET', cat('/products'))).status).toBe(401);
    expect([403, 404]).toContain((await call(server, foreignOwner, 'GET', cat('/products'))).status);
    const shopper = await createShopper(server, tenant);
    expect(
      (await call(server, { kind: 'bearer', token: shopper.accessToken }, 'GET', cat('/products'))).status,
    ).toBe(403);
  });

  it('refuses bad input with clear errors and stores nothing', async () => {
    const before = (await call(server, staff, 'GET', cat('/products?limit=250'))).body.items.length;
    const bad: [Record<string, unknown>, number, string][] = [
      [{ title: 'Neg', variants: [{ price: -1 }] }, 422, 'VALIDATION_FAILED'],
      [{ title: 'Float', variants: [{ price: 9.99 }] }, 422, 'VALIDATION_FAILED'],
      [{ title: 'Cur', currency: 'XYZ' }, 422, 'VALIDATION_FAILED'],
      [{ title: 'Cur', currency: 'USD' }, 422, 'CURRENCY_MISMATCH'],
      [{ title: 'Dup SKU', variants: [{ sku: 'HP-BLK', price: 1 }] }, 409, 'SKU_TAKEN'],
      [{ title: 'Dup', handle: 'noise-cancelling-headphones' }, 409, 'HANDLE_TAKEN'],
      [
        {
          title: 'Opts',
          variants: [
            { option1: 'M', price: 1 },
            { option1: 'M', price: 2 },
          ],
        },
        409,
        'DUPLICATE_OPTIONS',
      ],
      [{ title: 'Cat', categoryId: '00000000-0000-4000-8000-000000000000' }, 422, 'UNKNOWN_CATEGORY'],
    ];
    for (const [body, status, code] of bad) {
      const res = await call(server, staff, 'POST', cat('/products'), body);
      expect([res.status, res.body.error?.code], JSON.stringify(body)).toEqual([status, code]);
    }
    expect((await call(server, staff, 'GET', cat('/products?limit=250'))).body.items.length).toBe(before);
  });

  it('uses versions so two editors do not overwrite each other', async () => {
    const p = await product({ title: 'Desk Lamp', variants: [{ price: 4500 }] });
    const read = await call(server, staff, 'GET', cat(`/products/${p.id}`));
    expect(read.headers.get('etag')).toBe('"1"');
    expect(
      (await call(server, staff, 'PATCH', cat(`/products/${p.id}`), { title: 'No version' })).status,
    ).toBe(428);
    const first = await call(
      server,
      staff,
      'PATCH',
      cat(`/products/${p.id}`),
      { title: 'Desk Lamp Pro' },
      { 'if-match': '"1"' },
    );
    expect([first.status, first.body.version, first.headers.get('etag')]).toEqual([200, 2, '"2"']);
    const second = await call(
      server,
      owner,
      'PATCH',
      cat(`/products/${p.id}`),
      { vendor: 'Late' },
      { 'if-match': '"1"' },
    );
    expect([second.status, second.body.error.code, second.body.error.details]).toEqual([
      412,
      'STALE_VERSION',
      { currentVersion: 2 },
    ]);
    const after = await call(server, staff, 'GET', cat(`/products/${p.id}`));
    expect([after.body.title, after.body.vendor]).toEqual(['Desk Lamp Pro', null]);
  });

  it('keeps the category tree free of cycles and refuses deleting a category in use', async () => {
    const home = await category('Home');
    const kitchen = await category('Kitchen', home.id);
    const knives = await category('Knives', kitchen.id);
    const cycle = await call(server, staff, 'PATCH', cat(`/categories/${home.id}`), { parentId: knives.id });
    expect([cycle.status, cycle.body.error.code]).toEqual([409, 'CATEGORY_CYCLE']);
    const inUse = await call(server, staff, 'DELETE', cat(`/categories/${kitchen.id}`));
    expect([inUse.status, inUse.body.error.code]).toEqual([409, 'CATEGORY_IN_USE']);
    const tools = await category('Tools', home.id);
    const reordered = await call(server, staff, 'POST', cat('/categories/reorder'), {
      parentId: home.id,
      order: [tools.id, kitchen.id],
    });
    expect(reordered.status).toBe(200);
    const children = reordered.body.items.filter((c: any) => c.parentId === home.id).map((c: any) => c.name);
    expect(children).toEqual(['Tools', 'Kitchen']);
    expect((await call(server, staff, 'DELETE', cat(`/categories/${tools.id}`))).status).toBe(204);
  });

  it('adjusts stock with reasons, never below what is reserved, and keeps the ledger', async () => {
    const p = await product({
      title: 'Mug',
      variants: [{ sku: 'MUG-1', price: 900, onHand: 5, lowStockThreshold: 2 }],
    });
    const variantId = p.variants[0].id;
    const sold = await call(server, staff, 'POST', cat('/inventory/adjust'), {
      variantId,
      delta: -2,
      reason: 'sold',
    });
    expect(sold.body).toMatchObject({ onHand: 3, available: 3 });
    const over = await call(server, staff, 'POST', cat('/inventory/adjust'), {
      variantId,
      delta: -4,
      reason: 'sold',
    });
    expect([over.status, over.body.error.code]).toEqual([409, 'INSUFFICIENT_STOCK']);
    const counted = await call(server, staff, 'POST', cat('/inventory/set'), {
      variantId,
      onHand: 10,
      note: 'stock take',
    });
    expect(counted.body).toMatchObject({ onHand: 10 });
    const ledger = await call(server, staff, 'GET', cat(`/inventory/ledger?variantId=${variantId}`));
    expect(ledger.body.items.map((e: any) => [e.reason, e.onHandDelta, e.onHandAfter])).toEqual([
      ['correction', 7, 10],
      ['sold', -2, 3],
      ['received', 5, 5],
    ]);
    expect(ledger.body.items[0].actor).toMatch(/^staff:/);
    // A well-formed cursor with wrong fields is a 400, never a database error (issue 16).
    const forged = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const path of [
      `/inventory?cursor=${forged({ id: 'zz' })}`,
      `/inventory?cursor=${forged({ id: 7 })}`,
      `/inventory/ledger?cursor=${forged({ id: 'zz' })}`,
      `/inventory/ledger?cursor=${forged({ id: 1.5 })}`,
    ]) {
      const res = await call(server, staff, 'GET', cat(path));
      expect([res.status, res.body.error?.code], path).toEqual([400, 'INVALID_CURSOR']);
    }
    const badReason = await call(server, staff, 'POST', cat('/inventory/adjust'), {
      variantId,
      delta: 1,
      reason: 'reserved',
    });
    expect(badReason.status).toBe(422);
  });
});

describe('catalog: locations', () => {
  it('keeps stock per location and sums it per variant', async () => {
    const p = await product({ title: 'Backpack', variants: [{ sku: 'BAG-1', price: 5000, onHand: 4 }] });
    const variantId = p.variants[0].id;
    const store2 = await call(server, staff, 'POST', cat('/locations'), { name: 'Shop floor' });
    expect(store2.status, store2.text).toBe(201);
    expect(
      (await call(server, staff, 'POST', cat('/locations'), { name: 'Shop floor' })).body.error.code,
    ).toBe('LOCATION_TAKEN');
    const moved = await call(server, staff, 'POST', cat('/inventory/adjust'), {
      variantId,
      locationId: store2.body.id,
      delta: 6,
      reason: 'received',
    });
    expect(moved.body).toMatchObject({ locationId: store2.body.id, onHand: 6 });
    const unknown = await call(server, staff, 'POST', cat('/inventory/adjust'), {
      variantId,
      locationId: '00000000-0000-4000-8000-000000000000',
      delta: 1,
      reason: 'received',
    });
    expect([unknown.status, unknown.body.error.code]).toEqual([422, 'UNKNOWN_LOCATION']);
    const levels = await call(server, reader, 'GET', cat(`/inventory?productId=${p.id}`));
    expect(levels.body.items[0]).toMatchObject({ onHand: 10, available: 10 });
    expect(levels.body.items[0].levels.map((l: any) => [l.location, l.onHand])).toEqual([
      ['Default', 4],
      ['Shop floor', 6],
    ]);
    const names = (await call(server, reader, 'GET', cat('/locations'))).body.items.map((l: any) => l.name);
    expect(names).toEqual(['Default', 'Shop floor']);
  });
});

describe('catalog: storefront', () => {
  it('shows only active products, without internal fields, with ETags', async () => {
    await product({ title: 'Secret Draft', status: 'draft' });
    const list = await call(server, anon, 'GET', store('/products?limit=100'));
    expect(list.status).toBe(200);
    const titles = list.body.items.map((p: any) => p.title);
    expect(titles).toContain('Noise-cancelling Headphones');
    expect(titles).not.toContain('Secret Draft');
    expect(list.text).not.toMatch(/lowStockThreshold|onHand|reserved|version|barcode/);
    const etag = list.headers.get('etag') as string;
    expect(list.headers.get('cache-control')).toMatch(/max-age/);
    const again = await call(server, anon, 'GET', store('/products?limit=100'), undefined, {
      'if-none-match': etag,
    });
    expect(again.status).toBe(304);
    expect((await call(server, anon, 'GET', store('/products/secret-draft'))).status).toBe(404);
    const one = await call(server, anon, 'GET', store('/products/noise-cancelling-headphones'));
    expect(one.body).toMatchObject({ category: { name: 'Electronics' }, inStock: true, currency: 'EUR' });
    // Another tenant's storefront does not show this tenant's products.
    expect(
      (await call(server, anon, 'GET', store('/products/noise-cancelling-headphones', other))).status,
    ).toBe(404);
  });

  it('filters by category (with subcategories) and price, sorts, and pages', async () => {
    const garden = await category('Garden');
    const seeds = await category('Seeds', garden.id);
    for (const [title, price, categoryId] of [
      ['Spade', 2500, garden.id],
      ['Tomato Seeds', 300, seeds.id],
      ['Basil Seeds', 250, seeds.id],
    ] as const)
      await product({ title, status: 'active', categoryId, variants: [{ price }] });
    const all = await call(server, anon, 'GET', store(`/products?category=${garden.handle}&sort=price-asc`));
    expect(all.body.items.map((p: any) => p.title)).toEqual(['Basil Seeds', 'Tomato Seeds', 'Spade']);
    const cheap = await call(
      server,
      anon,
      'GET',
      store(`/products?category=${garden.handle}&maxPrice=500&sort=title`),
    );
    expect(cheap.body.items.map((p: any) => p.title)).toEqual(['Basil Seeds', 'Tomato Seeds']);
    const page1 = await call(
      server,
      anon,
      'GET',
      store(`/products?category=${garden.handle}&sort=price-desc&limit=2`),
    );
    const page2 = await call(
      server,
      anon,
      'GET',
      store(`/products?category=${garden.handle}&sort=price-desc&limit=2&cursor=${page1.body.nextCursor}`),
    );
    expect([...page1.body.items, ...page2.body.items].map((p: any) => p.title)).toEqual([
      'Spade',
      'Tomato Seeds',
      'Basil Seeds',
    ]);
    expect(page2.body.nextCursor).toBeNull();
    const wrongSort = await call(
      server,
      anon,
      'GET',
      store(`/products?sort=title&cursor=${page1.body.nextCursor}`),
    );
    expect([wrongSort.status, wrongSort.body.error.code]).toEqual([400, 'INVALID_CURSOR']);
  });

  it('searches with ranking, prefixes, typos, highlighted snippets and category facets', async () => {
    const exact = await call(server, anon, 'GET', store('/search?q=headphones'));
    expect(exact.body.items[0].product.title).toBe('Noise-cancelling Headphones');
    expect(exact.body.items[0].snippet).toContain('<mark>Headphones</mark>');
    expect(exact.body.facets.categories).toEqual([
      expect.objectContaining({ name: 'Electronics', count: 1 }),
    ]);
    const prefix = await call(server, anon, 'GET', store('/search?q=headph'));
    expect(prefix.body.items.map((h: any) => h.product.title)).toContain('Noise-cancelling Headphones');
    const typo = await call(server, anon, 'GET', store('/search?q=headphnes'));
    expect(typo.body.items.map((h: any) => h.product.title)).toContain('Noise-cancelling Headphones');
    const seeds = await call(server, anon, 'GET', store('/search?q=seeds'));
    expect(seeds.body.items.map((h: any) => h.product.title).sort()).toEqual(['Basil Seeds', 'Tomato Seeds']);
    const draft = await call(server, anon, 'GET', store('/search?q=secret'));
    expect(draft.body.items).toEqual([]);
    // Search follows the catalog in the same transaction: a renamed product is found at once.
    const lamp = (await call(server, staff, 'GET', cat('/products?q=desk'))).body.items[0];
    await call(
      server,
      staff,
      'PATCH',
      cat(`/products/${lamp.id}`),
      { status: 'active', title: 'Reading Lamp' },
      { 'if-match': `"${lamp.version}"` },
    );
    expect((await call(server, anon, 'GET', store('/search?q=reading'))).body.items[0].product.title).toBe(
      'Reading Lamp',
    );
    const escaped = await call(server, staff, 'POST', cat('/products'), {
      title: 'Tags <b>bold</b> & co',
      status: 'active',
    });
    expect(escaped.status).toBe(201);
    const hit = (await call(server, anon, 'GET', store('/search?q=bold'))).body.items[0];
    // ts_headline drops markup-looking tokens; whatever remains reaches the page escaped.
    expect(hit.snippet).toContain('<mark>bold</mark>');
    expect(hit.snippet).not.toMatch(/<b>|<\/b>/);
  });

  it('lists countries, restricted to where the store ships', async () => {
    const all = await call(server, anon, 'GET', store('/countries'));
    expect(all.body.items.length).toBeGreaterThan(240);
    expect(all.body.items).toContainEqual({ code: 'DE', name: 'Germany' });
    const bad = await call(server, owner, 'PUT', cat('/settings'), { shipToCountries: ['DE', 'ZZ'] });
    expect([bad.status, bad.body.error.code]).toEqual([422, 'UNKNOWN_COUNTRY']);
    expect((await call(server, staff, 'PUT', cat('/settings'), { shipToCountries: ['DE'] })).status).toBe(
      403,
    );
    expect(
      (await call(server, owner, 'PUT', cat('/settings'), { shipToCountries: ['FR', 'DE'] })).status,
    ).toBe(200);
    const limited = await call(server, anon, 'GET', store('/countries'));
    expect(limited.body.items).toEqual([
      { code: 'FR', name: 'France' },
      { code: 'DE', name: 'Germany' },
    ]);
  });
});

describe('catalog: daily low-stock check', () => {
  it('raises one alert and one e-mail per low variant until its stock recovers', async () => {
    const p = await product({
      title: 'Candle',
      variants: [{ sku: 'CANDLE', price: 1200, onHand: 1, lowStockThreshold: 3 }],
    });
    const variantId = p.variants[0].id;
    const first = await server.deps.catalog.checkStock(tenant.id);
    expect(first.raised).toBeGreaterThanOrEqual(1);
    const alerts = await call(server, staff, 'GET', cat('/alerts'));
    expect(alerts.body.items.find((a: any) => a.variantId === variantId)).toMatchObject({
      sku: 'CANDLE',
      available: 1,
      threshold: 3,
    });
    const mails = () => mailsTo(server, ownerStaff.email).filter((m) => m.text.includes('CANDLE'));
    expect(mails()).toHaveLength(1);
    await server.deps.catalog.checkStock(tenant.id);
    expect(mails()).toHaveLength(1);
    await call(server, staff, 'POST', cat('/inventory/adjust'), { variantId, delta: 20, reason: 'received' });
    const recovered = await server.deps.catalog.checkStock(tenant.id);
    expect(recovered.resolved).toBeGreaterThanOrEqual(1);
    expect(
      (await call(server, staff, 'GET', cat('/alerts'))).body.items.map((a: any) => a.variantId),
    ).not.toContain(variantId);
    await call(server, staff, 'POST', cat('/inventory/adjust'), {
      variantId,
      delta: -20,
      reason: 'correction',
    });
    await server.deps.catalog.checkStock(tenant.id);
    expect(mails()).toHaveLength(2);
  });
});
