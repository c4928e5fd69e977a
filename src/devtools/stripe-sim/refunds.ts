/**
 * Refunds (https://docs.stripe.com/api/refunds/create, /retrieve) of a captured PaymentIntent,
 * partial or full, never more than was captured; disputes raised through the control API
 * (https://docs.stripe.com/api/disputes/object). Events: `refund.created`, `charge.refunded`
 * (with `previous_attributes`), `charge.dispute.created`.
 */
import { z } from 'zod';
import { invalidParam, invalidRequest, noSuch } from './errors.ts';
import { amount, expand, metadata, validate } from './form.ts';
import { findIntent } from './intents.ts';
import { chargeJson, disputeJson, refundJson } from './objects.ts';
import { type Charge, type Ctx, type Dispute, nextId, nowSeconds, type Refund } from './state.ts';

const createSchema = z
  .object({
    payment_intent: z.string().min(1).optional(),
    charge: z.string().min(1).optional(),
    amount: amount.optional(),
    reason: z.enum(['duplicate', 'fraudulent', 'requested_by_customer']).optional(),
    metadata: metadata.optional(),
    expand,
  })
  .strict();

/** "$12.34 usd"-style amounts in Stripe's refund messages. */
const money = (minor: number, currency: string) => `${(minor / 100).toFixed(2)} ${currency}`;

/** The captured charge of an intent, or Stripe's refusal. */
function capturedCharge(ctx: Ctx, intentId: string): Charge {
  const pi = findIntent(ctx, intentId);
  const charge = pi.latestCharge ? ctx.state.charges.get(pi.latestCharge) : undefined;
  if (pi.status !== 'succeeded' || !charge?.captured) {
    throw invalidRequest(
      `This PaymentIntent (${pi.id}) does not have a successful charge to refund. Cancel an uncaptured ` +
        'PaymentIntent instead.',
      { code: 'charge_not_refundable' },
    );
  }
  return charge;
}

/** POST /v1/refunds */
export function createRefund(ctx: Ctx, params: unknown): Record<string, unknown> {
  const p = validate(createSchema, params);
  let intentId = p.payment_intent;
  if (!intentId && p.charge) {
    const byCharge = ctx.state.charges.get(p.charge);
    if (!byCharge) throw noSuch('charge', p.charge, 'charge');
    intentId = byCharge.intent;
  }
  if (!intentId) {
    throw invalidParam(
      'payment_intent',
      'One of the following params should be provided for this request: payment_intent or charge.',
      'parameter_missing',
    );
  }
  const charge = capturedCharge(ctx, intentId);
  const remaining = charge.amountCaptured - charge.amountRefunded;
  if (remaining <= 0) {
    throw invalidRequest(`Charge ${charge.id} has already been refunded.`, {
      code: 'charge_already_refunded',
    });
  }
  const refunded = p.amount ?? remaining;
  if (refunded > remaining) {
    throw invalidRequest(
      `Refund amount (${money(refunded, charge.currency)}) is greater than unrefunded amount on charge ` +
        `(${money(remaining, charge.currency)})`,
      { param: 'amount' },
    );
  }
  const previous = { amount_refunded: charge.amountRefunded, refunded: false };
  const refund: Refund = {
    id: nextId(ctx.state, 're'),
    intent: intentId,
    charge: charge.id,
    amount: refunded,
    currency: charge.currency,
    status: 'succeeded',
    reason: p.reason ?? null,
    metadata: p.metadata ? { ...p.metadata } : {},
    created: nowSeconds(ctx.state),
  };
  ctx.state.refunds.set(refund.id, refund);
  charge.amountRefunded += refunded;
  ctx.emit('refund.created', refundJson(refund));
  ctx.emit('charge.refunded', chargeJson(ctx.state, charge), previous);
  return refundJson(refund);
}

/** GET /v1/refunds/:id */
export function retrieveRefund(ctx: Ctx, id: string): Record<string, unknown> {
  const refund = ctx.state.refunds.get(id);
  if (!refund) throw noSuch('refund', id, 'refund');
  return refundJson(refund);
}

/** GET /v1/charges/:id */
export function retrieveCharge(ctx: Ctx, id: string): Record<string, unknown> {
  const charge = ctx.state.charges.get(id);
  if (!charge) throw noSuch('charge', id, 'charge');
  return chargeJson(ctx.state, charge);
}

/** Control API: the cardholder disputes a captured payment (`charge.dispute.created`). */
export function disputeIntent(ctx: Ctx, intentId: string, reason = 'fraudulent'): Record<string, unknown> {
  const charge = capturedCharge(ctx, intentId);
  const dispute: Dispute = {
    id: nextId(ctx.state, 'dp'),
    intent: intentId,
    charge: charge.id,
    amount: charge.amountCaptured - charge.amountRefunded,
    currency: charge.currency,
    reason,
    status: 'needs_response',
    created: nowSeconds(ctx.state),
  };
  ctx.state.disputes.set(dispute.id, dispute);
  charge.disputed = true;
  const body = disputeJson(dispute);
  ctx.emit('charge.dispute.created', body);
  return body;
}
