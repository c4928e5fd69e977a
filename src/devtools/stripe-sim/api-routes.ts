/**
 * Stripe's `/v1` API as stripe-node calls it (https://docs.stripe.com/api): bearer secret-key
 * authentication (https://docs.stripe.com/api/authentication; 401 otherwise), form-encoded
 * parameters, `Request-Id` on every answer, the idempotency layer on POSTs, injected faults and
 * per-endpoint call counters. Handlers run synchronously between "request parsed" and "answer
 * written", so two concurrent calls never interleave inside one operation.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { apiError, authenticationFailed, idempotencyMismatch, StripeApiError } from './errors.ts';
import { listEvents, retrieveEvent } from './events.ts';
import { countersOf, type Fault, takeFault } from './faults.ts';
import { parseForm } from './form.ts';
import { fingerprint, idempotencyKeyOf } from './idempotency.ts';
import {
  cancelIntent,
  captureIntent,
  confirmIntent,
  createIntent,
  retrieveIntent,
  updateIntent,
} from './intents.ts';
import { createRefund, retrieveCharge, retrieveRefund } from './refunds.ts';
import { contextFor, type Runtime } from './runtime.ts';
import { type Ctx, DEFAULT_API_VERSION, nextId } from './state.ts';

type Operation = (ctx: Ctx, params: unknown, id: string) => unknown;

/** Every route: `METHOD /path` as the counters and faults name it, and what it does. */
const ROUTES: [string, Operation][] = [
  ['POST /v1/payment_intents', (ctx, p) => createIntent(ctx, p)],
  ['GET /v1/payment_intents/:id', (ctx, _p, id) => retrieveIntent(ctx, id)],
  ['POST /v1/payment_intents/:id', (ctx, p, id) => updateIntent(ctx, id, p)],
  ['POST /v1/payment_intents/:id/confirm', (ctx, p, id) => confirmIntent(ctx, id, p)],
  ['POST /v1/payment_intents/:id/capture', (ctx, p, id) => captureIntent(ctx, id, p)],
  ['POST /v1/payment_intents/:id/cancel', (ctx, p, id) => cancelIntent(ctx, id, p)],
  ['POST /v1/refunds', (ctx, p) => createRefund(ctx, p)],
  ['GET /v1/refunds/:id', (ctx, _p, id) => retrieveRefund(ctx, id)],
  ['GET /v1/charges/:id', (ctx, _p, id) => retrieveCharge(ctx, id)],
  ['GET /v1/events', (ctx, p) => listEvents(ctx.state, p)],
  ['GET /v1/events/:id', (ctx, _p, id) => retrieveEvent(ctx.state, id)],
];

/** The secret key from `Authorization: Bearer sk_…` (or HTTP Basic with the key as user name). */
function presentedKey(header: string | undefined): string | null {
  if (!header) return null;
  const [scheme, value] = header.split(' ', 2);
  if (!value) return null;
  if (scheme.toLowerCase() === 'bearer') return value.trim();
  if (scheme.toLowerCase() === 'basic') return Buffer.from(value, 'base64').toString('utf8').split(':')[0];
  return null;
}

function sameKey(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The answer never comes: the call took effect, then the connection is dropped. */
function drop(request: FastifyRequest, reply: FastifyReply, fault: Fault): void {
  reply.hijack();
  const socket = request.raw.socket;
  if (fault.kind === 'reset') {
    socket.destroy();
    return;
  }
  const timer = setTimeout(() => socket.destroy(), fault.holdMs);
  socket.once('close', () => clearTimeout(timer));
}

export function registerApiRoutes(app: FastifyInstance, rt: Runtime): void {
  const { state, faults, idempotency } = rt;

  const handler = (endpoint: string, operation: Operation) =>
    async function stripeEndpoint(request: FastifyRequest, reply: FastifyReply) {
      const counters = countersOf(faults, endpoint);
      counters.requests++;
      const requestId = nextId(state, 'req');
      reply.header('Request-Id', requestId);
      reply.header('Stripe-Version', request.headers['stripe-version'] ?? DEFAULT_API_VERSION);
      const send = (status: number, body: string) => {
        if (status >= 400) counters.errors++;
        return reply.code(status).type('application/json').send(body);
      };
      const fail = (error: StripeApiError) => send(error.status, JSON.stringify({ error: error.body }));

      const key = presentedKey(request.headers.authorization);
      if (!key || !sameKey(key, state.secretKey)) return fail(authenticationFailed(key !== null));

      const fault = takeFault(faults, endpoint);
      if (fault) counters.faults++;
      if (fault?.kind === 'http_500') return fail(apiError());

      const post = request.method === 'POST';
      const id = (request.params as { id?: string }).id ?? '';
      let params: unknown;
      let idempotencyKey: string | null;
      try {
        const raw = post ? ((request.body as string | undefined) ?? '') : (request.url.split('?')[1] ?? '');
        params = parseForm(raw);
        idempotencyKey = post ? idempotencyKeyOf(request.headers['idempotency-key']) : null;
      } catch (error) {
        if (error instanceof StripeApiError) return fail(error);
        throw error;
      }
      const print = post ? fingerprint(request.method, request.url.split('?')[0], params) : '';
      if (idempotencyKey) {
        reply.header('Idempotency-Key', idempotencyKey);
        const saved = idempotency.get(idempotencyKey);
        if (saved) {
          if (saved.fingerprint !== print) return fail(idempotencyMismatch(idempotencyKey));
          counters.replays++;
          reply.header('Idempotent-Replayed', 'true');
          reply.header('Original-Request', saved.requestId);
          if (fault) return drop(request, reply, fault);
          return send(saved.status, saved.body);
        }
      }

      const apiVersion = String(request.headers['stripe-version'] ?? DEFAULT_API_VERSION);
      const ctx = contextFor(rt, { requestId, idempotencyKey, apiVersion });
      let status = 200;
      let body: string;
      let save = true;
      try {
        body = JSON.stringify(operation(ctx, params, id));
      } catch (error) {
        const known = error instanceof StripeApiError ? error : null;
        if (!known) request.log.error({ err: error }, 'stripe simulator operation failed');
        const answer = known ?? apiError();
        status = answer.status;
        body = JSON.stringify({ error: answer.body });
        save = answer.saved;
      }
      if (idempotencyKey && save)
        idempotency.set(idempotencyKey, { fingerprint: print, status, body, requestId });
      if (fault) return drop(request, reply, fault);
      return send(status, body);
    };

  app.register(
    async (scope) => {
      scope.removeAllContentTypeParsers();
      // Stripe reads form bodies; anything else is read as text and parsed as a form all the same.
      scope.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
      for (const [endpoint, operation] of ROUTES) {
        const [method, url] = endpoint.split(' ');
        const path = url.slice('/v1'.length);
        scope.route({ method: method as 'GET' | 'POST', url: path, handler: handler(endpoint, operation) });
      }
      scope.setNotFoundHandler((request, reply) => {
        reply
          .code(404)
          .type('application/json')
          .send({
            error: {
              type: 'invalid_request_error',
              message:
                `Unrecognized request URL (${request.method}: ${request.url.split('?')[0]}). ` +
                'Please see https://stripe.com/docs or we can help at https://support.stripe.com/.',
            },
          });
      });
    },
    { prefix: '/v1' },
  );
}
