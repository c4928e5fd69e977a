import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  basic,
  type Credentials,
  call,
  createApiKey,
  createStaff,
  createTenant,
  expectNoSecretsInLogs,
  login,
  type TestTenant,
} from '../support/identity.ts';
import { fetchObject, picture, uploadImage } from '../support/images.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

// Product images end to end on the default backend, the data directory (issue 11): multipart
// upload with sniffing, resizing and size cap, files served from /media, the storefront's URLs,
// change/reorder/delete, access and CSRF, and nothing left behind by a failed upload.

/** Small cap so the 413 case is cheap to send. */
const MAX_BYTES = 300_000;

let server: TestServer;
let tenant: TestTenant;
let other: TestTenant;
let staff: Credentials;
let productId: string;
let variantId: string;

const cat = (p = '') => `/api/v1/tenants/${tenant.id}/catalog${p}`;
const images = (p = '') => cat(`/products/${productId}/images${p}`);
const objectsDir = () => path.join(server.dataDir, 'objects', 'catalog', tenant.id);
/** Every stored object of the tenant, as paths relative to its directory. */
function storedFiles(): string[] {
  if (!existsSync(objectsDir())) return [];
  return (readdirSync(objectsDir(), { recursive: true, withFileTypes: true }) as any[])
    .filter((d) => d.isFile())
    .map((d) => path.relative(objectsDir(), path.join(d.parentPath, d.name)))
    .sort();
}

async function newProduct(title: string) {
  const res = await call(server, staff, 'POST', cat('/products'), {
    title,
    status: 'active',
    variants: [
      { sku: `${title}-S`, option1: 'S', price: 1500 },
      { sku: `${title}-M`, option1: 'M', price: 1500 },
    ],
  });
  expect(res.status, res.text).toBe(201);
  return res.body;
}

beforeAll(async () => {
  server = await startTestServer({ env: { CATALOG_IMAGE_MAX_BYTES: String(MAX_BYTES) } });
  tenant = await createTenant(server);
  other = await createTenant(server);
  staff = basic(await createStaff(server, tenant, { role: 'staff' }));
  const product = await newProduct('poster');
  productId = product.id;
  variantId = product.variants[1].id;
});
afterAll(async () => {
  if (server) expectNoSecretsInLogs(server);
  await server?.close();
});

