import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { tenantParams } from '../identity/api.ts';
import { AppError } from '../platform/errors.ts';
import { errorResponses, paginationQuery } from '../platform/http/schemas.ts';
import type { App } from '../platform/http/server.ts';
import {
  alertSchema,
  categoryInput,
  categoryPatch,
  categoryReorder,
  categorySchema,
  inventoryAdjust,
  inventoryRowSchema,
  inventorySet,
  ledgerEntrySchema,
  productCreate,
  productListQuery,
  productPatch,
  productSchema,
  settingsInput,
  settingsSchema,
  variantInput,
  variantPatch,
} from './api.ts';
import type { CatalogCore } from './index.ts';

/*
 * Staff's catalog API (issue 11) under `/api/v1/tenants/:tenant/catalog/…`: products and variants
 * with optimistic concurrency (`ETag` on reads; `If-Match` or `version` required to change a
 * product), categories, stock with its ledger, low-stock alerts and the storefront settings.
 * Thin: validate, call the catalog, respond.
 */

const errors = errorResponses(400, 401, 403, 404, 409, 412, 422, 428);
const read = { operator: true, staff: 'any', apiKey: ['catalog:read'] } as const;
const write = { operator: true, staff: 'any', apiKey: ['catalog:write'] } as const;
const productParams = tenantParams.extend({ product: z.uuid() });
const variantParams = tenantParams.extend({ variant: z.uuid() });
const categoryParams = tenantParams.extend({ category: z.uuid() });
const base = '/api/v1/tenants/:tenant/catalog';
const tags = ['catalog'];

export const tenantOf = (request: FastifyRequest) => request.auth.tenant?.id as string;
/** `staff:<id>`, `api_key:<id>`, `operator:<id>` (the ledger's and audit's actor). */
export const actorOf = (request: FastifyRequest) => {
  const p = request.auth.principal;
  return 'id' in p ? `${p.kind}:${p.id}` : p.kind;
};

/** The version the caller last saw: `If-Match: "3"` (or W/"3"), else `version` in the body. */
export function expectedVersion(
  request: FastifyRequest,
  bodyVersion?: number,
  required = false,
): number | undefined {
  const header = request.headers['if-match'];
  if (typeof header === 'string' && header.trim() !== '*') {
    const match = /^(?:W\/)?"?(\d{1,9})"?$/.exec(header.trim());
    if (!match)
      throw new AppError(400, 'INVALID_IF_MATCH', 'If-Match must be the ETag of a read, such as "3"');
    return Number(match[1]);
  }
  if (bodyVersion !== undefined) return bodyVersion;
  if (required)
    throw new AppError(
      428,
      'PRECONDITION_REQUIRED',
      'Send If-Match with the ETag you read (or version) to change a product',
    );
  return undefined;
}

