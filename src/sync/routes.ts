import { z } from 'zod';
import { errorEnvelopeSchema } from '../platform/http/schemas.ts';
import type { App } from '../platform/http/server.ts';
import type { ListFilters } from './data.ts';
import type { SyncCore } from './index.ts';
import { RESOURCES, type Resource } from './queries.ts';

/*
 * Routes of issue 7: sync status and runs (`/api/v1/tenants/:tenant/sync`) and the mirrored-data API
 * (`/api/v1/tenants/:tenant/{products,orders,customers}[/:id]`). Thin: validate, call, respond.
 */

const tenantParams = z.object({ tenant: z.string().min(1).max(100) });
const recordParams = tenantParams.extend({
  id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER),
});
const errors = {
  400: errorEnvelopeSchema,
  401: errorEnvelopeSchema,
  403: errorEnvelopeSchema,
  404: errorEnvelopeSchema,
};
const readAccess = { operator: true, staff: 'any', apiKey: ['data:read'] } as const;

const progressSchema = z.object({
  done: z.number(),
  total: z.number().nullable(),
  percent: z.number().nullable(),
  ratePerSecond: z.number().nullable(),
  etaSeconds: z.number().nullable(),
});

const statusSchema = z.object({
  resources: z.array(
    z.object({
      resource: z.enum(RESOURCES),
      status: z.string(),
      mode: z.string().nullable(),
      progress: progressSchema,
      checkpoint: z.object({ backfill: z.unknown(), updatedAtCursor: z.string().nullable() }),
      startedAt: z.string().nullable(),
      finishedAt: z.string().nullable(),
      backfilledAt: z.string().nullable(),
      lastIncrementalAt: z.string().nullable(),
      lastReconcileAt: z.string().nullable(),
      lastError: z.object({ message: z.string(), at: z.string().nullable() }).nullable(),
      stored: z.object({ live: z.number(), deleted: z.number() }),
      schedule: z.object({ incrementalEveryMinutes: z.number(), reconcileEveryHours: z.number() }),
    }),
  ),
  runs: z.array(
    z.object({
      id: z.string(),
      resource: z.string(),
      mode: z.string(),
      status: z.string(),
      trigger: z.string(),
      startedAt: z.string(),
      finishedAt: z.string().nullable(),
      report: z.unknown(),
      error: z.string().nullable(),
    }),
  ),
});

