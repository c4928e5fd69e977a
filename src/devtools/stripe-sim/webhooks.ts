/**
 * Webhook delivery as Stripe does it (https://docs.stripe.com/webhooks): one POST of the Event
 * JSON (pretty-printed, as Stripe sends it) per endpoint whose `enabled_events` match, signed in
 * `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with the endpoint's
 * whsec_ secret>` (https://docs.stripe.com/webhooks#verify-manually; during a secret roll both the
 * new and the old secret sign, two `v1=`). Retries with exponential backoff (Stripe: up to three
 * days; here `maxAttempts` × `retryBaseMs`, doubling).
 *
 * Test controls: `delayMs` holds each batch of events (those caused within the window) before
 * sending; `order` sends a batch in order, reversed or shuffled (seeded); `duplicates` sends each
 * event again that many times (same event id, fresh signature); `hold` keeps everything queued
 * until `flush`; `timestampOffsetSeconds` signs with a skewed clock (stale signatures).
 */
import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { createRng, type Rng } from '../shopify-sim/rng.ts';
import { isLoopbackUrl } from '../shopify-sim/webhooks.ts';
import { type SimState, type StripeEvent, token } from './state.ts';

export const settingsSchema = z
  .object({
    delayMs: z.number().int().min(0).max(600_000),
    duplicates: z.number().int().min(0).max(10),
    order: z.enum(['in_order', 'reverse', 'shuffle']),
    hold: z.boolean(),
    maxAttempts: z.number().int().min(1).max(20),
    retryBaseMs: z.number().int().min(0).max(600_000),
    timeoutMs: z.number().int().min(100).max(60_000),
    timestampOffsetSeconds: z.number().int().min(-86_400).max(86_400),
  })
  .strict();

export type WebhookSettings = z.infer<typeof settingsSchema>;

export const DEFAULT_SETTINGS: WebhookSettings = {
  delayMs: 0,
  duplicates: 0,
  order: 'in_order',
  hold: false,
  maxAttempts: 4,
  retryBaseMs: 1000,
  timeoutMs: 10_000,
  timestampOffsetSeconds: 0,
};

export type WebhookEndpoint = {
  id: string;
  url: string;
  secret: string;
  /** Still signing after a roll, until removed. */
  previousSecret: string | null;
  enabledEvents: string[];
};

export type DeliveryAttempt = { at: string; status: number | null; error: string | null; duplicate: boolean };

export type Delivery = {
  id: number;
  eventId: string;
  type: string;
  endpointId: string;
  url: string;
  /** queued: waiting for its batch (or a flush); retrying: a retry is scheduled. */
  state: 'queued' | 'sending' | 'retrying' | 'delivered' | 'failed';
  attempts: DeliveryAttempt[];
  body: string;
};

export type DeliveryFilter = { eventId?: string; type?: string; endpointId?: string };

export type WebhookEngine = {
  settings: WebhookSettings;
  endpoints: Map<string, WebhookEndpoint>;
  queue: Delivery[];
  log: Delivery[];
  nextDelivery: number;
  batchTimer: ReturnType<typeof setTimeout> | null;
  timers: Set<ReturnType<typeof setTimeout>>;
  /** Batches are sent one after another, so the chosen order is the order of arrival. */
  chain: Promise<void>;
  inFlight: number;
  rng: Rng;
  allowRemote: boolean;
  closed: boolean;
};

const LOG_LIMIT = 20_000;

export function createWebhookEngine(seed: number, allowRemote: boolean): WebhookEngine {
  return {
    settings: { ...DEFAULT_SETTINGS },
    endpoints: new Map(),
    queue: [],
    log: [],
    nextDelivery: 1,
    batchTimer: null,
    timers: new Set(),
    chain: Promise.resolve(),
    inFlight: 0,
    rng: createRng(seed ^ 0x57a1),
    allowRemote,
    closed: false,
  };
}

/** The Stripe-Signature header value for `body` at `timestamp` (seconds). */
export function signatureHeader(body: string, timestamp: number, secrets: readonly string[]): string {
  const v1 = secrets.map((s) => `v1=${createHmac('sha256', s).update(`${timestamp}.${body}`).digest('hex')}`);
  return [`t=${timestamp}`, ...v1].join(',');
}

/** Adds an endpoint (`whsec_…` secret derived from the seed unless given). */
export function addEndpoint(
  state: SimState,
  engine: WebhookEngine,
  input: { url: string; secret?: string; enabledEvents?: string[] },
): WebhookEndpoint {
  const n = engine.endpoints.size + 1;
  const id = `we_${token(`${state.seed}:we:${n}:${input.url}`)}`;
  const endpoint: WebhookEndpoint = {
    id,
    url: input.url,
    secret: input.secret ?? `whsec_${token(`${state.seed}:whsec:${id}`, 32)}`,
    previousSecret: null,
    enabledEvents: input.enabledEvents ?? ['*'],
  };
  engine.endpoints.set(id, endpoint);
  return endpoint;
}

/** Rolls an endpoint's secret: the old one keeps signing alongside (until the next roll). */
export function rollSecret(endpoint: WebhookEndpoint, secret?: string): WebhookEndpoint {
  endpoint.previousSecret = endpoint.secret;
  endpoint.secret = secret ?? `whsec_${token(`roll:${endpoint.id}:${endpoint.secret}`, 32)}`;
  return endpoint;
}

const matches = (endpoint: WebhookEndpoint, type: string) =>
  endpoint.enabledEvents.includes('*') || endpoint.enabledEvents.includes(type);

/** How many endpoints an event goes to (its `pending_webhooks`). */
export const endpointsFor = (engine: WebhookEngine, type: string) =>
  [...engine.endpoints.values()].filter((e) => matches(e, type)).length;

