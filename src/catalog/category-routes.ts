import { z } from 'zod';
import { tenantParams } from '../identity/api.ts';
import type { App } from '../platform/http/server.ts';
import { categoryInput, categoryPatch, categoryReorder, categorySchema } from './api.ts';

import type { CatalogCore } from './index.ts';
import { base, errors, read, tags, tenantOf, write } from './route-kit.ts';

const categoryParams = tenantParams.extend({ category: z.uuid() });

/*
 * Staff's category tree (issue 11): create, rename, move (no cycles), delete when empty, reorder.
 */

export function registerCategoryRoutes(app: App, deps: { catalog: CatalogCore }) {
  const { catalog } = deps;
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
}
