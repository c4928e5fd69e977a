import { fileTypeFromBuffer } from 'file-type';
import sharp from 'sharp';
import { AppError } from '../platform/errors.ts';
import type { ObjectStorage } from '../platform/storage.ts';
import type { ImageUrls } from './reads.ts';

/*
 * Product image files (issue 11): what an upload may be (JPEG, PNG, WebP or AVIF, told by its
 * bytes, never by its name or Content-Type), its resized WebP copies, and where they live in
 * object storage: `catalog/<tenant>/<product>/<image>/{160,480,1080}.webp` and `original.<ext>`.
 */

/** Standard widths (px); an image gets those smaller than itself. */
export const IMAGE_WIDTHS = [160, 480, 1080] as const;

/** Accepted types by what file-type sniffs, with the extension their original is stored under. */
const ACCEPTED: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/avif': 'avif',
};

/** Decompression-bomb guard: a small file may still decode to gigabytes. */
export const MAX_IMAGE_PIXELS = 50_000_000;

/** An upload checked, measured and resized, not yet stored. */
export type PreparedImage = {
  contentType: string;
  extension: string;
  width: number;
  height: number;
  bytes: number;
  original: Uint8Array;
  resized: { width: number; bytes: Buffer }[];
};

export function imageTooLarge(maxBytes: number): AppError {
  return new AppError(413, 'IMAGE_TOO_LARGE', `Images may be at most ${maxBytes} bytes`, {
    details: { maxBytes },
  });
}

function unsupported(detected: string | undefined): AppError {
  return new AppError(415, 'UNSUPPORTED_IMAGE_TYPE', 'Send a JPEG, PNG, WebP or AVIF image', {
    details: { detected: detected ?? 'unknown', accepted: Object.keys(ACCEPTED) },
  });
}

/** Checks an upload and makes its resized copies; 413/415 in the error envelope when it will not do. */
export async function prepareImage(file: Uint8Array, maxBytes: number): Promise<PreparedImage> {
  if (file.byteLength > maxBytes) throw imageTooLarge(maxBytes);
  const sniffed = await fileTypeFromBuffer(file);
  const extension = sniffed ? ACCEPTED[sniffed.mime] : undefined;
  if (!sniffed || !extension) throw unsupported(sniffed?.mime);
  const input = () => sharp(file, { limitInputPixels: MAX_IMAGE_PIXELS, failOn: 'error' });
  let width: number;
  let height: number;
  try {
    const meta = await input().metadata();
    // What a viewer shows: EXIF orientation applied (a portrait phone photo is stored landscape).
    ({ width, height } = meta.autoOrient ?? meta);
    if (!width || !height) throw new Error('no dimensions');
  } catch {
    throw new AppError(415, 'INVALID_IMAGE', `The file looks like ${sniffed.mime} but cannot be decoded`);
  }
  if (width * height > MAX_IMAGE_PIXELS)
    throw new AppError(
      413,
      'IMAGE_DIMENSIONS_TOO_LARGE',
      `Images may have at most ${MAX_IMAGE_PIXELS} pixels`,
      {
        details: { width, height, maxPixels: MAX_IMAGE_PIXELS },
      },
    );
  const resized: PreparedImage['resized'] = [];
  try {
    for (const w of IMAGE_WIDTHS.filter((w) => w < width))
      resized.push({
        width: w,
        // Resized copies carry no metadata (sharp drops EXIF, GPS included, unless asked to keep it).
        bytes: await input().autoOrient().resize({ width: w }).webp({ quality: 80 }).toBuffer(),
      });
  } catch {
    throw new AppError(415, 'INVALID_IMAGE', `The file looks like ${sniffed.mime} but cannot be decoded`);
  }
  return {
    contentType: sniffed.mime,
    extension,
    width,
    height,
    bytes: file.byteLength,
    original: file,
    resized,
  };
}

/** The storage prefix of one image (ends without `/`). */
export const imageKey = (tenantId: string, productId: string, imageId: string) =>
  `catalog/${tenantId}/${productId}/${imageId}`;

/** The prefix of every image of a product (what deleting the product removes). */
export const productImagesPrefix = (tenantId: string, productId: string) =>
  `catalog/${tenantId}/${productId}/`;

const extensionOf = (contentType: string) => ACCEPTED[contentType] ?? 'bin';

/** Writes an image's objects; on any failure removes what it wrote and rethrows. */
export async function storeImage(storage: ObjectStorage, key: string, image: PreparedImage): Promise<void> {
  try {
    for (const r of image.resized) await storage.put(`${key}/${r.width}.webp`, r.bytes, 'image/webp');
    await storage.put(`${key}/original.${image.extension}`, image.original, image.contentType);
  } catch (error) {
    await storage.delete({ prefix: `${key}/` }).catch(() => {});
    throw error;
  }
}

/** URLs by width (`"160"`, `"480"`, …) and `original`, from where the storage serves objects. */
export function imageUrlsFrom(storage: ObjectStorage): ImageUrls {
  return ({ storageKey, widths, contentType }) => ({
    ...Object.fromEntries(widths.map((w) => [String(w), storage.url(`${storageKey}/${w}.webp`)])),
    original: storage.url(`${storageKey}/original.${extensionOf(contentType)}`),
  });
}
