/**
 * Stripe's error responses (https://docs.stripe.com/api/errors): `{"error": {type, code, message,
 * param, decline_code, doc_url, …}}` with 400 (invalid request, idempotency), 401 (no valid key),
 * 402 (card declined), 404 (no such object), 500 (api_error). stripe-node turns them into
 * StripeInvalidRequestError, StripeAuthenticationError, StripeCardError, StripeIdempotencyError
 * and StripeAPIError by status and type.
 */

export type StripeErrorBody = {
  type: 'api_error' | 'card_error' | 'idempotency_error' | 'invalid_request_error';
  message: string;
  code?: string;
  decline_code?: string;
  param?: string;
  doc_url?: string;
  charge?: string;
  payment_intent?: Record<string, unknown>;
  payment_method?: Record<string, unknown>;
  request_log_url?: string;
};

/**
 * An error answer. `saved` says whether the idempotency layer keeps it: Stripe saves a result only
 * once the endpoint began executing, so parameter validation failures are not saved and a retry
 * with the same key runs again (https://docs.stripe.com/api/idempotent_requests).
 */
export class StripeApiError extends Error {
  readonly status: number;
  readonly body: StripeErrorBody;
  readonly saved: boolean;
  constructor(status: number, body: StripeErrorBody, saved: boolean) {
    super(body.message);
    this.name = 'StripeApiError';
    this.status = status;
    this.body = body;
    this.saved = saved;
  }
}

const docUrl = (code: string) => `https://docs.stripe.com/error-codes/${code.replace(/_/g, '-')}`;

/** A missing or malformed parameter (never saved by the idempotency layer). */
export function invalidParam(
  param: string,
  message: string,
  code = 'parameter_invalid_empty',
): StripeApiError {
  return new StripeApiError(
    400,
    { type: 'invalid_request_error', code, param, message, doc_url: docUrl(code) },
    false,
  );
}

/** An unknown parameter, as Stripe rejects them. */
export function unknownParam(param: string): StripeApiError {
  return new StripeApiError(
    400,
    {
      type: 'invalid_request_error',
      code: 'parameter_unknown',
      param,
      message: `Received unknown parameter: ${param}`,
      doc_url: docUrl('parameter_unknown'),
    },
    false,
  );
}

/** `No such payment_intent: 'pi_…'` (404 resource_missing). */
export function noSuch(kind: string, id: string, param: string): StripeApiError {
  return new StripeApiError(
    404,
    {
      type: 'invalid_request_error',
      code: 'resource_missing',
      param,
      message: `No such ${kind}: '${id}'`,
      doc_url: docUrl('resource_missing'),
    },
    false,
  );
}

/** An operation the intent's status does not allow (saved: the endpoint ran). */
export function unexpectedState(
  intent: Record<string, unknown>,
  message: string,
  code = 'payment_intent_unexpected_state',
): StripeApiError {
  return new StripeApiError(
    400,
    { type: 'invalid_request_error', code, message, doc_url: docUrl(code), payment_intent: intent },
    true,
  );
}

/** Any other invalid request that the endpoint decided on (saved). */
export function invalidRequest(
  message: string,
  options: { code?: string; param?: string } = {},
): StripeApiError {
  return new StripeApiError(
    400,
    {
      type: 'invalid_request_error',
      message,
      ...(options.code ? { code: options.code, doc_url: docUrl(options.code) } : {}),
      ...(options.param ? { param: options.param } : {}),
    },
    true,
  );
}

/** 401: no key, or not this account's key. The key is never echoed. */
export function authenticationFailed(given: boolean): StripeApiError {
  return new StripeApiError(
    401,
    {
      type: 'invalid_request_error',
      message: given
        ? 'Invalid API Key provided. You can find your API keys at https://dashboard.stripe.com/apikeys.'
        : 'You did not provide an API key. You need to provide your API key in the Authorization header, ' +
          "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
    },
    false,
  );
}

/** Same idempotency key, other endpoint or parameters (400 idempotency_error). */
export function idempotencyMismatch(key: string): StripeApiError {
  return new StripeApiError(
    400,
    {
      type: 'idempotency_error',
      message:
        'Keys for idempotent requests can only be used with the same parameters they were first used with. ' +
        `Try using a key other than '${key}' if you meant to execute a different request.`,
    },
    false,
  );
}

/** The injected 500 (nothing ran, nothing saved). */
export function apiError(): StripeApiError {
  return new StripeApiError(
    500,
    { type: 'api_error', message: 'An unknown error occurred (injected by the Stripe simulator).' },
    false,
  );
}

/** A card decline: 402 card_error with the intent and payment method attached (saved). */
export function cardDeclined(
  error: { code: string; decline_code?: string; message: string; charge?: string },
  intent: Record<string, unknown>,
  paymentMethod: Record<string, unknown>,
): StripeApiError {
  return new StripeApiError(
    402,
    {
      type: 'card_error',
      code: error.code,
      ...(error.decline_code ? { decline_code: error.decline_code } : {}),
      message: error.message,
      doc_url: docUrl(error.code),
      ...(error.charge ? { charge: error.charge } : {}),
      payment_intent: intent,
      payment_method: paymentMethod,
    },
    true,
  );
}