/** Queues an event for every matching endpoint. */
export function enqueueEvent(state: SimState, engine: WebhookEngine, event: StripeEvent): Delivery[] {
  if (engine.closed) return [];
  const body = JSON.stringify(event, null, 2);
  const created: Delivery[] = [];
  for (const endpoint of engine.endpoints.values()) {
    if (!matches(endpoint, event.type)) continue;
    const delivery: Delivery = {
      id: engine.nextDelivery++,
      eventId: event.id,
      type: event.type,
      endpointId: endpoint.id,
      url: endpoint.url,
      state: 'queued',
      attempts: [],
      body,
    };
    engine.log.push(delivery);
    if (engine.log.length > LOG_LIMIT) engine.log.splice(0, engine.log.length - LOG_LIMIT);
    engine.queue.push(delivery);
    created.push(delivery);
  }
  if (created.length > 0) scheduleRelease(state, engine);
  return created;
}

/** Changes the delivery settings; lifting `hold` (or shortening the delay) sends what waits. */
export function configure(
  state: SimState,
  engine: WebhookEngine,
  patch: Partial<WebhookSettings>,
): WebhookSettings {
  engine.settings = settingsSchema.parse({ ...engine.settings, ...patch });
  if (engine.batchTimer) {
    clearTimeout(engine.batchTimer);
    engine.batchTimer = null;
  }
  if (engine.queue.length > 0) scheduleRelease(state, engine);
  return engine.settings;
}

function scheduleRelease(state: SimState, engine: WebhookEngine): void {
  if (engine.settings.hold || engine.batchTimer || engine.closed) return;
  engine.batchTimer = setTimeout(() => {
    engine.batchTimer = null;
    void release(state, engine);
  }, engine.settings.delayMs);
}

/** Sends everything queued now (in the configured order); resolves once those attempts finished. */
export function release(state: SimState, engine: WebhookEngine): Promise<void> {
  const batch = engine.queue;
  engine.queue = [];
  if (engine.settings.order === 'reverse') batch.reverse();
  if (engine.settings.order === 'shuffle') {
    for (let i = batch.length - 1; i > 0; i--) {
      const j = engine.rng.int(i + 1);
      [batch[i], batch[j]] = [batch[j], batch[i]];
    }
  }
  engine.inFlight += batch.length;
  engine.chain = engine.chain.then(async () => {
    for (const delivery of batch) {
      try {
        await deliver(state, engine, delivery);
      } finally {
        engine.inFlight--;
      }
    }
  });
  return engine.chain;
}

async function post(
  state: SimState,
  engine: WebhookEngine,
  d: Delivery,
  duplicate: boolean,
): Promise<boolean> {
  const at = new Date(state.clock()).toISOString();
  const endpoint = engine.endpoints.get(d.endpointId);
  if (!endpoint) {
    d.attempts.push({ at, status: null, error: 'endpoint removed', duplicate });
    return false;
  }
  if (!engine.allowRemote && !isLoopbackUrl(d.url)) {
    d.attempts.push({ at, status: null, error: 'refused: not a loopback address', duplicate });
    return false;
  }
  const timestamp = Math.floor(state.clock() / 1000) + engine.settings.timestampOffsetSeconds;
  const secrets = endpoint.previousSecret ? [endpoint.secret, endpoint.previousSecret] : [endpoint.secret];
  try {
    const response = await fetch(d.url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json; charset=utf-8',
        'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
        'Stripe-Signature': signatureHeader(d.body, timestamp, secrets),
      },
      body: d.body,
      signal: AbortSignal.timeout(engine.settings.timeoutMs),
    });
    await response.arrayBuffer();
    d.attempts.push({ at, status: response.status, error: null, duplicate });
    return response.ok;
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    d.attempts.push({ at, status: null, error: message, duplicate });
    return false;
  }
}

async function deliver(state: SimState, engine: WebhookEngine, d: Delivery): Promise<void> {
  if (engine.closed) return;
  d.state = 'sending';
  const ok = await post(state, engine, d, false);
  for (let i = 0; i < engine.settings.duplicates && !engine.closed; i++) await post(state, engine, d, true);
  if (ok) {
    d.state = 'delivered';
    return;
  }
  const tries = d.attempts.filter((a) => !a.duplicate).length;
  if (tries >= engine.settings.maxAttempts || engine.closed) {
    d.state = 'failed';
    return;
  }
  d.state = 'retrying';
  engine.inFlight++;
  const timer = setTimeout(
    () => {
      engine.timers.delete(timer);
      deliver(state, engine, d).finally(() => engine.inFlight--);
    },
    engine.settings.retryBaseMs * 2 ** (tries - 1),
  );
  engine.timers.add(timer);
}

/** Queues an event again for every matching endpoint (the Dashboard's "Resend"). */
export function resend(state: SimState, engine: WebhookEngine, event: StripeEvent): Delivery[] {
  return enqueueEvent(state, engine, event);
}

export function deliveries(engine: WebhookEngine, filter: DeliveryFilter = {}): Delivery[] {
  return engine.log.filter(
    (d) =>
      (!filter.eventId || d.eventId === filter.eventId) &&
      (!filter.type || d.type === filter.type) &&
      (!filter.endpointId || d.endpointId === filter.endpointId),
  );
}

/** True while something is queued, being sent or waiting for a retry. */
export const busy = (engine: WebhookEngine) => engine.queue.length > 0 || engine.inFlight > 0;

export async function closeEngine(engine: WebhookEngine): Promise<void> {
  engine.closed = true;
  if (engine.batchTimer) clearTimeout(engine.batchTimer);
  for (const timer of engine.timers) clearTimeout(timer);
  engine.timers.clear();
  engine.queue = [];
  await engine.chain.catch(() => {});
}
