import multipart from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { tenantParams } from '../identity/api.ts';
import { AppError, unprocessable } from '../platform/errors.ts';
import { errorEnvelopeSchema } from '../platform/http/schemas.ts';
import type { App } from '../platform/http/server.ts';
import { imageSchema, productSchema } from './api.ts';
import { imageTooLarge } from './image-files.ts';
import type { CatalogCore } from './index.ts';
import { actorOf, expectedVersion, tenantOf } from './route-kit.ts';

/*
 * Staff's image routes (issue 11) under `/api/v1/tenants/:tenant/catalog/products/:product/images`:
 * multipart upload (field `file`, optional `alt`, `variantId`, `position`), change, reorder and
 * delete. Access and CSRF are the platform's (checked on request, before any byte of the body is
 * read); `If-Match` is optional here and 412 when stale.
 */

const write = { operator: true, staff: 'any', apiKey: ['catalog:write'] } as const;
const errors = Object.fromEntries(
  [400, 401, 403, 404, 409, 412, 413, 415, 422].map((status) => [status, errorEnvelopeSchema]),
);
const productParams = tenantParams.extend({ product: z.uuid() });
const imageParams = productParams.extend({ image: z.uuid() });
const base = '/api/v1/tenants/:tenant/catalog/products/:product/images';
const tags = ['catalog'];

const alt = z.string().max(1000);
const position = z.number().int().min(0).max(10_000);
const version = z.number().int().min(1);

/** The text fields of an upload (multipart fields are strings). */
export const imageUploadFields = z
  .object({
    alt: alt.optional(),
    variantId: z.uuid().optional(),
    position: z.coerce.number().pipe(position).optional(),
    version: z.coerce.number().pipe(version).optional(),
  })
  .strict();

export const imagePatch = z
  .object({
    alt: alt.optional(),
    variantId: z.uuid().nullable().optional(),
    position: position.optional(),
    version: version.optional(),
  })
  .strict();

export const imageReorder = z
  .object({ imageIds: z.array(z.uuid()).max(250), version: version.optional() })
  .strict();

const uploadResult = z.object({ image: imageSchema, product: productSchema });

/** Multipart failures of @fastify/multipart, as the envelope's codes. */
function uploadError(error: unknown, maxBytes: number): unknown {
  switch ((error as { code?: string }).code) {
    case 'FST_REQ_FILE_TOO_LARGE':
      return imageTooLarge(maxBytes);
    case 'FST_FILES_LIMIT':
      return unprocessable('ONE_FILE_ONLY', 'Send one image per request, in the field "file"');
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return unprocessable('TOO_MANY_FIELDS', 'Send only file, alt, variantId, position and version');
    case 'FST_PROTO_VIOLATION':
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return new AppError(400, 'MALFORMED_MULTIPART', 'The multipart body cannot be read');
  }
  return error;
}

/** Reads the one file and the text fields of a multipart upload. */
async function readUpload(request: FastifyRequest, maxBytes: number) {
  if (!request.isMultipart())
    throw new AppError(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      'Send multipart/form-data with the image in the field "file"',
    );
  const fields: Record<string, string> = {};
  let file: Buffer | undefined;
  try {
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        if (part.fieldname !== 'file')
          throw unprocessable('UNEXPECTED_FILE', 'The image goes in the field "file"', {
            field: part.fieldname,
          });
        file = await part.toBuffer();
      } else {
        fields[part.fieldname] = String(part.value);
      }
    }
  } catch (error) {
    throw uploadError(error, maxBytes);
  }
  if (!file || file.byteLength === 0)
    throw unprocessable('FILE_REQUIRED', 'Send the image in the field "file"');
  const parsed = imageUploadFields.safeParse(fields);
  if (!parsed.success)
    throw new AppError(422, 'VALIDATION_FAILED', 'The request is invalid', {
      details: {
        issues: parsed.error.issues.map((issue) => ({
          in: 'body',
          path: issue.path.join('.'),
          message: issue.message,
        })),
      },
    });
  return { file, fields: parsed.data };
}

export function registerImageRoutes(app: App, deps: { catalog: CatalogCore }) {
  const { catalog } = deps;
  const maxBytes = catalog.imageMaxBytes;
  const ctx = async (request: FastifyRequest) => ({
    tenantId: tenantOf(request),
    currency: await catalog.currencyOf(tenantOf(request)),
    actor: actorOf(request),
  });

  // Multipart parsing only here: every other route keeps taking JSON alone.
  app.register(async (scope) => {
    await scope.register(multipart, {
      limits: { fileSize: maxBytes, files: 1, fields: 8, fieldSize: 4096, parts: 9, headerPairs: 100 },
    });
    (scope as unknown as App).post(
      base,
      {
        config: { access: write },
        schema: {
          tags,
          summary: 'Upload an image (multipart/form-data: file; optional alt, variantId, position, version)',
          description:
            'JPEG, PNG, WebP or AVIF, told by the bytes (415 otherwise), at most CATALOG_IMAGE_MAX_BYTES (413). ' +
            'Stored as uploaded plus WebP copies at the standard widths (160, 480, 1080 px) below its own.',
          consumes: ['multipart/form-data'],
          params: productParams,
          response: { 201: uploadResult, ...errors },
        },
      },
      async (request, reply) => {
        const { file, fields } = await readUpload(request, maxBytes);
        const result = await catalog.addImage(
          await ctx(request),
          request.params.product,
          file,
          fields,
          expectedVersion(request, fields.version),
        );
        reply.code(201).header('ETag', `"${result.product.version}"`);
        return result;
      },
    );
  });

  app.patch(
    `${base}/:image`,
    {
      config: { access: write },
      schema: {
        tags,
        summary: 'Change an image: alt text, variant (null: the whole product), position',
        params: imageParams,
        body: imagePatch,
        response: { 200: productSchema, ...errors },
      },
    },
    async (request, reply) => {
      const { product: productId, image } = request.params;
      const product = await catalog.updateImage(
        await ctx(request),
        productId,
        image,
        request.body,
        expectedVersion(request, request.body.version),
      );
      reply.header('ETag', `"${product.version}"`);
      return product;
    },
  );

  app.delete(
    `${base}/:image`,
    {
      config: { access: write },
      schema: {
        tags,
        summary: 'Delete an image and its stored files',
        params: imageParams,
        response: { 200: productSchema, ...errors },
      },
    },
    async (request, reply) => {
      const { product: productId, image } = request.params;
      const product = await catalog.deleteImage(
        await ctx(request),
        productId,
        image,
        expectedVersion(request),
      );
      reply.header('ETag', `"${product.version}"`);
      return product;
    },
  );

  app.post(
    `${base}/reorder`,
    {
      config: { access: write },
      schema: {
        tags,
        summary: 'Order the images of a product (list every image once)',
        params: productParams,
        body: imageReorder,
        response: { 200: productSchema, ...errors },
      },
    },
    async (request, reply) => {
      const product = await catalog.reorderImages(
        await ctx(request),
        request.params.product,
        request.body.imageIds,
        expectedVersion(request, request.body.version),
      );
      reply.header('ETag', `"${product.version}"`);
      return product;
    },
  );
}
