/**
 * The `stripe` payment provider (issue 12): PaymentProvider over the official stripe-node SDK,
 * pointed at api.stripe.com or, through `host`/`port`/`protocol`, at the Stripe simulator.
 *
 * - Every mutating call carries the caller's idempotency key (Stripe saves the first result per
 *   key and replays it, https://docs.stripe.com/api/idempotent_requests), so a retry after a lost
 *   answer never charges, captures or refunds twice.
 * - Stripe's errors (https://docs.stripe.com/api/errors) become PaymentProviderError kinds:
 *   card_error → `declined`; connection failures, timeouts, 409 and 5xx → `transient` (retry with
 *   the same key); idempotency_error → `idempotency`; invalid requests, unknown objects and
 *   authentication → `invalid`.
 * - Nothing here logs; messages never carry the secret key or a client secret.
 */
import Stripe from 'stripe';
import type { Config } from '../../platform/config.ts';
import {
  type CreateIntentInput,
  type PaymentIntentState,
  type PaymentIntentStatus,
  type PaymentProvider,
  PaymentProviderError,
  type RefundState,
} from './provider.ts';

export type StripeProviderOptions = {
  secretKey: string;
  /** Default api.stripe.com. */
  host?: string;
  port?: number;
  protocol?: 'https' | 'http';
  /** Per-call timeout in ms; a timed-out call is `transient`. */
  timeoutMs?: number;
  /** stripe-node's own retries (each with the same idempotency key). */
  maxNetworkRetries?: number;
};

/**
 * A decline: the intent exists (status requires_payment_method, with `lastError`). The contract's
 * PaymentProviderError has no room for it, so a `declined` error from this provider carries it.
 */
export class PaymentDeclinedError extends PaymentProviderError {
  readonly intent: PaymentIntentState | null;
  constructor(
    message: string,
    options: {
      code?: string | null;
      declineCode?: string | null;
      cause?: unknown;
      intent: PaymentIntentState | null;
    },
  ) {
    super('declined', message, options);
    this.intent = options.intent;
  }
}

const STATUSES: readonly PaymentIntentStatus[] = [
  'requires_payment_method',
  'requires_confirmation',
  'requires_action',
  'processing',
  'requires_capture',
  'canceled',
  'succeeded',
];

const idOf = (value: string | { id: string } | null | undefined) =>
  value == null ? null : typeof value === 'string' ? value : value.id;

/** Stripe's PaymentIntent as the contract's state (minor units, lower-case currency). */
export function toIntentState(pi: Stripe.PaymentIntent): PaymentIntentState {
  if (!STATUSES.includes(pi.status as PaymentIntentStatus)) {
    throw new PaymentProviderError(
      'invalid',
      `Stripe returned an unknown PaymentIntent status: ${pi.status}`,
    );
  }
  const error = pi.last_payment_error;
  return {
    id: pi.id,
    status: pi.status as PaymentIntentStatus,
    amount: pi.amount,
    amountCapturable: pi.amount_capturable,
    amountReceived: pi.amount_received,
    currency: pi.currency,
    clientSecret: pi.client_secret,
    captureMethod: pi.capture_method === 'manual' ? 'manual' : 'automatic',
    metadata: { ...(pi.metadata ?? {}) },
    lastError: error
      ? { code: error.code ?? null, declineCode: error.decline_code ?? null, message: error.message ?? '' }
      : null,
    latestCharge: idOf(pi.latest_charge as string | { id: string } | null),
  };
}

function toRefundState(refund: Stripe.Refund): RefundState {
  return {
    id: refund.id,
    paymentIntentId: idOf(refund.payment_intent as string | { id: string } | null) ?? '',
    amount: refund.amount,
    status: (refund.status ?? 'pending') as RefundState['status'],
  };
}

