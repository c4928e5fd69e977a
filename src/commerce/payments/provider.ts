/*
 * The payment provider contract (issue 12). Checkout, `complete(cart)`, the capture outbox, refunds
 * and the reconciliation sweeper talk to payments only through this interface; `stripe` (the
 * official SDK, pointed at Stripe or at the Stripe simulator) and `test` (offline, Stripe's test
 * payment-method ids) implement it. Shapes follow Stripe's PaymentIntent, in integer minor units.
 */

/** Stripe's PaymentIntent statuses (https://docs.stripe.com/payments/paymentintents/lifecycle). */
export type PaymentIntentStatus =
  | 'requires_payment_method'
  | 'requires_confirmation'
  | 'requires_action'
  | 'processing'
  | 'requires_capture'
  | 'canceled'
  | 'succeeded';

/** A payment's state as the provider reports it now (never taken from a request or event body). */
export type PaymentIntentState = {
  id: string;
  status: PaymentIntentStatus;
  /** Minor units. */
  amount: number;
  amountCapturable: number;
  amountReceived: number;
  /** Lower-case ISO 4217, as Stripe writes it. */
  currency: string;
  /** Handed to the browser (Stripe.js); never logged. */
  clientSecret: string | null;
  captureMethod: 'automatic' | 'manual';
  metadata: Record<string, string>;
  /** The last failed attempt (a decline), if any. */
  lastError: { code: string | null; declineCode: string | null; message: string } | null;
  /** The latest charge id, once there is one (refunds and disputes name it). */
  latestCharge: string | null;
};

export type RefundState = {
  id: string;
  paymentIntentId: string;
  amount: number;
  status: 'pending' | 'succeeded' | 'failed' | 'canceled' | 'requires_action';
};

/** A provider error: `kind` tells the caller whether retrying with the same idempotency key can help. */
export class PaymentProviderError extends Error {
  readonly kind: 'declined' | 'transient' | 'invalid' | 'idempotency';
  readonly code: string | null;
  readonly declineCode: string | null;
  constructor(
    kind: PaymentProviderError['kind'],
    message: string,
    options: { code?: string | null; declineCode?: string | null; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'PaymentProviderError';
    this.kind = kind;
    this.code = options.code ?? null;
    this.declineCode = options.declineCode ?? null;
  }
}

export type CreateIntentInput = {
  /** Derived from the cart, so a retried create never makes a second PaymentIntent. */
  idempotencyKey: string;
  amount: number;
  currency: string;
  captureMethod: 'automatic' | 'manual';
  metadata: Record<string, string>;
  /** Confirm at once with this payment method (e.g. `pm_card_visa`). */
  paymentMethod?: string;
};

export interface PaymentProvider {
  readonly name: 'stripe' | 'test';
  createIntent(input: CreateIntentInput): Promise<PaymentIntentState>;
  /** Amount/metadata change while the intent is not yet confirmed (never creates a second one). */
  updateIntent(
    id: string,
    change: { amount?: number; metadata?: Record<string, string> },
    idempotencyKey: string,
  ): Promise<PaymentIntentState>;
  retrieveIntent(id: string): Promise<PaymentIntentState>;
  confirmIntent(id: string, paymentMethod: string, idempotencyKey: string): Promise<PaymentIntentState>;
  /** At most one capture per intent; a retry with the same key returns the same result. */
  captureIntent(id: string, idempotencyKey: string, amount?: number): Promise<PaymentIntentState>;
  cancelIntent(id: string, idempotencyKey: string): Promise<PaymentIntentState>;
  refund(paymentIntentId: string, amount: number, idempotencyKey: string): Promise<RefundState>;
}
