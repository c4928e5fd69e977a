import { z } from 'zod';
import type { Database } from '../platform/db/client.ts';
import type { Jobs } from '../platform/jobs.ts';
import { SESSION_IDLE_SECONDS } from './policy.ts';

/**
 * Deletes what can no longer be used: ended sessions, dead refresh families, expired codes and
 * idle throttle counters (a day after they stopped mattering, so recent ones stay inspectable).
 * The audit log is kept.
 */
export async function cleanupExpired(database: Database): Promise<Record<string, number>> {
  const statements: Record<string, string> = {
    sessions: `DELETE FROM sessions WHERE expires_at < now() - interval '1 day'
                  OR revoked_at < now() - interval '1 day'
                  OR last_seen_at < now() - make_interval(secs => ${SESSION_IDLE_SECONDS}) - interval '1 day'`,
    refreshTokens: `DELETE FROM shopper_refresh_tokens WHERE family_expires_at < now() - interval '1 day'
                       OR revoked_at < now() - interval '1 day'
                       OR (used_at < now() - interval '1 day' AND expires_at < now())`,
    codes: `DELETE FROM shopper_codes WHERE expires_at < now() - interval '1 day'`,
    throttles: `DELETE FROM auth_throttles WHERE updated_at < now() - interval '1 day'
                   AND (blocked_until IS NULL OR blocked_until < now())`,
  };
  const removed: Record<string, number> = {};
  for (const [name, sql] of Object.entries(statements)) {
    const { rows } = await database.query<{ n: number }>(
      `WITH gone AS (${sql} RETURNING 1) SELECT count(*)::int AS n FROM gone`,
    );
    removed[name] = rows[0].n;
  }
  return removed;
}

/** Runs `cleanup` hourly (`identity.cleanup`, one runner at a time). */
export function defineCleanupJob(jobs: Jobs, cleanup: () => Promise<Record<string, number>>): void {
  jobs.define<Record<string, never>>({
    name: 'identity.cleanup',
    schema: z.object({}).strict() as z.ZodType<Record<string, never>>,
    policy: 'singleton',
    retryLimit: 2,
    cron: [{ schedule: '17 * * * *', data: {} }],
    handler: async () => cleanup(),
  });
}
