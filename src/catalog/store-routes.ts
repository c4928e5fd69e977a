import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { tenantParams } from '../identity/api.ts';
import { notModified } from '../platform/http/cache.ts';
import { errorResponses } from '../platform/http/schemas.ts';
import type { App } from '../platform/http/server.ts';
import {
  categorySchema,
  countrySchema,
  searchHitSchema,
  storeProductQuery,
  storeProductSchema,
  storeSearchQuery,
} from './api.ts';
import type { CatalogCore } from './index.ts';

/*
 * The storefront catalog (issue 11) under `/api/v1/stores/:tenant/…`: public, active products
 * only, no internal field. Every answer carries a weak ETag and Cache-Control so a CDN can cache
 * it and a client can revalidate (304).
 */

const errors = errorResponses(400, 404);
const base = '/api/v1/stores/:tenant';
const tags = ['storefront'];
const tenantOf = (request: FastifyRequest) => request.auth.tenant?.id as string;
/** The body, or a bodiless 304 when the caller's ETag is current. */
function cached<T>(request: FastifyRequest, reply: FastifyReply, body: T, cacheControl?: string): T {
  if (notModified(request, reply, body, cacheControl)) return reply.send() as never;
  return body;
}

export function registerStoreCatalogRoutes(app: App, deps: { catalog: CatalogCore }) {
  const { catalog } = deps;

  app.get(
    `${base}/products`,
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'Active products: category (with subcategories), q, price range (minor units), sort',
        params: tenantParams,
        querystring: storeProductQuery,
        response: {
          200: z.object({ items: z.array(storeProductSchema), nextCursor: z.string().nullable() }),
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const body = await catalog.storeProducts(tenantOf(request), request.query);
      return cached(request, reply, body);
    },
  );

  app.get(
    `${base}/products/:idOrHandle`,
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'One active product by id or handle',
        params: tenantParams.extend({ idOrHandle: z.string().min(1).max(255) }),
        response: { 200: storeProductSchema, ...errors },
      },
    },
    async (request, reply) => {
      const body = await catalog.storeProduct(tenantOf(request), request.params.idOrHandle);
      return cached(request, reply, body);
    },
  );

  app.get(
    `${base}/categories`,
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'The category tree with counts of active products',
        params: tenantParams,
        response: { 200: z.object({ items: z.array(categorySchema) }), ...errors },
      },
    },
    async (request, reply) => {
      const body = { items: await catalog.listCategories(tenantOf(request)) };
      return cached(request, reply, body);
    },
  );

  app.get(
    `${base}/countries`,
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'ISO 3166-1 countries the store ships to (code and English name)',
        params: tenantParams,
        response: { 200: z.object({ items: z.array(countrySchema) }), ...errors },
      },
    },
    async (request, reply) => {
      const body = { items: await catalog.countries(tenantOf(request)) };
      return cached(request, reply, body, 'public, max-age=3600');
    },
  );

  app.get(
    `${base}/search`,
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary:
          'Search active products: ranked, prefix and typo tolerant, highlighted snippets, category facets',
        params: tenantParams,
        querystring: storeSearchQuery,
        response: {
          200: z.object({
            items: z.array(searchHitSchema),
            facets: z.object({
              categories: z.array(
                z.object({ id: z.uuid(), handle: z.string(), name: z.string(), count: z.number() }),
              ),
            }),
          }),
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const body = await catalog.search(tenantOf(request), request.query);
      return cached(request, reply, body);
    },
  );
}
