import { z } from 'zod';
import type { Config } from '../platform/config.ts';
import type { Database } from '../platform/db/client.ts';
import { createEventBus } from '../platform/events.ts';
import type { ScopeDefinition } from '../platform/http/auth.ts';
import type { App, Role } from '../platform/http/server.ts';
import type { Jobs } from '../platform/jobs.ts';
import type { Logger } from '../platform/logger.ts';
import type { Mailer } from '../platform/mail.ts';
import type { ProductCreate, ProductPatch, VariantInput } from './api.ts';
import {
  createCategory,
  deleteCategory,
  listCategories,
  reorderCategories,
  updateCategory,
} from './categories.ts';
import { adjustStock, ledger, listInventory, setStock, type StockChange } from './inventory.ts';
import { createLocation, listLocations } from './locations.ts';
import { checkTenantStock, openAlerts, tenantsWithCatalog } from './low-stock.ts';
import {
  addVariant,
  createProduct,
  deleteProduct,
  deleteVariant,
  updateProduct,
  updateVariant,
  type WriteContext,
} from './products.ts';
import { getProduct, type ImageUrls, listProducts } from './reads.ts';
import { registerStaffCatalogRoutes } from './staff-routes.ts';
import { registerStoreCatalogRoutes } from './store-routes.ts';
import { isCountryCode, storeCountries, storeProduct, storeProducts, storeSearch } from './storefront.ts';
import { unprocessable } from '../platform/errors.ts';
import { createDataDirStorage, type ObjectStorage } from '../platform/storage.ts';
import { imageUrlsFrom } from './image-files.ts';
import { registerImageRoutes } from './image-routes.ts';
import { createCatalogImages } from './images.ts';
import { importCsv } from './csv-import.ts';
import { exportCsv } from './csv-write.ts';
import type { Readable } from 'node:stream';
import { type SeedProgress, seedDemoCatalog } from './seed.ts';

/*
 * The native catalog (issue 11; seeds 002 and 004): products with variants, a category tree,
 * images, stock per variant and location with a ledger, storefront lists and search, countries,
 * and the daily low-stock check. docs/catalog.md describes it.
 *
 *   const catalog = createCatalog({ config, database, jobs, logger, mailer, currencyOf, ownerEmails });
 *   catalog.events.subscribe('product.updated', { name: 'analytics', handler: async ({ data }) => … });
 *   await catalog.adjustStock(tx, tenantId, { variantId, reservedDelta: 2, reason: 'reserved', actor });
 */

/** How image URLs are made from a storage (deps.ts hands them to the catalog). */
export { imageUrlsFrom } from './image-files.ts';

/** The API-key scopes of the catalog's staff routes. */
export const CATALOG_SCOPES: readonly ScopeDefinition[] = [
  { name: 'catalog:read', description: 'Read native products, categories, stock, ledger and alerts' },
  { name: 'catalog:write', description: 'Manage native products, variants, categories and stock' },
];

/** Events other modules (analytics, the dashboard) react to. */
const EVENTS = {
  'product.updated': z.object({
    tenantId: z.uuid(),
    productId: z.uuid(),
    change: z.enum(['created', 'updated', 'deleted']),
  }),
  'inventory.low': z.object({
    tenantId: z.uuid(),
    variantId: z.uuid(),
    available: z.number().int(),
    threshold: z.number().int(),
  }),
};

type CatalogDeps = {
  config: Config;
  database: Database;
  jobs: Jobs;
  logger: Logger;
  mailer: Mailer;
  /** The tenant's currency (prices are its minor units). */
  currencyOf: (tenantId: string) => Promise<string>;
  /** E-mail addresses of the tenant's owners (low-stock mail). */
  ownerEmails: (tenantId: string) => Promise<string[]>;
  /** Where stored images are served from (default: the storage's own URLs). */
  imageUrls?: ImageUrls;
  /** Where image files go (default: `<data dir>/objects`). */
  storage?: ObjectStorage;
};

