import type { FastifyRequest } from 'fastify';
import Stripe from 'stripe';
import { z } from 'zod';
import { badRequest, unavailable } from '../../platform/errors.ts';
import type { InboxDelivery } from '../inbox.ts';
import type { IntakeAdapter } from '../intake.ts';

/*
 * Stripe's intake adapter (issue 12): `POST /webhooks/stripe`. The Stripe-Signature header
 * (`t=…,v1=…`, HMAC-SHA256 of "t.raw body", https://docs.stripe.com/webhooks#verify-events) is
 * checked on the raw bytes with stripe-node's `webhooks.constructEvent`, 300 s tolerance, with
 * the current secret and then the previous one (rotation). Anything else — no header, another
 * secret, a stale timestamp, the same JSON re-serialised — is a 400 and nothing is stored (Stripe
 * asks for a 400 on a signature failure). A verified event is stored once per `event.id`; its
 * tenant comes from `data.object.metadata.tenant_id` (commerce puts `tenant_id` and `cart_id` in
 * every PaymentIntent's metadata, and Stripe copies it onto the charge), or, for objects that do
 * not carry the metadata (disputes), from the lookup commerce registers by payment intent; an
 * event for no tenant StoreOps holds is stored as orphaned and acknowledged.
 */

/** Stripe's recommended (and stripe-node's default) tolerance for the signature timestamp. */
export const STRIPE_SIGNATURE_TOLERANCE_SECONDS = 300;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The fields of an Event (https://docs.stripe.com/api/events/object) the inbox records. */
const eventSchema = z.looseObject({
  id: z.string().regex(/^evt_[A-Za-z0-9_]{1,250}$/, 'must look like evt_…'),
  object: z.literal('event'),
  type: z
    .string()
    .max(128)
    .regex(/^[a-z0-9_]+(\.[a-z0-9_]+)+$/, 'must look like payment_intent.succeeded'),
  created: z.number().int().nonnegative(),
  api_version: z.string().max(64).nullish(),
  account: z.string().max(255).optional(),
  data: z.looseObject({ object: z.record(z.string(), z.unknown()) }),
});

type VerifiedEvent = z.infer<typeof eventSchema>;

/** Finds the tenant of a payment intent (commerce's lookup), for objects without metadata. */
export type PaymentIntentTenantLookup = (paymentIntentId: string) => Promise<string | null>;

/** The tenant id an event's object names: its metadata, else the payment intent it belongs to. */
function tenantClaim(event: VerifiedEvent): { tenantId: string | null; paymentIntent: string | null } {
  const object = event.data.object;
  const metadata = object.metadata as Record<string, unknown> | undefined;
  const claimed = typeof metadata?.tenant_id === 'string' ? metadata.tenant_id : null;
  const paymentIntent =
    object.object === 'payment_intent'
      ? (object.id as string)
      : typeof object.payment_intent === 'string'
        ? object.payment_intent
        : null;
  return { tenantId: claimed && UUID.test(claimed) ? claimed.toLowerCase() : null, paymentIntent };
}

/**
 * Stripe's adapter. `secrets`: STRIPE_WEBHOOK_SECRET then STRIPE_WEBHOOK_SECRET_PREVIOUS;
 * `tenantExists` (cached by the caller) keeps deliveries for unknown tenants orphaned;
 * `paymentIntentTenant` is read per delivery, so commerce can register it after wiring.
 */
export function stripeIntake(deps: {
  secrets: readonly string[];
  tenantExists: (tenantId: string) => Promise<boolean> | boolean;
  paymentIntentTenant: () => PaymentIntentTenantLookup | undefined;
}): IntakeAdapter {
  const { secrets } = deps;
  // The event stripe-node parsed while verifying, for `parse` (the same request, a moment later).
  const verified = new WeakMap<FastifyRequest, unknown>();
  // The payment intent a delivery's object belongs to, for `tenantFor` when it has no metadata.
  const intents = new WeakMap<InboxDelivery, string>();

  const refuse = (request: FastifyRequest, reason: string) => {
    request.log.warn({ reason, path: request.url }, 'webhook rejected: Stripe signature');
    return badRequest(
      'INVALID_STRIPE_SIGNATURE',
      'The Stripe-Signature header is missing, does not match the body, or is too old',
    );
  };

  return {
    source: 'stripe',
    paths: [
      { url: '/webhooks/stripe', summary: 'Stripe webhook intake (events signed with Stripe-Signature)' },
    ],
    description:
      'Receives a Stripe event. Header Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" ' +
      'with the endpoint signing secret> (STRIPE_WEBHOOK_SECRET, or STRIPE_WEBHOOK_SECRET_PREVIOUS during a ' +
      'rotation); the timestamp must be within 300 s. A bad or missing signature is a 400 and nothing is stored. ' +
      'Each event is stored once per event id and answered 200 once stored; an event for no tenant StoreOps ' +
      'holds is acknowledged as orphaned. Access: Stripe (signature).',

    verify(request, body) {
      if (secrets.length === 0) {
        return unavailable(
          'WEBHOOKS_NOT_CONFIGURED',
          'STRIPE_WEBHOOK_SECRET is not set; Stripe events cannot be verified',
          60,
        );
      }
      const header = request.headers['stripe-signature'];
      if (typeof header !== 'string' || header.length === 0 || header.length > 4096) {
        return refuse(request, 'missing');
      }
      let reason = 'mismatch';
      for (const secret of secrets) {
        try {
          const event = Stripe.webhooks.constructEvent(
            body,
            header,
            secret,
            STRIPE_SIGNATURE_TOLERANCE_SECONDS,
          );
          verified.set(request, event);
          return null;
        } catch (error) {
          if (!(error instanceof Stripe.errors.StripeSignatureVerificationError)) {
            // Signed with our secret, but not JSON: the body check answers it.
            verified.set(request, null);
            return null;
          }
          if (/tolerance/i.test(error.message)) reason = 'stale';
        }
      }
      return refuse(request, reason);
    },

    parse(request, body) {
      const parsed = eventSchema.safeParse(verified.get(request));
      verified.delete(request);
      if (!parsed.success) {
        return badRequest('INVALID_WEBHOOK_BODY', 'The body is not a Stripe event', {
          issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
        });
      }
      const event = parsed.data;
      const claim = tenantClaim(event);
      const delivery: InboxDelivery = {
        source: 'stripe',
        tenantId: claim.tenantId,
        // Stripe's retries (and resends) repeat the event id; ids are unique across accounts.
        dedupeKey: event.id,
        // The sender: a connected account when Connect sends it, else the platform account ('').
        shopDomain: event.account ?? '',
        topic: event.type,
        webhookId: event.id,
        eventId: event.id,
        triggeredAt: new Date(event.created * 1000).toISOString(),
        apiVersion: event.api_version ?? null,
        body,
      };
      if (claim.paymentIntent) intents.set(delivery, claim.paymentIntent);
      return delivery;
    },

    async tenantFor(delivery) {
      // parse put the claimed tenant here; it counts only if StoreOps holds that tenant.
      const claimed = delivery.tenantId;
      if (claimed) return (await deps.tenantExists(claimed)) ? claimed : null;
      const paymentIntent = intents.get(delivery);
      const lookup = deps.paymentIntentTenant();
      if (!paymentIntent || !lookup) return null;
      const found = await lookup(paymentIntent);
      return found && (await deps.tenantExists(found)) ? found : null;
    },
  };
}
