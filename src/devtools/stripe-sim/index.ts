/**
 * The Stripe simulator (issue 12): a local, stateful Stripe that the official stripe-node SDK
 * reaches through its `host`/`port`/`protocol` options, so payments are exercised for real over
 * HTTP without a Stripe account: PaymentIntents, refunds, idempotency, signed webhooks, faults.
 * Start it in-process with startStripeSim, or run `storeops stripe-sim` (cli.ts).
 * Docs: docs/stripe-simulator.md.
 */
import Fastify from 'fastify';
import { registerApiRoutes } from './api-routes.ts';
import { registerControlRoutes } from './control-routes.ts';
import { addFault, countersSnapshot, type EndpointCounters, type Fault, type FaultInput } from './faults.ts';
import { authenticateIntent, findIntent } from './intents.ts';
import { intentJson } from './objects.ts';
import { disputeIntent } from './refunds.ts';
import { contextFor, createRuntime } from './runtime.ts';
import type { StripeEvent } from './state.ts';
import {
  addEndpoint,
  busy,
  closeEngine,
  configure,
  type Delivery,
  type DeliveryFilter,
  deliveries,
  release,
  rollSecret,
  type WebhookEndpoint,
  type WebhookSettings,
} from './webhooks.ts';

export type { Delivery, DeliveryFilter, WebhookEndpoint, WebhookSettings } from './webhooks.ts';
export type { EndpointCounters, Fault, FaultInput } from './faults.ts';
export type { StripeEvent } from './state.ts';
export { signatureHeader } from './webhooks.ts';
export { TEST_PAYMENT_METHODS } from './payment-methods.ts';

/** The secret key the simulator accepts unless told otherwise. */
export const DEFAULT_SIM_SECRET_KEY = 'sk_test_storeops_simulator';

export type StripeSimOptions = {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Interface to bind; default 127.0.0.1. */
  host?: string;
  /** The only secret key accepted (Bearer); default DEFAULT_SIM_SECRET_KEY. */
  secretKey?: string;
  /** Seed of the deterministic ids. Default 1. */
  seed?: number;
  /** Clock in epoch ms (`created`, signature timestamps). Default Date.now. */
  clock?: () => number;
  /** A webhook endpoint to configure at start. */
  webhook?: { url: string; secret?: string; enabledEvents?: string[] };
  /** Send webhooks to non-loopback hosts too. Default false. */
  allowRemoteWebhooks?: boolean;
};

export type StripeSim = {
  /** Base URL, e.g. http://127.0.0.1:4200. */
  url: string;
  host: string;
  port: number;
  secretKey: string;
  /** Options for `new Stripe(secretKey, { ...sim.stripeOptions })`. */
  stripeOptions: { host: string; port: number; protocol: 'http' };
  /** The environment StoreOps reads to use this simulator. */
  env: Record<string, string>;
  close(): Promise<void>;
  addWebhookEndpoint(input: { url: string; secret?: string; enabledEvents?: string[] }): WebhookEndpoint;
  /** A new secret for the endpoint; the old one keeps signing alongside (two v1 signatures). */
  rollWebhookSecret(endpointId: string, secret?: string): WebhookEndpoint;
  configureWebhooks(patch: Partial<WebhookSettings>): WebhookSettings;
  /** Sends everything held or waiting now; resolves once those attempts finished. */
  flushWebhooks(): Promise<void>;
  deliveries(filter?: DeliveryFilter): Delivery[];
  /** Resolves once `count` deliveries match and nothing is queued or in flight; rejects after timeoutMs. */
  waitForDeliveries(filter: DeliveryFilter & { count: number; timeoutMs?: number }): Promise<Delivery[]>;
  events(type?: string): StripeEvent[];
  /** Completes (or fails) 3-D Secure of a requires_action intent. */
  authenticate(intentId: string, outcome?: 'succeed' | 'fail'): Record<string, unknown>;
  dispute(intentId: string, reason?: string): Record<string, unknown>;
  /** The intent as the API shows it, plus how many captures it had. */
  intent(intentId: string): Record<string, unknown> & { captures: number };
  injectFault(input: FaultInput): Fault;
  clearFaults(): void;
  counters(): Record<string, EndpointCounters>;
  resetCounters(): void;
};

/** Starts the simulator and resolves once it listens. */
export async function startStripeSim(options: StripeSimOptions = {}): Promise<StripeSim> {
  const secretKey = options.secretKey ?? DEFAULT_SIM_SECRET_KEY;
  const rt = createRuntime({
    seed: options.seed ?? 1,
    secretKey,
    clock: options.clock ?? Date.now,
    allowRemoteWebhooks: options.allowRemoteWebhooks ?? false,
  });
  const { state, engine, faults } = rt;
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  registerApiRoutes(app, rt);
  registerControlRoutes(app, rt);
  const host = options.host ?? '127.0.0.1';
  await app.listen({ port: options.port ?? 0, host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 0);
  state.url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (options.webhook) addEndpoint(state, engine, options.webhook);
  const ctx = () => contextFor(rt, null);

  return {
    url: state.url,
    host,
    port,
    secretKey,
    stripeOptions: { host, port, protocol: 'http' },
    env: {
      STRIPE_SECRET_KEY: secretKey,
      STRIPE_API_HOST: host,
      STRIPE_API_PORT: String(port),
      STRIPE_API_PROTOCOL: 'http',
    },
    async close() {
      await closeEngine(engine);
      await app.close();
    },
    addWebhookEndpoint: (input) => addEndpoint(state, engine, input),
    rollWebhookSecret(endpointId, secret) {
      const endpoint = engine.endpoints.get(endpointId);
      if (!endpoint) throw new Error(`no webhook endpoint ${endpointId}`);
      return rollSecret(endpoint, secret);
    },
    configureWebhooks: (patch) => configure(state, engine, patch),
    flushWebhooks: () => release(state, engine),
    deliveries: (filter) => deliveries(engine, filter),
    async waitForDeliveries({ count, timeoutMs = 10_000, ...filter }) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = deliveries(engine, filter);
        if (found.length >= count && !busy(engine)) return found;
        if (Date.now() > deadline) {
          throw new Error(`waitForDeliveries: ${found.length}/${count} matched (busy: ${busy(engine)})`);
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    events: (type) => state.events.filter((e) => !type || e.type === type),
    authenticate: (intentId, outcome = 'succeed') => authenticateIntent(ctx(), intentId, outcome),
    dispute: (intentId, reason) => disputeIntent(ctx(), intentId, reason),
    intent(intentId) {
      const pi = findIntent(ctx(), intentId);
      return { ...intentJson(state, pi), captures: pi.captures };
    },
    injectFault: (input) => addFault(faults, input),
    clearFaults() {
      faults.list = [];
    },
    counters: () => countersSnapshot(faults),
    resetCounters() {
      faults.counters.clear();
    },
  };
}