export function registerStaffCatalogRoutes(app: App, deps: { catalog: CatalogCore }) {
  const { catalog } = deps;
  const ctx = async (request: FastifyRequest) => ({
    tenantId: tenantOf(request),
    currency: await catalog.currencyOf(tenantOf(request)),
    actor: actorOf(request),
  });

  app.get(
    `${base}/products`,
    {
      config: { access: read },
      schema: {
        tags,
        summary: 'List products (newest first; status, category, q)',
        params: tenantParams,
        querystring: productListQuery,
        response: {
          200: z.object({ items: z.array(productSchema), nextCursor: z.string().nullable() }),
          ...errors,
        },
      },
    },
    async (request) => catalog.listProducts(tenantOf(request), request.query),
  );

  app.post(
    `${base}/products`,
    {
      config: { access: write },
      schema: {
        tags,
        summary: 'Create a product with its variants (prices in minor units of the store currency)',
        params: tenantParams,
        body: productCreate,
        response: { 201: productSchema, ...errors },
      },
    },
    async (request, reply) => {
      const product = await catalog.createProduct(await ctx(request), request.body);
      reply.code(201).header('ETag', `"${product.version}"`);
      return product;
    },
  );

  app.get(
    `${base}/products/:product`,
    {
      config: { access: read },
      schema: {
        tags,
        summary: 'One product (ETag: its version, for If-Match)',
        params: productParams,
        response: { 200: productSchema, ...errors },
      },
    },
    async (request, reply) => {
      const product = await catalog.getProduct(tenantOf(request), request.params.product);
      reply.header('ETag', `"${product.version}"`);
      return product;
    },
  );

  app.patch(
    `${base}/products/:product`,
    {
      config: { access: write },
      schema: {
        tags,
        summary: 'Change a product (If-Match or version required; 412 when someone else changed it)',
        params: productParams,
        body: productPatch,
        response: { 200: productSchema, ...errors },
      },
    },
    async (request, reply) => {
      const expected = expectedVersion(request, request.body.version, true);
      const product = await catalog.updateProduct(
        await ctx(request),
        request.params.product,
        request.body,
        expected,
      );
      reply.header('ETag', `"${product.version}"`);
      return product;
    },
  );

  app.delete(
    `${base}/products/:product`,
    {
      config: { access: write },
      schema: {
        tags,
        summary: 'Delete a product, its variants, stock rows and images (the stock ledger stays)',
        params: productParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (request, reply) => {
      await catalog.deleteProduct(await ctx(request), request.params.product, expectedVersion(request));
      reply.code(204);
      return null;
    },
  );

  app.post(
    `${base}/products/:product/variants`,
    {
      config: { access: write },
      schema: {
        tags,
        summary: 'Add a variant',
        params: productParams,
        body: variantInput,
        response: { 201: productSchema, ...errors },
      },
    },
    async (request, reply) => {
      const product = await catalog.addVariant(
        await ctx(request),
        request.params.product,
        request.body,
        expectedVersion(request),
      );
      reply.code(201).header('ETag', `"${product.version}"`);
      return product;
    },
  );

  app.patch(
    `${base}/variants/:variant`,
    {
      config: { access: write },
      schema: {
        tags,
        summary: 'Change a variant (If-Match: its product’s version, optional)',
        params: variantParams,
        body: variantPatch,
        response: { 200: productSchema, ...errors },
      },
    },
    async (request, reply) => {
      const product = await catalog.updateVariant(
        await ctx(request),
        request.params.variant,
        request.body,
        expectedVersion(request),
      );
      reply.header('ETag', `"${product.version}"`);
      return product;
    },
  );

  app.delete(
    `${base}/variants/:variant`,
    {
      config: { access: write },
      schema: {
        tags,
        summary: 'Remove a variant (not the last one)',
        params: variantParams,
        response: { 200: productSchema, ...errors },
      },
    },
    async (request, reply) => {
      const product = await catalog.deleteVariant(
        await ctx(request),
        request.params.variant,
        expectedVersion(request),
      );
      reply.header('ETag', `"${product.version}"`);
      return product;
    },
  );

  app.get(
    `${base}/categories`,
    {
      config: { access: read },
      schema: {
        tags,
        summary: 'The category tree (parents first, siblings by position)',
        params: tenantParams,
        response: { 200: z.object({ items: z.array(categorySchema) }), ...errors },
      },
    },
    async (request) => ({ items: await catalog.listCategories(tenantOf(request)) }),
  );

  app.post(
    `${base}/categories`,
    {
      config: { access: write },
      schema: {
        tags,
        summary: 'Create a category',
        params: tenantParams,
        body: categoryInput,
        response: { 201: categorySchema, ...errors },
      },
    },
    async (request, reply) => {
      reply.code(201);
      return catalog.createCategory(tenantOf(request), request.body);
    },
  );

  app.patch(
    `${base}/categories/:category`,
    {
      config: { access: write },
      schema: {
        tags,
        summary: 'Rename or move a category (409 CATEGORY_CYCLE under its own subtree)',
        params: categoryParams,
        body: categoryPatch,
        response: { 200: categorySchema, ...errors },
      },
    },
    async (request) => catalog.updateCategory(tenantOf(request), request.params.category, request.body),
  );

  app.delete(
    `${base}/categories/:category`,
    {
      config: { access: write },
      schema: {
        tags,
        summary: 'Delete an empty category',
        params: categoryParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (request, reply) => {
      await catalog.deleteCategory(tenantOf(request), request.params.category);
      reply.code(204);
      return null;
    },
  );

  app.post(
    `${base}/categories/reorder`,
    {
      config: { access: write },
      schema: {
        tags,
        summary: 'Order the children of one parent (list every child once)',
        params: tenantParams,
        body: categoryReorder,
        response: { 200: z.object({ items: z.array(categorySchema) }), ...errors },
      },
    },
    async (request) => ({ items: await catalog.reorderCategories(tenantOf(request), request.body) }),
  );

  app.get(
    `${base}/inventory`,
    {
      config: { access: read },
      schema: {
        tags,
        summary: 'Stock per variant and location (lowStock=true: at or below threshold)',
        params: tenantParams,
        querystring: paginationQuery.extend({
          productId: z.uuid().optional(),
          lowStock: z.enum(['true', 'false']).optional(),
        }),
        response: {
          200: z.object({ items: z.array(inventoryRowSchema), nextCursor: z.string().nullable() }),
          ...errors,
        },
      },
    },
    async (request) =>
      catalog.listInventory(tenantOf(request), {
        ...request.query,
        lowStock: request.query.lowStock === 'true',
      }),
  );

  app.post(
    `${base}/inventory/adjust`,
    {
      config: { access: write },
      schema: {
        tags,
        summary:
          'Add or remove stock with a reason (ledgered; 409 INSUFFICIENT_STOCK below what is reserved)',
        params: tenantParams,
        body: inventoryAdjust,
        response: {
          200: z.object({
            locationId: z.uuid(),
            onHand: z.number(),
            reserved: z.number(),
            available: z.number(),
          }),
          ...errors,
        },
      },
    },
    async (request) => catalog.adjustInventory(await ctx(request), request.body),
  );

  app.post(
    `${base}/inventory/set`,
    {
      config: { access: write },
      schema: {
        tags,
        summary: 'Set on-hand stock to a counted figure (a ledgered correction)',
        params: tenantParams,
        body: inventorySet,
        response: {
          200: z.object({
            locationId: z.uuid(),
            onHand: z.number(),
            reserved: z.number(),
            available: z.number(),
          }),
          ...errors,
        },
      },
    },
    async (request) => catalog.setInventory(await ctx(request), request.body),
  );

  app.get(
    `${base}/inventory/ledger`,
    {
      config: { access: read },
      schema: {
        tags,
        summary: 'Stock history, newest first',
        params: tenantParams,
        querystring: paginationQuery.extend({ variantId: z.uuid().optional() }),
        response: {
          200: z.object({ items: z.array(ledgerEntrySchema), nextCursor: z.string().nullable() }),
          ...errors,
        },
      },
    },
    async (request) => catalog.ledger(tenantOf(request), request.query),
  );

  app.get(
    `${base}/alerts`,
    {
      config: { access: read },
      schema: {
        tags,
        summary: 'Open low-stock alerts (raised by the daily inventory check)',
        params: tenantParams,
        response: { 200: z.object({ items: z.array(alertSchema) }), ...errors },
      },
    },
    async (request) => ({ items: await catalog.alerts(tenantOf(request)) }),
  );

  app.get(
    `${base}/settings`,
    {
      config: { access: read },
      schema: {
        tags,
        summary: 'Storefront settings (countries the store ships to)',
        params: tenantParams,
        response: { 200: settingsSchema, ...errors },
      },
    },
    async (request) => catalog.settings(tenantOf(request)),
  );

  app.put(
    `${base}/settings`,
    {
      config: { access: { operator: true, staff: 'owner' } },
      schema: {
        tags,
        summary: 'Change storefront settings (owners)',
        params: tenantParams,
        body: settingsInput,
        response: { 200: settingsSchema, ...errors },
      },
    },
    async (request) => catalog.saveSettings(tenantOf(request), request.body),
  );
}
