import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PaymentProviderError, type PaymentProvider } from '../../src/commerce/payments/provider.ts';
import {
  createStripeProvider,
  PaymentDeclinedError,
  stripeProviderFromConfig,
} from '../../src/commerce/payments/stripe.ts';
import { type StripeSim, startStripeSim } from '../../src/devtools/stripe-sim/index.ts';
import { loadConfig } from '../../src/platform/config.ts';

// The `stripe` PaymentProvider (issue 12) over the official SDK, against the Stripe simulator:
// every method, declines and 3-D Secure, idempotent replays and conflicts, at most one capture,
// and the two failures a retry must survive without a double effect (a 500 before the call ran,
// a lost answer after it ran). Stripe's rules: https://docs.stripe.com/api/idempotent_requests,
// https://docs.stripe.com/api/errors, https://docs.stripe.com/payments/paymentintents/lifecycle.

let sim: StripeSim;
let stripe: PaymentProvider;
let n = 0;
const dataDir = mkdtempSync(path.join(tmpdir(), 'storeops-stripe-provider-'));
const key = (what: string) => `test-${++n}:${what}`;

beforeAll(async () => {
  sim = await startStripeSim({ seed: 5 });
  // Through the configuration, as StoreOps builds it (a short timeout ends the timeout fault quickly).
  const config = loadConfig({
    ...sim.env,
    NODE_ENV: 'test',
    STRIPE_TIMEOUT_MS: '1500',
    STOREOPS_DATA_DIR: dataDir,
  });
  stripe = stripeProviderFromConfig(config) as PaymentProvider;
});
afterAll(async () => {
  await sim?.close();
  rmSync(dataDir, { recursive: true, force: true });
});
afterEach(() => {
  sim.clearFaults();
});

const cart = { tenant_id: '3d0c9f5e-1111-4222-8333-444455556666', cart_id: 'cart-7' };
const manualIntent = (paymentMethod?: string) =>
  stripe.createIntent({
    idempotencyKey: key('create'),
    amount: 2500,
    currency: 'EUR',
    captureMethod: 'manual',
    metadata: cart,
    paymentMethod,
  });

const errorOf = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a PaymentProviderError');
    },
    (error: unknown) => {
      expect(error).toBeInstanceOf(PaymentProviderError);
      return error as PaymentProviderError;
    },
  );

describe('the happy paths', () => {
  it('is null without STRIPE_SECRET_KEY (the test provider is then the default)', () => {
    expect(stripeProviderFromConfig(loadConfig({ NODE_ENV: 'test', STOREOPS_DATA_DIR: dataDir }))).toBeNull();
    expect(stripe.name).toBe('stripe');
  });

  it('creates, updates, confirms, captures and refunds', async () => {
    const created = await manualIntent();
    expect(created).toMatchObject({
      status: 'requires_payment_method',
      amount: 2500,
      amountCapturable: 0,
      amountReceived: 0,
      currency: 'eur',
      captureMethod: 'manual',
      metadata: cart,
      lastError: null,
      latestCharge: null,
    });
    expect(created.clientSecret).toMatch(/^pi_.+_secret_/);
    const updated = await stripe.updateIntent(
      created.id,
      { amount: 2700, metadata: { note: 'x' } },
      key('update'),
    );
    expect(updated).toMatchObject({ amount: 2700, metadata: { ...cart, note: 'x' } });
    const confirmed = await stripe.confirmIntent(created.id, 'pm_card_visa', key('confirm'));
    expect(confirmed).toMatchObject({ status: 'requires_capture', amountCapturable: 2700 });
    expect(confirmed.latestCharge).toMatch(/^ch_/);
    expect(await stripe.retrieveIntent(created.id)).toEqual(confirmed);
    const captured = await stripe.captureIntent(created.id, key('capture'), 2600);
    expect(captured).toMatchObject({ status: 'succeeded', amountReceived: 2600, amountCapturable: 0 });
    const refund = await stripe.refund(created.id, 600, key('refund'));
    expect(refund).toMatchObject({ paymentIntentId: created.id, amount: 600, status: 'succeeded' });
    expect(refund.id).toMatch(/^re_/);
  });

  it('confirms at creation with a payment method; automatic capture succeeds at once', async () => {
    const paid = await stripe.createIntent({
      idempotencyKey: key('create'),
      amount: 1200,
      currency: 'usd',
      captureMethod: 'automatic',
      metadata: cart,
      paymentMethod: 'pm_card_visa',
    });
    expect(paid).toMatchObject({ status: 'succeeded', amountReceived: 1200, captureMethod: 'automatic' });
  });

  it('cancels an authorisation', async () => {
    const held = await manualIntent('pm_card_visa');
    const canceled = await stripe.cancelIntent(held.id, key('cancel'));
    expect(canceled).toMatchObject({ status: 'canceled', amountCapturable: 0 });
  });
});

