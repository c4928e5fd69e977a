import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StripeSim, startStripeSim } from '../../../src/devtools/stripe-sim/index.ts';

// The simulator's PaymentIntents and refunds, driven through the official SDK. Shapes and rules
// follow Stripe's API reference:
//  - PaymentIntent object and lifecycle: https://docs.stripe.com/api/payment_intents/object,
//    https://docs.stripe.com/payments/paymentintents/lifecycle
//  - capture (only from requires_capture): https://docs.stripe.com/api/payment_intents/capture
//  - cancel: https://docs.stripe.com/api/payment_intents/cancel
//  - errors (types, codes, 401/402/404): https://docs.stripe.com/api/errors
//  - test payment methods and decline codes: https://docs.stripe.com/testing,
//    https://docs.stripe.com/declines/codes
//  - refunds: https://docs.stripe.com/api/refunds/create
//  - metadata copied from the intent to its charge: https://support.stripe.com/questions/how-metadata-works-with-related-objects

const json = async (r: Response | Promise<Response>): Promise<any> => (await r).json();

let sim: StripeSim;
let stripe: Stripe;

beforeAll(async () => {
  sim = await startStripeSim({ seed: 7 });
  stripe = new Stripe(sim.secretKey, { ...sim.stripeOptions, maxNetworkRetries: 0 });
});
afterAll(async () => {
  await sim?.close();
});

const metadata = { tenant_id: '6f1c1d2e-0000-4000-8000-000000000001', cart_id: 'cart-1' };

