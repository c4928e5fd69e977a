import { randomUUID } from 'node:crypto';
import type { Database, Tx } from '../platform/db/client.ts';
import { AppError, notFound, unprocessable } from '../platform/errors.ts';
import type { Logger } from '../platform/logger.ts';
import type { ObjectStorage } from '../platform/storage.ts';
import type { Product } from './api.ts';
import { imageKey, prepareImage, productImagesPrefix, storeImage } from './image-files.ts';
import { bump, lockProduct, type WriteContext } from './products.ts';
import { findProductRow } from './reads.ts';

/*
 * Product images (issue 11): upload, change, reorder and delete. Objects are written before the
 * row and removed again when the transaction fails, so nothing is left behind by a failed upload;
 * a deleted image's objects go after its row is committed away, so no row ever points at missing
 * objects. Every change bumps the product's version (If-Match applies) and publishes
 * `product.updated`, like any other product write.
 */

/** What staff may set on an image. `position` is 0-based among the product's images. */
export type ImageFields = { alt?: string; variantId?: string | null; position?: number };

type ImagesDeps = {
  database: Database;
  storage: ObjectStorage;
  logger: Logger;
  maxBytes: number;
  /** Publishes `product.updated` (change `updated`) in the transaction. */
  published: (tx: Tx, tenantId: string, productId: string) => Promise<void>;
  /** The product as staff see it, read in the transaction. */
  reread: (tx: Tx, ctx: WriteContext, productId: string) => Promise<Product>;
};

async function checkVariant(tx: Tx, tenantId: string, productId: string, variantId: string) {
  const { rows } = await tx.query(
    'SELECT 1 FROM catalog_variants WHERE tenant_id = $1 AND id = $2 AND product_id = $3',
    [tenantId, variantId, productId],
  );
  if (rows.length === 0)
    throw unprocessable('VARIANT_NOT_IN_PRODUCT', 'variantId must be a variant of this product', {
      variantId,
    });
}

/** Writes positions 0…n-1 in the order of `ids` (only rows whose position changes). */
async function setPositions(tx: Tx, tenantId: string, productId: string, ids: string[]) {
  await tx.query(
    `UPDATE catalog_images i SET position = o.ord - 1
       FROM unnest($3::uuid[]) WITH ORDINALITY AS o(id, ord)
      WHERE i.tenant_id = $1 AND i.product_id = $2 AND i.id = o.id AND i.position <> o.ord - 1`,
    [tenantId, productId, ids],
  );
}

/** Moves one image to `index` (default: last) and closes the gaps. */
async function place(tx: Tx, tenantId: string, productId: string, imageId: string, index?: number) {
  const { rows } = await tx.query<{ id: string }>(
    'SELECT id FROM catalog_images WHERE tenant_id = $1 AND product_id = $2 AND id <> $3 ORDER BY position, id',
    [tenantId, productId, imageId],
  );
  const ids = rows.map((r) => r.id);
  ids.splice(Math.min(index ?? ids.length, ids.length), 0, imageId);
  await setPositions(tx, tenantId, productId, ids);
}

