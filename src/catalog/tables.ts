import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  customType,
  foreignKey,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { tenants } from '../identity/tables.ts';

/*
 * The native catalog (issue 11): categories (a tree), products, variants, images, stock per
 * variant and location with an append-only ledger, low-stock alerts and the tenant's storefront
 * settings. Every table is tenant-owned (row-level security). Money is integer minor units of the
 * tenant's currency (`tenants.currency`), never a float. Child rows reference their parent by
 * `(tenant_id, id)` so a row can never point into another tenant.
 */

const ts = (name: string) => timestamp(name, { withTimezone: true });
const tenantId = () =>
  uuid('tenant_id')
    .notNull()
    .references(() => tenants.id, { onDelete: 'cascade' });
/** PostgreSQL's full-text document type (Drizzle has none built in). */
const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });

export const catalogCategories = pgTable(
  'catalog_categories',
  {
    tenantId: tenantId(),
    id: uuid('id').notNull().defaultRandom(),
    parentId: uuid('parent_id'),
    name: text('name').notNull(),
    handle: text('handle').notNull(),
    description: text('description').notNull().default(''),
    /** Order among its siblings. */
    position: integer('position').notNull().default(0),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('catalog_categories_handle_key').on(t.tenantId, t.handle),
    foreignKey({
      name: 'catalog_categories_parent_fk',
      columns: [t.tenantId, t.parentId],
      foreignColumns: [t.tenantId, t.id],
    }).onDelete('restrict'),
    index('catalog_categories_parent_idx').on(t.tenantId, t.parentId, t.position),
  ],
);

export const catalogProducts = pgTable(
  'catalog_products',
  {
    tenantId: tenantId(),
    id: uuid('id').notNull().defaultRandom(),
    handle: text('handle').notNull(),
    title: text('title').notNull(),
    /** Sanitised HTML (allow-listed tags) and its plain text (search, snippets, e-mails). */
    descriptionHtml: text('description_html').notNull().default(''),
    descriptionText: text('description_text').notNull().default(''),
    status: text('status').notNull().default('draft'),
    vendor: text('vendor'),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    /** Names of the variants' options 1–3 (`{Size,Colour}`), as Shopify's Option1…3 Name. */
    optionNames: text('option_names').array().notNull().default(sql`'{}'::text[]`),
    categoryId: uuid('category_id'),
    seoTitle: text('seo_title'),
    seoDescription: text('seo_description'),
    /** Lowest and highest variant price (minor units), kept with the variants for price filters. */
    minPrice: bigint('min_price', { mode: 'number' }),
    maxPrice: bigint('max_price', { mode: 'number' }),
    /** Optimistic concurrency: bumped by every change; `If-Match` must name the current one. */
    version: integer('version').notNull().default(1),
    /** Weighted document (title A, vendor/tags/category/SKUs B, description C), written with the row. */
    search: tsvector('search').notNull().default(sql`''::tsvector`),
    /** Title + vendor + tags, lower-cased: trigram similarity for typos and prefixes. */
    searchText: text('search_text').notNull().default(''),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('catalog_products_handle_key').on(t.tenantId, t.handle),
    foreignKey({
      name: 'catalog_products_category_fk',
      columns: [t.tenantId, t.categoryId],
      foreignColumns: [catalogCategories.tenantId, catalogCategories.id],
    }).onDelete('restrict'),
    check('catalog_products_status_check', sql`${t.status} IN ('draft', 'active', 'archived')`),
    check('catalog_products_price_check', sql`${t.minPrice} >= 0 AND ${t.maxPrice} >= ${t.minPrice}`),
    index('catalog_products_list_idx').on(t.tenantId, t.status, t.createdAt, t.id),
    index('catalog_products_category_idx').on(t.tenantId, t.categoryId, t.status, t.createdAt, t.id),
    index('catalog_products_search_idx').using('gin', t.search),
    index('catalog_products_trgm_idx').using('gin', sql`${t.searchText} gin_trgm_ops`),
  ],
);

export const catalogVariants = pgTable(
  'catalog_variants',
  {
    tenantId: tenantId(),
    id: uuid('id').notNull().defaultRandom(),
    productId: uuid('product_id').notNull(),
    sku: text('sku'),
    title: text('title').notNull().default('Default'),
    option1: text('option1'),
    option2: text('option2'),
    option3: text('option3'),
    price: bigint('price', { mode: 'number' }).notNull(),
    compareAtPrice: bigint('compare_at_price', { mode: 'number' }),
    weightGrams: integer('weight_grams'),
    barcode: text('barcode'),
    /** Stock may be reserved beyond what is on hand (pre-orders). */
    allowBackorder: boolean('allow_backorder').notNull().default(false),
    /** The daily check raises an alert when available stock is at or below this. */
    lowStockThreshold: integer('low_stock_threshold').notNull().default(5),
    position: integer('position').notNull().default(0),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    foreignKey({
      name: 'catalog_variants_product_fk',
      columns: [t.tenantId, t.productId],
      foreignColumns: [catalogProducts.tenantId, catalogProducts.id],
    }).onDelete('cascade'),
    uniqueIndex('catalog_variants_sku_key').on(t.tenantId, t.sku).where(sql`${t.sku} IS NOT NULL`),
    // Two variants of one product never share an option set.
    uniqueIndex('catalog_variants_options_key').on(
      t.tenantId,
      t.productId,
      sql`coalesce(${t.option1}, '')`,
      sql`coalesce(${t.option2}, '')`,
      sql`coalesce(${t.option3}, '')`,
    ),
    index('catalog_variants_product_idx').on(t.tenantId, t.productId, t.position),
    check(
      'catalog_variants_price_check',
      sql`${t.price} >= 0 AND (${t.compareAtPrice} IS NULL OR ${t.compareAtPrice} >= 0)`,
    ),
    check('catalog_variants_threshold_check', sql`${t.lowStockThreshold} >= 0`),
  ],
);

