import { existsSync } from 'node:fs';
import path from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Storage } from '../../src/platform/storage-s3.ts';
import {
  basic,
  type Credentials,
  call,
  createStaff,
  createTenant,
  expectNoSecretsInLogs,
  type TestTenant,
} from '../support/identity.ts';
import { fetchObject, picture, uploadImage } from '../support/images.ts';
import { startTestS3, type TestS3 } from '../support/s3.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

// Product images on the S3 backend (issue 11), against a real S3-compatible server (s3rver) on
// loopback, not a mock: upload → objects in the bucket → served through /media (and straight from
// the bucket with a public URL) → delete empties the bucket. Credentials reach the AWS SDK through
// its usual chain (here: the environment), never through StoreOps's config.

let s3: TestS3;
let bucket: S3Client;
let server: TestServer;
let tenant: TestTenant;
let staff: Credentials;
let productId: string;
const AWS_ENV = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_EC2_METADATA_DISABLED'] as const;

/** Every key in the bucket under `prefix`. */
async function keys(prefix = 'catalog/'): Promise<string[]> {
  const page = await bucket.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
  return (page.Contents ?? []).map((o) => o.Key as string).sort();
}

beforeAll(async () => {
  s3 = await startTestS3();
  process.env.AWS_ACCESS_KEY_ID = s3.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = s3.credentials.secretAccessKey;
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  bucket = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1' });
  // No STOREOPS_S3_REGION: with a custom endpoint StoreOps picks one itself.
  server = await startTestServer({
    env: { STOREOPS_S3_BUCKET: s3.bucket, STOREOPS_S3_ENDPOINT: s3.endpoint },
  });
  tenant = await createTenant(server);
  staff = basic(await createStaff(server, tenant, { role: 'staff' }));
  const product = await call(server, staff, 'POST', `/api/v1/tenants/${tenant.id}/catalog/products`, {
    title: 'Lamp',
    status: 'active',
    variants: [{ price: 4900 }],
  });
  expect(product.status, product.text).toBe(201);
  productId = product.body.id;
});
afterAll(async () => {
  if (server) expectNoSecretsInLogs(server, [s3.credentials.secretAccessKey]);
  await server?.close();
  bucket?.destroy();
  await s3?.stop();
  for (const name of AWS_ENV) delete process.env[name];
});

describe('catalog images: S3 storage (s3rver)', () => {
  let image: any;

  it('uploads into the bucket and serves the objects through /media', async () => {
    expect(server.deps.storage.kind).toBe('s3');
    const png = await picture('png', 1200, 800);
    const res = await uploadImage(server, staff, tenant.id, productId, {
      bytes: png,
      name: 'lamp.png',
      type: 'image/png',
    });
    expect(res.status, res.text).toBe(201);
    image = res.body.image;
    const prefix = `catalog/${tenant.id}/${productId}/${image.id}/`;
    expect(await keys()).toEqual(
      ['1080.webp', '160.webp', '480.webp', 'original.png'].map((f) => prefix + f),
    );
    // Nothing went to the data dir.
    expect(existsSync(path.join(server.dataDir, 'objects'))).toBe(false);

    expect(image.urls['480']).toBe(`/media/${prefix}480.webp`);
    for (const width of [160, 480, 1080]) {
      const got = await fetchObject(server, image.urls[String(width)]);
      expect(got.status).toBe(200);
      expect(got.headers.get('content-type')).toBe('image/webp');
      expect(got.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(got.width).toBe(width);
    }
    const original = await fetchObject(server, image.urls.original);
    expect(original.headers.get('content-type')).toBe('image/png');
    expect(original.bytes.equals(png)).toBe(true);

    const store = await call(server, { kind: 'none' }, 'GET', `/api/v1/stores/${tenant.slug}/products/lamp`);
    expect(store.body.images[0].urls).toEqual(image.urls);
  });

  it('builds public bucket URLs when STOREOPS_S3_PUBLIC_URL is set, and they resolve', async () => {
    const direct = createS3Storage({
      bucket: s3.bucket,
      endpoint: s3.endpoint,
      publicUrl: `${s3.endpoint}/${s3.bucket}/`,
    });
    const url = direct.url(image.urls['160'].replace(/^\/media\//, ''));
    expect(url).toBe(`${s3.endpoint}/${s3.bucket}/catalog/${tenant.id}/${productId}/${image.id}/160.webp`);
    const got = await fetchObject(server, url);
    expect(got.status).toBe(200);
    expect(got.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(got.width).toBe(160);
  });

  it('stores nothing for a refused upload', async () => {
    const before = await keys();
    const res = await uploadImage(server, staff, tenant.id, productId, {
      bytes: Buffer.from('GIF89a is what this is not'),
      name: 'x.jpg',
      type: 'image/jpeg',
    });
    expect(res.status).toBe(415);
    expect(await keys()).toEqual(before);
  });

  it('deletes the objects with the image, and with the product', async () => {
    const del = await call(
      server,
      staff,
      'DELETE',
      `/api/v1/tenants/${tenant.id}/catalog/products/${productId}/images/${image.id}`,
    );
    expect(del.status, del.text).toBe(200);
    expect(await keys()).toEqual([]);
    expect((await server.fetch(image.urls['480'])).status).toBe(404);

    const again = await uploadImage(server, staff, tenant.id, productId, {
      bytes: await picture('jpeg', 300, 200),
      name: 'b.jpg',
      type: 'image/jpeg',
    });
    expect(again.status, again.text).toBe(201);
    expect(await keys()).toHaveLength(2);
    const gone = await call(
      server,
      staff,
      'DELETE',
      `/api/v1/tenants/${tenant.id}/catalog/products/${productId}`,
    );
    expect(gone.status, gone.text).toBe(204);
    expect(await keys()).toEqual([]);
  });
});
