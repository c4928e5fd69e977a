import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError, badRequest, unavailable } from '../platform/errors.ts';
import { errorEnvelopeSchema } from '../platform/http/schemas.ts';
import type { App } from '../platform/http/server.ts';
import { type InboxDelivery, type InboxWriter, InvalidPayloadError } from './inbox.ts';
import type { WebhookMetrics } from './metrics.ts';

/*
 * The intake (issue 6, DESIGN.md flow 2), one handler for every source:
 *   raw bytes → the source adapter verifies the signature → maps headers to an inbox row → JSON
 *   object check → tenant → inbox (committed) → 200.
 * Adapters live in ./sources/ (Shopify today). Adding a source (Stripe, pixel) is one adapter
 * file and one entry in the list index.ts hands to `registerWebhookIntake`. The body is not parsed
 * here: the database validates the JSON as it stores it, and the processor parses it later.
 */

/** How one source's deliveries are verified and mapped to inbox rows. */
export type IntakeAdapter = {
  /** The inbox `source` of its rows, what handlers subscribe to. */
  source: string;
  /** The POST paths it answers, with their OpenAPI summaries. */
  paths: readonly { url: string; summary: string }[];
  /** OpenAPI description of its routes (headers, signature, access). */
  description: string;
  /** Checks the signature over the raw bytes, before anything else: the error to answer, or null. */
  verify(request: FastifyRequest, body: Buffer): AppError | null;
  /** Reads the source's headers into a delivery (`tenantId` null until `tenantFor`), or the 400 to answer. */
  parse(request: FastifyRequest, body: Buffer): InboxDelivery | AppError;
  /** Which tenant the delivery belongs to; null stores it as orphaned (never applied). */
  tenantFor(delivery: InboxDelivery): Promise<string | null> | string | null;
};

const EMPTY = Buffer.alloc(0);
const OPEN_BRACE = 0x7b;
const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

/** True when the first non-blank byte opens a JSON object (full validation happens in the database). */
function looksLikeJsonObject(body: Buffer): boolean {
  for (let i = 0; i < body.length; i++) {
    const byte = body[i];
    if (!WHITESPACE.has(byte)) return byte === OPEN_BRACE;
  }
  return false;
}

const RESPONSES = {
  stored: '{"status":"stored"}',
  duplicate: '{"status":"duplicate"}',
  orphaned: '{"status":"orphaned"}',
} as const;

const ackSchema = z.object({
  status: z
    .enum(['stored', 'duplicate', 'orphaned'])
    .describe('stored: new; duplicate: this delivery was stored before; orphaned: sender (shop) not held'),
});

/**
 * Registers every adapter's routes inside one Fastify scope whose only body parser keeps the raw
 * bytes (signatures are over exactly those): no other route ever sees a raw body, and these never
 * pay for a JSON parse.
 */
export function registerWebhookIntake(
  app: App,
  deps: {
    adapters: readonly IntakeAdapter[];
    bodyLimit: number;
    inbox: InboxWriter;
    metrics: WebhookMetrics;
  },
): void {
  const { inbox, metrics } = deps;
  const received = new Map<string, ReturnType<typeof metrics.received.labels>>();
  const countReceived = (topic: string) => {
    let child = received.get(topic);
    if (!child) {
      child = metrics.received.labels(topic);
      received.set(topic, child);
    }
    child.inc();
  };
  const reject = (reason: string, error: AppError): never => {
    metrics.rejected.inc({ reason });
    throw error;
  };

  /** The route handler of one adapter. */
  const intakeOf = (adapter: IntakeAdapter) =>
    async function intake(request: FastifyRequest, reply: FastifyReply): Promise<string> {
      const body = (request.body as Buffer | undefined) ?? EMPTY;
      const refused = adapter.verify(request, body);
      if (refused) reject(refused.status === 503 ? 'unavailable' : 'hmac', refused);
      const delivery = adapter.parse(request, body);
      if (delivery instanceof AppError) return reject('headers', delivery);
      const contentType = request.headers['content-type'];
      if (contentType !== undefined && !contentType.includes('json')) {
        reject(
          'body',
          new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Webhook bodies must be application/json'),
        );
      }
      if (!looksLikeJsonObject(body))
        reject('body', badRequest('INVALID_WEBHOOK_BODY', 'The body must be a JSON object'));
      let tenantId: string | null;
      let outcome: Awaited<ReturnType<InboxWriter['store']>>;
      try {
        tenantId = await adapter.tenantFor(delivery);
        delivery.tenantId = tenantId;
        outcome = await inbox.store(delivery);
      } catch (error) {
        if (error instanceof InvalidPayloadError) {
          reject('body', badRequest('INVALID_WEBHOOK_BODY', 'The body is not valid UTF-8 JSON'));
        }
        // Senders retry a 5xx: nothing is lost while the database is away.
        return reject(
          'unavailable',
          unavailable('WEBHOOK_STORAGE_UNAVAILABLE', 'The delivery could not be stored; retry later', 5),
        );
      }
      metrics.intakeSeconds.observe(reply.elapsedTime / 1000);
      reply.type('application/json');
      if (!outcome.stored) {
        metrics.duplicate.inc({ topic: delivery.topic, kind: 'delivery' });
        return RESPONSES.duplicate;
      }
      if (tenantId === null) {
        metrics.orphaned.inc({ topic: delivery.topic });
        request.log.warn(
          { source: delivery.source, shop: delivery.shopDomain, topic: delivery.topic, inboxId: outcome.id },
          'webhook for unknown shop stored as orphaned',
        );
        return RESPONSES.orphaned;
      }
      countReceived(delivery.topic);
      return RESPONSES.stored;
    };

  const errors = {
    400: errorEnvelopeSchema,
    401: errorEnvelopeSchema,
    413: errorEnvelopeSchema,
    415: errorEnvelopeSchema,
    503: errorEnvelopeSchema,
  };

  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: deps.bodyLimit }, (_request, raw, done) =>
      done(null, raw),
    );
    // Rejected bodies that never reach the handler (too large) still count.
    scope.addHook('onError', async (_request, _reply, error) => {
      if ((error as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE')
        metrics.rejected.inc({ reason: 'too_large' });
    });
    const options = {
      // One line per delivery would be the loudest log in the product; the inbox is the record.
      logLevel: 'warn' as const,
      config: { rateLimit: false as const },
    };
    for (const adapter of deps.adapters) {
      const intake = intakeOf(adapter);
      for (const path of adapter.paths) {
        scope.post(
          path.url,
          {
            ...options,
            schema: {
              tags: ['webhooks'],
              summary: path.summary,
              description: adapter.description,
              response: { 200: ackSchema, ...errors },
            },
          },
          intake,
        );
      }
    }
  });
}
