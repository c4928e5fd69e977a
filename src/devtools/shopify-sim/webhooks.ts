/**
 * Webhook delivery exactly as Shopify does it: one POST per subscription per event, Shopify's
 * headers, a base64 HMAC-SHA256 of the exact bytes sent, 1 s connect / 5 s response timeouts, and
 * 8 retries over 4 hours with exponential backoff (scaled by timeScale for tests).
 * https://shopify.dev/docs/apps/build/webhooks/subscribe/https
 * https://shopify.dev/changelog/updates-to-webhook-retry-mechanism
 */
import { createHmac, randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';
import { chaosFor, roll } from './chaos.ts';
import type { ShopState } from './shops.ts';
import type { SimState } from './state.ts';

/**
 * Delay before each retry, in seconds: exponential, 8 retries, the last landing at 4 hours after the
 * first attempt (Shopify documents "8 times over 4 hours" but not the exact intervals).
 */
export const RETRY_DELAYS_SECONDS = [60, 120, 240, 480, 960, 1920, 3840, 6780] as const;

/** Connect and total response timeouts, in milliseconds. */
export const CONNECT_TIMEOUT_MS = 1000;
/** Total time Shopify waits for a response. */
export const RESPONSE_TIMEOUT_MS = 5000;

/** Deliveries kept in the log; older finished ones are dropped to bound memory. */
const LOG_LIMIT = 20_000;

/** API version stamped on app-level subscriptions and events without a subscription version. */
export const DEFAULT_WEBHOOK_API_VERSION = '2025-10';

/** One try of one delivery. */
export type Attempt = {
  at: string;
  status: number | null;
  error: string | null;
  durationMs: number;
  /** True for a chaos copy rather than a scheduled try. */
  duplicate: boolean;
};

/** One delivery: one event to one subscription, with its attempts. */
export type Delivery = {
  webhookId: string;
  eventId: string;
  topic: string;
  shop: string;
  uri: string;
  subscriptionId: number | null;
  apiVersion: string;
  triggeredAt: string;
  headers: Record<string, string>;
  body: string;
  state: 'pending' | 'delivered' | 'failed' | 'dropped';
  attempts: Attempt[];
  /** How many extra copies chaos sent. */
  duplicates: number;
  /** Epoch ms of the next scheduled try (simulated time, before timeScale). */
  nextAttemptAt: string | null;
};

/** The delivery machinery and its log. */
export type WebhookEngine = {
  log: Delivery[];
  timers: Set<ReturnType<typeof setTimeout>>;
  inFlight: Set<Promise<unknown>>;
  /** First tries under way per shop: a held-back delivery lets them finish first. */
  firstTries: Map<string, Set<Promise<unknown>>>;
  agent: Agent;
  closed: boolean;
};

/** Creates the delivery engine with Shopify's timeouts. */
export function createWebhookEngine(): WebhookEngine {
  return {
    log: [],
    timers: new Set(),
    inFlight: new Set(),
    firstTries: new Map(),
    agent: new Agent({
      connect: { timeout: CONNECT_TIMEOUT_MS },
      headersTimeout: RESPONSE_TIMEOUT_MS,
      bodyTimeout: RESPONSE_TIMEOUT_MS,
    }),
    closed: false,
  };
}

/** Base64 HMAC-SHA256 of the body bytes with the app secret (X-Shopify-Hmac-Sha256). */
export function signWebhook(secret: string, body: string | Buffer): string {
  return createHmac('sha256', secret).update(body).digest('base64');
}

/** Exactly the headers Shopify sends with a webhook. */
export function webhookHeaders(p: {
  topic: string;
  hmac: string;
  shop: string;
  apiVersion: string;
  webhookId: string;
  eventId: string;
  triggeredAt: string;
}): Record<string, string> {
  return {
    'Content-Type': 'application/json',
    'X-Shopify-Topic': p.topic,
    'X-Shopify-Hmac-Sha256': p.hmac,
    'X-Shopify-Shop-Domain': p.shop,
    'X-Shopify-API-Version': p.apiVersion,
    'X-Shopify-Webhook-Id': p.webhookId,
    'X-Shopify-Event-Id': p.eventId,
    'X-Shopify-Triggered-At': p.triggeredAt,
  };
}

/** True for loopback hosts, the only targets this simulator sends to by default. */
export function isLoopbackUrl(uri: string): boolean {
  try {
    const host = new URL(uri).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
  } catch {
    return false;
  }
}

function pickFields(payload: Record<string, unknown>, fields: string[]): Record<string, unknown> {
  if (fields.length === 0) return payload;
  const out: Record<string, unknown> = {};
  for (const f of fields) if (f in payload) out[f] = payload[f];
  return out;
}

function schedule(engine: WebhookEngine, ms: number, fn: () => void): void {
  const timer = setTimeout(() => {
    engine.timers.delete(timer);
    if (!engine.closed) fn();
  }, ms);
  engine.timers.add(timer);
}

function remember(engine: WebhookEngine, delivery: Delivery): void {
  engine.log.push(delivery);
  if (engine.log.length > LOG_LIMIT) {
    const cut = engine.log.findIndex((d) => d.state !== 'pending');
    engine.log.splice(cut === -1 ? 0 : cut, 1);
  }
}

async function send(
  sim: SimState,
  engine: WebhookEngine,
  d: Delivery,
  duplicate: boolean,
): Promise<number | null> {
  const started = performance.now();
  const at = new Date(sim.options.clock()).toISOString();
  if (!sim.options.allowRemoteWebhooks && !isLoopbackUrl(d.uri)) {
    d.attempts.push({ at, status: null, error: 'refused: not a loopback address', durationMs: 0, duplicate });
    return null;
  }
  try {
    const res = await request(d.uri, {
      method: 'POST',
      headers: d.headers,
      body: d.body,
      dispatcher: engine.agent,
      signal: AbortSignal.timeout(RESPONSE_TIMEOUT_MS),
    });
    await res.body.dump();
    const durationMs = Math.round(performance.now() - started);
    d.attempts.push({ at, status: res.statusCode, error: null, durationMs, duplicate });
    return res.statusCode;
  } catch (err) {
    const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    d.attempts.push({
      at,
      status: null,
      error,
      durationMs: Math.round(performance.now() - started),
      duplicate,
    });
    return null;
  }
}

function track(engine: WebhookEngine, p: Promise<unknown>): void {
  engine.inFlight.add(p);
  p.finally(() => engine.inFlight.delete(p));
}

/** One try of a delivery (and the scheduling of the next); resolves once it was answered. */
function attempt(sim: SimState, engine: WebhookEngine, shop: ShopState, d: Delivery): Promise<void> {
  const run = async () => {
    const status = await send(sim, engine, d, false);
    if (status !== null && status >= 200 && status < 300) {
      d.state = 'delivered';
      d.nextAttemptAt = null;
      return;
    }
    const retriesDone = d.attempts.filter((a) => !a.duplicate).length - 1;
    if (retriesDone >= RETRY_DELAYS_SECONDS.length) {
      d.state = 'failed';
      d.nextAttemptAt = null;
      // Shopify removes an API-created subscription once a webhook has failed every retry.
      if (d.subscriptionId !== null) shop.subscriptions.delete(d.subscriptionId);
      return;
    }
    const delaySeconds = RETRY_DELAYS_SECONDS[retriesDone];
    d.nextAttemptAt = new Date(sim.options.clock() + delaySeconds * 1000).toISOString();
    schedule(engine, delaySeconds * 1000 * sim.options.timeScale, () => void attempt(sim, engine, shop, d));
  };
  const running = run();
  track(engine, running);
  return running;
}

/**
 * Emits an event: one delivery per matching subscription (shop subscriptions plus app-level ones).
 * Returns the deliveries created so callers and tests can follow them in the log.
 */
export function emitWebhook(
  sim: SimState,
  engine: WebhookEngine,
  shop: ShopState,
  topic: string,
  payload: Record<string, unknown>,
): Delivery[] {
  const eventId = randomUUID();
  const triggeredAt = new Date(sim.options.clock()).toISOString();
  const targets: { uri: string; subscriptionId: number | null; apiVersion: string; fields: string[] }[] = [];
  for (const sub of shop.subscriptions.values()) {
    if (sub.topic === topic)
      targets.push({
        uri: sub.uri,
        subscriptionId: sub.id,
        apiVersion: sub.apiVersion,
        fields: sub.includeFields,
      });
  }
  const appUri = sim.appSubscriptions.get(topic);
  if (appUri)
    targets.push({ uri: appUri, subscriptionId: null, apiVersion: DEFAULT_WEBHOOK_API_VERSION, fields: [] });
  const chaos = chaosFor(sim.chaos, shop.domain);
  const created: Delivery[] = [];
  let firstTries = engine.firstTries.get(shop.domain);
  if (!firstTries) {
    firstTries = new Set();
    engine.firstTries.set(shop.domain, firstTries);
  }
  const tries = firstTries;
  for (const t of targets) {
    const body = JSON.stringify(pickFields(payload, t.fields));
    const webhookId = randomUUID();
    const d: Delivery = {
      webhookId,
      eventId,
      topic,
      shop: shop.domain,
      uri: t.uri,
      subscriptionId: t.subscriptionId,
      apiVersion: t.apiVersion,
      triggeredAt,
      headers: webhookHeaders({
        topic,
        hmac: signWebhook(sim.options.apiSecret, body),
        shop: shop.domain,
        apiVersion: t.apiVersion,
        webhookId,
        eventId,
        triggeredAt,
      }),
      body,
      state: 'pending',
      attempts: [],
      duplicates: 0,
      nextAttemptAt: null,
    };
    remember(engine, d);
    created.push(d);
    if (engine.closed) continue;
    if (roll(sim.chaos, chaos.webhookDropRate)) {
      d.state = 'dropped';
      continue;
    }
    const delay = roll(sim.chaos, chaos.webhookOutOfOrderRate) ? chaos.webhookOutOfOrderDelayMs : 0;
    const duplicate = roll(sim.chaos, chaos.webhookDuplicateRate);
    const start = () => {
      const first = attempt(sim, engine, shop, d);
      tries.add(first);
      const done = () => void tries.delete(first);
      first.then(done, done);
      if (duplicate) {
        d.duplicates++;
        // The copy is the same request again: same body, same X-Shopify-Webhook-Id.
        track(engine, send(sim, engine, d, true));
      }
    };
    if (delay > 0) {
      // Held back, then sent once the shop's deliveries that started meanwhile were answered:
      // later events overtake it however slow the machine is.
      schedule(engine, delay, () => {
        void Promise.allSettled([...tries]).then(() => {
          if (!engine.closed) start();
        });
      });
    } else start();
  }
  return created;
}

/** Filter for reading the delivery log. */
export type DeliveryFilter = { shop?: string; topic?: string; state?: Delivery['state']; eventId?: string };

/** Reads the delivery log (oldest first). */
export function listDeliveries(engine: WebhookEngine, filter: DeliveryFilter = {}): Delivery[] {
  return engine.log.filter(
    (d) =>
      (!filter.shop || d.shop === filter.shop) &&
      (!filter.topic || d.topic === filter.topic) &&
      (!filter.state || d.state === filter.state) &&
      (!filter.eventId || d.eventId === filter.eventId),
  );
}

/** Stops retries and waits for requests under way. */
export async function closeWebhooks(engine: WebhookEngine): Promise<void> {
  engine.closed = true;
  for (const t of engine.timers) clearTimeout(t);
  engine.timers.clear();
  await Promise.allSettled([...engine.inFlight]);
  await engine.agent.close();
}
