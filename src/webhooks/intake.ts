import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { verifyWebhookHmac } from '../shopify/signing.ts';
import { AppError, badRequest, unauthorized, unavailable } from '../platform/errors.ts';
import { errorEnvelopeSchema } from '../platform/http/schemas.ts';
import type { App } from '../platform/http/server.ts';
import { type InboxWriter, InvalidPayloadError } from './inbox.ts';
import type { WebhookMetrics } from './metrics.ts';

/*
 * The intake (issue 6, DESIGN.md flow 2): `POST /webhooks` (topic in the header) and
 * `POST /webhooks/:topic/:action` (seed 000's style) run one handler:
 *   raw bytes → HMAC (constant time, current and previous secret) → headers → tenant → inbox
 *   (committed) → 200.
 * Bad or missing HMAC is always 401 and nothing is stored. A verified delivery for a shop StoreOps
 * does not hold (never installed, or redacted) is stored as orphaned and acknowledged: a 4xx would
 * only make Shopify retry it for four hours. The body is not parsed here: the database validates the
 * JSON as it stores it, and the processor parses it later, off the request path.
 */

const SHOP_DOMAIN = /^[a-z0-9][a-z0-9-]{0,62}\.myshopify\.com$/;
const TOKEN = /^[A-Za-z0-9._:-]{1,255}$/;
// Shopify's X-Shopify-Triggered-At, e.g. 2023-03-29T18:00:27.877041743Z (nanoseconds allowed).
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$/;

/** The delivery headers, validated (both `X-Shopify-*` and the un-prefixed `Shopify-*` names). */
export const deliveryHeadersSchema = z.object({
  topic: z
    .string()
    .max(128)
    .regex(/^[a-z0-9_]+(\/[a-z0-9_]+)+$/, 'must look like orders/create'),
  shopDomain: z
    .string()
    .max(255)
    .transform((v) => v.trim().toLowerCase())
    .pipe(z.string().regex(SHOP_DOMAIN, 'must be a *.myshopify.com domain')),
  webhookId: z.string().regex(TOKEN, 'must be 1-255 letters, digits or ._:-'),
  eventId: z.string().regex(TOKEN, 'must be 1-255 letters, digits or ._:-').nullable(),
  apiVersion: z.string().regex(/^(\d{4}-\d{2}|unstable)$/, 'must look like 2025-10'),
  triggeredAt: z.string().regex(ISO_TIME, 'must be an ISO-8601 time').nullable(),
});

/** Validated delivery headers. */
export type DeliveryHeaders = z.infer<typeof deliveryHeadersSchema>;

type RawHeaders = FastifyRequest['headers'];

/** A header by its Shopify name (`hmac-sha256`, `topic`…), prefixed or not; arrays mean a repeated header. */
function header(headers: RawHeaders, name: string): string | string[] | undefined {
  return headers[`x-shopify-${name}`] ?? headers[`shopify-${name}`];
}

/** Reads and validates the delivery headers; `pathTopic` comes from `/webhooks/:topic/:action`. */
export function parseDeliveryHeaders(
  headers: RawHeaders,
  pathTopic?: string,
): { ok: true; value: DeliveryHeaders } | { ok: false; issues: { header: string; message: string }[] } {
  const topicHeader = header(headers, 'topic');
  if (pathTopic !== undefined && topicHeader !== undefined && topicHeader !== pathTopic) {
    return {
      ok: false,
      issues: [{ header: 'X-Shopify-Topic', message: `does not match the URL's topic ${pathTopic}` }],
    };
  }
  const input = {
    topic: topicHeader ?? pathTopic,
    shopDomain: header(headers, 'shop-domain'),
    webhookId: header(headers, 'webhook-id'),
    eventId: header(headers, 'event-id') ?? null,
    apiVersion: header(headers, 'api-version'),
    triggeredAt: header(headers, 'triggered-at') ?? null,
  };
  const parsed = deliveryHeadersSchema.safeParse(input);
  if (parsed.success) return { ok: true, value: parsed.data };
  const names: Record<string, string> = {
    topic: 'X-Shopify-Topic',
    shopDomain: 'X-Shopify-Shop-Domain',
    webhookId: 'X-Shopify-Webhook-Id',
    eventId: 'X-Shopify-Event-Id',
    apiVersion: 'X-Shopify-API-Version',
    triggeredAt: 'X-Shopify-Triggered-At',
  };
  return {
    ok: false,
    issues: parsed.error.issues.map((issue) => {
      const key = String(issue.path[0]);
      const value = (input as Record<string, unknown>)[key];
      return { header: names[key] ?? key, message: value === undefined ? 'missing' : issue.message };
    }),
  };
}

