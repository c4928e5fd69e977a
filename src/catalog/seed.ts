import sharp from 'sharp';
import type { AppError } from '../platform/errors.ts';
import type { ProductCreate } from './api.ts';
import type { CatalogCore } from './index.ts';
import { currencyExponent } from './money.ts';
import { demoCatalog, SEED_CATEGORIES, type SeedProduct } from './seed-data.ts';

/*
 * Loads the demo catalog (seed-data.ts) into a tenant through the catalog's own write functions:
 * categories, products with variants and initial stock (ledger rows `received`), and one picture
 * per product rendered locally with sharp and stored like an upload (resized widths included).
 * Idempotent: what already exists (by handle) is left alone, so a second run adds nothing; a
 * product that lost its picture gets a new one.
 */

export type SeedProgress = { done: number; total: number; handle: string; action: 'created' | 'kept' };
export type SeedResult = {
  categories: { created: number; kept: number };
  products: { created: number; kept: number };
  images: { created: number };
};

type SeedCatalog = Pick<
  CatalogCore,
  'currencyOf' | 'listCategories' | 'createCategory' | 'getProduct' | 'createProduct' | 'addImage'
>;

const ACTOR = 'system:catalog-seed';
/** The pictures' size: wider than the largest standard width, so every resized copy exists. */
const PICTURE = { width: 1200, height: 900 };

const escapeXml = (s: string) =>
  s.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c,
  );

/** A simple product picture: a coloured ground, the category's shape and the product's name. */
export async function renderPicture(picture: SeedProduct['picture']): Promise<Buffer> {
  const { width, height } = PICTURE;
  const { hue, shape, label } = picture;
  const ground = `hsl(${hue}, 55%, 82%)`;
  const ink = `hsl(${(hue + 180) % 360}, 45%, 35%)`;
  const shapes: Record<typeof shape, string> = {
    circle: `<circle cx="600" cy="380" r="230" fill="${ink}"/>`,
    square: `<rect x="390" y="160" width="420" height="420" rx="40" fill="${ink}"/>`,
    book: `<rect x="430" y="140" width="340" height="460" rx="12" fill="${ink}"/><rect x="455" y="140" width="18" height="460" fill="${ground}"/>`,
    house: `<polygon points="600,130 850,350 350,350" fill="${ink}"/><rect x="410" y="350" width="380" height="260" fill="${ink}"/>`,
  };
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <rect width="100%" height="100%" fill="${ground}"/>${shapes[shape]}
    <text x="600" y="780" font-family="sans-serif" font-size="64" text-anchor="middle" fill="${ink}">${escapeXml(label)}</text>
  </svg>`;
  return sharp(Buffer.from(svg)).png({ compressionLevel: 6 }).toBuffer();
}

/** Hundredths of a major unit → minor units of `currency` (integers only). */
function minorUnits(cents: number, currency: string): number {
  const exponent = currencyExponent(currency);
  return exponent >= 2 ? cents * 10 ** (exponent - 2) : Math.round(cents / 10 ** (2 - exponent));
}

/** Loads the demo catalog into `tenantId`; `onProgress` hears of each product. */
export async function seedDemoCatalog(
  catalog: SeedCatalog,
  tenantId: string,
  options: { onProgress?: (p: SeedProgress) => void } = {},
): Promise<SeedResult> {
  const currency = await catalog.currencyOf(tenantId);
  const ctx = { tenantId, currency, actor: ACTOR };
  const result: SeedResult = {
    categories: { created: 0, kept: 0 },
    products: { created: 0, kept: 0 },
    images: { created: 0 },
  };

  const categoryIds = new Map<string, string>();
  const existing = await catalog.listCategories(tenantId);
  for (const c of SEED_CATEGORIES) {
    const found = existing.find((e) => e.handle === c.handle);
    if (found) result.categories.kept++;
    else result.categories.created++;
    categoryIds.set(c.handle, found?.id ?? (await catalog.createCategory(tenantId, c)).id);
  }

  const products = demoCatalog();
  for (const [i, p] of products.entries()) {
    let product = await catalog.getProduct(tenantId, p.handle).catch((error: AppError) => {
      if (error.status === 404) return undefined;
      throw error;
    });
    const action = product ? 'kept' : 'created';
    if (!product) {
      const input: ProductCreate = {
        title: p.title,
        handle: p.handle,
        descriptionHtml: p.descriptionHtml,
        status: 'active',
        vendor: p.vendor,
        tags: p.tags,
        optionNames: p.optionNames,
        categoryId: categoryIds.get(p.category),
        variants: p.variants.map((v) => ({
          sku: v.sku,
          option1: v.option1,
          option2: v.option2,
          price: minorUnits(v.cents, currency),
          compareAtPrice: v.compareAtCents === undefined ? undefined : minorUnits(v.compareAtCents, currency),
          weightGrams: v.weightGrams,
          onHand: v.onHand,
        })),
      };
      product = await catalog.createProduct(ctx, input);
      result.products.created++;
    } else result.products.kept++;
    if (product.images.length === 0) {
      await catalog.addImage(ctx, product.id, await renderPicture(p.picture), { alt: p.title });
      result.images.created++;
    }
    options.onProgress?.({ done: i + 1, total: products.length, handle: p.handle, action });
  }
  return result;
}
