/** Switchable fault injection, for the whole simulator or one shop (issue 3 "Chaos"). */
import { z } from 'zod';
import { createRng, type Rng } from './rng.ts';

/** Rates are probabilities in [0, 1]; 0 turns a fault off. */
export const chaosSchema = z
  .object({
    /** Admin API answers 429 with Retry-After. */
    http429Rate: z.number().min(0).max(1),
    /** Seconds sent in Retry-After. */
    retryAfterSeconds: z.number().min(0).max(60),
    /** Admin API answers 502/503. */
    http5xxRate: z.number().min(0).max(1),
    /** Admin API answers late. */
    slowRate: z.number().min(0).max(1),
    /** How late, in milliseconds. */
    slowMs: z.number().int().min(0).max(30_000),
    /** GraphQL answers THROTTLED even when the bucket has room. */
    throttleRate: z.number().min(0).max(1),
    /** A webhook is delivered twice (same X-Shopify-Webhook-Id). */
    webhookDuplicateRate: z.number().min(0).max(1),
    /** A webhook is held back so later events overtake it. */
    webhookOutOfOrderRate: z.number().min(0).max(1),
    /** How long an out-of-order webhook is held back, in milliseconds. */
    webhookOutOfOrderDelayMs: z.number().int().min(0).max(60_000),
    /** A webhook is never sent (for reconcile tests). */
    webhookDropRate: z.number().min(0).max(1),
  })
  .strict();

/** Full chaos settings. */
export type ChaosOptions = z.infer<typeof chaosSchema>;

/** A partial update of chaos settings, as the control API accepts. */
export const chaosPatchSchema = chaosSchema.partial();

/** Everything off. */
export const NO_CHAOS: ChaosOptions = {
  http429Rate: 0,
  retryAfterSeconds: 2,
  http5xxRate: 0,
  slowRate: 0,
  slowMs: 2000,
  throttleRate: 0,
  webhookDuplicateRate: 0,
  webhookOutOfOrderRate: 0,
  webhookOutOfOrderDelayMs: 500,
  webhookDropRate: 0,
};

/** Simulator-wide chaos plus per-shop overrides, drawing from a seeded generator. */
export type Chaos = {
  global: ChaosOptions;
  perShop: Map<string, Partial<ChaosOptions>>;
  rng: Rng;
};

/** Creates chaos state, all faults off. */
export function createChaos(seed: number): Chaos {
  return { global: { ...NO_CHAOS }, perShop: new Map(), rng: createRng(seed ^ 0x5eed) };
}

/** Effective settings for a shop. */
export function chaosFor(chaos: Chaos, shop: string | null): ChaosOptions {
  const override = shop ? chaos.perShop.get(shop) : undefined;
  return override ? { ...chaos.global, ...override } : chaos.global;
}

/** Rolls a fault: true with probability `rate` (exact 0 and 1 never draw, so tests are exact). */
export function roll(chaos: Chaos, rate: number): boolean {
  if (rate <= 0) return false;
  if (rate >= 1) return true;
  return chaos.rng.next() < rate;
}
