import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
// @ts-expect-error s3rver ships no type declarations
import S3rver from 's3rver';

/** A real S3-compatible server (s3rver) on loopback, on a free port, in its own temp directory. */
export type TestS3 = {
  endpoint: string;
  bucket: string;
  /** The credentials s3rver checks signatures against. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  stop(): Promise<void>;
};

export async function startTestS3(bucket = 'storeops-media'): Promise<TestS3> {
  const directory = mkdtempSync(path.join(tmpdir(), 'storeops-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory,
    silent: true,
    configureBuckets: [{ name: bucket }],
  });
  const address = (await server.run()) as { port: number };
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    async stop() {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
