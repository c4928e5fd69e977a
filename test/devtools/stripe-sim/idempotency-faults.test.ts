import Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type StripeSim, startStripeSim } from '../../../src/devtools/stripe-sim/index.ts';

// Stripe's idempotency rules (https://docs.stripe.com/api/idempotent_requests,
// https://docs.stripe.com/idempotency): same key + same endpoint and parameters → the saved
// response (status and body, `Idempotent-Replayed: true`); same key, other parameters → 400
// idempotency_error; nothing is saved when validation refuses the request. Plus the simulator's
// fault injection and call counters (docs/stripe-simulator.md).

const json = async (r: Response | Promise<Response>): Promise<any> => (await r).json();

let sim: StripeSim;
let stripe: Stripe;

beforeAll(async () => {
  sim = await startStripeSim({ seed: 3 });
  // Timeout faults hold the answer: a short client timeout ends those calls quickly.
  stripe = new Stripe(sim.secretKey, { ...sim.stripeOptions, maxNetworkRetries: 0, timeout: 1500 });
});
afterAll(async () => {
  await sim?.close();
});
afterEach(() => {
  sim.clearFaults();
});

const manual = {
  amount: 2000,
  currency: 'usd',
  capture_method: 'manual' as const,
  payment_method: 'pm_card_visa',
  confirm: true,
};

describe('idempotency', () => {
  it('replays the saved response for the same key and parameters, creating one intent', async () => {
    const before = sim.events('payment_intent.created').length;
    const first = await stripe.paymentIntents.create(manual, { idempotencyKey: 'cart-1:create' });
    const second = await stripe.paymentIntents.create(manual, { idempotencyKey: 'cart-1:create' });
    expect(second.id).toBe(first.id);
    expect(second.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(first.lastResponse.headers['idempotent-replayed']).toBeUndefined();
    expect(sim.events('payment_intent.created').length).toBe(before + 1);
    expect(sim.counters()['POST /v1/payment_intents']).toMatchObject({ replays: 1 });
  });

  it('refuses the same key with other parameters (400 idempotency_error) and changes nothing', async () => {
    const first = await stripe.paymentIntents.create(manual, { idempotencyKey: 'cart-2:create' });
    const error = await stripe.paymentIntents
      .create({ ...manual, amount: 2001 }, { idempotencyKey: 'cart-2:create' })
      .catch((e) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(error).toMatchObject({ statusCode: 400, rawType: 'idempotency_error' });
    // The same key on another endpoint is a mismatch too.
    const elsewhere = await stripe.paymentIntents
      .capture(first.id, {}, { idempotencyKey: 'cart-2:create' })
      .catch((e) => e);
    expect(elsewhere).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect((await stripe.paymentIntents.retrieve(first.id)).status).toBe('requires_capture');
  });

  it('replays a saved decline (402) instead of trying the card again', async () => {
    const params = { amount: 900, currency: 'usd', payment_method: 'pm_card_chargeDeclined', confirm: true };
    const a = await stripe.paymentIntents.create(params, { idempotencyKey: 'declined-1' }).catch((e) => e);
    const b = await stripe.paymentIntents.create(params, { idempotencyKey: 'declined-1' }).catch((e) => e);
    expect(a).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(b).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(b.payment_intent.id).toBe(a.payment_intent.id);
    expect(b.headers['idempotent-replayed']).toBe('true');
  });

  it('does not save a request refused by validation: the corrected retry runs', async () => {
    const bad = await stripe.paymentIntents
      .create({ amount: 100, currency: 'usd', colour: 'red' } as never, { idempotencyKey: 'fixed-later' })
      .catch((e) => e);
    expect(bad.statusCode).toBe(400);
    const good = await stripe.paymentIntents.create(
      { amount: 100, currency: 'usd' },
      { idempotencyKey: 'fixed-later' },
    );
    expect(good.status).toBe('requires_payment_method');
  });

  it('captures once however many times a capture is retried with its key', async () => {
    const pi = await stripe.paymentIntents.create(manual);
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        stripe.paymentIntents.capture(pi.id, {}, { idempotencyKey: `cap-${pi.id}` }),
      ),
    );
    expect(new Set(results.map((r) => r.status))).toEqual(new Set(['succeeded']));
    expect(sim.intent(pi.id).captures).toBe(1);
    expect(
      sim.events('charge.captured').filter((e) => (e.data.object as any).payment_intent === pi.id),
    ).toHaveLength(1);
  });
});

