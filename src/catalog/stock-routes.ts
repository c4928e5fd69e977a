import { z } from 'zod';
import { tenantParams } from '../identity/api.ts';
import type { App } from '../platform/http/server.ts';
import {
  alertSchema,
  inventoryAdjust,
  inventoryRowSchema,
  inventorySet,
  ledgerEntrySchema,
  locationInput,
  locationSchema,
  settingsInput,
  settingsSchema,
  stockLevelSchema,
} from './api.ts';
import { paginationQuery } from '../platform/http/schemas.ts';
import type { CatalogCore } from './index.ts';
import { base, errors, read, tags, tenantOf, write, writeContext } from './route-kit.ts';

/*
 * Staff's stock (issue 11): levels per variant and location, ledgered adjustments and counts,
 * the ledger, locations, low-stock alerts, and the storefront settings.
 */

export function registerStockRoutes(app: App, deps: { catalog: CatalogCore }) {
  const { catalog } = deps;
  const ctx = (request: Parameters<typeof writeContext>[1]) => writeContext(catalog, request);

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
        response: { 200: stockLevelSchema, ...errors },
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
        response: { 200: stockLevelSchema, ...errors },
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

  app.get(
    `${base}/locations`,
    {
      config: { access: read },
      schema: {
        tags,
        summary: 'Stock locations (Default exists once stock is recorded)',
        params: tenantParams,
        response: { 200: z.object({ items: z.array(locationSchema) }), ...errors },
      },
    },
    async (request) => ({ items: await catalog.locations(tenantOf(request)) }),
  );

  app.post(
    `${base}/locations`,
    {
      config: { access: write },
      schema: {
        tags,
        summary: 'Add a stock location (then adjust stock with its locationId)',
        params: tenantParams,
        body: locationInput,
        response: { 201: locationSchema, ...errors },
      },
    },
    async (request, reply) => {
      reply.code(201);
      return catalog.createLocation(tenantOf(request), request.body.name);
    },
  );
}