export function createCatalogImages(deps: ImagesDeps) {
  const { database, storage, logger, maxBytes, published, reread } = deps;
  const inTenant = database.withTenant.bind(database);

  /** Runs a product write: lock (If-Match), change, bump, publish, read back. */
  const write = (
    ctx: WriteContext,
    productId: string,
    expected: number | undefined,
    change: (tx: Tx) => Promise<void>,
  ) =>
    inTenant(ctx.tenantId, async (tx) => {
      await lockProduct(tx, ctx.tenantId, productId, expected);
      await change(tx);
      await bump(tx, ctx.tenantId, productId);
      await published(tx, ctx.tenantId, productId);
      return reread(tx, ctx, productId);
    });

  /** Removes objects; a failure leaves orphans (logged), never an error for the caller. */
  async function discard(prefix: string) {
    await storage.delete({ prefix }).catch((error) => {
      logger.warn({ err: error, prefix }, 'could not delete stored objects');
    });
  }

  return {
    /** Checks, resizes and stores an upload, then records it; returns the image and its product. */
    async addImage(
      ctx: WriteContext,
      productId: string,
      file: Uint8Array,
      fields: ImageFields,
      expected?: number,
    ) {
      // A missing product is 404 before any decoding work.
      await inTenant(ctx.tenantId, (tx) => findProductRow(tx, ctx.tenantId, productId));
      const prepared = await prepareImage(file, maxBytes);
      const id = randomUUID();
      const key = imageKey(ctx.tenantId, productId, id);
      await storeImage(storage, key, prepared);
      try {
        const product = await write(ctx, productId, expected, async (tx) => {
          if (fields.variantId) await checkVariant(tx, ctx.tenantId, productId, fields.variantId);
          await tx.query(
            `INSERT INTO catalog_images (tenant_id, id, product_id, variant_id, storage_key, content_type,
                                         width, height, bytes, widths, alt, position)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0)`,
            [
              ctx.tenantId,
              id,
              productId,
              fields.variantId ?? null,
              key,
              prepared.contentType,
              prepared.width,
              prepared.height,
              prepared.bytes,
              prepared.resized.map((r) => r.width),
              fields.alt ?? '',
            ],
          );
          await place(tx, ctx.tenantId, productId, id, fields.position);
        });
        const image = product.images.find((i) => i.id === id);
        if (!image) throw new Error('uploaded image not read back');
        return { image, product };
      } catch (error) {
        await discard(`${key}/`);
        throw error;
      }
    },

    /** Changes alt text, variant or position. */
    updateImage: (
      ctx: WriteContext,
      productId: string,
      imageId: string,
      fields: ImageFields,
      expected?: number,
    ) =>
      write(ctx, productId, expected, async (tx) => {
        const params: unknown[] = [ctx.tenantId, productId, imageId];
        const sets: string[] = [];
        if (fields.alt !== undefined) sets.push(`alt = $${params.push(fields.alt)}`);
        if (fields.variantId !== undefined) {
          if (fields.variantId) await checkVariant(tx, ctx.tenantId, productId, fields.variantId);
          sets.push(`variant_id = $${params.push(fields.variantId)}`);
        }
        const { rows } = await tx.query(
          `UPDATE catalog_images SET ${[...sets, 'position = position'].join(', ')}
            WHERE tenant_id = $1 AND product_id = $2 AND id = $3 RETURNING id`,
          params,
        );
        if (rows.length === 0) throw notFound('image', imageId);
        if (fields.position !== undefined) await place(tx, ctx.tenantId, productId, imageId, fields.position);
      }),

    /** Deletes an image and, once that is committed, its stored objects. */
    async deleteImage(ctx: WriteContext, productId: string, imageId: string, expected?: number) {
      let key = '';
      const product = await write(ctx, productId, expected, async (tx) => {
        const { rows } = await tx.query<{ storage_key: string }>(
          'DELETE FROM catalog_images WHERE tenant_id = $1 AND product_id = $2 AND id = $3 RETURNING storage_key',
          [ctx.tenantId, productId, imageId],
        );
        if (rows.length === 0) throw notFound('image', imageId);
        key = rows[0].storage_key;
        const rest = await tx.query<{ id: string }>(
          'SELECT id FROM catalog_images WHERE tenant_id = $1 AND product_id = $2 ORDER BY position, id',
          [ctx.tenantId, productId],
        );
        await setPositions(
          tx,
          ctx.tenantId,
          productId,
          rest.rows.map((r) => r.id),
        );
      });
      await discard(`${key}/`);
      return product;
    },

    /** Orders a product's images: `imageIds` lists each of them once. */
    reorderImages: (ctx: WriteContext, productId: string, imageIds: string[], expected?: number) =>
      write(ctx, productId, expected, async (tx) => {
        const { rows } = await tx.query<{ id: string }>(
          'SELECT id FROM catalog_images WHERE tenant_id = $1 AND product_id = $2',
          [ctx.tenantId, productId],
        );
        const current = new Set(rows.map((r) => r.id));
        const sent = new Set(imageIds);
        if (
          sent.size !== imageIds.length ||
          sent.size !== current.size ||
          imageIds.some((i) => !current.has(i))
        )
          throw new AppError(422, 'IMAGE_ORDER_MISMATCH', 'List every image of the product exactly once', {
            details: { expected: current.size },
          });
        await setPositions(tx, ctx.tenantId, productId, imageIds);
      }),

    /** After a product is deleted (its rows cascade): its stored objects. */
    removeProductObjects: (tenantId: string, productId: string) =>
      discard(productImagesPrefix(tenantId, productId)),
  };
}
