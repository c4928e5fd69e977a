import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CSV_COLUMNS } from '../../src/catalog/csv-columns.ts';
import {
  catalogOf,
  csvOf,
  getCsv,
  postCsv,
  postCsvFile,
  rowsOf,
  tableCounts,
} from '../support/catalog-csv.ts';
import {
  authHeaders,
  basic,
  type Credentials,
  call,
  createApiKey,
  createShopper,
  createStaff,
  createTenant,
  expectNoSecretsInLogs,
  type TestTenant,
} from '../support/identity.ts';
import { picture, uploadImage } from '../support/images.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

// The catalog's Shopify product CSV (issue 11), over HTTP: export, import into another tenant
// gives the same catalog, bad rows are 422 with their lines and write nothing, size cap, roles.

const MAX_BYTES = 400_000;
let server: TestServer;
let shop: TestTenant;
let copy: TestTenant;
let staff: Credentials;
let copyOwner: Credentials;

const cat = (t: TestTenant, path: string) => `/api/v1/tenants/${t.id}/catalog${path}`;
const head = [...CSV_COLUMNS];

beforeAll(async () => {
  server = await startTestServer({ env: { CATALOG_IMPORT_MAX_BYTES: String(MAX_BYTES) } });
  shop = await createTenant(server, { currency: 'EUR' });
  copy = await createTenant(server, { currency: 'EUR' });
  staff = basic(await createStaff(server, shop, { role: 'staff' }));
  copyOwner = basic(await createStaff(server, copy, { role: 'owner' }));

  // The source catalog, made through the JSON API.
  const post = async (path: string, body: unknown) => {
    const res = await call(server, staff, 'POST', cat(shop, path), body);
    expect(res.status, res.text).toBe(201);
    return res.body;
  };
  const clothing = await post('/categories', { name: 'Clothing' });
  const shirts = await post('/categories', { name: 'Shirts', parentId: clothing.id });
  const electronics = await post('/categories', { name: 'Electronics' });
  const tee = await post('/products', {
    title: 'Organic Tee',
    descriptionHtml: '<p>Soft, "organic" cotton.</p>\n<ul><li>Line one</li>\n<li>Line two</li></ul>',
    status: 'active',
    vendor: 'Acme, Inc.',
    tags: ['cotton', 'summer'],
    optionNames: ['Size', 'Colour'],
    categoryId: shirts.id,
    seoTitle: 'Organic tee',
    seoDescription: 'The softest tee',
    variants: [
      {
        sku: 'TEE-S-RED',
        option1: 'S',
        option2: 'Red',
        price: 1999,
        compareAtPrice: 2499,
        weightGrams: 180,
        onHand: 7,
      },
      {
        sku: 'TEE-M-RED',
        option1: 'M',
        option2: 'Red',
        price: 1999,
        weightGrams: 190,
        barcode: '4006381333931',
        onHand: 0,
      },
      { sku: 'TEE-M-BLU', option1: 'M', option2: 'Blue', price: 2099, allowBackorder: true, onHand: 3 },
    ],
  });
  await post('/products', {
    title: 'Headphones',
    status: 'draft',
    categoryId: electronics.id,
    variants: [{ sku: 'HP-1', price: 19999, onHand: 12 }],
  });
  await post('/products', { title: 'Old Mug', status: 'archived', variants: [{ price: 5 }] });
  const image = await uploadImage(
    server,
    staff,
    shop.id,
    tee.id,
    {
      bytes: await picture('png', 300, 200),
      name: 'tee.png',
      type: 'image/png',
    },
    { alt: 'Red tee' },
  );
  expect(image.status, image.text).toBe(201);
});
afterAll(async () => {
  if (server) expectNoSecretsInLogs(server);
  await server?.close();
});

