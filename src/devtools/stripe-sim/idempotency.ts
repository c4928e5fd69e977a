/**
 * Stripe's idempotency layer (https://docs.stripe.com/api/idempotent_requests,
 * https://docs.stripe.com/idempotency): a POST with an `Idempotency-Key` saves the status code and
 * body of the first execution; a later request with the same key and the same endpoint and
 * parameters gets that saved response (header `Idempotent-Replayed: true`), and one with other
 * parameters gets a 400 `idempotency_error`. Results are saved only once the endpoint began
 * executing: a request refused by validation (or by the simulator's injected 500, which stands for
 * a failure in front of the API) saves nothing, so its retry runs. Keys are at most 255 characters.
 */
import { invalidParam } from './errors.ts';

export type SavedResponse = {
  fingerprint: string;
  status: number;
  body: string;
  requestId: string;
};

export type IdempotencyStore = Map<string, SavedResponse>;

export const MAX_KEY_LENGTH = 255;

/** Keys sorted at every level, so the same parameters always give the same text. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** What must match for a replay: the endpoint (method and concrete path) and the parameters. */
export function fingerprint(method: string, path: string, params: unknown): string {
  return `${method} ${path}\n${canonical(params)}`;
}

/** Validates the header; null when the request carries none. */
export function idempotencyKeyOf(header: string | string[] | undefined): string | null {
  if (header === undefined) return null;
  const key = Array.isArray(header) ? header[0] : header;
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw invalidParam(
      'Idempotency-Key',
      `Idempotency-Key must be between 1 and ${MAX_KEY_LENGTH} characters long.`,
      'parameter_invalid_string',
    );
  }
  return key;
}
