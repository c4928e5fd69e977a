import { z } from 'zod';

/*
 * The native catalog's API schemas (issue 11): what staff send and read under
 * `/api/v1/tenants/:tenant/catalog/…` and what shoppers read under `/api/v1/stores/:tenant/…`.
 * Zod and types only, so the web dashboard validates its forms with the same rules.
 */

/** URL-safe handle: lower-case letters, digits and single dashes. */
export const HANDLE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
export const handleSchema = z
  .string()
  .min(1)
  .max(255)
  .regex(HANDLE, 'must be lower-case letters, digits and dashes');
/** Integer minor units (cents), up to ten billion major units. */
export const moneySchema = z.number().int('must be whole minor units (cents)').min(0).max(1_000_000_000_000);
/** A three-letter ISO 4217 code. */
export const currencySchema = z
  .string()
  .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD')
  .refine((code) => Intl.supportedValuesOf('currency').includes(code), 'is not a known ISO 4217 currency');
const text = (max: number) => z.string().max(max);
const optionValue = text(255).min(1).nullish();

export const PRODUCT_STATUSES = ['draft', 'active', 'archived'] as const;
export const INVENTORY_REASONS = [
  'received',
  'sold',
  'returned',
  'correction',
  'reserved',
  'released',
] as const;
/** What staff may record by hand (reservations come from checkout). */
export const ADJUST_REASONS = ['received', 'sold', 'returned', 'correction'] as const;

export const variantInput = z
  .object({
    sku: text(100).min(1).nullish(),
    title: text(255).min(1).optional(),
    option1: optionValue,
    option2: optionValue,
    option3: optionValue,
    price: moneySchema,
    compareAtPrice: moneySchema.nullish(),
    weightGrams: z.number().int().min(0).max(10_000_000).nullish(),
    barcode: text(64).min(1).nullish(),
    allowBackorder: z.boolean().optional(),
    lowStockThreshold: z.number().int().min(0).max(1_000_000).optional(),
    /** Initial stock at the default location (recorded as `received`). */
    onHand: z.number().int().min(0).max(100_000_000).optional(),
  })
  .strict();
export type VariantInput = z.infer<typeof variantInput>;

export const variantPatch = variantInput.omit({ onHand: true }).partial().strict();

const productFields = {
  title: text(255).min(1),
  handle: handleSchema.optional(),
  descriptionHtml: text(100_000).optional(),
  status: z.enum(PRODUCT_STATUSES).optional(),
  vendor: text(255).nullish(),
  tags: z.array(text(255).min(1)).max(250).optional(),
  /** Names of options 1–3 of the variants (`["Size", "Colour"]`), as Shopify's Option1…3 Name. */
  optionNames: z.array(text(255).min(1)).max(3).optional(),
  categoryId: z.uuid().nullish(),
  seoTitle: text(255).nullish(),
  seoDescription: text(1000).nullish(),
  /** If sent, must be the tenant's currency: prices are in its minor units. */
  currency: currencySchema.optional(),
};

export const productCreate = z
  .object({ ...productFields, variants: z.array(variantInput).max(100).optional() })
  .strict();
export type ProductCreate = z.infer<typeof productCreate>;

export const productPatch = z
  .object({
    ...productFields,
    title: productFields.title.optional(),
    version: z.number().int().min(1).optional(),
  })
  .strict();
export type ProductPatch = z.infer<typeof productPatch>;

export const inventoryLevelSchema = z.object({
  locationId: z.uuid(),
  location: z.string(),
  onHand: z.number(),
  reserved: z.number(),
  available: z.number(),
});

export const variantSchema = z.object({
  id: z.uuid(),
  productId: z.uuid(),
  sku: z.string().nullable(),
  title: z.string(),
  option1: z.string().nullable(),
  option2: z.string().nullable(),
  option3: z.string().nullable(),
  price: z.number().describe('minor units of the tenant currency'),
  compareAtPrice: z.number().nullable(),
  weightGrams: z.number().nullable(),
  barcode: z.string().nullable(),
  allowBackorder: z.boolean(),
  lowStockThreshold: z.number(),
  position: z.number(),
  inventory: z.object({ onHand: z.number(), reserved: z.number(), available: z.number() }),
});

export const imageSchema = z.object({
  id: z.uuid(),
  variantId: z.uuid().nullable(),
  alt: z.string(),
  width: z.number(),
  height: z.number(),
  contentType: z.string(),
  position: z.number(),
  /** Resized copies by width (px) and the original. */
  urls: z.record(z.string(), z.string()),
});

export const productSchema = z.object({
  id: z.uuid(),
  handle: z.string(),
  title: z.string(),
  descriptionHtml: z.string(),
  descriptionText: z.string(),
  status: z.enum(PRODUCT_STATUSES),
  vendor: z.string().nullable(),
  tags: z.array(z.string()),
  optionNames: z.array(z.string()),
  categoryId: z.uuid().nullable(),
  seoTitle: z.string().nullable(),
  seoDescription: z.string().nullable(),
  currency: z.string(),
  priceRange: z.object({ min: z.number().nullable(), max: z.number().nullable() }),
  version: z.number(),
  variants: z.array(variantSchema),
  images: z.array(imageSchema),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Product = z.infer<typeof productSchema>;

export const productListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(250).default(50),
  cursor: z.string().max(512).optional(),
  status: z.enum(PRODUCT_STATUSES).optional(),
  category: z.string().min(1).max(255).optional(),
  q: z.string().min(1).max(200).optional(),
});

