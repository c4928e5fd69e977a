import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Config } from './config.ts';

/*
 * Object storage: immutable blobs by key, in the data directory (default) or any S3-compatible
 * bucket (`STOREOPS_S3_BUCKET`). Both backends follow the same rules, so switching is a
 * configuration change:
 * - a key is `segment/segment/…/name.ext`, each segment starting with a letter or digit and
 *   holding only `A-Z a-z 0-9 . _ -`, so no key can climb out of its root (`..` is no segment);
 * - an object's Content-Type is the one its extension names (`OBJECT_TYPES`), so `/media` can never
 *   be made to serve HTML or script;
 * - objects are never rewritten in place: callers put under fresh keys, so they are cached forever.
 */

/** Extensions an object may have and the Content-Type each is stored and served with. */
export const OBJECT_TYPES: Readonly<Record<string, string>> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  avif: 'image/avif',
  gif: 'image/gif',
  json: 'application/json',
  txt: 'text/plain; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  pdf: 'application/pdf',
  bin: 'application/octet-stream',
};

const SEGMENT = '[A-Za-z0-9][A-Za-z0-9._-]{0,127}';
const KEY = new RegExp(`^${SEGMENT}(?:/${SEGMENT}){0,15}$`);

/** What browsers and CDNs may do with an object: keep it for a year, never revalidate. */
export const IMMUTABLE_CACHE = 'public, max-age=31536000, immutable';

/** True for a well-formed object key. */
export function isObjectKey(key: string): boolean {
  return KEY.test(key) && !key.split('/').includes('..');
}

/** The Content-Type a key's extension names (undefined for an unknown extension). */
export function objectType(key: string): string | undefined {
  const dot = key.lastIndexOf('.');
  return dot > key.lastIndexOf('/') ? OBJECT_TYPES[key.slice(dot + 1).toLowerCase()] : undefined;
}

/** Throws unless `key` is well formed and `contentType` is the one its extension names. */
export function checkPut(key: string, contentType: string): void {
  if (!isObjectKey(key)) throw new Error(`object storage: invalid key ${JSON.stringify(key)}`);
  const expected = objectType(key);
  if (expected === undefined || expected.split(';')[0] !== contentType.split(';')[0].trim())
    throw new Error(`object storage: ${key} must be stored as ${expected ?? 'a known type'}`);
}

/** `a/b/` → `a/b` (a prefix always ends with `/`, so `a/b/` never matches `a/bc/…`). */
export function checkPrefix(prefix: string): string {
  if (!prefix.endsWith('/') || !isObjectKey(prefix.slice(0, -1)))
    throw new Error(`object storage: invalid prefix ${JSON.stringify(prefix)}`);
  return prefix.slice(0, -1);
}

/** One object read back. */
export type StoredObject = { body: Readable; contentType: string; bytes?: number };

/** What `delete` removes: every object under a prefix (ending in `/`), or the listed keys. */
export type DeleteTarget = { prefix: string } | { keys: readonly string[] };

export interface ObjectStorage {
  /** `data-dir` or `s3`. */
  readonly kind: 'data-dir' | 's3';
  /** Stores `bytes` under `key` (atomically: readers see the whole object or none). */
  put(key: string, bytes: Uint8Array, contentType: string): Promise<void>;
  /** The object, or null when there is none. */
  get(key: string): Promise<StoredObject | null>;
  /** Removes objects; missing ones are no error. */
  delete(target: DeleteTarget): Promise<void>;
  /** Where clients fetch the object: `/media/<key>` (served by StoreOps) or the public bucket URL. */
  url(key: string): string;
}

/** Where StoreOps itself serves objects (the media route). */
export const MEDIA_PATH = '/media';

/** Objects as files under `<root>` (the data dir's `objects/`), served at `/media/<key>`. */
export function createDataDirStorage(root: string): ObjectStorage {
  const base = path.resolve(root);
  const fileOf = (key: string) => {
    const file = path.resolve(base, ...key.split('/'));
    // Belt and braces: the key syntax already rules this out.
    if (!file.startsWith(base + path.sep)) throw new Error('object storage: key outside the root');
    return file;
  };
  /** Removes now-empty directories between `dir` and the root (keeps the tree tidy). */
  async function prune(dir: string) {
    for (let d = dir; d.startsWith(base + path.sep); d = path.dirname(d)) {
      try {
        await rmdir(d);
      } catch {
        return;
      }
    }
  }
  return {
    kind: 'data-dir',
    async put(key, bytes, contentType) {
      checkPut(key, contentType);
      const file = fileOf(key);
      await mkdir(path.dirname(file), { recursive: true });
      // Write then rename: a reader never sees half a file. `.tmp` is no servable extension.
      const temp = `${file}.${randomUUID()}.tmp`;
      await writeFile(temp, bytes);
      await rename(temp, file);
    },
    async get(key) {
      if (!isObjectKey(key)) return null;
      const contentType = objectType(key);
      if (!contentType) return null;
      const file = fileOf(key);
      try {
        const info = await stat(file);
        if (!info.isFile()) return null;
        return { body: createReadStream(file), contentType, bytes: info.size };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
    },
    async delete(target) {
      if ('prefix' in target) {
        const dir = fileOf(checkPrefix(target.prefix));
        await rm(dir, { recursive: true, force: true });
        await prune(path.dirname(dir));
        return;
      }
      for (const key of target.keys) {
        if (!isObjectKey(key)) throw new Error(`object storage: invalid key ${JSON.stringify(key)}`);
        await rm(fileOf(key), { force: true });
        await prune(path.dirname(fileOf(key)));
      }
    },
    url: (key) => `${MEDIA_PATH}/${key}`,
  };
}

/** The configured backend: S3 when `STOREOPS_S3_BUCKET` is set, else `<data dir>/objects`. */
export async function createObjectStorage(config: Config): Promise<ObjectStorage> {
  if (config.STOREOPS_S3_BUCKET) {
    // Loaded only when configured: the AWS SDK is large and most installs never need it.
    const { createS3Storage } = await import('./storage-s3.ts');
    return createS3Storage({
      bucket: config.STOREOPS_S3_BUCKET,
      endpoint: config.STOREOPS_S3_ENDPOINT,
      region: config.STOREOPS_S3_REGION,
      publicUrl: config.STOREOPS_S3_PUBLIC_URL,
    });
  }
  return createDataDirStorage(path.join(config.STOREOPS_DATA_DIR, 'objects'));
}