export const catalogImages = pgTable(
  'catalog_images',
  {
    tenantId: tenantId(),
    id: uuid('id').notNull().defaultRandom(),
    productId: uuid('product_id').notNull(),
    variantId: uuid('variant_id'),
    /** Object-storage key prefix; each standard width is stored under it. */
    storageKey: text('storage_key').notNull(),
    contentType: text('content_type').notNull(),
    width: integer('width').notNull(),
    height: integer('height').notNull(),
    bytes: integer('bytes').notNull(),
    /** Widths stored (px), e.g. {160,480,1080}, plus the original. */
    widths: integer('widths').array().notNull(),
    alt: text('alt').notNull().default(''),
    position: integer('position').notNull().default(0),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    foreignKey({
      name: 'catalog_images_product_fk',
      columns: [t.tenantId, t.productId],
      foreignColumns: [catalogProducts.tenantId, catalogProducts.id],
    }).onDelete('cascade'),
    foreignKey({
      name: 'catalog_images_variant_fk',
      columns: [t.tenantId, t.variantId],
      foreignColumns: [catalogVariants.tenantId, catalogVariants.id],
    }).onDelete('set null'),
    index('catalog_images_product_idx').on(t.tenantId, t.productId, t.position),
  ],
);

export const catalogLocations = pgTable(
  'catalog_locations',
  {
    tenantId: tenantId(),
    id: uuid('id').notNull().defaultRandom(),
    name: text('name').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('catalog_locations_name_key').on(t.tenantId, t.name),
  ],
);

/**
 * Stock of one variant at one location. `available` = `on_hand − reserved`; the database itself
 * refuses a negative reservation and, unless the variant allows backorders (copied here so the
 * CHECK can see it), a reservation beyond what is on hand: no code path can oversell.
 */
export const catalogInventory = pgTable(
  'catalog_inventory',
  {
    tenantId: tenantId(),
    variantId: uuid('variant_id').notNull(),
    locationId: uuid('location_id').notNull(),
    onHand: integer('on_hand').notNull().default(0),
    reserved: integer('reserved').notNull().default(0),
    allowBackorder: boolean('allow_backorder').notNull().default(false),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.variantId, t.locationId] }),
    foreignKey({
      name: 'catalog_inventory_variant_fk',
      columns: [t.tenantId, t.variantId],
      foreignColumns: [catalogVariants.tenantId, catalogVariants.id],
    }).onDelete('cascade'),
    foreignKey({
      name: 'catalog_inventory_location_fk',
      columns: [t.tenantId, t.locationId],
      foreignColumns: [catalogLocations.tenantId, catalogLocations.id],
    }).onDelete('restrict'),
    check('catalog_inventory_reserved_check', sql`${t.reserved} >= 0`),
    check('catalog_inventory_oversell_check', sql`${t.allowBackorder} OR ${t.reserved} <= ${t.onHand}`),
  ],
);

/** Every stock change, append-only: what changed, why, who, when (stock history is auditable). */
export const catalogInventoryLedger = pgTable(
  'catalog_inventory_ledger',
  {
    tenantId: tenantId(),
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    variantId: uuid('variant_id').notNull(),
    locationId: uuid('location_id').notNull(),
    reason: text('reason').notNull(),
    onHandDelta: integer('on_hand_delta').notNull().default(0),
    reservedDelta: integer('reserved_delta').notNull().default(0),
    /** What the row held afterwards. */
    onHandAfter: integer('on_hand_after').notNull(),
    reservedAfter: integer('reserved_after').notNull(),
    /** `staff:<id>`, `key:<id>`, `operator:<id>`, `system:<job>`, `order:<id>`. */
    actor: text('actor').notNull(),
    note: text('note'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    index('catalog_inventory_ledger_variant_idx').on(t.tenantId, t.variantId, t.id),
    check(
      'catalog_inventory_ledger_reason_check',
      sql`${t.reason} IN ('received', 'sold', 'returned', 'correction', 'reserved', 'released')`,
    ),
  ],
);

/** One open alert per variant while its stock is low; closed when stock recovers. */
export const catalogStockAlerts = pgTable(
  'catalog_stock_alerts',
  {
    tenantId: tenantId(),
    id: uuid('id').notNull().defaultRandom(),
    variantId: uuid('variant_id').notNull(),
    available: integer('available').notNull(),
    threshold: integer('threshold').notNull(),
    raisedAt: ts('raised_at').notNull().defaultNow(),
    notifiedAt: ts('notified_at'),
    resolvedAt: ts('resolved_at'),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    foreignKey({
      name: 'catalog_stock_alerts_variant_fk',
      columns: [t.tenantId, t.variantId],
      foreignColumns: [catalogVariants.tenantId, catalogVariants.id],
    }).onDelete('cascade'),
    uniqueIndex('catalog_stock_alerts_open_key')
      .on(t.tenantId, t.variantId)
      .where(sql`${t.resolvedAt} IS NULL`),
  ],
);

/** A tenant's storefront settings: the countries it ships to (null: every country). */
export const catalogSettings = pgTable('catalog_settings', {
  tenantId: tenantId().primaryKey(),
  shipToCountries: text('ship_to_countries').array(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});
