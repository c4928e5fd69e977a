/**
 * Stripe's test PaymentMethods (https://docs.stripe.com/testing#cards and
 * https://docs.stripe.com/testing#declined-payments): each id decides what a confirmation does.
 * Decline codes and messages follow https://docs.stripe.com/declines/codes.
 */
import { token } from './state.ts';

export type Outcome =
  | { kind: 'succeed' }
  | { kind: 'decline'; code: string; declineCode: string; message: string }
  /** 3-D Secure: requires_action until the control API authenticates (or fails) it. */
  | { kind: 'authenticate' };

type TestCard = { brand: string; last4: string; funding: 'credit' | 'debit'; outcome: Outcome };

const ok = { kind: 'succeed' } as const;
const declined = (code: string, declineCode: string, message: string): Outcome => ({
  kind: 'decline',
  code,
  declineCode,
  message,
});

const CARDS: Record<string, TestCard> = {
  pm_card_visa: { brand: 'visa', last4: '4242', funding: 'credit', outcome: ok },
  pm_card_visa_debit: { brand: 'visa', last4: '5556', funding: 'debit', outcome: ok },
  pm_card_mastercard: { brand: 'mastercard', last4: '4444', funding: 'credit', outcome: ok },
  pm_card_amex: { brand: 'amex', last4: '8431', funding: 'credit', outcome: ok },
  pm_card_chargeDeclined: {
    brand: 'visa',
    last4: '0002',
    funding: 'credit',
    outcome: declined('card_declined', 'generic_decline', 'Your card was declined.'),
  },
  pm_card_chargeDeclinedInsufficientFunds: {
    brand: 'visa',
    last4: '9995',
    funding: 'credit',
    outcome: declined('card_declined', 'insufficient_funds', 'Your card has insufficient funds.'),
  },
  pm_card_chargeDeclinedExpiredCard: {
    brand: 'visa',
    last4: '0069',
    funding: 'credit',
    outcome: declined('expired_card', 'expired_card', 'Your card has expired.'),
  },
  pm_card_chargeDeclinedProcessingError: {
    brand: 'visa',
    last4: '0119',
    funding: 'credit',
    outcome: declined(
      'processing_error',
      'processing_error',
      'An error occurred while processing your card. Try again in a little bit.',
    ),
  },
  pm_card_authenticationRequired: {
    brand: 'visa',
    last4: '3184',
    funding: 'credit',
    outcome: { kind: 'authenticate' },
  },
  pm_card_threeDSecure2Required: {
    brand: 'visa',
    last4: '3220',
    funding: 'credit',
    outcome: { kind: 'authenticate' },
  },
};
// Short names people (and the issue) use for the same cards.
CARDS.pm_card_insufficientFunds = CARDS.pm_card_chargeDeclinedInsufficientFunds;
CARDS.pm_card_declined = CARDS.pm_card_chargeDeclined;

/** Every test payment method id the simulator knows. */
export const TEST_PAYMENT_METHODS = Object.keys(CARDS);

export const isKnownPaymentMethod = (id: string) => Object.hasOwn(CARDS, id);

export function outcomeOf(id: string): Outcome {
  return CARDS[id].outcome;
}

/** The PaymentMethod object (https://docs.stripe.com/api/payment_methods/object). */
export function paymentMethodJson(id: string, created: number): Record<string, unknown> {
  const card = CARDS[id];
  return {
    id,
    object: 'payment_method',
    billing_details: { address: null, email: null, name: null, phone: null },
    card: {
      brand: card.brand,
      checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: 'pass' },
      country: 'US',
      exp_month: 12,
      exp_year: 2034,
      fingerprint: token(`fingerprint:${id}`, 16),
      funding: card.funding,
      last4: card.last4,
      three_d_secure_usage: { supported: true },
    },
    created,
    customer: null,
    livemode: false,
    metadata: {},
    type: 'card',
  };
}

/** `payment_method_details.card` of a charge made with it. */
export function chargeCardDetails(id: string): Record<string, unknown> {
  const card = CARDS[id];
  return {
    type: 'card',
    card: {
      brand: card.brand,
      country: 'US',
      exp_month: 12,
      exp_year: 2034,
      funding: card.funding,
      last4: card.last4,
      network: card.brand,
    },
  };
}
