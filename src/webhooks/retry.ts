import { isPermanent, type WebhookEvent } from './handler-types.ts';

/** What became of one event in an attempt. */
export type Outcome = {
  event: WebhookEvent;
  /** Final or retry state of the row. */
  status: 'processed' | 'duplicate' | 'skipped' | 'pending' | 'dead';
  error: string | null;
  runAt: Date | null;
};

/** The retry policy: attempts before the dead-letter queue, and the backoff between them. */
export type RetryPolicy = {
  maxAttempts: number;
  /** First retry delay; doubled per attempt (±20 % jitter), capped by `retryMaxMs`. */
  retryBaseMs: number;
  retryMaxMs: number;
};

export const errorText = (error: unknown) =>
  (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 2000);

/** Delay before retry number `attempt` (1-based): exponential, jittered, capped. */
export function backoffMs(policy: RetryPolicy, attempt: number): number {
  const base = Math.min(policy.retryBaseMs * 2 ** (attempt - 1), policy.retryMaxMs);
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/** A failed attempt: retried later, or dead-lettered when permanent or out of attempts. */
export function failure(policy: RetryPolicy, event: WebhookEvent, error: unknown): Outcome {
  const final = isPermanent(error) || event.attempt >= policy.maxAttempts;
  return {
    event,
    status: final ? 'dead' : 'pending',
    error: errorText(error),
    runAt: final ? null : new Date(Date.now() + backoffMs(policy, event.attempt)),
  };
}
