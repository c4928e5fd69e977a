import { createServer, type Server } from 'node:http';
import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type StripeSim,
  startStripeSim,
  type WebhookEndpoint,
} from '../../../src/devtools/stripe-sim/index.ts';

// The simulator's signed webhooks, verified the way a receiver does it: with stripe-node's
// `webhooks.constructEvent` on the raw bytes (https://docs.stripe.com/webhooks#verify-events,
// signature scheme https://docs.stripe.com/webhooks#verify-manually: `t=…,v1=…`, HMAC-SHA256 of
// "t.body"). Event shapes: https://docs.stripe.com/api/events/object. Delay, duplication,
// reordering, holding and retries are the simulator's test controls (docs/stripe-simulator.md).

type Received = { body: string; signature: string };

const json = async (r: Response | Promise<Response>): Promise<any> => (await r).json();

let sim: StripeSim;
let stripe: Stripe;
let receiver: Server;
let receiverUrl: string;
let received: Received[] = [];
let failNext = 0;
let endpoint: WebhookEndpoint;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (failNext > 0) {
        failNext--;
        res.writeHead(500).end();
        return;
      }
      received.push({
        body: Buffer.concat(chunks).toString('utf8'),
        signature: String(req.headers['stripe-signature']),
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const address = receiver.address();
  receiverUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`;
  sim = await startStripeSim({ seed: 11 });
  endpoint = sim.addWebhookEndpoint({ url: receiverUrl });
  stripe = new Stripe(sim.secretKey, { ...sim.stripeOptions, maxNetworkRetries: 0 });
});
afterAll(async () => {
  await sim?.close();
  await new Promise((resolve) => receiver?.close(resolve));
});
beforeEach(async () => {
  sim.configureWebhooks({
    delayMs: 0,
    duplicates: 0,
    order: 'in_order',
    hold: false,
    timestampOffsetSeconds: 0,
  });
  await sim.waitForDeliveries({ count: 0 });
  received = [];
  failNext = 0;
});

const verify = (r: Received, secret = endpoint.secret) =>
  stripe.webhooks.constructEvent(r.body, r.signature, secret);
const typesOf = (list: Received[]) => list.map((r) => verify(r).type);

async function paidIntent(metadata: Record<string, string> = {}) {
  return stripe.paymentIntents.create({
    amount: 1000,
    currency: 'usd',
    payment_method: 'pm_card_visa',
    confirm: true,
    metadata,
  });
}

describe('signed deliveries', () => {
  it('sends each event signed with the endpoint secret; stripe-node verifies it', async () => {
    const pi = await paidIntent({ tenant_id: 't-1', cart_id: 'c-1' });
    await sim.waitForDeliveries({ count: 3 });
    expect(typesOf(received)).toEqual([
      'payment_intent.created',
      'charge.succeeded',
      'payment_intent.succeeded',
    ]);
    const event = verify(received[2]);
    expect(event).toMatchObject({
      object: 'event',
      type: 'payment_intent.succeeded',
      livemode: false,
      data: {
        object: { id: pi.id, object: 'payment_intent', status: 'succeeded', metadata: { tenant_id: 't-1' } },
      },
    });
    expect(event.id).toMatch(/^evt_/);
    expect(event.request?.id).toBe(pi.lastResponse.requestId);
    expect(received[2].signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    // The charge carries the intent's metadata (copied at confirmation).
    expect(verify(received[1]).data.object).toMatchObject({ object: 'charge', metadata: { cart_id: 'c-1' } });
  });

  it('fails verification with another secret, for re-serialised JSON and when the timestamp is stale', async () => {
    await stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    await sim.waitForDeliveries({ count: 1 });
    const [r] = received;
    expect(() => verify(r, 'whsec_wrong')).toThrow(Stripe.errors.StripeSignatureVerificationError);
    const reserialised = JSON.stringify(JSON.parse(r.body));
    expect(reserialised).not.toBe(r.body);
    expect(() => verify({ ...r, body: reserialised })).toThrow(
      Stripe.errors.StripeSignatureVerificationError,
    );
    sim.configureWebhooks({ timestampOffsetSeconds: -301 });
    received = [];
    await stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    await sim.waitForDeliveries({ count: 1 });
    expect(() => verify(received[0])).toThrow(/tolerance/i);
  });

  it('signs with both secrets after a roll, so either verifies', async () => {
    const ep = sim.addWebhookEndpoint({
      url: `${receiverUrl}?second`,
      enabledEvents: ['payment_intent.created'],
    });
    const old = ep.secret;
    sim.rollWebhookSecret(ep.id, 'whsec_new_secret_value');
    await stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    await sim.waitForDeliveries({ count: 1, endpointId: ep.id });
    const mine = received.find((r) => r.signature.split(',v1=').length === 3) as Received;
    expect(mine).toBeDefined();
    expect(verify(mine, old).type).toBe('payment_intent.created');
    expect(verify(mine, 'whsec_new_secret_value').type).toBe('payment_intent.created');
    const del = await fetch(`${sim.url}/_sim/webhook_endpoints/${ep.id}`, { method: 'DELETE' });
    expect((await json(del)).deleted).toBe(true);
  });

  it('emits charge.refunded with previous_attributes and charge.dispute.created', async () => {
    const pi = await paidIntent();
    await stripe.refunds.create({ payment_intent: pi.id, amount: 400 });
    sim.dispute(pi.id);
    await sim.waitForDeliveries({ count: 1, type: 'charge.dispute.created' });
    const refunded = received.map((r) => verify(r)).find((e) => e.type === 'charge.refunded');
    expect(refunded?.data.object).toMatchObject({ amount_refunded: 400, payment_intent: pi.id });
    expect(refunded?.data.previous_attributes).toMatchObject({ amount_refunded: 0 });
    const dispute = received.map((r) => verify(r)).find((e) => e.type === 'charge.dispute.created');
    expect(dispute?.data.object).toMatchObject({ object: 'dispute', payment_intent: pi.id, amount: 600 });
  });
});

describe('delivery controls', () => {
  it('duplicates: the same event (same id) arrives again, each copy freshly signed', async () => {
    sim.configureWebhooks({ duplicates: 1 });
    await stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    await sim.waitForDeliveries({ count: 1 });
    expect(received).toHaveLength(2);
    expect(verify(received[0]).id).toBe(verify(received[1]).id);
  });

  it('reverse order: the events of one batch arrive last first', async () => {
    sim.configureWebhooks({ order: 'reverse' });
    await paidIntent();
    await sim.waitForDeliveries({ count: 0 });
    expect(typesOf(received)).toEqual([
      'payment_intent.succeeded',
      'charge.succeeded',
      'payment_intent.created',
    ]);
  });

  it('hold + flush: nothing arrives until flushed, then all of it (in the chosen order)', async () => {
    sim.configureWebhooks({ hold: true, order: 'reverse' });
    const pi = await stripe.paymentIntents.create({ amount: 100, currency: 'usd', capture_method: 'manual' });
    await stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_visa' });
    await stripe.paymentIntents.capture(pi.id);
    expect(received).toHaveLength(0);
    expect(sim.deliveries({ eventId: sim.events('charge.captured').at(-1)?.id })[0].state).toBe('queued');
    const flushed = await fetch(`${sim.url}/_sim/webhooks/flush`, { method: 'POST' });
    expect(flushed.status).toBe(200);
    expect(typesOf(received)).toEqual([
      'payment_intent.succeeded',
      'charge.captured',
      'payment_intent.amount_capturable_updated',
      'charge.succeeded',
      'payment_intent.created',
    ]);
  });

  it('delay: a batch waits delayMs before it is sent (a shorter delay releases it)', async () => {
    sim.configureWebhooks({ delayMs: 60_000 });
    await stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    const eventId = sim.events('payment_intent.created').at(-1)?.id;
    expect(sim.deliveries({ eventId }).map((d) => d.state)).toEqual(['queued']);
    expect(received).toHaveLength(0);
    sim.configureWebhooks({ delayMs: 0 });
    await sim.waitForDeliveries({ count: 1, eventId });
    expect(received.map((r) => verify(r).id)).toEqual([eventId]);
  });

  it('retries a failed delivery with backoff until it is acknowledged', async () => {
    sim.configureWebhooks({ retryBaseMs: 20, maxAttempts: 4 });
    failNext = 2;
    await stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    const eventId = sim.events('payment_intent.created').at(-1)?.id;
    const [delivery] = await sim.waitForDeliveries({ count: 1, eventId });
    expect(delivery.state).toBe('delivered');
    expect(delivery.attempts.map((a) => a.status)).toEqual([500, 500, 200]);
    expect(received).toHaveLength(1);
  });

  it('resends an event through the control API (as the Dashboard does)', async () => {
    const pi = await stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    await sim.waitForDeliveries({ count: 1 });
    const event = sim
      .events('payment_intent.created')
      .find((e) => (e.data.object as { id: string }).id === pi.id);
    const response = await fetch(`${sim.url}/_sim/events/${event?.id}/resend`, { method: 'POST' });
    expect(response.status).toBe(200);
    await sim.waitForDeliveries({ count: 2, eventId: event?.id });
    expect(received.map((r) => verify(r).id)).toEqual([event?.id, event?.id]);
    const listed = await stripe.events.retrieve(event?.id as string);
    expect(listed.type).toBe('payment_intent.created');
  });

  it('validates control requests', async () => {
    const bad = await fetch(`${sim.url}/_sim/webhooks/settings`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ order: 'sideways' }),
    });
    expect(bad.status).toBe(400);
    const settings = await json(fetch(`${sim.url}/_sim/webhooks/settings`));
    expect(settings.order).toBe('in_order');
  });
});