describe('declines and 3-D Secure', () => {
  it('maps a decline to `declined` with Stripe’s codes and the intent', async () => {
    const error = await errorOf(manualIntent('pm_card_chargeDeclined'));
    expect(error).toBeInstanceOf(PaymentDeclinedError);
    expect(error).toMatchObject({ kind: 'declined', code: 'card_declined', declineCode: 'generic_decline' });
    const intent = (error as PaymentDeclinedError).intent;
    expect(intent).toMatchObject({ status: 'requires_payment_method', metadata: cart });
    expect(intent?.lastError).toMatchObject({ code: 'card_declined', declineCode: 'generic_decline' });
    const insufficient = await errorOf(
      stripe.confirmIntent(intent?.id as string, 'pm_card_insufficientFunds', key('confirm')),
    );
    expect(insufficient).toMatchObject({ kind: 'declined', declineCode: 'insufficient_funds' });
    // The same intent takes a good card afterwards.
    const ok = await stripe.confirmIntent(intent?.id as string, 'pm_card_visa', key('confirm'));
    expect(ok.status).toBe('requires_capture');
  });

  it('reports requires_action for 3-D Secure, then the authorised state once authenticated', async () => {
    const pending = await manualIntent('pm_card_authenticationRequired');
    expect(pending.status).toBe('requires_action');
    sim.authenticate(pending.id, 'succeed');
    expect(await stripe.retrieveIntent(pending.id)).toMatchObject({
      status: 'requires_capture',
      amountCapturable: 2500,
    });
  });
});

describe('idempotency', () => {
  it('a replay with the same key returns the same intent; no second one is made', async () => {
    const input = {
      idempotencyKey: key('create'),
      amount: 999,
      currency: 'usd',
      captureMethod: 'manual' as const,
      metadata: cart,
    };
    const before = sim.events('payment_intent.created').length;
    const a = await stripe.createIntent(input);
    const b = await stripe.createIntent(input);
    expect(b.id).toBe(a.id);
    expect(sim.events('payment_intent.created').length).toBe(before + 1);
  });

  it('the same key with other parameters is an `idempotency` error', async () => {
    const input = {
      idempotencyKey: key('create'),
      amount: 999,
      currency: 'usd',
      captureMethod: 'manual' as const,
      metadata: cart,
    };
    await stripe.createIntent(input);
    const error = await errorOf(stripe.createIntent({ ...input, amount: 1000 }));
    expect(error.kind).toBe('idempotency');
  });

  it('a second capture (another key) is refused as `invalid`; the intent was captured once', async () => {
    const held = await manualIntent('pm_card_visa');
    await stripe.captureIntent(held.id, key('capture'));
    const error = await errorOf(stripe.captureIntent(held.id, key('capture-again')));
    expect(error).toMatchObject({ kind: 'invalid', code: 'payment_intent_unexpected_state' });
    expect(sim.intent(held.id).captures).toBe(1);
  });

  it('an unknown intent is `invalid` (resource_missing)', async () => {
    const error = await errorOf(stripe.retrieveIntent('pi_missing'));
    expect(error).toMatchObject({ kind: 'invalid', code: 'resource_missing' });
  });
});

describe('failures a retry must survive', () => {
  it('500 before the call ran → `transient`; the retry with the same key captures once', async () => {
    const held = await manualIntent('pm_card_visa');
    sim.injectFault({ kind: 'http_500', endpoint: 'POST /v1/payment_intents/:id/capture' });
    const captureKey = key('capture');
    const error = await errorOf(stripe.captureIntent(held.id, captureKey));
    expect(error.kind).toBe('transient');
    expect(sim.intent(held.id)).toMatchObject({ status: 'requires_capture', captures: 0 });
    const retried = await stripe.captureIntent(held.id, captureKey);
    expect(retried.status).toBe('succeeded');
    expect(sim.intent(held.id).captures).toBe(1);
  });

  it('a lost answer after the call ran → `transient`; the retry with the same key gets the saved result', async () => {
    const held = await manualIntent('pm_card_visa');
    sim.injectFault({ kind: 'timeout', endpoint: 'POST /v1/payment_intents/:id/capture', holdMs: 60_000 });
    const captureKey = key('capture');
    const error = await errorOf(stripe.captureIntent(held.id, captureKey));
    expect(error.kind).toBe('transient');
    // The capture happened although the caller never heard of it.
    expect(sim.intent(held.id)).toMatchObject({ status: 'succeeded', captures: 1 });
    sim.resetCounters();
    const retried = await stripe.captureIntent(held.id, captureKey);
    expect(retried).toMatchObject({ status: 'succeeded', amountReceived: 2500 });
    expect(sim.counters()['POST /v1/payment_intents/:id/capture']).toMatchObject({ requests: 1, replays: 1 });
    expect(sim.intent(held.id).captures).toBe(1);
  });

  it('a refund retried after a 500 refunds once', async () => {
    const paid = await manualIntent('pm_card_visa');
    await stripe.captureIntent(paid.id, key('capture'));
    sim.injectFault({ kind: 'http_500', endpoint: 'POST /v1/refunds' });
    const refundKey = key('refund');
    expect((await errorOf(stripe.refund(paid.id, 2500, refundKey))).kind).toBe('transient');
    const first = await stripe.refund(paid.id, 2500, refundKey);
    const again = await stripe.refund(paid.id, 2500, refundKey);
    expect(again.id).toBe(first.id);
    expect(
      sim.events('charge.refunded').filter((e) => (e.data.object as any).payment_intent === paid.id),
    ).toHaveLength(1);
  });

  it('an unreachable Stripe is `transient`; a wrong key is `invalid` and never echoed', async () => {
    const down = createStripeProvider({
      secretKey: sim.secretKey,
      host: '127.0.0.1',
      port: 1,
      protocol: 'http',
    });
    expect((await errorOf(down.retrieveIntent('pi_x'))).kind).toBe('transient');
    const wrong = createStripeProvider({ ...sim.stripeOptions, secretKey: 'sk_test_wrong_key_abcdef' });
    const error = await errorOf(wrong.retrieveIntent('pi_x'));
    expect(error.kind).toBe('invalid');
    expect(error.message).not.toContain('wrong_key');
    expect(String(error.cause ?? '')).not.toContain('wrong_key');
  });
});
