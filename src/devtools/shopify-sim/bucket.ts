/**
 * The leaky bucket per shop and app: the plan sets the restore rate, the bucket holds 20 seconds of
 * it (Standard 2,000 pts at 100/s, Advanced 4,000 at 200/s, Plus 20,000 at 1,000/s). A query needs
 * its requested cost available up front; afterwards the difference to the actual cost is refunded.
 * https://shopify.dev/docs/api/usage/rate-limits#graphql-admin-api-rate-limits
 */
import type { Plan } from './shops.ts';

/** Restore rate (points per second) by plan. */
export const RESTORE_RATE: Record<Plan, number> = { standard: 100, advanced: 200, plus: 1000 };
/** Bucket size by plan. */
export const BUCKET_SIZE: Record<Plan, number> = { standard: 2000, advanced: 4000, plus: 20000 };

/** A bucket's state; `available` is as of `at` (epoch ms). */
export type Bucket = { max: number; rate: number; available: number; at: number };

/** Shopify's throttleStatus object. */
export type ThrottleStatus = { maximumAvailable: number; currentlyAvailable: number; restoreRate: number };

/** A full bucket for a plan. */
export function createBucket(plan: Plan, now: number): Bucket {
  return { max: BUCKET_SIZE[plan], rate: RESTORE_RATE[plan], available: BUCKET_SIZE[plan], at: now };
}

/** Leaks time into the bucket: capacity comes back at `rate` points per second, up to `max`. */
export function refill(b: Bucket, now: number): void {
  if (now > b.at) {
    b.available = Math.min(b.max, b.available + ((now - b.at) / 1000) * b.rate);
    b.at = now;
  }
}

/** Takes `cost` points if available; false means THROTTLED (nothing taken). */
export function take(b: Bucket, cost: number, now: number): boolean {
  refill(b, now);
  if (b.available < cost) return false;
  b.available -= cost;
  return true;
}

/** Gives back points (requested minus actual cost). */
export function refund(b: Bucket, points: number): void {
  b.available = Math.min(b.max, b.available + Math.max(0, points));
}

/** The throttleStatus Shopify reports; currentlyAvailable is whole points. */
export function throttleStatus(b: Bucket): ThrottleStatus {
  return { maximumAvailable: b.max, currentlyAvailable: Math.floor(b.available), restoreRate: b.rate };
}
