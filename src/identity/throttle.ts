import type { Database } from '../platform/db/client.ts';
import { tooManyRequests } from '../platform/errors.ts';
import type { ThrottleRule } from './policy.ts';

/**
 * Rate limits and lockouts kept in the database (`auth_throttles`), so every API process counts
 * the same attempts. Keys name what is counted: `login:acct:<email>`, `login:ip:<ip>`, … .
 */
export function createThrottle(database: Database) {
  return {
    /** Throws 429 with Retry-After while `key` is blocked; returns the current count otherwise. */
    async check(key: string): Promise<number> {
      const { rows } = await database.query<{ count: number; wait: number | null }>(
        `SELECT count,
                CASE WHEN blocked_until > now() THEN extract(epoch FROM blocked_until - now())::float8 END AS wait
           FROM auth_throttles WHERE key = $1`,
        [key],
      );
      const row = rows[0];
      if (row?.wait) throw tooManyRequests(row.wait, 'Too many attempts; try again later');
      return row?.count ?? 0;
    },

    /**
     * The login policy (docs/security.md): an account's lockout refuses every attempt on it, the
     * right password included; a blocked address refuses only accounts that have failed within
     * their window, so one address's attacker does not lock out a colleague behind the same
     * address who has not failed. Returns the account's failures in the window.
     */
    async checkLogin(accountKey: string, addressKey: string, accountRule: ThrottleRule): Promise<number> {
      const { rows } = await database.query<{
        key: string;
        count: number;
        current: boolean;
        wait: number | null;
      }>(
        `SELECT key, count, window_started_at > now() - make_interval(secs => $3::float8) AS current,
                CASE WHEN blocked_until > now() THEN extract(epoch FROM blocked_until - now())::float8 END AS wait
           FROM auth_throttles WHERE key IN ($1, $2)`,
        [accountKey, addressKey, accountRule.windowSeconds],
      );
      const account = rows.find((r) => r.key === accountKey);
      const address = rows.find((r) => r.key === addressKey);
      if (account?.wait) throw tooManyRequests(account.wait, 'Too many attempts; try again later');
      const failures = account?.current ? account.count : 0;
      if (address?.wait && failures > 0)
        throw tooManyRequests(address.wait, 'Too many attempts; try again later');
      return failures;
    },

    /**
     * Counts one event against `key`; once `rule.max` are reached within the window the key is
     * blocked, each block twice as long as the one before. Returns the seconds blocked, if any.
     */
    async record(key: string, rule: ThrottleRule): Promise<number | undefined> {
      const { rows } = await database.query<{ count: number }>(
        `INSERT INTO auth_throttles AS t (key, count, window_started_at, updated_at)
              VALUES ($1, 1, now(), now())
         ON CONFLICT (key) DO UPDATE SET
           count = CASE WHEN t.window_started_at < now() - make_interval(secs => $2::float8) THEN 1 ELSE t.count + 1 END,
           window_started_at = CASE WHEN t.window_started_at < now() - make_interval(secs => $2::float8)
                                    THEN now() ELSE t.window_started_at END,
           -- a key quiet for a day starts its backoff from scratch
           strikes = CASE WHEN t.updated_at < now() - interval '1 day' THEN 0 ELSE t.strikes END,
           updated_at = now()
         RETURNING count`,
        [key, rule.windowSeconds],
      );
      if (rows[0].count < rule.max) return undefined;
      const { rows: blocked } = await database.query<{ seconds: number }>(
        `UPDATE auth_throttles
            SET blocked_until = now() + make_interval(secs => least($2::float8 * power(2, strikes), $3::float8)),
                strikes = strikes + 1, count = 0, window_started_at = now()
          WHERE key = $1
          RETURNING extract(epoch FROM blocked_until - now())::float8 AS seconds`,
        [key, rule.blockSeconds, rule.maxBlockSeconds],
      );
      return blocked[0]?.seconds;
    },

    /** Counts one request against `key`: 429 with Retry-After while blocked, else recorded. */
    async limit(key: string, rule: ThrottleRule): Promise<void> {
      await this.check(key);
      await this.record(key, rule);
    },

    /** Forgets `key` (after a successful login). */
    async clear(key: string): Promise<void> {
      await database.query('DELETE FROM auth_throttles WHERE key = $1', [key]);
    },
  };
}

/** The throttle of one process. */
export type Throttle = ReturnType<typeof createThrottle>;
