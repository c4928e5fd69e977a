/**
 * The simulator's control API under `/_sim` (docs/stripe-simulator.md): no authentication (the
 * simulator listens on loopback), JSON bodies validated with Zod. Tests, benchmarks and the demo
 * use it to play the cardholder (3-D Secure, disputes), configure webhook endpoints and delivery,
 * inject faults and read the call counters.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { StripeApiError } from './errors.ts';
import { retrieveEvent } from './events.ts';
import { addFault, countersSnapshot, faultSchema } from './faults.ts';
import { authenticateIntent, findIntent } from './intents.ts';
import { intentJson } from './objects.ts';
import { disputeIntent } from './refunds.ts';
import { contextFor, type Runtime } from './runtime.ts';
import {
  addEndpoint,
  busy,
  configure,
  deliveries,
  release,
  resend,
  rollSecret,
  settingsSchema,
} from './webhooks.ts';

const endpointBody = z
  .object({
    url: z.url(),
    secret: z.string().min(8).max(200).optional(),
    enabled_events: z.array(z.string().min(1).max(128)).min(1).optional(),
  })
  .strict();
const idParams = z.object({ id: z.string().min(1).max(255) });
const authenticateBody = z.object({ outcome: z.enum(['succeed', 'fail']).default('succeed') }).strict();
const disputeBody = z
  .object({
    reason: z.enum(['fraudulent', 'duplicate', 'product_not_received', 'general']).default('fraudulent'),
  })
  .strict();
const deliveryQuery = z
  .object({ eventId: z.string().optional(), type: z.string().optional(), endpointId: z.string().optional() })
  .strict();

/** A control API error: `{"error": {"message": …}}` with its status. */
function send(reply: FastifyReply, error: unknown) {
  if (error instanceof StripeApiError) return reply.code(error.status).send({ error: error.body });
  if (error instanceof z.ZodError) {
    return reply.code(400).send({ error: { message: 'invalid control request', issues: error.issues } });
  }
  throw error;
}

export function registerControlRoutes(app: FastifyInstance, rt: Runtime): void {
  const { state, engine, faults } = rt;
  const ctx = () => contextFor(rt, null);
  const route = <T>(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    fn: (input: { params: any; body: any; query: any }) => T,
  ) =>
    app.route({
      method,
      url: `/_sim${url}`,
      handler: async (request, reply) => {
        try {
          return await fn({ params: request.params, body: request.body ?? {}, query: request.query });
        } catch (error) {
          return send(reply, error);
        }
      },
    });

  route('GET', '/health', () => ({ ok: true, url: state.url }));

  // Cardholder actions.
  route('POST', '/payment_intents/:id/authenticate', ({ params, body }) =>
    authenticateIntent(ctx(), idParams.parse(params).id, authenticateBody.parse(body).outcome),
  );
  route('POST', '/payment_intents/:id/dispute', ({ params, body }) =>
    disputeIntent(ctx(), idParams.parse(params).id, disputeBody.parse(body).reason),
  );
  /** The intent as the API shows it plus what only the simulator knows (captures performed). */
  route('GET', '/payment_intents/:id', ({ params }) => {
    const pi = findIntent(ctx(), idParams.parse(params).id);
    return { ...intentJson(state, pi), captures: pi.captures };
  });

  // Faults and counters.
  route('POST', '/faults', ({ body }) => addFault(faults, faultSchema.parse(body)));
  route('GET', '/faults', () => ({ faults: faults.list }));
  route('DELETE', '/faults', () => {
    faults.list = [];
    return { faults: [] };
  });
  route('GET', '/counters', () => ({
    endpoints: countersSnapshot(faults),
    captures: [...state.intents.values()].reduce((n, pi) => n + pi.captures, 0),
    intents: state.intents.size,
    refunds: state.refunds.size,
    events: state.events.length,
  }));
  route('DELETE', '/counters', () => {
    faults.counters.clear();
    return { endpoints: {} };
  });

  // Webhook endpoints and delivery.
  route('POST', '/webhook_endpoints', ({ body }) => {
    const input = endpointBody.parse(body);
    return addEndpoint(state, engine, {
      url: input.url,
      secret: input.secret,
      enabledEvents: input.enabled_events,
    });
  });
  route('GET', '/webhook_endpoints', () => ({ endpoints: [...engine.endpoints.values()] }));
  route('POST', '/webhook_endpoints/:id/roll', ({ params, body }) => {
    const endpoint = engine.endpoints.get(idParams.parse(params).id);
    if (!endpoint)
      throw new StripeApiError(404, { type: 'invalid_request_error', message: 'no such endpoint' }, false);
    const input = z
      .object({ secret: z.string().min(8).max(200).optional() })
      .strict()
      .parse(body);
    return rollSecret(endpoint, input.secret);
  });
  route('DELETE', '/webhook_endpoints/:id', ({ params }) => {
    const deleted = engine.endpoints.delete(idParams.parse(params).id);
    return { deleted };
  });
  route('GET', '/webhooks/settings', () => engine.settings);
  route('PUT', '/webhooks/settings', ({ body }) =>
    configure(state, engine, settingsSchema.partial().parse(body)),
  );
  route('POST', '/webhooks/flush', async () => {
    await release(state, engine);
    return { busy: busy(engine) };
  });
  route('GET', '/webhooks/deliveries', ({ query }) => ({
    deliveries: deliveries(engine, deliveryQuery.parse(query)).map(({ body: _body, ...d }) => d),
  }));
  route('POST', '/events/:id/resend', ({ params }) => {
    const event = retrieveEvent(state, idParams.parse(params).id);
    return { deliveries: resend(state, engine, event).map(({ body: _body, ...d }) => d) };
  });
}
