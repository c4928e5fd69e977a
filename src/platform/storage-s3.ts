import type { Readable } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import {
  checkPrefix,
  checkPut,
  IMMUTABLE_CACHE,
  isObjectKey,
  MEDIA_PATH,
  type ObjectStorage,
  objectType,
} from './storage.ts';

/*
 * The S3-compatible backend of object storage (storage.ts has the rules both backends follow).
 * Credentials come from the AWS SDK's usual chain (environment, shared config/SSO profile, web
 * identity, container or instance role); nothing of them passes through StoreOps's config.
 */

export type S3StorageOptions = {
  bucket: string;
  /** MinIO, s3rver, R2, …: path-style addressing (`<endpoint>/<bucket>/<key>`). */
  endpoint?: string;
  region?: string;
  /** Public base URL of the bucket or its CDN; unset: objects are proxied through `/media`. */
  publicUrl?: string;
};

/** DeleteObjects takes at most this many keys. */
const DELETE_BATCH = 1000;

export function createS3Storage(options: S3StorageOptions): ObjectStorage {
  const { bucket } = options;
  const client = new S3Client({
    ...(options.endpoint ? { endpoint: options.endpoint, forcePathStyle: true } : {}),
    // Custom endpoints rarely care about the region, but the SDK insists on one.
    ...(options.region ? { region: options.region } : options.endpoint ? { region: 'us-east-1' } : {}),
  });
  const publicBase = options.publicUrl?.replace(/\/+$/, '');

  async function deleteKeys(keys: readonly string[]) {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      const result = await client.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      const failed = result.Errors ?? [];
      if (failed.length > 0)
        throw new Error(
          `object storage: ${failed.length} objects not deleted (${failed[0].Code ?? 'error'})`,
        );
    }
  }

  return {
    kind: 's3',
    async put(key, bytes, contentType) {
      checkPut(key, contentType);
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: bytes,
          ContentType: contentType,
          CacheControl: IMMUTABLE_CACHE,
        }),
      );
    },
    async get(key) {
      if (!isObjectKey(key)) return null;
      const contentType = objectType(key);
      if (!contentType) return null;
      try {
        const result = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        if (!result.Body) return null;
        // The type is the key's, whatever the bucket says: a tampered object still cannot become HTML.
        return { body: result.Body as Readable, contentType, bytes: result.ContentLength };
      } catch (error) {
        if (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404) return null;
        throw error;
      }
    },
    async delete(target) {
      if ('keys' in target) {
        for (const key of target.keys)
          if (!isObjectKey(key)) throw new Error(`object storage: invalid key ${JSON.stringify(key)}`);
        return deleteKeys(target.keys);
      }
      const prefix = `${checkPrefix(target.prefix)}/`;
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : []));
        if (keys.length > 0) await deleteKeys(keys);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    },
    url: (key) => (publicBase ? `${publicBase}/${key}` : `${MEDIA_PATH}/${key}`),
  };
}
