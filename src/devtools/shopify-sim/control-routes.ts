/** The /_sim control API over HTTP; every body is validated with Zod (see docs/shopify-simulator.md). */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { Runtime } from './admin-api.ts';
import { chaosPatchSchema } from './chaos.ts';
import {
  bucketStatus,
  COMPLIANCE_ROUTES,
  ControlError,
  clearDeliveries,
  compliance,
  createRecordIn,
  createShopWithSizes,
  deleteRecordIn,
  deliveries,
  expireToken,
  getChaos,
  issueAccessToken,
  type Patch,
  readRecordIn,
  resetChaos,
  revokeToken,
  sessionToken,
  setAppWebhook,
  setBucket,
  setChaos,
  shopInfo,
  uninstall,
  updateRecordIn,
} from './control.ts';
import { webhookLoadSchema, runWebhookLoad } from './load.ts';
import { PLANS, MAX_RECORDS } from './shops.ts';
import type { Kind } from './types.ts';

const size = z.number().int().min(0).max(MAX_RECORDS);
const shopBody = z
  .object({
    shop: z.string(),
    products: size.optional(),
    customers: size.optional(),
    orders: size.optional(),
    plan: z.enum(PLANS).optional(),
  })
  .strict();
const price = z.string().regex(/^\d+(\.\d{1,2})?$/, 'a decimal string such as "19.99"');
const productPatch = z
  .object({
    title: z.string().min(1),
    vendor: z.string(),
    productType: z.string(),
    status: z.enum(['ACTIVE', 'DRAFT', 'ARCHIVED']),
    tags: z.array(z.string()),
    descriptionHtml: z.string(),
    variants: z.array(
      z.object({ title: z.string(), price, sku: z.string(), inventoryQuantity: z.number().int() }).partial(),
    ),
  })
  .partial()
  .strict();
const customerPatch = z
  .object({
    firstName: z.string(),
    lastName: z.string(),
    email: z.string().email(),
    phone: z.string().nullable(),
    tags: z.array(z.string()),
    state: z.enum(['ENABLED', 'DISABLED', 'INVITED', 'DECLINED']),
    note: z.string().nullable(),
  })
  .partial()
  .strict();
const orderPatch = z
  .object({
    email: z.string().email(),
    customerId: z.number().int().nullable(),
    financialStatus: z.enum([
      'pending',
      'authorized',
      'partially_paid',
      'paid',
      'partially_refunded',
      'refunded',
      'voided',
    ]),
    fulfillmentStatus: z.enum(['fulfilled', 'partial']).nullable(),
    tags: z.array(z.string()),
    note: z.string().nullable(),
    lineItems: z
      .array(
        z.object({
          title: z.string().optional(),
          variantId: z.number().int().optional(),
          quantity: z.number().int().min(1),
          price: price.optional(),
        }),
      )
      .min(1)
      .max(16),
    cancelReason: z.enum(['customer', 'fraud', 'inventory', 'declined', 'other']),
  })
  .partial()
  .strict();
const PATCHES: Record<string, { kind: Kind; schema: z.ZodType<Patch> }> = {
  products: { kind: 'product', schema: productPatch as z.ZodType<Patch> },
  customers: { kind: 'customer', schema: customerPatch as z.ZodType<Patch> },
  orders: { kind: 'order', schema: orderPatch as z.ZodType<Patch> },
};
const idParam = z.coerce.number().int().positive();

function resource(name: string) {
  const entry = PATCHES[name];
  if (!entry) throw new ControlError(404, `unknown resource: ${name} (products, customers, orders)`);
  return entry;
}

function summary(result: ReturnType<typeof createRecordIn>) {
  return {
    ...result,
    deliveries: result.deliveries.map((d) => ({
      webhookId: d.webhookId,
      eventId: d.eventId,
      topic: d.topic,
      uri: d.uri,
      state: d.state,
    })),
  };
}

