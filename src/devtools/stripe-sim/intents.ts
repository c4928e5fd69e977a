/**
 * PaymentIntents (https://docs.stripe.com/api/payment_intents) and their lifecycle
 * (https://docs.stripe.com/payments/paymentintents/lifecycle):
 *   requires_payment_method → requires_confirmation → (requires_action) → requires_capture | succeeded
 * with `canceled` from any state before success. A test payment method decides the outcome of a
 * confirmation (payment-methods.ts). Each function is synchronous: one call is one atomic step.
 * Events (https://docs.stripe.com/api/events/types) are emitted as Stripe emits them.
 */
import { z } from 'zod';
import { cardDeclined, invalidParam, invalidRequest, noSuch, unexpectedState } from './errors.ts';
import { amount, bool, currency, expand, metadata, text, validate } from './form.ts';
import { chargeJson, intentJson } from './objects.ts';
import { isKnownPaymentMethod, outcomeOf, paymentMethodJson } from './payment-methods.ts';
import { type Charge, type Ctx, type Intent, type IntentStatus, nextId, nowSeconds, token } from './state.ts';

const captureMethod = z.enum(['automatic', 'automatic_async', 'manual']);
const paymentMethod = z.string().min(1).max(255);

const createSchema = z
  .object({
    amount,
    currency,
    capture_method: captureMethod.optional(),
    confirm: bool.optional(),
    payment_method: paymentMethod.optional(),
    // API 2026-09-30.endive replaced the writable payment_method_types with allowed_payment_method_types
    // (https://docs.stripe.com/changelog/endive/2026-09-30/removes-the-payment-method-types-parameter-from-payment-intents-and-setup-intents);
    // both are accepted here, and only cards are simulated.
    allowed_payment_method_types: z.array(z.literal('card', { error: 'only card is simulated' })).optional(),
    payment_method_types: z.array(z.literal('card', { error: 'only card is simulated' })).optional(),
    automatic_payment_methods: z
      .object({ enabled: bool, allow_redirects: z.enum(['always', 'never']).optional() })
      .strict()
      .optional(),
    metadata: metadata.optional(),
    description: text().optional(),
    receipt_email: text(800).optional(),
    return_url: text(2048).optional(),
    expand,
  })
  .strict();

const updateSchema = z
  .object({
    amount: amount.optional(),
    currency: currency.optional(),
    capture_method: captureMethod.optional(),
    payment_method: paymentMethod.optional(),
    metadata: metadata.optional(),
    description: text().optional(),
    receipt_email: text(800).optional(),
    expand,
  })
  .strict();

const confirmSchema = z
  .object({ payment_method: paymentMethod.optional(), return_url: text(2048).optional(), expand })
  .strict();

const captureSchema = z
  .object({ amount_to_capture: amount.optional(), metadata: metadata.optional(), expand })
  .strict();

const cancelSchema = z
  .object({
    cancellation_reason: z.enum(['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned']).optional(),
    expand,
  })
  .strict();

/** The statuses before confirmation succeeded, where amount and payment method may change. */
const EDITABLE: readonly IntentStatus[] = [
  'requires_payment_method',
  'requires_confirmation',
  'requires_action',
];
const CANCELABLE: readonly IntentStatus[] = [
  'requires_payment_method',
  'requires_capture',
  'requires_confirmation',
  'requires_action',
  'processing',
];

export function findIntent(ctx: Ctx, id: string): Intent {
  const pi = ctx.state.intents.get(id);
  if (!pi) throw noSuch('payment_intent', id, 'intent');
  return pi;
}

function checkPaymentMethod(id: string): void {
  if (!isKnownPaymentMethod(id)) {
    const e = noSuch('PaymentMethod', id, 'payment_method');
    e.body.message = `No such PaymentMethod: '${id}'`;
    throw e;
  }
}