/** Everything the catalog holds, without its routes. */
function createCatalogCore(deps: CatalogDeps) {
  const { database, jobs, mailer, currencyOf, ownerEmails } = deps;
  const logger = deps.logger.child({ module: 'catalog' });
  const events = createEventBus({ jobs, logger, prefix: 'catalog', schemas: EVENTS });
  const storage = deps.storage ?? createDataDirStorage(`${deps.config.STOREOPS_DATA_DIR}/objects`);
  const urls: ImageUrls = deps.imageUrls ?? imageUrlsFrom(storage);
  const inTenant = database.withTenant.bind(database);

  /** A staff read of a product after a write, in the same transaction. */
  const reread = (tx: Parameters<Parameters<Database['withTenant']>[1]>[0], ctx: WriteContext, id: string) =>
    getProduct(tx, ctx.tenantId, id, ctx.currency, urls);

  const stockCheckDeps = { database, mailer, ownerEmails };
  const images = createCatalogImages({
    database,
    storage,
    logger,
    maxBytes: deps.config.CATALOG_IMAGE_MAX_BYTES,
    published: (tx, tenantId, productId) =>
      events.publish(tx, 'product.updated', { tenantId, productId, change: 'updated' }),
    reread,
  });

  /** Runs one tenant's stock check now and publishes `inventory.low` for each new alert. */
  async function checkStock(tenantId: string) {
    const result = await checkTenantStock(stockCheckDeps, tenantId);
    if (result.newAlerts.length > 0)
      await inTenant(tenantId, async (tx) => {
        for (const a of result.newAlerts)
          await events.publish(tx, 'inventory.low', {
            tenantId,
            variantId: a.variant_id,
            available: a.available,
            threshold: a.threshold,
          });
      });
    if (result.raised > 0) logger.info({ tenantId, raised: result.raised }, 'low-stock alerts raised');
    return { raised: result.raised, resolved: result.resolved, mailed: result.mailed };
  }

  /** Every tenant's check (what the daily `catalog.low-stock` job runs). */
  async function checkAllStock() {
    const totals = { tenants: 0, raised: 0, resolved: 0, mailed: 0 };
    for (const tenantId of await tenantsWithCatalog(database)) {
      const r = await checkStock(tenantId);
      totals.tenants++;
      totals.raised += r.raised;
      totals.resolved += r.resolved;
      totals.mailed += r.mailed;
    }
    return totals;
  }

  jobs.define<Record<string, never>>({
    name: 'catalog.low-stock',
    schema: z.object({}).strict() as z.ZodType<Record<string, never>>,
    policy: 'singleton',
    retryLimit: 2,
    cron: [{ schedule: deps.config.CATALOG_LOW_STOCK_CRON, data: {} }],
    handler: () => checkAllStock(),
  });

  return {
    events,
    currencyOf,
    imageUrls: urls,
    imageMaxBytes: deps.config.CATALOG_IMAGE_MAX_BYTES,
    /** Image upload, change, reorder and delete (images.ts); `addImage` takes the file's bytes. */
    ...images,
    /** Stock changes inside the caller's tenant transaction (checkout reserves and releases here). */
    adjustStock: (tx: Parameters<typeof adjustStock>[0], tenantId: string, change: StockChange) =>
      adjustStock(tx, tenantId, change),

    async listProducts(tenantId: string, query: Parameters<typeof listProducts>[2]) {
      const currency = await currencyOf(tenantId);
      return inTenant(tenantId, (tx) => listProducts(tx, tenantId, query, currency, urls));
    },
    async getProduct(tenantId: string, idOrHandle: string) {
      const currency = await currencyOf(tenantId);
      return inTenant(tenantId, (tx) => getProduct(tx, tenantId, idOrHandle, currency, urls));
    },
    createProduct: (ctx: WriteContext, input: ProductCreate) =>
      inTenant(ctx.tenantId, async (tx) => {
        const id = await createProduct(tx, ctx, input);
        await events.publish(tx, 'product.updated', {
          tenantId: ctx.tenantId,
          productId: id,
          change: 'created',
        });
        return reread(tx, ctx, id);
      }),
    updateProduct: (ctx: WriteContext, id: string, patch: ProductPatch, expected: number | undefined) =>
      inTenant(ctx.tenantId, async (tx) => {
        await updateProduct(tx, ctx, id, patch, expected);
        await events.publish(tx, 'product.updated', {
          tenantId: ctx.tenantId,
          productId: id,
          change: 'updated',
        });
        return reread(tx, ctx, id);
      }),
    deleteProduct: async (ctx: WriteContext, id: string, expected?: number) => {
      await inTenant(ctx.tenantId, async (tx) => {
        await deleteProduct(tx, ctx.tenantId, id, expected);
        await events.publish(tx, 'product.updated', {
          tenantId: ctx.tenantId,
          productId: id,
          change: 'deleted',
        });
      });
      // The image rows went with the product; their files go once that is committed.
      await images.removeProductObjects(ctx.tenantId, id);
    },
    addVariant: (ctx: WriteContext, productId: string, input: VariantInput, expected?: number) =>
      inTenant(ctx.tenantId, async (tx) => {
        await addVariant(tx, ctx, productId, input, expected);
        await events.publish(tx, 'product.updated', { tenantId: ctx.tenantId, productId, change: 'updated' });
        return reread(tx, ctx, productId);
      }),
    updateVariant: (ctx: WriteContext, variantId: string, patch: Partial<VariantInput>, expected?: number) =>
      inTenant(ctx.tenantId, async (tx) => {
        const productId = await updateVariant(tx, ctx, variantId, patch, expected);
        await events.publish(tx, 'product.updated', { tenantId: ctx.tenantId, productId, change: 'updated' });
        return reread(tx, ctx, productId);
      }),
    deleteVariant: (ctx: WriteContext, variantId: string, expected?: number) =>
      inTenant(ctx.tenantId, async (tx) => {
        const productId = await deleteVariant(tx, ctx.tenantId, variantId, expected);
        await events.publish(tx, 'product.updated', { tenantId: ctx.tenantId, productId, change: 'updated' });
        return reread(tx, ctx, productId);
      }),

    listCategories: (tenantId: string) => inTenant(tenantId, (tx) => listCategories(tx, tenantId)),
    createCategory: (tenantId: string, input: Parameters<typeof createCategory>[2]) =>
      inTenant(tenantId, (tx) => createCategory(tx, tenantId, input)),
    updateCategory: (tenantId: string, id: string, patch: Parameters<typeof updateCategory>[3]) =>
      inTenant(tenantId, (tx) => updateCategory(tx, tenantId, id, patch)),
    deleteCategory: (tenantId: string, id: string) =>
      inTenant(tenantId, (tx) => deleteCategory(tx, tenantId, id)),
    reorderCategories: (tenantId: string, input: Parameters<typeof reorderCategories>[2]) =>
      inTenant(tenantId, (tx) => reorderCategories(tx, tenantId, input)),

    listInventory: (tenantId: string, options: Parameters<typeof listInventory>[2]) =>
      inTenant(tenantId, (tx) => listInventory(tx, tenantId, options)),
    adjustInventory: (
      ctx: WriteContext,
      input: {
        variantId: string;
        locationId?: string;
        delta: number;
        reason: StockChange['reason'];
        note?: string;
      },
    ) =>
      inTenant(ctx.tenantId, (tx) =>
        adjustStock(tx, ctx.tenantId, { ...input, onHandDelta: input.delta, actor: ctx.actor }),
      ),
    setInventory: (
      ctx: WriteContext,
      input: { variantId: string; locationId?: string; onHand: number; note?: string },
    ) => inTenant(ctx.tenantId, (tx) => setStock(tx, ctx.tenantId, { ...input, actor: ctx.actor })),
    ledger: (tenantId: string, options: Parameters<typeof ledger>[2]) =>
      inTenant(tenantId, (tx) => ledger(tx, tenantId, options)),
    alerts: (tenantId: string) => inTenant(tenantId, (tx) => openAlerts(tx)),
    locations: (tenantId: string) => inTenant(tenantId, (tx) => listLocations(tx)),
    createLocation: (tenantId: string, name: string) =>
      inTenant(tenantId, (tx) => createLocation(tx, tenantId, name)),
    /** The daily check for one tenant, now (CLI, tests). */
    checkStock,
    /** The daily check for every tenant, now (what the `catalog.low-stock` job runs). */
    checkAllStock,

    settings: (tenantId: string) =>
      inTenant(tenantId, async (tx) => {
        const { rows } = await tx.query<{ ship_to_countries: string[] | null }>(
          'SELECT ship_to_countries FROM catalog_settings WHERE tenant_id = $1',
          [tenantId],
        );
        return { shipToCountries: rows[0]?.ship_to_countries ?? null };
      }),
    saveSettings: (tenantId: string, input: { shipToCountries: string[] | null }) => {
      const unknown = (input.shipToCountries ?? []).filter((c) => !isCountryCode(c));
      if (unknown.length)
        throw unprocessable('UNKNOWN_COUNTRY', 'Not ISO 3166-1 alpha-2 country codes', { unknown });
      return inTenant(tenantId, async (tx) => {
        await tx.query(
          `INSERT INTO catalog_settings (tenant_id, ship_to_countries) VALUES ($1, $2)
           ON CONFLICT (tenant_id) DO UPDATE SET ship_to_countries = excluded.ship_to_countries, updated_at = now()`,
          [tenantId, input.shipToCountries ? [...new Set(input.shipToCountries)].sort() : null],
        );
        return { shipToCountries: input.shipToCountries ? [...new Set(input.shipToCountries)].sort() : null };
      });
    },

    async storeProducts(tenantId: string, query: Parameters<typeof storeProducts>[2]) {
      const currency = await currencyOf(tenantId);
      return inTenant(tenantId, (tx) => storeProducts(tx, tenantId, query, currency, urls));
    },
    async storeProduct(tenantId: string, idOrHandle: string) {
      const currency = await currencyOf(tenantId);
      return inTenant(tenantId, (tx) => storeProduct(tx, tenantId, idOrHandle, currency, urls));
    },
    async search(tenantId: string, query: Parameters<typeof storeSearch>[2]) {
      const currency = await currencyOf(tenantId);
      return inTenant(tenantId, (tx) => storeSearch(tx, tenantId, query, currency, urls));
    },
    countries: (tenantId: string) => inTenant(tenantId, (tx) => storeCountries(tx, tenantId)),

    /** Largest CSV an import takes (CATALOG_IMPORT_MAX_BYTES). */
    importMaxBytes: deps.config.CATALOG_IMPORT_MAX_BYTES,
    /** Imports a Shopify product CSV in one transaction: all of it, or nothing and a 422 with the lines. */
    importProducts: (ctx: WriteContext, csv: Readable) =>
      inTenant(ctx.tenantId, (tx) =>
        importCsv(tx, ctx, csv, (t, changes) =>
          events.publishMany(
            t,
            'product.updated',
            changes.map((c) => ({ tenantId: ctx.tenantId, ...c })),
          ),
        ),
      ),
    /** Every product as a Shopify product CSV stream (read page by page). */
    async exportProducts(tenantId: string): Promise<Readable> {
      const publicUrl = deps.config.STOREOPS_PUBLIC_URL;
      return exportCsv({
        database,
        tenantId,
        currency: await currencyOf(tenantId),
        imageUrls: urls,
        absolute: (url) => (url.startsWith('/') ? `${publicUrl}${url}` : url),
      });
    },
  };
}

/** The catalog without its routes (what its own routes use). */
export type CatalogCore = ReturnType<typeof createCatalogCore>;

/** Builds the catalog module: its door, jobs, events and the staff and storefront routes. */
export function createCatalog(deps: CatalogDeps) {
  const catalog = createCatalogCore(deps);
  return {
    ...catalog,
    scopes: CATALOG_SCOPES,
    /**
     * Loads the demo catalog (four categories, 32 products with variants, stock and generated
     * pictures) into a tenant; idempotent. `storeops catalog seed` (and later `storeops demo`).
     */
    seedDemo: (tenantId: string, options: { onProgress?: (p: SeedProgress) => void } = {}) =>
      seedDemoCatalog(catalog, tenantId, options),
    routes(app: App, role: Role): void {
      if (role === 'worker') return;
      registerStaffCatalogRoutes(app, { catalog });
      registerImageRoutes(app, { catalog });
      registerStoreCatalogRoutes(app, { catalog });
    },
  };
}

/** The catalog module of one process. */
export type Catalog = ReturnType<typeof createCatalog>;