/**
 * Which tenant holds a shop, cached in memory: the intake asks for every delivery, the answer
 * rarely changes, and a database round trip per request would halve throughput. Known shops are
 * cached for a minute, unknown ones for a few seconds (an install invalidates its shop at once in
 * this process; orphans stored meanwhile by other processes are adopted on install).
 */
export function createShopResolver(
  lookup: (shopDomain: string) => Promise<string | null>,
  options: { knownTtlMs?: number; unknownTtlMs?: number; maxEntries?: number } = {},
) {
  const knownTtl = options.knownTtlMs ?? 60_000;
  const unknownTtl = options.unknownTtlMs ?? 5_000;
  const maxEntries = options.maxEntries ?? 100_000;
  const cache = new Map<string, { tenantId: string | null; expires: number }>();
  const loading = new Map<string, Promise<string | null>>();

  async function load(shopDomain: string): Promise<string | null> {
    try {
      const tenantId = await lookup(shopDomain);
      if (cache.size >= maxEntries) cache.clear();
      cache.set(shopDomain, { tenantId, expires: Date.now() + (tenantId ? knownTtl : unknownTtl) });
      return tenantId;
    } finally {
      loading.delete(shopDomain);
    }
  }

  return {
    /** The tenant holding `shopDomain`, or null. */
    tenantFor(shopDomain: string): Promise<string | null> | string | null {
      const hit = cache.get(shopDomain);
      if (hit && hit.expires > Date.now()) return hit.tenantId;
      let pending = loading.get(shopDomain);
      if (!pending) {
        pending = load(shopDomain);
        loading.set(shopDomain, pending);
      }
      return pending;
    },
    /** Drops a cached answer (install, redact). */
    forget(shopDomain: string): void {
      cache.delete(shopDomain);
    },
  };
}

/** The shop resolver of one process. */
export type ShopResolver = ReturnType<typeof createShopResolver>;

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
    .describe('stored: new; duplicate: this webhook id was stored before; orphaned: shop not held'),
});

/**
 * Registers the intake routes inside their own Fastify scope, whose only body parser keeps the raw
 * bytes (the HMAC is over exactly those): no other route ever sees a raw body, and this one never
 * pays for a JSON parse.
 */