/** Applies Stripe's metadata update rules: merge, '' unsets a key, `metadata=` clears all. */
function mergeMetadata(current: Record<string, string>, change: '' | Record<string, string>) {
  if (change === '') return {};
  const next = { ...current };
  for (const [k, v] of Object.entries(change)) {
    if (v === '') delete next[k];
    else next[k] = v;
  }
  return next;
}

const json = (ctx: Ctx, pi: Intent) => intentJson(ctx.state, pi);

/** POST /v1/payment_intents */
export function createIntent(ctx: Ctx, params: unknown): Record<string, unknown> {
  const p = validate(createSchema, params);
  if (p.payment_method) checkPaymentMethod(p.payment_method);
  if (p.confirm && !p.payment_method) {
    throw invalidParam(
      'payment_method',
      'You cannot confirm this PaymentIntent because it’s missing a payment method. To confirm the ' +
        'PaymentIntent with pm_card_visa, specify payment_method.',
      'parameter_missing',
    );
  }
  const { state } = ctx;
  const id = nextId(state, 'pi');
  const pi: Intent = {
    id,
    amount: p.amount,
    currency: p.currency,
    captureMethod: p.capture_method ?? 'automatic_async',
    status: p.payment_method ? 'requires_confirmation' : 'requires_payment_method',
    amountCapturable: 0,
    amountReceived: 0,
    clientSecret: `${id}_secret_${token(`${state.seed}:secret:${id}`, 25)}`,
    metadata: p.metadata ? mergeMetadata({}, p.metadata) : {},
    description: p.description ?? null,
    receiptEmail: p.receipt_email ?? null,
    paymentMethod: p.payment_method ?? null,
    lastPaymentError: null,
    latestCharge: null,
    canceledAt: null,
    cancellationReason: null,
    created: nowSeconds(state),
    captures: 0,
    pendingAction: false,
  };
  state.intents.set(id, pi);
  ctx.emit('payment_intent.created', json(ctx, pi));
  if (p.confirm && p.payment_method) attempt(ctx, pi, p.payment_method);
  return json(ctx, pi);
}

/** GET /v1/payment_intents/:id */
export function retrieveIntent(ctx: Ctx, id: string): Record<string, unknown> {
  return json(ctx, findIntent(ctx, id));
}

/** POST /v1/payment_intents/:id */
export function updateIntent(ctx: Ctx, id: string, params: unknown): Record<string, unknown> {
  const p = validate(updateSchema, params);
  const pi = findIntent(ctx, id);
  for (const field of ['amount', 'currency', 'capture_method', 'payment_method'] as const) {
    if (p[field] !== undefined && !EDITABLE.includes(pi.status)) {
      throw unexpectedState(
        json(ctx, pi),
        `This PaymentIntent's ${field} could not be updated because it has a status of ${pi.status}. ` +
          `You may only update the ${field} of a PaymentIntent with one of the following statuses: ${EDITABLE.join(', ')}.`,
      );
    }
  }
  if (p.payment_method) checkPaymentMethod(p.payment_method);
  if (p.amount !== undefined) pi.amount = p.amount;
  if (p.currency !== undefined) pi.currency = p.currency;
  if (p.capture_method !== undefined) pi.captureMethod = p.capture_method;
  if (p.payment_method !== undefined) pi.paymentMethod = p.payment_method;
  if (p.metadata !== undefined) pi.metadata = mergeMetadata(pi.metadata, p.metadata);
  if (p.description !== undefined) pi.description = p.description;
  if (p.receipt_email !== undefined) pi.receiptEmail = p.receipt_email;
  // A new amount or payment method needs a new confirmation.
  const needsConfirmation =
    (p.payment_method !== undefined && pi.status === 'requires_payment_method') ||
    ((p.payment_method !== undefined || p.amount !== undefined) && pi.status === 'requires_action');
  if (needsConfirmation) {
    pi.status = 'requires_confirmation';
    pi.pendingAction = false;
  }
  return json(ctx, pi);
}

