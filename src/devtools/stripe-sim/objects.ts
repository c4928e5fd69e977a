/**
 * The JSON shapes of Stripe's objects as the API returns them (fields as in the API reference):
 * PaymentIntent https://docs.stripe.com/api/payment_intents/object, Charge
 * https://docs.stripe.com/api/charges/object, Refund https://docs.stripe.com/api/refunds/object,
 * Dispute https://docs.stripe.com/api/disputes/object. Fields the simulator has no notion of
 * (customers, Connect, shipping…) are present with Stripe's null/empty values so SDK types hold.
 */
import { chargeCardDetails } from './payment-methods.ts';
import type { Charge, Dispute, Intent, Refund, SimState } from './state.ts';

export function intentJson(state: SimState, pi: Intent): Record<string, unknown> {
  return {
    id: pi.id,
    object: 'payment_intent',
    allowed_payment_method_types: ['card'],
    amount: pi.amount,
    amount_capturable: pi.amountCapturable,
    amount_details: { tip: {} },
    amount_received: pi.amountReceived,
    application: null,
    application_fee_amount: null,
    automatic_payment_methods: null,
    canceled_at: pi.canceledAt,
    cancellation_reason: pi.cancellationReason,
    capture_method: pi.captureMethod,
    client_secret: pi.clientSecret,
    confirmation_method: 'automatic',
    created: pi.created,
    currency: pi.currency,
    customer: null,
    customer_account: null,
    description: pi.description,
    excluded_payment_method_types: null,
    last_payment_error: pi.lastPaymentError,
    latest_charge: pi.latestCharge,
    livemode: false,
    managed_payments: null,
    metadata: { ...pi.metadata },
    next_action: pi.status === 'requires_action' ? nextAction(state, pi) : null,
    on_behalf_of: null,
    payment_method: pi.paymentMethod,
    payment_method_configuration_details: null,
    payment_method_options: {
      card: { installments: null, mandate_options: null, network: null, request_three_d_secure: 'automatic' },
    },
    payment_method_types: ['card'],
    payment_record: null,
    processing: null,
    receipt_email: pi.receiptEmail,
    review: null,
    setup_future_usage: null,
    shipping: null,
    source: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: pi.status,
    transfer_data: null,
    transfer_group: null,
  };
}

/**
 * Stripe.js handles `use_stripe_sdk`; the simulator names its control route so a test (or the demo)
 * can play the cardholder: POST it with {"outcome": "succeed" | "fail"}.
 */
function nextAction(state: SimState, pi: Intent): Record<string, unknown> {
  return {
    type: 'use_stripe_sdk',
    use_stripe_sdk: {
      type: 'three_d_secure_redirect',
      stripe_js: `${state.url}/_sim/payment_intents/${pi.id}/authenticate`,
      source: `src_${pi.id.slice(3)}`,
    },
  };
}

export function chargeJson(state: SimState, ch: Charge): Record<string, unknown> {
  const refunds = [...state.refunds.values()].filter((r) => r.charge === ch.id);
  return {
    id: ch.id,
    object: 'charge',
    amount: ch.amount,
    amount_captured: ch.amountCaptured,
    amount_refunded: ch.amountRefunded,
    application: null,
    application_fee: null,
    application_fee_amount: null,
    balance_transaction: ch.captured ? `txn_${ch.id.slice(3)}` : null,
    billing_details: { address: null, email: null, name: null, phone: null },
    calculated_statement_descriptor: 'STOREOPS SIM',
    captured: ch.captured,
    created: ch.created,
    currency: ch.currency,
    customer: null,
    description: null,
    disputed: ch.disputed,
    failure_balance_transaction: null,
    failure_code: ch.failureCode,
    failure_message: ch.failureMessage,
    fraud_details: {},
    livemode: false,
    metadata: { ...ch.metadata },
    on_behalf_of: null,
    outcome:
      ch.status === 'failed'
        ? {
            network_status: 'declined_by_network',
            reason: ch.failureCode,
            risk_level: 'normal',
            seller_message: 'The bank did not return any further details with this decline.',
            type: 'issuer_declined',
          }
        : {
            network_status: 'approved_by_network',
            reason: null,
            risk_level: 'normal',
            seller_message: 'Payment complete.',
            type: 'authorized',
          },
    paid: ch.status === 'succeeded',
    payment_intent: ch.intent,
    payment_method: ch.paymentMethod,
    payment_method_details: chargeCardDetails(ch.paymentMethod),
    receipt_email: null,
    receipt_url: null,
    refunded: ch.amountCaptured > 0 && ch.amountRefunded >= ch.amountCaptured,
    refunds: {
      object: 'list',
      data: refunds.map((r) => refundJson(r)),
      has_more: false,
      total_count: refunds.length,
      url: `/v1/charges/${ch.id}/refunds`,
    },
    review: null,
    shipping: null,
    source_transfer: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: ch.status,
    transfer_data: null,
    transfer_group: null,
  };
}

export function refundJson(re: Refund): Record<string, unknown> {
  return {
    id: re.id,
    object: 'refund',
    amount: re.amount,
    balance_transaction: re.status === 'succeeded' ? `txn_${re.id.slice(3)}` : null,
    charge: re.charge,
    created: re.created,
    currency: re.currency,
    destination_details: { card: { type: 'refund' }, type: 'card' },
    metadata: { ...re.metadata },
    payment_intent: re.intent,
    reason: re.reason,
    receipt_number: null,
    source_transfer_reversal: null,
    status: re.status,
    transfer_reversal: null,
  };
}

export function disputeJson(dp: Dispute): Record<string, unknown> {
  return {
    id: dp.id,
    object: 'dispute',
    amount: dp.amount,
    balance_transactions: [],
    charge: dp.charge,
    created: dp.created,
    currency: dp.currency,
    evidence_details: {
      due_by: dp.created + 7 * 86_400,
      has_evidence: false,
      past_due: false,
      submission_count: 0,
    },
    is_charge_refundable: false,
    livemode: false,
    // Disputes do not inherit the payment's metadata on Stripe; handlers look up `payment_intent`.
    metadata: {},
    payment_intent: dp.intent,
    reason: dp.reason,
    status: dp.status,
  };
}