export const categoryInput = z
  .object({
    name: text(255).min(1),
    handle: handleSchema.optional(),
    description: text(5000).optional(),
    parentId: z.uuid().nullish(),
    position: z.number().int().min(0).max(100_000).optional(),
  })
  .strict();
export const categoryPatch = categoryInput.partial().strict();
export const categoryReorder = z
  .object({ parentId: z.uuid().nullable(), order: z.array(z.uuid()).min(1).max(1000) })
  .strict();

export const categorySchema = z.object({
  id: z.uuid(),
  parentId: z.uuid().nullable(),
  name: z.string(),
  handle: z.string(),
  description: z.string(),
  position: z.number(),
  productCount: z.number().describe('active products directly in this category'),
});

export const inventoryAdjust = z
  .object({
    variantId: z.uuid(),
    locationId: z.uuid().optional(),
    delta: z
      .number()
      .int()
      .min(-100_000_000)
      .max(100_000_000)
      .refine((n) => n !== 0, 'must not be 0'),
    reason: z.enum(ADJUST_REASONS),
    note: text(500).optional(),
  })
  .strict();
export const inventorySet = z
  .object({
    variantId: z.uuid(),
    locationId: z.uuid().optional(),
    onHand: z.number().int().min(0).max(100_000_000),
    note: text(500).optional(),
  })
  .strict();

export const inventoryRowSchema = z.object({
  variantId: z.uuid(),
  productId: z.uuid(),
  sku: z.string().nullable(),
  title: z.string(),
  lowStockThreshold: z.number(),
  levels: z.array(inventoryLevelSchema),
  onHand: z.number(),
  reserved: z.number(),
  available: z.number(),
});

export const ledgerEntrySchema = z.object({
  id: z.number(),
  variantId: z.uuid(),
  locationId: z.uuid(),
  reason: z.enum(INVENTORY_REASONS),
  onHandDelta: z.number(),
  reservedDelta: z.number(),
  onHandAfter: z.number(),
  reservedAfter: z.number(),
  actor: z.string(),
  note: z.string().nullable(),
  createdAt: z.string(),
});

export const alertSchema = z.object({
  id: z.uuid(),
  variantId: z.uuid(),
  productId: z.uuid(),
  sku: z.string().nullable(),
  title: z.string(),
  available: z.number(),
  threshold: z.number(),
  raisedAt: z.string(),
  notifiedAt: z.string().nullable(),
});

export const settingsSchema = z.object({
  /** ISO 3166-1 alpha-2 codes the store ships to; null: every country. */
  shipToCountries: z.array(z.string()).nullable(),
});
export const settingsInput = z
  .object({
    shipToCountries: z
      .array(z.string().regex(/^[A-Z]{2}$/))
      .max(300)
      .nullable(),
  })
  .strict();

// ---- Storefront -------------------------------------------------------------------------------

export const STORE_SORTS = ['newest', 'price-asc', 'price-desc', 'title'] as const;

export const storeProductQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(24),
  cursor: z.string().max(512).optional(),
  category: z.string().min(1).max(255).optional().describe('category handle or id (includes subcategories)'),
  q: z.string().min(1).max(200).optional(),
  minPrice: z.coerce.number().int().min(0).optional(),
  maxPrice: z.coerce.number().int().min(0).optional(),
  sort: z.enum(STORE_SORTS).default('newest'),
});

export const storeVariantSchema = z.object({
  id: z.uuid(),
  sku: z.string().nullable(),
  title: z.string(),
  option1: z.string().nullable(),
  option2: z.string().nullable(),
  option3: z.string().nullable(),
  price: z.number(),
  compareAtPrice: z.number().nullable(),
  inStock: z.boolean(),
});

export const storeProductSchema = z.object({
  id: z.uuid(),
  handle: z.string(),
  title: z.string(),
  descriptionHtml: z.string(),
  vendor: z.string().nullable(),
  tags: z.array(z.string()),
  optionNames: z.array(z.string()),
  category: z.object({ id: z.uuid(), handle: z.string(), name: z.string() }).nullable(),
  seoTitle: z.string().nullable(),
  seoDescription: z.string().nullable(),
  currency: z.string(),
  priceRange: z.object({ min: z.number().nullable(), max: z.number().nullable() }),
  inStock: z.boolean(),
  variants: z.array(storeVariantSchema),
  images: z.array(imageSchema.omit({ contentType: true })),
});

export const storeSearchQuery = z.object({
  q: z.string().trim().min(1).max(200),
  limit: z.coerce.number().int().min(1).max(50).default(20),
  category: z.string().min(1).max(255).optional(),
});

export const searchHitSchema = z.object({
  product: storeProductSchema,
  score: z.number(),
  /** The matching passage with `<mark>` around the matched words (HTML-escaped otherwise). */
  snippet: z.string(),
});

export const countrySchema = z.object({ code: z.string(), name: z.string() });

export const locationInput = z.object({ name: text(100).min(1) }).strict();
export const locationSchema = z.object({ id: z.uuid(), name: z.string(), createdAt: z.string() });

/** A stock row after a change. */
export const stockLevelSchema = z.object({
  locationId: z.uuid(),
  onHand: z.number(),
  reserved: z.number(),
  available: z.number(),
});