/** POST /v1/payment_intents/:id/confirm */
export function confirmIntent(ctx: Ctx, id: string, params: unknown): Record<string, unknown> {
  const p = validate(confirmSchema, params);
  const pi = findIntent(ctx, id);
  if (!EDITABLE.includes(pi.status)) {
    throw unexpectedState(
      json(ctx, pi),
      `You cannot confirm this PaymentIntent because it has a status of ${pi.status}. Only a PaymentIntent ` +
        `with one of the following statuses may be confirmed: ${EDITABLE.join(', ')}.`,
    );
  }
  const method = p.payment_method ?? pi.paymentMethod;
  if (!method) {
    throw invalidParam(
      'payment_method',
      'You cannot confirm this PaymentIntent because it’s missing a payment method.',
      'parameter_missing',
    );
  }
  checkPaymentMethod(method);
  attempt(ctx, pi, method);
  return json(ctx, pi);
}

/** One confirmation attempt with a test payment method; a decline throws Stripe's 402. */
function attempt(ctx: Ctx, pi: Intent, method: string): void {
  const outcome = outcomeOf(method);
  pi.paymentMethod = method;
  pi.lastPaymentError = null;
  if (outcome.kind === 'authenticate') {
    pi.status = 'requires_action';
    pi.pendingAction = true;
    ctx.emit('payment_intent.requires_action', json(ctx, pi));
    return;
  }
  if (outcome.kind === 'succeed') {
    authorise(ctx, pi);
    return;
  }
  const charge = newCharge(ctx, pi, 'failed');
  charge.failureCode = outcome.code;
  charge.failureMessage = outcome.message;
  const pm = paymentMethodJson(method, pi.created);
  pi.status = 'requires_payment_method';
  pi.paymentMethod = null;
  pi.lastPaymentError = {
    type: 'card_error',
    code: outcome.code,
    decline_code: outcome.declineCode,
    message: outcome.message,
    doc_url: `https://docs.stripe.com/error-codes/${outcome.code.replace(/_/g, '-')}`,
    charge: charge.id,
    payment_method: pm,
  };
  ctx.emit('charge.failed', chargeJson(ctx.state, charge));
  ctx.emit('payment_intent.payment_failed', json(ctx, pi));
  throw cardDeclined(
    { code: outcome.code, decline_code: outcome.declineCode, message: outcome.message, charge: charge.id },
    json(ctx, pi),
    pm,
  );
}

function newCharge(ctx: Ctx, pi: Intent, status: Charge['status']): Charge {
  const charge: Charge = {
    id: nextId(ctx.state, 'ch'),
    intent: pi.id,
    amount: pi.amount,
    amountCaptured: 0,
    amountRefunded: 0,
    currency: pi.currency,
    captured: false,
    status,
    paymentMethod: pi.paymentMethod as string,
    // Stripe copies the intent's metadata onto the charge at confirmation (once).
    metadata: { ...pi.metadata },
    failureCode: null,
    failureMessage: null,
    disputed: false,
    created: nowSeconds(ctx.state),
  };
  ctx.state.charges.set(charge.id, charge);
  pi.latestCharge = charge.id;
  return charge;
}

/** The card was authorised: captured at once (automatic) or held (manual). */
function authorise(ctx: Ctx, pi: Intent): void {
  const charge = newCharge(ctx, pi, 'succeeded');
  pi.pendingAction = false;
  if (pi.captureMethod === 'manual') {
    pi.status = 'requires_capture';
    pi.amountCapturable = pi.amount;
    ctx.emit('charge.succeeded', chargeJson(ctx.state, charge));
    ctx.emit('payment_intent.amount_capturable_updated', json(ctx, pi));
    return;
  }
  charge.captured = true;
  charge.amountCaptured = pi.amount;
  pi.status = 'succeeded';
  pi.amountReceived = pi.amount;
  pi.captures = 1;
  ctx.emit('charge.succeeded', chargeJson(ctx.state, charge));
  ctx.emit('payment_intent.succeeded', json(ctx, pi));
}

