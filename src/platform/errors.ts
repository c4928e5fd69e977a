/**
 * One error type for the whole product. Routes and modules throw these; the HTTP error handler
 * turns any of them into the single envelope `{"error":{code,message,details,requestId}}`.
 */
export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details?: Record<string, unknown>;
  /** Extra response headers (e.g. Retry-After on 429/503). */
  readonly headers?: Record<string, string>;

  constructor(
    status: number,
    code: string,
    message: string,
    options: { details?: Record<string, unknown>; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.status = status;
    this.code = code;
    this.details = options.details;
    this.headers = options.headers;
  }
}

/** True for our own errors (as opposed to bugs and library failures). */
export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}

const upperSnake = (name: string) =>
  name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .toUpperCase();

/** `notFound('cart', id)` → 404 CART_NOT_FOUND. */
export function notFound(resource: string, id?: string | number): AppError {
  return new AppError(404, `${upperSnake(resource)}_NOT_FOUND`, `${resource} not found`, {
    details: id === undefined ? undefined : { id: String(id) },
  });
}

/** 400: the request is malformed in a way the schema cannot express. */
export function badRequest(code: string, message: string, details?: Record<string, unknown>): AppError {
  return new AppError(400, code, message, { details });
}

/** 401: no or bad credentials. */
export function unauthorized(message = 'Authentication required', code = 'UNAUTHENTICATED'): AppError {
  return new AppError(401, code, message);
}

/** 403: authenticated, but not allowed. */
export function forbidden(message = 'Not allowed', code = 'FORBIDDEN'): AppError {
  return new AppError(403, code, message);
}

/** 409: conflicts with the current state (duplicates, wrong state transitions). */
export function conflict(code: string, message: string, details?: Record<string, unknown>): AppError {
  return new AppError(409, code, message, { details });
}

/** 422: well-formed but semantically invalid input. */
export function unprocessable(code: string, message: string, details?: Record<string, unknown>): AppError {
  return new AppError(422, code, message, { details });
}

/** 429 with Retry-After (seconds, rounded up). */
export function tooManyRequests(retryAfterSeconds: number, message = 'Too many requests'): AppError {
  const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
  return new AppError(429, 'RATE_LIMITED', message, {
    details: { retryAfterSeconds: seconds },
    headers: { 'retry-after': String(seconds) },
  });
}

/** 502: an upstream (Shopify, Stripe) answered wrongly. */
export function badGateway(code: string, message: string, details?: Record<string, unknown>): AppError {
  return new AppError(502, code, message, { details });
}

/** 503: a dependency is down or a feature is not configured. */
export function unavailable(code: string, message: string, retryAfterSeconds?: number): AppError {
  return new AppError(503, code, message, {
    headers: retryAfterSeconds ? { 'retry-after': String(Math.ceil(retryAfterSeconds)) } : undefined,
  });
}
