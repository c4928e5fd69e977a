import type { Database } from '../platform/db/client.ts';
import type { QueryCost } from './admin-client.ts';
import type { Pacer } from './paced-client.ts';

/*
 * The shop-wide GraphQL cost budget, shared through the database (issue 7: "never exceeds the
 * shop's budget even with many workers"). Every paced request reserves its expected cost with one
 * atomic UPDATE on the shop's row: the row holds the points available at `at` after all
 * reservations, refilled at `restore_rate` per second up to `maximum`. A reservation may drive the
 * balance negative; the caller then sleeps until its share has been restored, so concurrent
 * workers (in any number of processes) queue behind each other instead of racing into THROTTLED.
 * `pending` is what reservations still in flight will cost. After each answer the balance is our
 * own accounting (refill since `at`, plus the refund of reserved-but-not-charged points), lowered
 * to what Shopify reported minus `pending` when that is less (other spenders, THROTTLED). A report
 * only ever lowers the balance: answers settle out of order under load, and a report taken before
 * another worker's request was charged would otherwise hand that worker's points out again.
 */

/** Shopify's most conservative published bucket, used until the shop's first answer tells us. */
const DEFAULT_BUCKET = { maximum: 1000, restoreRate: 50 };
/** Reservations older than this without an answer are forgotten (their worker died mid-request). */
const PENDING_TTL_SECONDS = 120;

/** A `Pacer` backed by the `shopify_rate_budgets` table. */
export function createRateBudget(deps: {
  database: Database;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}): Pacer & { throttledCount(shop: string): Promise<number> } {
  const { database } = deps;
  const sleep =
    deps.sleep ??
    ((ms: number, signal?: AbortSignal) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, ms);
        signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(signal.reason);
        });
      }));

  return {
    async reserve(shop, cost, signal) {
      // A shop never seen: this request goes alone (balance 0 after it) and its answer tells us
      // the real bucket; concurrent first requests queue behind it instead of guessing.
      const { rows } = await database.query<{ available: number; restore_rate: number }>(
        `INSERT INTO shopify_rate_budgets AS b (shop_domain, available, maximum, restore_rate, at, pending)
         VALUES ($1, 0, $3, $4, clock_timestamp(), $2)
         ON CONFLICT (shop_domain) DO UPDATE SET
                available = least(b.maximum,
                                  b.available + extract(epoch FROM clock_timestamp() - b.at) * b.restore_rate)
                            - least($2::float8, b.maximum),
                pending = CASE WHEN b.at < clock_timestamp() - make_interval(secs => $5) THEN 0 ELSE b.pending END
                          + least($2::float8, b.maximum),
                at = clock_timestamp()
         RETURNING available, restore_rate`,
        [shop, cost, DEFAULT_BUCKET.maximum, DEFAULT_BUCKET.restoreRate, PENDING_TTL_SECONDS],
      );
      const { available, restore_rate } = rows[0];
      if (available < 0) await sleep(Math.ceil((-available / restore_rate) * 1000), signal);
    },

    async settle(shop, outcome) {
      // Our accounting refunds what was reserved but not charged; Shopify's report, minus what is
      // still on its way to it, can only lower that (see the comment at the top).
      const t: QueryCost['throttleStatus'] | undefined = outcome.cost?.throttleStatus;
      await database.query(
        `UPDATE shopify_rate_budgets AS b SET
                pending = greatest(0, b.pending - $2::float8),
                available = CASE
                  -- A bucket size we did not know (the shop's first answer, a plan change): take the report.
                  WHEN $5::float8 IS DISTINCT FROM b.maximum AND $4::float8 IS NOT NULL THEN
                    least($5::float8, $4::float8 - greatest(0, b.pending - $2::float8))
                  ELSE least(
                    least(b.maximum, b.available + extract(epoch FROM clock_timestamp() - b.at) * b.restore_rate)
                      + $2::float8 - $3::float8,
                    coalesce($4::float8 - greatest(0, b.pending - $2::float8), b.maximum))
                END,
                maximum = coalesce($5::float8, b.maximum),
                restore_rate = coalesce($6::float8, b.restore_rate),
                at = clock_timestamp(),
                throttled_count = b.throttled_count + $7::int
          WHERE shop_domain = $1`,
        [
          shop,
          outcome.reserved,
          outcome.charged,
          t?.currentlyAvailable ?? null,
          t?.maximumAvailable ?? null,
          t?.restoreRate ?? null,
          outcome.throttled ? 1 : 0,
        ],
      );
    },

    /** THROTTLED answers seen for a shop (status page, benchmark). */
    async throttledCount(shop) {
      const { rows } = await database.query<{ n: string }>(
        'SELECT throttled_count AS n FROM shopify_rate_budgets WHERE shop_domain = $1',
        [shop],
      );
      return Number(rows[0]?.n ?? 0);
    },
  };
}

/** The shared budget of one process. */
export type RateBudget = ReturnType<typeof createRateBudget>;