/** The control API's cardholder: completes (or fails) 3-D Secure of a requires_action intent. */
export function authenticateIntent(
  ctx: Ctx,
  id: string,
  outcome: 'succeed' | 'fail',
): Record<string, unknown> {
  const pi = findIntent(ctx, id);
  if (pi.status !== 'requires_action') {
    throw unexpectedState(
      json(ctx, pi),
      `The PaymentIntent has a status of ${pi.status}, not requires_action.`,
    );
  }
  if (outcome === 'succeed') {
    authorise(ctx, pi);
    return json(ctx, pi);
  }
  const pm = paymentMethodJson(pi.paymentMethod as string, pi.created);
  pi.status = 'requires_payment_method';
  pi.pendingAction = false;
  pi.paymentMethod = null;
  pi.lastPaymentError = {
    type: 'invalid_request_error',
    code: 'payment_intent_authentication_failure',
    message:
      'The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new ' +
      'PaymentMethod to attempt to fulfill this PaymentIntent again.',
    doc_url: 'https://docs.stripe.com/error-codes/payment-intent-authentication-failure',
    payment_method: pm,
  };
  ctx.emit('payment_intent.payment_failed', json(ctx, pi));
  return json(ctx, pi);
}

/** POST /v1/payment_intents/:id/capture: only from requires_capture, so at most once. */
export function captureIntent(ctx: Ctx, id: string, params: unknown): Record<string, unknown> {
  const p = validate(captureSchema, params);
  const pi = findIntent(ctx, id);
  if (pi.status !== 'requires_capture') {
    throw unexpectedState(
      json(ctx, pi),
      `This PaymentIntent could not be captured because it has a status of ${pi.status}. Only a ` +
        'PaymentIntent with one of the following statuses may be captured: requires_capture.',
    );
  }
  const captured = p.amount_to_capture ?? pi.amountCapturable;
  if (captured > pi.amountCapturable) {
    throw invalidRequest(
      `The amount to capture (${captured}) must be less than or equal to the amount capturable ` +
        `(${pi.amountCapturable}).`,
      { code: 'amount_too_large', param: 'amount_to_capture' },
    );
  }
  const charge = ctx.state.charges.get(pi.latestCharge as string) as Charge;
  charge.captured = true;
  charge.amountCaptured = captured;
  pi.status = 'succeeded';
  pi.amountReceived = captured;
  pi.amountCapturable = 0;
  pi.captures += 1;
  if (p.metadata !== undefined) pi.metadata = mergeMetadata(pi.metadata, p.metadata);
  ctx.emit('charge.captured', chargeJson(ctx.state, charge));
  ctx.emit('payment_intent.succeeded', json(ctx, pi));
  return json(ctx, pi);
}

/** POST /v1/payment_intents/:id/cancel: releases an authorisation; never after success. */
export function cancelIntent(ctx: Ctx, id: string, params: unknown): Record<string, unknown> {
  const p = validate(cancelSchema, params);
  const pi = findIntent(ctx, id);
  if (!CANCELABLE.includes(pi.status)) {
    throw unexpectedState(
      json(ctx, pi),
      `You cannot cancel this PaymentIntent because it has a status of ${pi.status}. Only a PaymentIntent ` +
        `with one of the following statuses may be canceled: ${CANCELABLE.join(', ')}.`,
    );
  }
  pi.status = 'canceled';
  pi.canceledAt = nowSeconds(ctx.state);
  pi.cancellationReason = p.cancellation_reason ?? null;
  pi.amountCapturable = 0;
  pi.pendingAction = false;
  ctx.emit('payment_intent.canceled', json(ctx, pi));
  return json(ctx, pi);
}