describe('catalog CSV: export', () => {
  it("streams Shopify's layout: one row per variant, product fields on the first, decimals from minor units", async () => {
    const res = await getCsv(server, staff, shop.id);
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(res.headers.get('content-disposition')).toMatch(/attachment; filename="products-.*\.csv"/);
    expect(res.text.split('\n')[0]).toBe(head.map((c) => (c.includes(',') ? `"${c}"` : c)).join(','));
    const rows = rowsOf(res.text);
    const tee = rows.filter((r) => r.Handle === 'organic-tee');
    expect(tee).toHaveLength(3);
    expect(tee[0]).toMatchObject({
      Title: 'Organic Tee',
      Vendor: 'Acme, Inc.',
      'Product Category': 'Clothing > Shirts',
      Type: 'Shirts',
      Tags: 'cotton, summer',
      Published: 'TRUE',
      Status: 'active',
      'Option1 Name': 'Size',
      'Option1 Value': 'S',
      'Option2 Name': 'Colour',
      'Option2 Value': 'Red',
      'Variant SKU': 'TEE-S-RED',
      'Variant Price': '19.99',
      'Variant Compare At Price': '24.99',
      'Variant Grams': '180',
      'Variant Inventory Qty': '7',
      'Variant Inventory Policy': 'deny',
      'Image Position': '1',
      'Image Alt Text': 'Red tee',
    });
    expect(tee[0]['Body (HTML)']).toContain('\n<li>Line two</li>');
    expect(tee[0]['Image Src']).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/media\/catalog\/.*\/original\.png$/);
    expect(tee[1]).toMatchObject({
      Title: '',
      'Option1 Name': '',
      'Option1 Value': 'M',
      'Variant Price': '19.99',
    });
    expect(tee[2]).toMatchObject({
      'Variant Price': '20.99',
      'Variant Inventory Policy': 'continue',
      'Image Src': '',
    });
    const plain = rows.find((r) => r.Handle === 'old-mug');
    expect(plain).toMatchObject({
      'Option1 Name': 'Title',
      'Option1 Value': 'Default Title',
      'Variant Price': '0.05',
      Published: 'FALSE',
      Status: 'archived',
    });
  });
});