describe('catalog images: data-dir storage', () => {
  let pngId: string;
  let jpegId: string;
  let pngBytes: Buffer;

  it('stores a PNG as uploaded plus WebP copies at each standard width below its own', async () => {
    pngBytes = await picture('png', 1200, 800);
    const res = await uploadImage(server, staff, tenant.id, productId, {
      bytes: pngBytes,
      name: 'poster.png',
      type: 'image/png',
    });
    expect(res.status, res.text).toBe(201);
    const { image, product } = res.body;
    pngId = image.id;
    expect(image).toMatchObject({ width: 1200, height: 800, contentType: 'image/png', position: 0, alt: '' });
    expect(Object.keys(image.urls).sort()).toEqual(['1080', '160', '480', 'original']);
    expect(product.version).toBe(2);
    expect(res.headers.get('etag')).toBe('"2"');
    expect(storedFiles()).toEqual(
      ['1080.webp', '160.webp', '480.webp', 'original.png'].map((f) => path.join(productId, pngId, f)),
    );

    for (const width of [160, 480, 1080]) {
      const got = await fetchObject(server, image.urls[String(width)]);
      expect(got.status).toBe(200);
      expect(got.headers.get('content-type')).toBe('image/webp');
      expect(got.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(got.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
      expect(got).toMatchObject({ format: 'webp', width });
    }
    const original = await fetchObject(server, image.urls.original);
    expect(original.headers.get('content-type')).toBe('image/png');
    expect(original.bytes.equals(pngBytes)).toBe(true);
  });

  it('resizes a JPEG only to the widths below its own and honours alt, variantId and position', async () => {
    const res = await uploadImage(
      server,
      staff,
      tenant.id,
      productId,
      { bytes: await picture('jpeg', 600, 400, '#cc3333'), name: 'red.jpeg', type: 'image/jpeg' },
      { alt: 'Red poster', variantId, position: '0' },
    );
    expect(res.status, res.text).toBe(201);
    jpegId = res.body.image.id;
    expect(res.body.image).toMatchObject({
      contentType: 'image/jpeg',
      alt: 'Red poster',
      variantId,
      position: 0,
    });
    expect(Object.keys(res.body.image.urls).sort()).toEqual(['160', '480', 'original']);
    expect(res.body.product.images.map((i: any) => i.id)).toEqual([jpegId, pngId]);
    expect((await fetchObject(server, res.body.image.urls.original)).headers.get('content-type')).toBe(
      'image/jpeg',
    );
  });

  it('shows the images with their URLs on the staff and storefront product views', async () => {
    const staffView = await call(server, staff, 'GET', cat(`/products/${productId}`));
    expect(staffView.body.images.map((i: any) => i.id)).toEqual([jpegId, pngId]);
    const store = await call(
      server,
      { kind: 'none' },
      'GET',
      `/api/v1/stores/${tenant.slug}/products/poster`,
    );
    expect(store.status, store.text).toBe(200);
    expect(store.body.images).toHaveLength(2);
    expect(store.body.images[1]).toMatchObject({ id: pngId, width: 1200, height: 800 });
    expect(store.body.images[1].urls['480']).toMatch(
      new RegExp(`^/media/catalog/${tenant.id}/${productId}/${pngId}/480\\.webp$`),
    );
    expect((await fetchObject(server, store.body.images[0].urls['160'])).width).toBe(160);
  });

  it('refuses what is not a JPEG, PNG, WebP or AVIF by its bytes (415), storing nothing', async () => {
    const before = storedFiles();
    const text = await uploadImage(server, staff, tenant.id, productId, {
      bytes: Buffer.from('just some text, honest\n'.repeat(20)),
      name: 'photo.png',
      type: 'image/png',
    });
    expect(text.status, text.text).toBe(415);
    expect(text.body.error).toMatchObject({ code: 'UNSUPPORTED_IMAGE_TYPE', requestId: expect.any(String) });
    const gif = await uploadImage(server, staff, tenant.id, productId, {
      bytes: await picture('gif', 100, 100),
      name: 'anim.png',
      type: 'image/png',
    });
    expect(gif.status, gif.text).toBe(415);
    expect(gif.body.error.details).toMatchObject({ detected: 'image/gif' });
    // A PNG signature on garbage: sniffed as PNG, but it cannot be decoded.
    const broken = Buffer.concat([pngBytes.subarray(0, 40), Buffer.alloc(200, 7)]);
    const bad = await uploadImage(server, staff, tenant.id, productId, {
      bytes: broken,
      name: 'x.png',
      type: 'image/png',
    });
    expect(bad.status, bad.text).toBe(415);
    const json = await call(server, staff, 'POST', images(), { file: 'x' });
    expect(json.status).toBe(415);
    expect(json.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(storedFiles()).toEqual(before);
    expect((await call(server, staff, 'GET', cat(`/products/${productId}`))).body.version).toBe(3);
  });

  it('refuses an upload over CATALOG_IMAGE_MAX_BYTES with 413 in the error envelope', async () => {
    const before = storedFiles();
    const big = Buffer.concat([pngBytes.subarray(0, 16), Buffer.alloc(MAX_BYTES + 10_000, 1)]);
    const res = await uploadImage(server, staff, tenant.id, productId, {
      bytes: big,
      name: 'big.png',
      type: 'image/png',
    });
    expect(res.status, res.text).toBe(413);
    expect(res.body.error).toMatchObject({ code: 'IMAGE_TOO_LARGE', details: { maxBytes: MAX_BYTES } });
    expect(storedFiles()).toEqual(before);
  });

  it('removes the files it wrote when the database refuses the row', async () => {
    const before = storedFiles();
    const otherProduct = await newProduct('mug');
    const res = await uploadImage(
      server,
      staff,
      tenant.id,
      productId,
      { bytes: await picture('png', 500, 500), name: 'a.png', type: 'image/png' },
      { variantId: otherProduct.variants[0].id },
    );
    expect(res.status, res.text).toBe(422);
    expect(res.body.error.code).toBe('VARIANT_NOT_IN_PRODUCT');
    expect(storedFiles()).toEqual(before);
    const stale = await uploadImage(
      server,
      staff,
      tenant.id,
      productId,
      { bytes: await picture('png', 500, 500), name: 'a.png', type: 'image/png' },
      {},
      { 'if-match': '"1"' },
    );
    expect(stale.status, stale.text).toBe(412);
    expect(storedFiles()).toEqual(before);
  });

  it('changes alt, variant and position, and reorders (If-Match checked)', async () => {
    const patched = await call(server, staff, 'PATCH', images(`/${pngId}`), {
      alt: 'Blue poster',
      variantId,
      position: 0,
    });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body.images.map((i: any) => [i.id, i.position])).toEqual([
      [pngId, 0],
      [jpegId, 1],
    ]);
    expect(patched.body.images[0]).toMatchObject({ alt: 'Blue poster', variantId });
    const version = patched.body.version;
    const stale = await call(
      server,
      staff,
      'POST',
      images('/reorder'),
      { imageIds: [jpegId, pngId] },
      {
        'if-match': `"${version - 1}"`,
      },
    );
    expect(stale.status).toBe(412);
    const partial = await call(server, staff, 'POST', images('/reorder'), { imageIds: [jpegId] });
    expect(partial.status).toBe(422);
    expect(partial.body.error.code).toBe('IMAGE_ORDER_MISMATCH');
    const reordered = await call(server, staff, 'POST', images('/reorder'), {
      imageIds: [jpegId, pngId],
      version,
    });
    expect(reordered.status, reordered.text).toBe(200);
    expect(reordered.body.images.map((i: any) => i.id)).toEqual([jpegId, pngId]);
    const unset = await call(server, staff, 'PATCH', images(`/${pngId}`), { variantId: null });
    expect(unset.body.images[1].variantId).toBeNull();
  });

  it('lets staff, catalog:write keys and sessions with the CSRF header upload; nobody else', async () => {
    const file = { bytes: await picture('webp', 200, 100), name: 'w.webp', type: 'image/webp' };
    const reader = (await createApiKey(server, tenant, { scopes: ['catalog:read'] })).credentials;
    expect((await uploadImage(server, reader, tenant.id, productId, file)).status).toBe(403);
    expect((await uploadImage(server, { kind: 'none' }, tenant.id, productId, file)).status).toBe(401);
    const foreign = basic(await createStaff(server, other, { role: 'owner' }));
    expect((await uploadImage(server, foreign, tenant.id, productId, file)).status).toBe(404);
    const owner = await createStaff(server, tenant, { role: 'owner' });
    const session = await login(server, owner);
    const noCsrf = await uploadImage(
      server,
      { kind: 'none' },
      tenant.id,
      productId,
      file,
      {},
      {
        cookie: session.cookie,
      },
    );
    expect(noCsrf.status).toBe(403);
    expect(noCsrf.body.error.code).toBe('CSRF_TOKEN_INVALID');
    const withCsrf = await uploadImage(server, session, tenant.id, productId, file);
    expect(withCsrf.status, withCsrf.text).toBe(201);
    expect(Object.keys(withCsrf.body.image.urls).sort()).toEqual(['160', 'original']);
    const writer = (await createApiKey(server, tenant, { scopes: ['catalog:write'] })).credentials;
    const byKey = await uploadImage(server, writer, tenant.id, productId, file);
    expect(byKey.status, byKey.text).toBe(201);
    expect(byKey.body.product.images).toHaveLength(4);
  });

  it('never serves anything outside the objects directory', async () => {
    for (const p of [
      '/media/..%2Fsecrets.json',
      '/media/..%2F..%2Fsecrets.json',
      '/media/%2e%2e/secrets.json',
      `/media/catalog/${tenant.id}/%2e%2e/%2e%2e/secrets.json`,
      '/media/.%2Fsecrets.json',
      '/media/secrets.json',
      '/media/',
    ]) {
      const res = await server.fetch(p);
      expect(res.status, p).toBe(404);
      expect(await res.text()).not.toContain('sessionSecret');
    }
  });

  it('deletes an image with its files, and a product with all of its files', async () => {
    const res = await call(server, staff, 'DELETE', images(`/${pngId}`));
    expect(res.status, res.text).toBe(200);
    expect(res.body.images.map((i: any) => i.id)).not.toContain(pngId);
    expect(res.body.images.map((i: any) => i.position)).toEqual([0, 1, 2]);
    expect(storedFiles().some((f) => f.includes(pngId))).toBe(false);
    const gone = await server.fetch(`/media/catalog/${tenant.id}/${productId}/${pngId}/480.webp`);
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as any).error.code).toBe('OBJECT_NOT_FOUND');
    expect((await call(server, staff, 'DELETE', images(`/${pngId}`))).status).toBe(404);

    expect(storedFiles().length).toBeGreaterThan(0);
    const version = res.body.version;
    const del = await call(server, staff, 'DELETE', cat(`/products/${productId}`), undefined, {
      'if-match': `"${version}"`,
    });
    expect(del.status, del.text).toBe(204);
    expect(storedFiles()).toEqual([]);
  });
});
