import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { verifyWebhookHmac } from '../../shopify/index.ts';
import { badRequest, unauthorized, unavailable } from '../../platform/errors.ts';
import type { IntakeAdapter } from '../intake.ts';
import type { ShopResolver } from '../shop-resolver.ts';

/*
 * Shopify's intake adapter (issue 6, DESIGN.md flow 2): `POST /webhooks` (topic in the header) and
 * `POST /webhooks/:topic/:action` (seed 000's style). HMAC over the raw bytes (constant time,
 * current and previous secret) → headers → tenant. Bad or missing HMAC is always 401 and nothing is
 * stored. A verified delivery for a shop StoreOps does not hold (never installed, redacted, or a
 * domain that is not `*.myshopify.com` at all) is stored as orphaned and acknowledged: a 4xx would
 * only make Shopify retry it for four hours. Malformed headers stay 400.
 */

/** The shops StoreOps can hold; any other well-formed host is orphaned, never looked up. */
const SHOP_DOMAIN = /^[a-z0-9][a-z0-9-]{0,62}\.myshopify\.com$/;
/** A host name: what X-Shopify-Shop-Domain must at least be to be recorded. */
const HOST = /^[a-z0-9](?:[a-z0-9-]{0,62})(?:\.[a-z0-9](?:[a-z0-9-]{0,62}))*$/;
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
    .pipe(z.string().regex(HOST, 'must be a host name')),
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

const HEADER_NAMES: Record<string, string> = {
  topic: 'X-Shopify-Topic',
  shopDomain: 'X-Shopify-Shop-Domain',
  webhookId: 'X-Shopify-Webhook-Id',
  eventId: 'X-Shopify-Event-Id',
  apiVersion: 'X-Shopify-API-Version',
  triggeredAt: 'X-Shopify-Triggered-At',
};

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
  return {
    ok: false,
    issues: parsed.error.issues.map((issue) => {
      const key = String(issue.path[0]);
      const value = (input as Record<string, unknown>)[key];
      return { header: HEADER_NAMES[key] ?? key, message: value === undefined ? 'missing' : issue.message };
    }),
  };
}

/** True for a shop StoreOps can hold (`*.myshopify.com`). */
export const isShopDomain = (domain: string) => SHOP_DOMAIN.test(domain);

/** Rejections logged one by one per minute; beyond that a flood of bad signatures is only counted. */
const LOGGED_REJECTIONS_PER_MINUTE = 20;

/**
 * Logs the first few rejections of each minute and then only how many were left out, so a flood of
 * forged deliveries costs an HMAC each and not a log line each (the metric counts every one).
 */
function rejectionSampler(now = () => Date.now()) {
  let windowStart = 0;
  let logged = 0;
  let skipped = 0;
  return (log: FastifyRequest['log'], details: Record<string, unknown>) => {
    const at = now();
    if (at - windowStart >= 60_000) {
      if (skipped > 0)
        log.warn({ skipped }, 'webhook rejected: HMAC (more rejections in the last minute, not logged)');
      windowStart = at;
      logged = 0;
      skipped = 0;
    }
    if (logged < LOGGED_REJECTIONS_PER_MINUTE) {
      logged++;
      log.warn(details, 'webhook rejected: HMAC');
    } else skipped++;
  };
}

/** Shopify's adapter: `secrets` current first (rotation), `resolver` maps a shop to its tenant. */
export function shopifyIntake(deps: { secrets: readonly string[]; resolver: ShopResolver }): IntakeAdapter {
  const { secrets, resolver } = deps;
  const logRejection = rejectionSampler();
  return {
    source: 'shopify',
    paths: [
      { url: '/webhooks', summary: 'Shopify webhook intake (topic from X-Shopify-Topic)' },
      {
        // No params schema: a validation error would answer before the HMAC check, and a bad or
        // missing signature must always be a 401. The topic is validated with the headers.
        url: '/webhooks/:topic/:action',
        summary: 'Shopify webhook intake (topic from the path, e.g. /webhooks/orders/create)',
      },
    ],
    description:
      'Receives a Shopify webhook. Headers: X-Shopify-Hmac-Sha256 (base64 HMAC-SHA256 of the raw body ' +
      'with the app secret), X-Shopify-Topic, X-Shopify-Shop-Domain, X-Shopify-Webhook-Id, ' +
      'X-Shopify-API-Version, and optionally X-Shopify-Event-Id and X-Shopify-Triggered-At (the ' +
      'un-prefixed Shopify-* names work too). Answers 200 only once the delivery is stored; a ' +
      'verified delivery for a shop StoreOps does not hold is acknowledged as orphaned. Access: ' +
      'Shopify (HMAC).',

    verify(request, body) {
      if (secrets.length === 0) {
        return unavailable(
          'WEBHOOKS_NOT_CONFIGURED',
          'SHOPIFY_API_SECRET is not set; deliveries cannot be verified',
          60,
        );
      }
      const hmacHeader = header(request.headers, 'hmac-sha256');
      const hmac = verifyWebhookHmac(body, typeof hmacHeader === 'string' ? hmacHeader : undefined, secrets);
      if (hmac.ok) return null;
      logRejection(request.log, { reason: hmac.reason, path: request.url });
      return unauthorized('The X-Shopify-Hmac-Sha256 signature is missing or does not match', 'INVALID_HMAC');
    },

    parse(request, body) {
      const params = request.params as { topic?: string; action?: string };
      const pathTopic = params.topic && params.action ? `${params.topic}/${params.action}` : undefined;
      const parsed = parseDeliveryHeaders(request.headers, pathTopic);
      if (!parsed.ok) {
        return badRequest('INVALID_WEBHOOK_HEADERS', 'The delivery headers are missing or malformed', {
          issues: parsed.issues,
        });
      }
      const h = parsed.value;
      return {
        source: 'shopify',
        tenantId: null,
        // Shopify's retries repeat the webhook id; ids are per shop.
        dedupeKey: `${h.shopDomain}/${h.webhookId}`,
        shopDomain: h.shopDomain,
        topic: h.topic,
        webhookId: h.webhookId,
        eventId: h.eventId,
        triggeredAt: h.triggeredAt,
        apiVersion: h.apiVersion,
        body,
      };
    },

    // A domain that is not `*.myshopify.com` can never be held: orphaned without a lookup.
    tenantFor: (delivery) =>
      isShopDomain(delivery.shopDomain) ? resolver.tenantFor(delivery.shopDomain) : null,
  };
}
