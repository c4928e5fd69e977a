/**
 * Load source: fires signed webhooks at a target at a steady rate, for benchmarks, and reports what
 * was sent, acknowledged (2xx) and failed, with latency percentiles. Loopback targets only, and
 * bounded in count and time, so it can never flood anything but this machine.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { z } from 'zod';
import { generateOrder } from './generate.ts';
import { orderToRest } from './rest.ts';
import { createShopState } from './shops.ts';
import { DEFAULT_WEBHOOK_API_VERSION, isLoopbackUrl, signWebhook, webhookHeaders } from './webhooks.ts';

/** Options of runWebhookLoad, validated with Zod. */
export const webhookLoadSchema = z
  .object({
    /** Where to POST; must be a loopback URL. */
    targetUrl: z
      .string()
      .url()
      .refine(isLoopbackUrl, 'targetUrl must be a loopback address (127.0.0.0/8, ::1, localhost)'),
    /** Signs the bodies, as Shopify does with the app's client secret. */
    apiSecret: z.string().min(1),
    shop: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*\.myshopify\.com$/)
      .default('load-test.myshopify.com'),
    topic: z.string().default('orders/create'),
    apiVersion: z.string().default(DEFAULT_WEBHOOK_API_VERSION),
    /** Deliveries per second to aim for. */
    rate: z.number().positive().max(100_000),
    /** Stop after this many deliveries… */
    count: z.number().int().positive().max(10_000_000).optional(),
    /** …or after this many seconds, whichever comes first (one of the two is required). */
    durationSeconds: z.number().positive().max(3600).optional(),
    /** Requests in flight at most. */
    concurrency: z.number().int().positive().max(1024).default(64),
    seed: z.number().int().default(1),
  })
  .refine((o) => o.count !== undefined || o.durationSeconds !== undefined, 'give count or durationSeconds');

/** Input of runWebhookLoad. */
export type WebhookLoadOptions = z.input<typeof webhookLoadSchema>;

/** What the load source observed. */
export type WebhookLoadReport = {
  sent: number;
  acknowledged: number;
  failed: number;
  durationMs: number;
  achievedRate: number;
  statusCounts: Record<string, number>;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
};

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Fires signed webhooks at a loopback target at a target rate and reports the outcome. */
export async function runWebhookLoad(input: WebhookLoadOptions): Promise<WebhookLoadReport> {
  const o = webhookLoadSchema.parse(input);
  const target = new URL(o.targetUrl);
  const pool = new Pool(target.origin, { connections: o.concurrency, pipelining: 1 });
  const shop = createShopState(
    o.shop,
    o.seed,
    { products: 50, customers: 200, orders: 256 },
    'standard',
    Date.now(),
  );
  // A ring of realistic bodies, signed once each; every delivery still gets its own ids.
  const bodies = Array.from({ length: 256 }, (_, i) => {
    const body = JSON.stringify(orderToRest(generateOrder(shop.ctx, i), null));
    return { body, hmac: signWebhook(o.apiSecret, body) };
  });
  const limit = o.count ?? Number.POSITIVE_INFINITY;
  const deadline = o.durationSeconds !== undefined ? o.durationSeconds * 1000 : Number.POSITIVE_INFINITY;
  const latencies: number[] = [];
  const statusCounts: Record<string, number> = {};
  let sent = 0;
  let acknowledged = 0;
  let failed = 0;
  let inFlight = 0;
  const started = performance.now();
  const path = `${target.pathname}${target.search}`;
  const fire = async (n: number) => {
    const { body, hmac } = bodies[n % bodies.length];
    const headers = webhookHeaders({
      topic: o.topic,
      hmac,
      shop: o.shop,
      apiVersion: o.apiVersion,
      webhookId: randomUUID(),
      eventId: randomUUID(),
      triggeredAt: new Date().toISOString(),
    });
    const t0 = performance.now();
    try {
      const res = await pool.request({
        path,
        method: 'POST',
        headers,
        body,
        headersTimeout: 5000,
        bodyTimeout: 5000,
      });
      await res.body.dump();
      statusCounts[res.statusCode] = (statusCounts[res.statusCode] ?? 0) + 1;
      if (res.statusCode >= 200 && res.statusCode < 300) acknowledged++;
      else failed++;
    } catch (err) {
      const key = err instanceof Error ? err.name : 'Error';
      statusCounts[key] = (statusCounts[key] ?? 0) + 1;
      failed++;
    } finally {
      if (latencies.length < 1_000_000) latencies.push(performance.now() - t0);
      inFlight--;
    }
  };
  const running = new Set<Promise<void>>();
  while (sent < limit) {
    const elapsed = performance.now() - started;
    if (elapsed >= deadline) break;
    const due = Math.min(limit, Math.floor((elapsed / 1000) * o.rate) + 1);
    while (sent < due && inFlight < o.concurrency) {
      inFlight++;
      const p = fire(sent++);
      running.add(p);
      p.finally(() => running.delete(p));
    }
    await sleep(sent < due ? 0 : Math.max(1, Math.min(20, 1000 / o.rate)));
  }
  await Promise.allSettled([...running]);
  const durationMs = performance.now() - started;
  await pool.close();
  latencies.sort((a, b) => a - b);
  const mean = latencies.reduce((s, v) => s + v, 0) / (latencies.length || 1);
  const round = (v: number) => Math.round(v * 100) / 100;
  return {
    sent,
    acknowledged,
    failed,
    durationMs: Math.round(durationMs),
    achievedRate: round(sent / (durationMs / 1000)),
    statusCounts,
    latencyMs: {
      p50: round(percentile(latencies, 50)),
      p90: round(percentile(latencies, 90)),
      p99: round(percentile(latencies, 99)),
      max: round(latencies[latencies.length - 1] ?? 0),
      mean: round(mean),
    },
  };
}