describe('PaymentIntent lifecycle', () => {
  it('creates an intent awaiting a payment method, with Stripe’s object shape', async () => {
    const pi = await stripe.paymentIntents.create({ amount: 2599, currency: 'EUR', metadata });
    expect(pi).toMatchObject({
      object: 'payment_intent',
      amount: 2599,
      currency: 'eur',
      status: 'requires_payment_method',
      amount_capturable: 0,
      amount_received: 0,
      capture_method: 'automatic_async',
      livemode: false,
      metadata,
      latest_charge: null,
      last_payment_error: null,
    });
    expect(pi.id).toMatch(/^pi_[A-Za-z0-9]{24}$/);
    expect(pi.client_secret).toMatch(new RegExp(`^${pi.id}_secret_[A-Za-z0-9]+$`));
    expect(pi.lastResponse.requestId).toMatch(/^req_/);
    const again = await stripe.paymentIntents.retrieve(pi.id);
    expect(again.id).toBe(pi.id);
  });

  it('automatic capture: pm_card_visa confirms straight to succeeded with a captured charge', async () => {
    const created = await stripe.paymentIntents.create({ amount: 1500, currency: 'usd', metadata });
    const pi = await stripe.paymentIntents.confirm(created.id, { payment_method: 'pm_card_visa' });
    expect(pi).toMatchObject({ status: 'succeeded', amount_received: 1500, amount_capturable: 0 });
    const charge = await stripe.charges.retrieve(pi.latest_charge as string);
    expect(charge).toMatchObject({
      object: 'charge',
      captured: true,
      amount_captured: 1500,
      paid: true,
      status: 'succeeded',
      payment_intent: pi.id,
      metadata,
    });
  });

  it('manual capture: requires_capture, then one capture (of part of the amount) succeeds', async () => {
    const pi = await stripe.paymentIntents.create({
      amount: 5000,
      currency: 'usd',
      capture_method: 'manual',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    expect(pi).toMatchObject({ status: 'requires_capture', amount_capturable: 5000, amount_received: 0 });
    const captured = await stripe.paymentIntents.capture(pi.id, { amount_to_capture: 4000 });
    expect(captured).toMatchObject({ status: 'succeeded', amount_received: 4000, amount_capturable: 0 });
    const second = await stripe.paymentIntents.capture(pi.id).catch((e) => e);
    expect(second).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(second).toMatchObject({ statusCode: 400, code: 'payment_intent_unexpected_state' });
    expect(second.message).toContain('status of succeeded');
    expect(sim.intent(pi.id).captures).toBe(1);
  });

  it('refuses to capture more than was authorised', async () => {
    const pi = await stripe.paymentIntents.create({
      amount: 1000,
      currency: 'usd',
      capture_method: 'manual',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const error = await stripe.paymentIntents.capture(pi.id, { amount_to_capture: 1001 }).catch((e) => e);
    expect(error).toMatchObject({ statusCode: 400, param: 'amount_to_capture' });
    expect((await stripe.paymentIntents.retrieve(pi.id)).status).toBe('requires_capture');
  });

  it('updates amount and metadata before confirmation, but not the amount after it', async () => {
    const pi = await stripe.paymentIntents.create({
      amount: 1000,
      currency: 'usd',
      metadata: { a: '1', b: '2' },
    });
    const updated = await stripe.paymentIntents.update(pi.id, { amount: 1200, metadata: { b: '', c: '3' } });
    expect(updated).toMatchObject({ amount: 1200, metadata: { a: '1', c: '3' } });
    await stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_visa' });
    const late = await stripe.paymentIntents.update(pi.id, { amount: 1 }).catch((e) => e);
    expect(late).toMatchObject({ statusCode: 400, code: 'payment_intent_unexpected_state' });
    const note = await stripe.paymentIntents.update(pi.id, { metadata: { order: '1001' } });
    expect(note.metadata).toEqual({ a: '1', c: '3', order: '1001' });
  });

  it('cancels an authorisation, and refuses to cancel a succeeded intent', async () => {
    const held = await stripe.paymentIntents.create({
      amount: 800,
      currency: 'usd',
      capture_method: 'manual',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const canceled = await stripe.paymentIntents.cancel(held.id, { cancellation_reason: 'abandoned' });
    expect(canceled).toMatchObject({
      status: 'canceled',
      amount_capturable: 0,
      cancellation_reason: 'abandoned',
    });
    expect(canceled.canceled_at).toEqual(expect.any(Number));
    const paid = await stripe.paymentIntents.create({
      amount: 800,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const error = await stripe.paymentIntents.cancel(paid.id).catch((e) => e);
    expect(error).toMatchObject({ statusCode: 400, code: 'payment_intent_unexpected_state' });
  });
});

describe('declines and 3-D Secure', () => {
  it.each([
    ['pm_card_chargeDeclined', 'card_declined', 'generic_decline'],
    ['pm_card_chargeDeclinedInsufficientFunds', 'card_declined', 'insufficient_funds'],
    ['pm_card_insufficientFunds', 'card_declined', 'insufficient_funds'],
  ])('%s: 402 card_error %s/%s and the intent back to requires_payment_method', async (pm, code, decline) => {
    const pi = await stripe.paymentIntents.create({ amount: 700, currency: 'usd' });
    const error = await stripe.paymentIntents.confirm(pi.id, { payment_method: pm }).catch((e) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(error).toMatchObject({ statusCode: 402, type: 'StripeCardError', code, decline_code: decline });
    expect(error.payment_intent).toMatchObject({ id: pi.id, status: 'requires_payment_method' });
    const after = await stripe.paymentIntents.retrieve(pi.id);
    expect(after.status).toBe('requires_payment_method');
    expect(after.last_payment_error).toMatchObject({ type: 'card_error', code, decline_code: decline });
    const charge = await stripe.charges.retrieve(after.latest_charge as string);
    expect(charge).toMatchObject({ status: 'failed', paid: false, captured: false });
    // A good card afterwards works on the same intent.
    const retried = await stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_visa' });
    expect(retried.status).toBe('succeeded');
  });

  it('pm_card_authenticationRequired waits in requires_action until the cardholder authenticates', async () => {
    const pi = await stripe.paymentIntents.create({
      amount: 4200,
      currency: 'usd',
      capture_method: 'manual',
      payment_method: 'pm_card_authenticationRequired',
      confirm: true,
    });
    expect(pi.status).toBe('requires_action');
    expect(pi.next_action?.type).toBe('use_stripe_sdk');
    const control = await fetch(`${sim.url}/_sim/payment_intents/${pi.id}/authenticate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ outcome: 'succeed' }),
    });
    expect(control.status).toBe(200);
    const after = await stripe.paymentIntents.retrieve(pi.id);
    expect(after).toMatchObject({ status: 'requires_capture', amount_capturable: 4200, next_action: null });
  });

  it('a failed authentication sends the intent back to requires_payment_method', async () => {
    const pi = await stripe.paymentIntents.create({
      amount: 4200,
      currency: 'usd',
      payment_method: 'pm_card_authenticationRequired',
      confirm: true,
    });
    sim.authenticate(pi.id, 'fail');
    const after = await stripe.paymentIntents.retrieve(pi.id);
    expect(after.status).toBe('requires_payment_method');
    expect(after.last_payment_error?.code).toBe('payment_intent_authentication_failure');
  });
});

describe('refunds', () => {
  it('refunds partially, then the rest, and never more than was captured', async () => {
    const pi = await stripe.paymentIntents.create({
      amount: 3000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const first = await stripe.refunds.create({ payment_intent: pi.id, amount: 1000 });
    expect(first).toMatchObject({
      object: 'refund',
      amount: 1000,
      status: 'succeeded',
      payment_intent: pi.id,
    });
    expect((await stripe.refunds.retrieve(first.id)).amount).toBe(1000);
    const tooMuch = await stripe.refunds.create({ payment_intent: pi.id, amount: 2001 }).catch((e) => e);
    expect(tooMuch).toMatchObject({ statusCode: 400, param: 'amount' });
    const rest = await stripe.refunds.create({ payment_intent: pi.id });
    expect(rest.amount).toBe(2000);
    const charge = await stripe.charges.retrieve(pi.latest_charge as string);
    expect(charge).toMatchObject({ amount_refunded: 3000, refunded: true });
    const again = await stripe.refunds.create({ payment_intent: pi.id }).catch((e) => e);
    expect(again).toMatchObject({ statusCode: 400, code: 'charge_already_refunded' });
  });

  it('refuses to refund an uncaptured intent', async () => {
    const pi = await stripe.paymentIntents.create({
      amount: 3000,
      currency: 'usd',
      capture_method: 'manual',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const error = await stripe.refunds.create({ payment_intent: pi.id }).catch((e) => e);
    expect(error).toMatchObject({ statusCode: 400 });
  });
});

describe('authentication, validation and unknown objects', () => {
  it('answers 401 to a wrong or missing key, without echoing it', async () => {
    const wrong = new Stripe('sk_test_not_the_key_12345', { ...sim.stripeOptions, maxNetworkRetries: 0 });
    const error = await wrong.paymentIntents.create({ amount: 100, currency: 'usd' }).catch((e) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect(error.statusCode).toBe(401);
    expect(error.message).not.toContain('not_the_key');
    const none = await fetch(`${sim.url}/v1/payment_intents`, { method: 'POST' });
    expect(none.status).toBe(401);
    expect((await json(none)).error.type).toBe('invalid_request_error');
  });

  it('answers 404 resource_missing for an unknown intent and 400 for bad parameters', async () => {
    const missing = await stripe.paymentIntents.retrieve('pi_doesnotexist').catch((e) => e);
    expect(missing).toMatchObject({ statusCode: 404, code: 'resource_missing' });
    expect(missing.message).toBe("No such payment_intent: 'pi_doesnotexist'");
    const noAmount = await stripe.paymentIntents.create({ currency: 'usd' } as never).catch((e) => e);
    expect(noAmount).toMatchObject({ statusCode: 400, code: 'parameter_missing', param: 'amount' });
    const unknown = await stripe.paymentIntents
      .create({ amount: 100, currency: 'usd', colour: 'red' } as never)
      .catch((e) => e);
    expect(unknown).toMatchObject({ statusCode: 400, code: 'parameter_unknown', param: 'colour' });
    const badPm = await stripe.paymentIntents
      .create({ amount: 100, currency: 'usd', payment_method: 'pm_card_nope', confirm: true })
      .catch((e) => e);
    expect(badPm).toMatchObject({ statusCode: 404, code: 'resource_missing', param: 'payment_method' });
  });

  it('gives the same ids for the same seed and calls (deterministic)', async () => {
    const twin = await startStripeSim({ seed: 99 });
    const other = await startStripeSim({ seed: 99 });
    try {
      const a = new Stripe(twin.secretKey, { ...twin.stripeOptions });
      const b = new Stripe(other.secretKey, { ...other.stripeOptions });
      const [x, y] = await Promise.all([
        a.paymentIntents.create({ amount: 100, currency: 'usd' }),
        b.paymentIntents.create({ amount: 100, currency: 'usd' }),
      ]);
      expect(x.id).toBe(y.id);
      expect(x.client_secret).toBe(y.client_secret);
    } finally {
      await twin.close();
      await other.close();
    }
  });
});