describe('faults', () => {
  it('http_500: nothing happens, nothing is saved, and the retry with the same key runs once', async () => {
    const pi = await stripe.paymentIntents.create(manual);
    sim.injectFault({ kind: 'http_500', endpoint: 'POST /v1/payment_intents/:id/capture' });
    const failed = await stripe.paymentIntents
      .capture(pi.id, {}, { idempotencyKey: `k-${pi.id}` })
      .catch((e) => e);
    expect(failed).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(failed).toMatchObject({ statusCode: 500, rawType: 'api_error' });
    expect(sim.intent(pi.id)).toMatchObject({ status: 'requires_capture', captures: 0 });
    const retried = await stripe.paymentIntents.capture(pi.id, {}, { idempotencyKey: `k-${pi.id}` });
    expect(retried.status).toBe('succeeded');
    expect(retried.lastResponse.headers['idempotent-replayed']).toBeUndefined();
    expect(sim.intent(pi.id).captures).toBe(1);
  });

  it('a fault for one endpoint leaves the others alone', async () => {
    sim.injectFault({ kind: 'http_500', endpoint: 'POST /v1/refunds' });
    const pi = await stripe.paymentIntents.create(manual);
    expect(pi.status).toBe('requires_capture');
    expect(sim.counters()['POST /v1/refunds']?.faults ?? 0).toBe(0);
  });

  it('timeout: the call takes effect, the answer never comes; the retry gets the saved result', async () => {
    const pi = await stripe.paymentIntents.create(manual);
    sim.injectFault({ kind: 'timeout', endpoint: 'POST /v1/payment_intents/:id/capture', holdMs: 60_000 });
    const lost = await stripe.paymentIntents
      .capture(pi.id, {}, { idempotencyKey: `t-${pi.id}` })
      .catch((e) => e);
    expect(lost).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    expect(sim.intent(pi.id)).toMatchObject({ status: 'succeeded', captures: 1 });
    const retried = await stripe.paymentIntents.capture(pi.id, {}, { idempotencyKey: `t-${pi.id}` });
    expect(retried.status).toBe('succeeded');
    expect(retried.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(sim.intent(pi.id).captures).toBe(1);
  });

  it('reset: the connection drops after the effect; stripe-node retries it once with the same key', async () => {
    const pi = await stripe.paymentIntents.create(manual);
    sim.resetCounters();
    sim.injectFault({ kind: 'reset', endpoint: 'POST /v1/payment_intents/:id/capture' });
    const captured = await stripe.paymentIntents.capture(pi.id, {}, { idempotencyKey: `r-${pi.id}` });
    expect(captured.status).toBe('succeeded');
    expect(sim.counters()['POST /v1/payment_intents/:id/capture']).toMatchObject({
      requests: 2,
      replays: 1,
      faults: 1,
    });
    expect(sim.intent(pi.id).captures).toBe(1);
  });

  it('is driven by the control API too: faults, counters and their reset', async () => {
    const add = await fetch(`${sim.url}/_sim/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'http_500', count: 2 }),
    });
    expect(add.status).toBe(200);
    expect((await json(fetch(`${sim.url}/_sim/faults`))).faults).toHaveLength(1);
    const a = await stripe.paymentIntents.create({ amount: 100, currency: 'usd' }).catch((e) => e);
    const b = await stripe.paymentIntents.retrieve('pi_x').catch((e) => e);
    expect([a.statusCode, b.statusCode]).toEqual([500, 500]);
    const ok = await stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    expect(ok.status).toBe('requires_payment_method');
    const counters = await json(fetch(`${sim.url}/_sim/counters`));
    expect(counters.endpoints['GET /v1/payment_intents/:id']).toMatchObject({ faults: 1, errors: 1 });
    expect(counters.captures).toEqual(expect.any(Number));
    const bad = await fetch(`${sim.url}/_sim/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'explode' }),
    });
    expect(bad.status).toBe(400);
    await fetch(`${sim.url}/_sim/counters`, { method: 'DELETE' });
    expect((await json(fetch(`${sim.url}/_sim/counters`))).endpoints).toEqual({});
  });
});