const startBody = z
  .object({
    mode: z.enum(['full', 'incremental', 'reconcile']).default('incremental'),
    resources: z.array(z.enum(RESOURCES)).min(1).max(3).optional(),
    schedule: z
      .object({
        incrementalEveryMinutes: z.number().int().min(0).max(10_080).nullable().optional(),
        reconcileEveryHours: z.number().int().min(0).max(720).nullable().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const isoTime = z
  .string()
  .max(40)
  .refine((v) => !Number.isNaN(Date.parse(v)), 'must be an ISO-8601 date or time');
const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(250).default(50),
  cursor: z.string().max(1024).optional(),
  q: z.string().max(500).optional(),
  status: z
    .string()
    .max(40)
    .regex(/^[a-z_]+$/i)
    .optional(),
  createdAtMin: isoTime.optional(),
  createdAtMax: isoTime.optional(),
  updatedAtMin: isoTime.optional(),
  updatedAtMax: isoTime.optional(),
  live: z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .transform((v) => v === 'true' || v === '1'),
});
const productQuery = listQuery.extend({
  vendor: z.string().max(200).optional(),
  productType: z.string().max(200).optional(),
});
const orderQuery = listQuery.extend({
  financialStatus: z
    .string()
    .max(40)
    .regex(/^[a-z_]+$/i)
    .optional(),
  fulfillmentStatus: z
    .string()
    .max(40)
    .regex(/^[a-z_]+$/i)
    .optional(),
  customerId: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
});
const liveOnly = z.object({
  live: z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .transform((v) => v === 'true' || v === '1'),
});

const money = z.string().describe('decimal string, e.g. "12.30"');
const address = z.record(z.string(), z.unknown()).nullable();
const variantSchema = z.object({
  id: z.number(),
  productId: z.number(),
  title: z.string().nullable(),
  sku: z.string().nullable(),
  barcode: z.string().nullable(),
  position: z.number().nullable(),
  price: money,
  compareAtPrice: money.nullable(),
  inventoryQuantity: z.number().nullable(),
  inventoryItemId: z.number().nullable(),
  option1: z.string().nullable(),
  option2: z.string().nullable(),
  option3: z.string().nullable(),
  taxable: z.boolean().nullable(),
  createdAt: z.string().nullable(),
  updatedAt: z.string().nullable(),
});
const productSchema = z.object({
  id: z.number(),
  title: z.string().nullable(),
  handle: z.string().nullable(),
  bodyHtml: z.string().nullable(),
  vendor: z.string().nullable(),
  productType: z.string().nullable(),
  status: z.string().nullable(),
  tags: z.array(z.string()),
  publishedAt: z.string().nullable(),
  createdAt: z.string().nullable(),
  updatedAt: z.string().nullable(),
  variants: z.array(variantSchema),
});
const customerSchema = z.object({
  id: z.number(),
  email: z.string().nullable(),
  firstName: z.string().nullable(),
  lastName: z.string().nullable(),
  phone: z.string().nullable(),
  state: z.string().nullable(),
  tags: z.array(z.string()),
  note: z.string().nullable(),
  verifiedEmail: z.boolean().nullable(),
  taxExempt: z.boolean().nullable(),
  currency: z.string().nullable().describe('Currency of totalSpent'),
  ordersCount: z.number().nullable().describe("Orders in the customer's lifetime (Shopify numberOfOrders)"),
  totalSpent: money
    .nullable()
    .describe('Amount the customer has spent (Shopify amountSpent), decimal string'),
  defaultAddress: address,
  createdAt: z.string().nullable(),
  updatedAt: z.string().nullable(),
});
const lineItemSchema = z.object({
  id: z.number(),
  orderId: z.number(),
  productId: z.number().nullable(),
  variantId: z.number().nullable(),
  title: z.string(),
  variantTitle: z.string().nullable(),
  sku: z.string().nullable(),
  vendor: z.string().nullable(),
  quantity: z.number(),
  price: money,
  totalDiscount: money.nullable(),
  taxable: z.boolean().nullable(),
  requiresShipping: z.boolean().nullable(),
  fulfillableQuantity: z.number().nullable().describe('Units still to fulfil'),
  fulfillmentStatus: z
    .string()
    .nullable()
    .describe('fulfilled, partial, or null while nothing of the line has shipped'),
});
const transactionSchema = z.object({
  id: z.number(),
  orderId: z.number(),
  parentId: z.number().nullable(),
  kind: z.string(),
  status: z.string(),
  gateway: z.string().nullable(),
  amount: money,
  currency: z.string().nullable(),
  processedAt: z.string().nullable(),
});
const orderSchema = z.object({
  id: z.number(),
  name: z.string().nullable(),
  orderNumber: z.number().nullable(),
  email: z.string().nullable(),
  phone: z.string().nullable(),
  customerId: z.number().nullable(),
  currency: z.string().nullable(),
  financialStatus: z.string().nullable(),
  fulfillmentStatus: z.string().nullable(),
  cancelReason: z.string().nullable(),
  cancelledAt: z.string().nullable(),
  closedAt: z.string().nullable(),
  processedAt: z.string().nullable(),
  subtotalPrice: money.nullable(),
  totalDiscounts: money.nullable(),
  totalShipping: money.nullable(),
  totalTax: money.nullable(),
  totalPrice: money.nullable(),
  currentTotalPrice: money.nullable(),
  tags: z.array(z.string()),
  note: z.string().nullable(),
  sourceName: z.string().nullable(),
  test: z.boolean().nullable(),
  billingAddress: address,
  shippingAddress: address,
  createdAt: z.string().nullable(),
  updatedAt: z.string().nullable(),
  lineItems: z.array(lineItemSchema),
  transactions: z.array(transactionSchema),
});

const SCHEMAS = { products: productSchema, orders: orderSchema, customers: customerSchema } as const;
const QUERIES = { products: productQuery, orders: orderQuery, customers: listQuery } as const;
const source = z.enum(['mirror', 'shopify']);

/** Registers the sync and data routes. */
export function registerSyncRoutes(app: App, deps: { sync: SyncCore }) {
  const { sync } = deps;

  app.get(
    '/api/v1/tenants/:tenant/sync',
    {
      config: { access: readAccess },
      schema: {
        tags: ['sync'],
        summary:
          'Sync status: per-resource state, progress, checkpoints, counts, last errors and recent runs',
        params: tenantParams,
        response: { 200: statusSchema, ...errors },
      },
    },
    async (request) => sync.status(request.auth.tenant?.id as string),
  );

  app.post(
    '/api/v1/tenants/:tenant/sync',
    {
      config: { access: { operator: true, staff: 'owner' } },
      schema: {
        tags: ['sync'],
        summary:
          'Start a full, incremental or reconcile run (one per tenant and resource), optionally set the schedule',
        params: tenantParams,
        body: startBody,
        response: {
          202: z.object({
            mode: z.enum(['full', 'incremental', 'reconcile']),
            queued: z.array(z.object({ resource: z.enum(RESOURCES), jobId: z.string().nullable() })),
          }),
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const tenantId = request.auth.tenant?.id as string;
      if (request.body.schedule) await sync.setSchedule(tenantId, request.body.schedule);
      const result = await sync.start(tenantId, {
        mode: request.body.mode,
        resources: request.body.resources,
        trigger: 'api',
      });
      reply.code(202);
      return result;
    },
  );

  for (const resource of RESOURCES) registerDataRoutes(app, sync, resource);
}

function registerDataRoutes(app: App, sync: SyncCore, resource: Resource) {
  const item = SCHEMAS[resource];
  const singular = resource.slice(0, -1);
  app.get(
    `/api/v1/tenants/:tenant/${resource}`,
    {
      config: { access: readAccess },
      schema: {
        tags: ['data'],
        summary: `List mirrored ${resource} (cursor pagination, filters, text query q in Shopify search syntax; live=true reads Shopify)`,
        params: tenantParams,
        querystring: QUERIES[resource],
        response: {
          200: z.object({ items: z.array(item), nextCursor: z.string().nullable(), source }),
          ...errors,
        },
      },
    },
    async (request) => {
      const tenantId = request.auth.tenant?.id as string;
      const filters = request.query as ListFilters;
      if (filters.live) return sync.data.listLive(tenantId, resource, filters, request.auth.withTenant);
      return request.auth.withTenant((tx) => sync.data.list(tx, tenantId, resource, filters));
    },
  );
  app.get(
    `/api/v1/tenants/:tenant/${resource}/:id`,
    {
      config: { access: readAccess },
      schema: {
        tags: ['data'],
        summary: `One mirrored ${singular} by its Shopify id (live=true reads Shopify and refreshes the mirror)`,
        params: recordParams,
        querystring: liveOnly,
        response: { 200: z.object({ item, source }), ...errors },
      },
    },
    async (request) => {
      const tenantId = request.auth.tenant?.id as string;
      if (request.query.live)
        return sync.data.getLive(tenantId, resource, request.params.id, request.auth.withTenant);
      return request.auth.withTenant((tx) => sync.data.get(tx, tenantId, resource, request.params.id));
    },
  );
}
