import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { text } from 'node:stream/consumers';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/platform/config.ts';
import { createDataDirStorage, isObjectKey, objectType } from '../../src/platform/storage.ts';

// Object storage's rules (src/platform/storage.ts) without a server: key syntax, types by
// extension, the data-dir backend's put/get/delete, and its S3 settings' validation.

const root = mkdtempSync(path.join(tmpdir(), 'storeops-storage-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('object storage', () => {
  it('accepts plain keys and nothing that could climb out of the root', () => {
    for (const key of ['a.webp', 'catalog/t/p/i/160.webp', 'x_1/y-2/z.3.png'])
      expect(isObjectKey(key), key).toBe(true);
    for (const key of [
      '',
      '/a.png',
      'a//b.png',
      '../a.png',
      'a/../b.png',
      'a/./b.png',
      '.env',
      'a/.b',
      'a\\b.png',
      'a/b/',
      'a b.png',
      'é.png',
      `${'a/'.repeat(17)}x.png`,
    ])
      expect(isObjectKey(key), key).toBe(false);
    expect(objectType('a/b.WEBP')).toBe('image/webp');
    expect(objectType('a/b.html')).toBeUndefined();
    expect(objectType('a.b/c')).toBeUndefined();
  });

  it('puts, gets and deletes files under its root, with the type the extension names', async () => {
    const storage = createDataDirStorage(path.join(root, 'objects'));
    writeFileSync(path.join(root, 'secret.txt'), 'do not serve');
    await storage.put('t/p/1/160.webp', Buffer.from('one'), 'image/webp');
    await storage.put('t/p/1/original.png', Buffer.from('two'), 'image/png');
    await storage.put('t/p/2/160.webp', Buffer.from('three'), 'image/webp');
    const got = await storage.get('t/p/1/160.webp');
    expect(got).toMatchObject({ contentType: 'image/webp', bytes: 3 });
    expect(await text(got!.body)).toBe('one');
    expect(storage.url('t/p/1/160.webp')).toBe('/media/t/p/1/160.webp');
    expect(await storage.get('t/p/1/missing.webp')).toBeNull();
    expect(await storage.get('../secret.txt')).toBeNull();
    expect(await storage.get('t/p/1')).toBeNull();
    await expect(storage.put('t/a.png', Buffer.from('x'), 'text/html')).rejects.toThrow(/image\/png/);
    await expect(storage.put('t/a.html', Buffer.from('x'), 'text/html')).rejects.toThrow();
    await expect(storage.put('../a.png', Buffer.from('x'), 'image/png')).rejects.toThrow(/invalid key/);
    await expect(storage.delete({ prefix: 't/p' })).rejects.toThrow(/invalid prefix/);

    await storage.delete({ prefix: 't/p/1/' });
    expect(await storage.get('t/p/1/original.png')).toBeNull();
    expect(await storage.get('t/p/2/160.webp')).not.toBeNull();
    await storage.delete({ keys: ['t/p/2/160.webp', 't/p/2/gone.webp'] });
    // Emptied directories go too; the file beside the root stays.
    expect(readdirSync(path.join(root, 'objects'))).toEqual([]);
    expect(existsSync(path.join(root, 'secret.txt'))).toBe(true);
  });

  it('validates its settings: S3 options need a bucket', () => {
    const dataDir = path.join(root, 'config');
    expect(loadConfig({ STOREOPS_DATA_DIR: dataDir }).CATALOG_IMAGE_MAX_BYTES).toBe(10 * 1024 * 1024);
    const s3 = loadConfig({
      STOREOPS_DATA_DIR: dataDir,
      STOREOPS_S3_BUCKET: 'media',
      STOREOPS_S3_ENDPOINT: 'http://127.0.0.1:9000',
    });
    expect(s3.STOREOPS_S3_ENDPOINT).toBe('http://127.0.0.1:9000');
    expect(() =>
      loadConfig({ STOREOPS_DATA_DIR: dataDir, STOREOPS_S3_ENDPOINT: 'http://127.0.0.1:9000' }),
    ).toThrow(ConfigError);
    expect(() =>
      loadConfig({ STOREOPS_DATA_DIR: dataDir, STOREOPS_S3_BUCKET: 'media', STOREOPS_S3_PUBLIC_URL: 'nope' }),
    ).toThrow(/STOREOPS_S3_PUBLIC_URL/);
  });
});
