import { z } from 'zod';
import { tenantParams } from '../identity/api.ts';
import type { App } from '../platform/http/server.ts';
import {
  productCreate,
  productListQuery,
  productPatch,
  productSchema,
  variantInput,
  variantPatch,
} from './api.ts';

import type { CatalogCore } from './index.ts';
import { base, errors, expectedVersion, read, tags, tenantOf, write, writeContext } from './route-kit.ts';

const productParams = tenantParams.extend({ product: z.uuid() });
const variantParams = tenantParams.extend({ variant: z.uuid() });

/*
 * Staff's products and variants (issue 11): reads carry `ETag: "<version>"`; a product change
 * needs `If-Match` (or `version`), 412 when someone else changed it first.
 */

export function registerProductRoutes(app: App, deps: { catalog: CatalogCore }) {
  const { catalog } = deps;
  const ctx = (request: Parameters<typeof writeContext>[1]) => writeContext(catalog, request);

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
}
