/**
 * The Stripe simulator's in-memory state (issue 12): PaymentIntents, charges, refunds, disputes,
 * events, idempotency records, faults and counters. Everything is a plain object mutated
 * synchronously by one request handler at a time, so each API call is atomic (as on Stripe).
 * Ids are deterministic: the n-th object of a kind is a pure function of (seed, kind, n), so the
 * same seed and the same sequence of calls give the same ids.
 */
import { createHash } from 'node:crypto';

/** PaymentIntent statuses (https://docs.stripe.com/payments/paymentintents/lifecycle). */
export type IntentStatus =
  | 'requires_payment_method'
  | 'requires_confirmation'
  | 'requires_action'
  | 'processing'
  | 'requires_capture'
  | 'canceled'
  | 'succeeded';

/** `last_payment_error` (https://docs.stripe.com/api/payment_intents/object#payment_intent_object-last_payment_error). */
export type PaymentError = {
  type: 'card_error' | 'invalid_request_error';
  code: string;
  decline_code?: string;
  message: string;
  doc_url?: string;
  charge?: string;
  /** The PaymentMethod object that failed. */
  payment_method?: Record<string, unknown>;
};

export type Intent = {
  id: string;
  amount: number;
  currency: string;
  captureMethod: 'automatic' | 'automatic_async' | 'manual';
  status: IntentStatus;
  amountCapturable: number;
  amountReceived: number;
  clientSecret: string;
  metadata: Record<string, string>;
  description: string | null;
  receiptEmail: string | null;
  paymentMethod: string | null;
  lastPaymentError: PaymentError | null;
  latestCharge: string | null;
  canceledAt: number | null;
  cancellationReason: string | null;
  created: number;
  /** Captures performed (never more than one; the control API shows it). */
  captures: number;
  /** The charge waiting for 3-D Secure, while status is requires_action. */
  pendingAction: boolean;
};

export type Charge = {
  id: string;
  intent: string;
  amount: number;
  amountCaptured: number;
  amountRefunded: number;
  currency: string;
  captured: boolean;
  status: 'succeeded' | 'failed' | 'pending';
  paymentMethod: string;
  metadata: Record<string, string>;
  failureCode: string | null;
  failureMessage: string | null;
  disputed: boolean;
  created: number;
};

export type Refund = {
  id: string;
  intent: string;
  charge: string;
  amount: number;
  currency: string;
  status: 'pending' | 'succeeded' | 'failed' | 'canceled' | 'requires_action';
  reason: string | null;
  metadata: Record<string, string>;
  created: number;
};

export type Dispute = {
  id: string;
  intent: string;
  charge: string;
  amount: number;
  currency: string;
  reason: string;
  status: 'needs_response';
  created: number;
};

/** An Event (https://docs.stripe.com/api/events/object), stored as the JSON Stripe would send. */
export type StripeEvent = {
  id: string;
  object: 'event';
  api_version: string;
  created: number;
  data: { object: Record<string, unknown>; previous_attributes?: Record<string, unknown> };
  livemode: false;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
  type: string;
};

/** What the current request carries into the events it causes. */
export type RequestContext = { requestId: string; idempotencyKey: string | null; apiVersion: string };

/** One operation's view: the state, its request, and how it records the events it causes. */
export type Ctx = {
  state: SimState;
  request: RequestContext;
  emit(type: string, object: Record<string, unknown>, previous?: Record<string, unknown>): void;
};

export type SimState = {
  seed: number;
  secretKey: string;
  /** Epoch ms. */
  clock: () => number;
  url: string;
  counters: Map<string, number>;
  intents: Map<string, Intent>;
  charges: Map<string, Charge>;
  refunds: Map<string, Refund>;
  disputes: Map<string, Dispute>;
  events: StripeEvent[];
  eventsById: Map<string, StripeEvent>;
};

/** The API version events carry when the request named none (the one stripe-node 23 pins). */
export const DEFAULT_API_VERSION = '2026-10-28.endive';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `length` base-62 characters that depend only on `input`. */
export function token(input: string, length = 24): string {
  const digest = createHash('sha256').update(input).digest();
  let out = '';
  for (let i = 0; out.length < length; i++) out += ALPHABET[digest[i % digest.length] % 62];
  return out;
}

/** The next deterministic id of a kind: `pi_…`, `ch_…`, `re_…`, `evt_…`, `req_…`. */
export function nextId(state: SimState, prefix: string): string {
  const n = (state.counters.get(prefix) ?? 0) + 1;
  state.counters.set(prefix, n);
  return `${prefix}_${token(`${state.seed}:${prefix}:${n}`, prefix === 'req' ? 14 : 24)}`;
}

/** Seconds since the epoch, as Stripe's `created` fields. */
export const nowSeconds = (state: SimState) => Math.floor(state.clock() / 1000);

export function createState(options: { seed: number; secretKey: string; clock: () => number }): SimState {
  return {
    ...options,
    url: '',
    counters: new Map(),
    intents: new Map(),
    charges: new Map(),
    refunds: new Map(),
    disputes: new Map(),
    events: [],
    eventsById: new Map(),
  };
}
