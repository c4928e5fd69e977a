import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import multipart from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { tenantParams } from '../identity/api.ts';
import { AppError } from '../platform/errors.ts';
import { errorEnvelopeSchema } from '../platform/http/schemas.ts';
import type { App } from '../platform/http/server.ts';
import type { CatalogCore } from './index.ts';
import { base, read, tags, tenantOf, write, writeContext } from './route-kit.ts';

/*
 * Staff's CSV routes (issue 11): `GET …/catalog/products/export` streams the catalog as Shopify's
 * product CSV; `POST …/catalog/products/import` takes one (raw `text/csv` or a multipart file in
 * the field `file`). The upload is first spooled to a temporary file, counting bytes against
 * CATALOG_IMPORT_MAX_BYTES (413 past it), so a slow client never holds the import's transaction
 * open; then the file is parsed as a stream inside that one transaction.
 */

const errors = Object.fromEntries(
  [400, 401, 403, 404, 409, 413, 415, 422].map((status) => [status, errorEnvelopeSchema]),
);
const CSV_TYPES = ['text/csv', 'application/csv', 'text/plain'];

export const importSummarySchema = z.object({
  rows: z.number().describe('data rows read (the header not counted)'),
  products: z.object({ created: z.number(), updated: z.number() }),
  variants: z.object({ created: z.number(), updated: z.number(), deleted: z.number() }),
  categories: z.object({ created: z.number() }),
  stock: z.object({
    changed: z.number().describe('stock figures changed at the default location (ledger rows)'),
  }),
  images: z.object({ ignored: z.number().describe('rows with an Image Src, which is not fetched') }),
});

function tooLarge(maxBytes: number) {
  return new AppError(
    413,
    'CSV_TOO_LARGE',
    `A CSV may be at most ${maxBytes} bytes (CATALOG_IMPORT_MAX_BYTES)`,
    {
      details: { maxBytes },
      // The rest of the upload is not read: the connection is not reused.
      headers: { connection: 'close' },
    },
  );
}

/** Copies the upload into a temporary file, failing with 413 once it passes `maxBytes`. */
async function spool(source: Readable, file: string, maxBytes: number) {
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      callback(bytes > maxBytes ? tooLarge(maxBytes) : null, chunk);
    },
  });
  try {
    await pipeline(source, counter, createWriteStream(file));
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'FST_REQ_FILE_TOO_LARGE') throw tooLarge(maxBytes);
    if (code === 'FST_PROTO_VIOLATION' || code === 'FST_INVALID_MULTIPART_CONTENT_TYPE')
      throw new AppError(400, 'MALFORMED_MULTIPART', 'The multipart body cannot be read');
    throw error;
  }
  // A multipart file over the limit ends early, flagged `truncated` (busboy stops, no error).
  if ((source as { truncated?: boolean }).truncated) throw tooLarge(maxBytes);
}

/** The CSV bytes of a request: a raw body, or the multipart field `file`. */
async function csvSource(request: FastifyRequest): Promise<Readable> {
  if (request.isMultipart()) {
    let part: Awaited<ReturnType<FastifyRequest['file']>>;
    try {
      part = await request.file();
    } catch (error) {
      if ((error as { code?: string }).code?.startsWith('FST_'))
        throw new AppError(400, 'MALFORMED_MULTIPART', 'The multipart body cannot be read');
      throw error;
    }
    if (part?.fieldname !== 'file')
      throw new AppError(422, 'FILE_REQUIRED', 'Send the CSV in the multipart field "file"');
    return part.file;
  }
  const body = request.body as Readable | undefined;
  if (!body || typeof body.pipe !== 'function')
    throw new AppError(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      'Send the CSV as text/csv or as multipart/form-data (field "file")',
    );
  return body;
}

export function registerCsvRoutes(app: App, deps: { catalog: CatalogCore }) {
  const { catalog } = deps;
  const maxBytes = catalog.importMaxBytes;

  app.get(
    `${base}/products/export`,
    {
      config: { access: read },
      schema: {
        tags,
        summary: 'Export every product as a Shopify product CSV (text/csv, streamed)',
        description:
          "Shopify's product CSV columns (docs/catalog.md): one row per variant, the first also carrying the " +
          'product, extra rows for images. Prices are decimals in the store currency; stock is at the default location.',
        params: tenantParams,
        produces: ['text/csv', 'application/json'],
        response: { 200: z.string().describe('text/csv'), ...errors },
      },
    },
    async (request, reply) => {
      const csv = await catalog.exportProducts(tenantOf(request));
      const name = `products-${request.auth.tenant?.slug ?? 'export'}.csv`.replace(/[^A-Za-z0-9._-]/g, '_');
      reply
        .type('text/csv; charset=utf-8')
        .header('Content-Disposition', `attachment; filename="${name}"`)
        .header('Cache-Control', 'no-store');
      // A stream is piped as is (no serialisation); the schema only documents the 200.
      return reply.send(csv as unknown as string);
    },
  );

  // Raw CSV bodies and multipart files only here; every other route keeps taking JSON alone.
  app.register(async (scope) => {
    await scope.register(multipart, {
      limits: { fileSize: maxBytes, files: 1, fields: 0, parts: 1, headerPairs: 100 },
    });
    scope.removeContentTypeParser('text/plain');
    scope.addContentTypeParser(CSV_TYPES, (_request, payload, done) => done(null, payload));
    (scope as unknown as App).post(
      `${base}/products/import`,
      {
        config: { access: write },
        schema: {
          tags,
          summary: 'Import a Shopify product CSV (text/csv, or multipart/form-data with the field "file")',
          description:
            'Upserts products by Handle and variants by SKU or option set; sets stock at the default location ' +
            '(ledger rows `received` / `correction`). All or nothing: any bad row is 422 CSV_INVALID with ' +
            '`details.errors` [{line, column, message}] (the first 100) and nothing is written. ' +
            'At most CATALOG_IMPORT_MAX_BYTES (413 CSV_TOO_LARGE).',
          consumes: ['text/csv', 'multipart/form-data'],
          params: tenantParams,
          response: { 200: importSummarySchema, ...errors },
        },
      },
      async (request) => {
        const declared = Number(request.headers['content-length']);
        if (declared > maxBytes + (request.isMultipart() ? 64 * 1024 : 0)) throw tooLarge(maxBytes);
        const ctx = await writeContext(catalog, request);
        const dir = await mkdtemp(path.join(tmpdir(), 'storeops-import-'));
        try {
          const file = path.join(dir, 'products.csv');
          await spool(await csvSource(request), file, maxBytes);
          return await catalog.importProducts(ctx, createReadStream(file));
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      },
    );
  });
}