export function registerWebhookIntake(
  app: App,
  deps: {
    secrets: readonly string[];
    bodyLimit: number;
    resolver: ShopResolver;
    inbox: InboxWriter;
    metrics: WebhookMetrics;
  },
): void {
  const { secrets, resolver, inbox, metrics } = deps;
  const received = new Map<string, ReturnType<typeof metrics.received.labels>>();
  const countReceived = (topic: string) => {
    let child = received.get(topic);
    if (!child) {
      child = metrics.received.labels(topic);
      received.set(topic, child);
    }
    child.inc();
  };
  const reject = (reason: string) => metrics.rejected.inc({ reason });

  async function intake(request: FastifyRequest, reply: FastifyReply): Promise<string> {
    if (secrets.length === 0) {
      reject('unavailable');
      throw unavailable(
        'WEBHOOKS_NOT_CONFIGURED',
        'SHOPIFY_API_SECRET is not set; deliveries cannot be verified',
        60,
      );
    }
    const body = (request.body as Buffer | undefined) ?? EMPTY;
    const hmacHeader = header(request.headers, 'hmac-sha256');
    const hmac = verifyWebhookHmac(body, typeof hmacHeader === 'string' ? hmacHeader : undefined, secrets);
    if (!hmac.ok) {
      reject('hmac');
      request.log.warn({ reason: hmac.reason, path: request.url }, 'webhook rejected: HMAC');
      throw unauthorized('The X-Shopify-Hmac-Sha256 signature is missing or does not match', 'INVALID_HMAC');
    }
    const params = request.params as { topic?: string; action?: string };
    const pathTopic = params.topic && params.action ? `${params.topic}/${params.action}` : undefined;
    const parsed = parseDeliveryHeaders(request.headers, pathTopic);
    if (!parsed.ok) {
      reject('headers');
      throw badRequest('INVALID_WEBHOOK_HEADERS', 'The delivery headers are missing or malformed', {
        issues: parsed.issues,
      });
    }
    const contentType = request.headers['content-type'];
    if (contentType !== undefined && !contentType.includes('json')) {
      reject('body');
      throw new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Webhook bodies must be application/json');
    }
    if (!looksLikeJsonObject(body)) {
      reject('body');
      throw badRequest('INVALID_WEBHOOK_BODY', 'The body must be a JSON object');
    }
    const h = parsed.value;
    let tenantId: string | null;
    let outcome: Awaited<ReturnType<InboxWriter['store']>>;
    try {
      tenantId = await resolver.tenantFor(h.shopDomain);
      outcome = await inbox.store({
        tenantId,
        shopDomain: h.shopDomain,
        topic: h.topic,
        webhookId: h.webhookId,
        eventId: h.eventId,
        triggeredAt: h.triggeredAt,
        apiVersion: h.apiVersion,
        body,
      });
    } catch (error) {
      if (error instanceof InvalidPayloadError) {
        reject('body');
        throw badRequest('INVALID_WEBHOOK_BODY', 'The body is not valid UTF-8 JSON');
      }
      reject('unavailable');
      // Shopify retries a 5xx: nothing is lost while the database is away.
      throw unavailable('WEBHOOK_STORAGE_UNAVAILABLE', 'The delivery could not be stored; retry later', 5);
    }
    metrics.intakeSeconds.observe(reply.elapsedTime / 1000);
    reply.type('application/json');
    if (!outcome.stored) {
      metrics.duplicate.inc({ topic: h.topic, kind: 'delivery' });
      return RESPONSES.duplicate;
    }
    if (tenantId === null) {
      metrics.orphaned.inc({ topic: h.topic });
      request.log.warn(
        { shop: h.shopDomain, topic: h.topic, inboxId: outcome.id },
        'webhook for unknown shop stored as orphaned',
      );
      return RESPONSES.orphaned;
    }
    countReceived(h.topic);
    return RESPONSES.stored;
  }

  const description =
    'Receives a Shopify webhook. Headers: X-Shopify-Hmac-Sha256 (base64 HMAC-SHA256 of the raw body ' +
    'with the app secret), X-Shopify-Topic, X-Shopify-Shop-Domain, X-Shopify-Webhook-Id, ' +
    'X-Shopify-API-Version, and optionally X-Shopify-Event-Id and X-Shopify-Triggered-At (the ' +
    'un-prefixed Shopify-* names work too). Answers 200 only once the delivery is stored. Access: ' +
    'Shopify (HMAC).';
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
      if ((error as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE') reject('too_large');
    });
    const options = {
      // One line per delivery would be the loudest log in the product; the inbox is the record.
      logLevel: 'warn' as const,
      // Security headers are for browsers; Shopify reads only the status.
      helmet: false as const,
      config: { rateLimit: false as const },
    };
    scope.post(
      '/webhooks',
      {
        ...options,
        schema: {
          tags: ['webhooks'],
          summary: 'Shopify webhook intake (topic from X-Shopify-Topic)',
          description,
          response: { 200: ackSchema, ...errors },
        },
      },
      intake,
    );
    scope.post(
      '/webhooks/:topic/:action',
      {
        ...options,
        schema: {
          tags: ['webhooks'],
          summary: 'Shopify webhook intake (topic from the path, e.g. /webhooks/orders/create)',
          // No params schema: a validation error would answer before the HMAC check, and a bad or
          // missing signature must always be a 401. The topic is validated with the headers.
          description,
          response: { 200: ackSchema, ...errors },
        },
      },
      intake,
    );
  });
}