describe('catalog CSV: import', () => {
  it('round-trips: export → import into another tenant gives the same catalog, stock with ledger rows', async () => {
    const csv = (await getCsv(server, staff, shop.id)).text;
    const before = await tableCounts(server);
    const res = await postCsv(server, copyOwner, copy.id, csv);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({
      rows: 5,
      products: { created: 3, updated: 0 },
      variants: { created: 5, updated: 0, deleted: 0 },
      categories: { created: 3 },
      stock: { changed: 3 },
      images: { ignored: 1 },
    });
    expect(await catalogOf(server, copyOwner, copy.id)).toEqual(await catalogOf(server, staff, shop.id));
    const after = await tableCounts(server);
    expect(after.events - before.events).toBe(3);
    const ledger = await call(server, copyOwner, 'GET', cat(copy, '/inventory/ledger?limit=50'));
    expect(ledger.body.items.map((e: any) => [e.reason, e.onHandDelta, e.note]).sort()).toEqual([
      ['received', 12, 'CSV import'],
      ['received', 3, 'CSV import'],
      ['received', 7, 'CSV import'],
    ]);
    // The search index is written in the same transaction.
    const search = await call(
      server,
      { kind: 'none' },
      'GET',
      `/api/v1/stores/${copy.slug}/search?q=organic`,
    );
    expect(search.body.items.map((h: any) => h.product.handle)).toEqual(['organic-tee']);

    // Importing again updates in place: same variants, no stock change, versions bumped.
    const again = await postCsv(server, copyOwner, copy.id, csv);
    expect(again.body).toMatchObject({
      products: { created: 0, updated: 3 },
      variants: { created: 0, updated: 5, deleted: 0 },
      categories: { created: 0 },
      stock: { changed: 0 },
    });
    expect(await catalogOf(server, copyOwner, copy.id)).toEqual(await catalogOf(server, staff, shop.id));
  });

  it('upserts by handle: changes fields, matches variants by SKU, removes unlisted ones, corrects stock', async () => {
    const rows = rowsOf((await getCsv(server, copyOwner, copy.id)).text).filter(
      (r) => r.Handle === 'organic-tee',
    );
    rows[0] = { ...rows[0], Title: 'Organic Tee v2', 'Variant Inventory Qty': '9', 'Variant Price': '18.50' };
    rows[2] = { ...rows[2], 'Option2 Value': 'Navy', 'Variant SKU': 'TEE-M-BLU' };
    const res = await postCsv(server, copyOwner, copy.id, csvOf(head, [rows[0], rows[2]]));
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({
      products: { updated: 1 },
      variants: { updated: 2, deleted: 1 },
      stock: { changed: 1 },
    });
    const tee = (await catalogOf(server, copyOwner, copy.id)).find((p) => p.handle === 'organic-tee');
    expect(tee?.title).toBe('Organic Tee v2');
    expect(tee?.variants.map((v: any) => [v.sku, v.options[1], v.price, v.onHand])).toEqual([
      ['TEE-S-RED', 'Red', 1850, 9],
      ['TEE-M-BLU', 'Navy', 2099, 3],
    ]);
    const ledger = await call(server, copyOwner, 'GET', cat(copy, '/inventory/ledger?limit=1'));
    expect(ledger.body.items[0]).toMatchObject({ reason: 'correction', onHandDelta: 2, onHandAfter: 9 });
  });

  it('keeps quoted newlines and commas in Body (HTML) and counts lines across them', async () => {
    const csv = csvOf(head, [
      {
        Handle: 'poem',
        Title: 'Poem',
        'Body (HTML)': '<p>Roses, red;</p>\n<p>Violets\nblue</p>',
        'Variant Price': '3',
      },
      { Handle: 'bad', Title: 'Bad', 'Variant Price': '-1' },
    ]);
    const bad = await postCsv(server, staff, shop.id, csv);
    expect(bad.status, bad.text).toBe(422);
    // Header line 1, "poem" spans lines 2–4, "bad" starts on line 5.
    expect(bad.body.error.details.errors).toEqual([
      expect.objectContaining({ line: 5, column: 'Variant Price' }),
    ]);
    const good = await postCsv(server, staff, shop.id, csv.split('\n').slice(0, 4).join('\n'));
    expect(good.status, good.text).toBe(200);
    const poem = await call(server, staff, 'GET', cat(shop, '/products?q=poem'));
    expect(poem.body.items[0].descriptionHtml).toBe('<p>Roses, red;</p>\n<p>Violets\nblue</p>');
  });

  it('answers 422 with every bad row and its line, and writes nothing, even after a full batch', async () => {
    const fine = Array.from({ length: 600 }, (_, i) => ({
      Handle: `bulk-${i}`,
      Title: `Bulk ${i}`,
      'Variant Price': '1.00',
      'Variant SKU': `BULK-${i}`,
    }));
    const bad: Record<string, string>[] = [
      { Handle: 'neg', Title: 'Neg', 'Variant Price': '-1.00' },
      { Handle: 'cents', Title: 'Cents', 'Variant Price': '1.999' },
      { Handle: 'stock', Title: 'Stock', 'Variant Price': '1', 'Variant Inventory Qty': '2.5' },
      { Handle: 'status', Title: 'Status', 'Variant Price': '1', Status: 'live' },
      { Handle: 'opts', Title: 'Opts', 'Option1 Name': 'Size', 'Option1 Value': 'M', 'Variant Price': '1' },
      { Handle: 'opts', 'Option1 Value': 'M', 'Variant Price': '2' },
      { Handle: 'opts', 'Variant Price': '2' },
      { Handle: 'Bad Handle!', Title: 'X', 'Variant Price': '1' },
      { Handle: 'notitle', 'Variant Price': '1' },
      { Handle: 'dup', Title: 'Dup', 'Variant Price': '1', 'Variant SKU': 'BULK-3' },
      { Handle: 'taken', Title: 'Taken', 'Variant Price': '1', 'Variant SKU': 'HP-1' },
      { Handle: 'bulk-0', Title: 'Again', 'Variant Price': '1' },
    ];
    const before = await tableCounts(server);
    const res = await postCsv(server, staff, shop.id, csvOf(head, [...fine, ...bad]));
    expect(res.status, res.text).toBe(422);
    expect(res.body.error.code).toBe('CSV_INVALID');
    const line0 = 602; // header + 600 fine rows
    const errors = res.body.error.details.errors.map((e: any) => [e.line, e.column ?? null]);
    expect(errors).toEqual([
      [line0, 'Variant Price'],
      [line0 + 1, 'Variant Price'],
      [line0 + 2, 'Variant Inventory Qty'],
      [line0 + 3, 'Status'],
      [line0 + 5, null],
      [line0 + 6, 'Option1 Value'],
      [line0 + 7, 'Handle'],
      [line0 + 8, 'Title'],
      [line0 + 9, 'Variant SKU'],
      [line0 + 11, 'Handle'],
      [line0 + 10, 'Variant SKU'],
    ]);
    expect(res.body.error.details).toMatchObject({ errorCount: 11, truncated: false });
    expect(JSON.stringify(res.body.error.details)).toContain('is the SKU of the product \\"headphones\\"');
    expect(await tableCounts(server)).toEqual(before);
  });

  it('refuses an unreadable header, a missing price column, broken quoting and an empty file', async () => {
    const noPrice = await postCsv(server, staff, shop.id, 'Handle,Title\nx,X\n');
    expect(noPrice.status).toBe(422);
    expect(noPrice.body.error.details.errors).toEqual([
      expect.objectContaining({ line: 1, column: 'Variant Price' }),
    ]);
    const quote = await postCsv(server, staff, shop.id, 'Handle,Title,Variant Price\nx,"X,1\n');
    expect(quote.status).toBe(422);
    expect(quote.body.error.details.errors[0].message).toMatch(/not valid CSV/);
    expect((await postCsv(server, staff, shop.id, 'Handle,Title,Variant Price\n')).body.error.code).toBe(
      'CSV_EMPTY',
    );
  });

  it('takes multipart uploads, refuses JSON (415) and files over CATALOG_IMPORT_MAX_BYTES (413)', async () => {
    const csv = csvOf(head, [
      { Handle: 'multi', Title: 'Multi', 'Variant Price': '2.50', 'Variant Inventory Qty': '4' },
    ]);
    const res = await postCsvFile(server, staff, shop.id, csv);
    expect(res.status, res.text).toBe(200);
    expect(res.body.products.created).toBe(1);
    expect((await postCsvFile(server, staff, shop.id, csv, 'upload')).status).toBe(422);
    const json = await call(server, staff, 'POST', cat(shop, '/products/import'), { csv });
    expect(json.status).toBe(415);
    const before = await tableCounts(server);
    const big = `${head.join(',')}\n${'x,'.repeat(MAX_BYTES / 2)}\n`;
    const raw = await postCsv(server, staff, shop.id, big);
    expect(raw.status).toBe(413);
    expect(raw.body.error.code).toBe('CSV_TOO_LARGE');
    const chunked = await server.fetch(cat(shop, '/products/import'), {
      method: 'POST',
      headers: { ...authHeaders(staff), 'content-type': 'text/csv' },
      body: new Blob([big]).stream(),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect((await postCsvFile(server, staff, shop.id, big)).status).toBe(413);
    expect(await tableCounts(server)).toEqual(before);
  });

  it('lets owners, staff and catalog:write keys import; read keys export only; refuses shoppers, anonymous and other tenants', async () => {
    const csv = csvOf(head, [{ Handle: 'roles', Title: 'Roles', 'Variant Price': '1' }]);
    const writer = (await createApiKey(server, shop, { scopes: ['catalog:write'] })).credentials;
    const reader = (await createApiKey(server, shop, { scopes: ['catalog:read'] })).credentials;
    const owner = basic(await createStaff(server, shop, { role: 'owner' }));
    const shopper = await createShopper(server, shop);
    for (const as of [owner, staff, writer])
      expect((await postCsv(server, as, shop.id, csv)).status).toBe(200);
    expect((await postCsv(server, reader, shop.id, csv)).status).toBe(403);
    expect((await getCsv(server, reader, shop.id)).status).toBe(200);
    const bearer: Credentials = { kind: 'bearer', token: shopper.accessToken };
    expect((await postCsv(server, bearer, shop.id, csv)).status).toBe(403);
    expect((await getCsv(server, bearer, shop.id)).status).toBe(403);
    expect((await postCsv(server, { kind: 'none' }, shop.id, csv)).status).toBe(401);
    expect((await getCsv(server, { kind: 'none' }, shop.id)).status).toBe(401);
    expect([403, 404]).toContain((await postCsv(server, copyOwner, shop.id, csv)).status);
    const foreign = await getCsv(server, copyOwner, shop.id);
    expect([403, 404]).toContain(foreign.status);
    expect(foreign.text).not.toContain('organic-tee');
  });
});