/** Registers every /_sim control endpoint. */
export function registerControlRoutes(app: FastifyInstance, rt: Runtime): void {
  app.setErrorHandler((err: unknown, _req, reply: FastifyReply) => {
    if (err instanceof z.ZodError)
      return reply.code(400).send({ error: 'invalid_input', issues: err.issues });
    if (err instanceof ControlError) return reply.code(err.status).send({ error: err.message });
    const e = err as { statusCode?: number; message?: string };
    return reply.code(e.statusCode ?? 500).send({ error: e.message ?? 'internal error' });
  });

  app.get('/_sim/health', async () => ({
    ok: true,
    url: rt.sim.url,
    adminUrlTemplate: `${rt.sim.url}/{shop}`,
  }));

  app.get('/_sim/shops', async () => [...rt.sim.shops.keys()].map((s) => shopInfo(rt, s)));
  app.post('/_sim/shops', async (req, reply) =>
    reply.code(201).send(createShopWithSizes(rt, shopBody.parse(req.body))),
  );
  app.get<{ Params: { shop: string } }>('/_sim/shops/:shop', async (req) => shopInfo(rt, req.params.shop));

  app.post<{ Params: { shop: string; resource: string } }>(
    '/_sim/shops/:shop/:resource',
    async (req, reply) => {
      if (req.params.resource === 'uninstall')
        return { deliveries: uninstall(rt, req.params.shop).map((d) => d.webhookId) };
      if (req.params.resource === 'tokens') {
        const body = z
          .object({
            scopes: z.union([z.string(), z.array(z.string())]),
            expiring: z.boolean().default(false),
          })
          .strict()
          .parse(req.body);
        const scopes = Array.isArray(body.scopes)
          ? body.scopes
          : body.scopes
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean);
        return reply.code(201).send(issueAccessToken(rt, req.params.shop, scopes, body.expiring));
      }
      const { kind, schema } = resource(req.params.resource);
      return reply
        .code(201)
        .send(summary(createRecordIn(rt, req.params.shop, kind, schema.parse(req.body ?? {}))));
    },
  );
  app.get<{ Params: { shop: string; resource: string; id: string } }>(
    '/_sim/shops/:shop/:resource/:id',
    async (req) =>
      readRecordIn(rt, req.params.shop, resource(req.params.resource).kind, idParam.parse(req.params.id)),
  );
  app.patch<{ Params: { shop: string; resource: string; id: string } }>(
    '/_sim/shops/:shop/:resource/:id',
    async (req) => {
      const { kind, schema } = resource(req.params.resource);
      return summary(
        updateRecordIn(rt, req.params.shop, kind, idParam.parse(req.params.id), schema.parse(req.body ?? {})),
      );
    },
  );
  app.delete<{ Params: { shop: string; resource: string; id: string } }>(
    '/_sim/shops/:shop/:resource/:id',
    async (req) =>
      summary(
        deleteRecordIn(rt, req.params.shop, resource(req.params.resource).kind, idParam.parse(req.params.id)),
      ),
  );

  app.post<{ Params: { shop: string; topic: string } }>(
    '/_sim/shops/:shop/compliance/:topic',
    async (req) => {
      const topic = (
        COMPLIANCE_ROUTES as Record<string, (typeof COMPLIANCE_ROUTES)[keyof typeof COMPLIANCE_ROUTES]>
      )[req.params.topic];
      if (!topic) throw new ControlError(404, `unknown compliance topic: ${req.params.topic}`);
      const body = z
        .object({
          customerId: z.number().int().optional(),
          orderIds: z.array(z.number().int()).max(1000).optional(),
        })
        .strict()
        .parse(req.body ?? {});
      return { deliveries: compliance(rt, req.params.shop, topic, body).map((d) => d.webhookId) };
    },
  );

  app.get<{ Params: { shop: string } }>('/_sim/shops/:shop/bucket', async (req) =>
    bucketStatus(rt, req.params.shop),
  );
  app.put<{ Params: { shop: string } }>('/_sim/shops/:shop/bucket', async (req) =>
    setBucket(
      rt,
      req.params.shop,
      z
        .object({ currentlyAvailable: z.number().min(0) })
        .strict()
        .parse(req.body).currentlyAvailable,
    ),
  );
  app.put<{ Params: { shop: string } }>('/_sim/shops/:shop/chaos', async (req) => {
    setChaos(rt, chaosPatchSchema.parse(req.body ?? {}), req.params.shop);
    return getChaos(rt);
  });

  app.post('/_sim/session-tokens', async (req, reply) => {
    const body = z
      .object({
        shop: z.string(),
        userId: z.string().optional(),
        expiresInSeconds: z.number().int().min(-3600).max(86_400).optional(),
      })
      .strict()
      .parse(req.body);
    return reply.code(201).send(await sessionToken(rt, body));
  });
  const tokenBody = z.object({ token: z.string().min(1) }).strict();
  app.post('/_sim/tokens/expire', async (req, reply) => {
    expireToken(rt, tokenBody.parse(req.body).token);
    return reply.code(204).send();
  });
  app.post('/_sim/tokens/revoke', async (req, reply) => {
    revokeToken(rt, tokenBody.parse(req.body).token);
    return reply.code(204).send();
  });

  app.get('/_sim/chaos', async () => getChaos(rt));
  app.put('/_sim/chaos', async (req) => {
    setChaos(rt, chaosPatchSchema.parse(req.body ?? {}));
    return getChaos(rt);
  });
  app.delete('/_sim/chaos', async () => {
    resetChaos(rt);
    return getChaos(rt);
  });

  const deliveryQuery = z
    .object({
      shop: z.string().optional(),
      topic: z.string().optional(),
      state: z.enum(['pending', 'delivered', 'failed', 'dropped']).optional(),
      eventId: z.string().optional(),
    })
    .strict();
  app.get('/_sim/deliveries', async (req) => deliveries(rt, deliveryQuery.parse(req.query ?? {})));
  app.delete('/_sim/deliveries', async (_req, reply) => {
    clearDeliveries(rt);
    return reply.code(204).send();
  });

  app.get('/_sim/app-webhooks', async () => Object.fromEntries(rt.sim.appSubscriptions));
  app.put('/_sim/app-webhooks', async (req) => {
    const body = z.object({ topic: z.string(), uri: z.string().url().nullable() }).strict().parse(req.body);
    setAppWebhook(rt, body.topic, body.uri);
    return Object.fromEntries(rt.sim.appSubscriptions);
  });

  app.post('/_sim/load', async (req) =>
    runWebhookLoad(webhookLoadSchema.parse({ apiSecret: rt.sim.options.apiSecret, ...(req.body as object) })),
  );
}