/** Maps whatever stripe-node threw to a PaymentProviderError (see the file comment). */
export function toProviderError(error: unknown): PaymentProviderError {
  if (error instanceof PaymentProviderError) return error;
  if (!(error instanceof Stripe.errors.StripeError)) {
    return new PaymentProviderError('transient', 'The Stripe call failed unexpectedly', { cause: error });
  }
  const code = error.code ?? null;
  const declineCode = error.decline_code ?? null;
  const options = { code, declineCode, cause: error };
  if (error instanceof Stripe.errors.StripeCardError || error.rawType === 'card_error') {
    const raw = error.payment_intent as Stripe.PaymentIntent | undefined;
    let intent: PaymentIntentState | null = null;
    try {
      intent = raw?.id ? toIntentState(raw) : null;
    } catch {
      intent = null;
    }
    return new PaymentDeclinedError(error.message || 'The card was declined', { ...options, intent });
  }
  if (error instanceof Stripe.errors.StripeIdempotencyError) {
    return new PaymentProviderError('idempotency', error.message, options);
  }
  if (
    error instanceof Stripe.errors.StripeAuthenticationError ||
    error instanceof Stripe.errors.StripePermissionError
  ) {
    // Stripe's message names (part of) the key: never pass it on.
    return new PaymentProviderError('invalid', 'Stripe refused the secret key (STRIPE_SECRET_KEY)', {
      code,
      cause: undefined,
    });
  }
  const status = error.statusCode ?? 0;
  if (
    error instanceof Stripe.errors.StripeConnectionError ||
    error instanceof Stripe.errors.StripeRateLimitError ||
    error instanceof Stripe.errors.StripeAPIError ||
    status === 409 ||
    status >= 500
  ) {
    return new PaymentProviderError('transient', error.message || 'Stripe is unavailable', options);
  }
  return new PaymentProviderError('invalid', error.message, options);
}

async function call<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw toProviderError(error);
  }
}

/** The Stripe provider over one SDK client. */
export function createStripeProvider(options: StripeProviderOptions): PaymentProvider {
  const stripe = new Stripe(options.secretKey, {
    ...(options.host ? { host: options.host } : {}),
    ...(options.port ? { port: options.port } : {}),
    ...(options.protocol ? { protocol: options.protocol } : {}),
    timeout: options.timeoutMs ?? 10_000,
    maxNetworkRetries: options.maxNetworkRetries ?? 0,
    telemetry: false,
    appInfo: { name: 'StoreOps' },
  });
  const intents = stripe.paymentIntents;

  return {
    name: 'stripe',

    createIntent: (input: CreateIntentInput) =>
      call(async () => {
        const pi = await intents.create(
          {
            amount: input.amount,
            currency: input.currency.toLowerCase(),
            capture_method: input.captureMethod,
            metadata: input.metadata,
            allowed_payment_method_types: ['card'],
            ...(input.paymentMethod ? { payment_method: input.paymentMethod, confirm: true } : {}),
          },
          { idempotencyKey: input.idempotencyKey },
        );
        return toIntentState(pi);
      }),

    updateIntent: (id, change, idempotencyKey) =>
      call(async () => {
        const params: Stripe.PaymentIntentUpdateParams = {};
        if (change.amount !== undefined) params.amount = change.amount;
        if (change.metadata !== undefined) params.metadata = change.metadata;
        return toIntentState(await intents.update(id, params, { idempotencyKey }));
      }),

    retrieveIntent: (id) => call(async () => toIntentState(await intents.retrieve(id))),

    confirmIntent: (id, paymentMethod, idempotencyKey) =>
      call(async () =>
        toIntentState(await intents.confirm(id, { payment_method: paymentMethod }, { idempotencyKey })),
      ),

    captureIntent: (id, idempotencyKey, amount) =>
      call(async () =>
        toIntentState(
          await intents.capture(id, amount === undefined ? {} : { amount_to_capture: amount }, {
            idempotencyKey,
          }),
        ),
      ),

    cancelIntent: (id, idempotencyKey) =>
      call(async () => toIntentState(await intents.cancel(id, {}, { idempotencyKey }))),

    refund: (paymentIntentId, amount, idempotencyKey) =>
      call(async () =>
        toRefundState(
          await stripe.refunds.create({ payment_intent: paymentIntentId, amount }, { idempotencyKey }),
        ),
      ),
  };
}

/** The Stripe provider StoreOps is configured for, or null when STRIPE_SECRET_KEY is unset. */
export function stripeProviderFromConfig(
  config: Pick<
    Config,
    | 'STRIPE_SECRET_KEY'
    | 'STRIPE_API_HOST'
    | 'STRIPE_API_PORT'
    | 'STRIPE_API_PROTOCOL'
    | 'STRIPE_TIMEOUT_MS'
    | 'STRIPE_MAX_NETWORK_RETRIES'
  >,
): PaymentProvider | null {
  if (!config.STRIPE_SECRET_KEY) return null;
  return createStripeProvider({
    secretKey: config.STRIPE_SECRET_KEY,
    host: config.STRIPE_API_HOST,
    port: config.STRIPE_API_PORT,
    protocol: config.STRIPE_API_PROTOCOL,
    timeoutMs: config.STRIPE_TIMEOUT_MS,
    maxNetworkRetries: config.STRIPE_MAX_NETWORK_RETRIES,
  });
}
