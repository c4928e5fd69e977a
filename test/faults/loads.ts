import { expect } from 'vitest';
import type { ShopifySim } from '../../src/devtools/shopify-sim/index.ts';
import { acknowledged, type ServeProcess, sql } from '../support/faults.ts';
import { call, type Credentials } from '../support/identity.ts';
import { waitFor } from '../support/shopify.ts';

/*
 * The work a fault test keeps StoreOps busy with while it injects faults (issue 16). Each load
 * starts, settles once the faults are over, and then proves nothing was lost or done twice,
 * returning its figures for docs/reliability.md. A checkout load (issue 12: carts and Stripe
 * payments through the Stripe simulator) joins the list as `checkoutLoad` when checkout lands.
 */
export type FaultLoad = {
  name: string;
  /** Starts the load; resolves once it is under way. */
  start(): Promise<void>;
  /** Waits until everything the load asked for is done (after the faults). */
  settle(): Promise<void>;
  /** Asserts nothing acknowledged was lost and nothing applied twice; returns the figures. */
  verify(): Promise<Record<string, number>>;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * How long a load may take to finish once the faults are over. It is below the 60 s leases
 * (webhook claims, sync runs), so work that only comes back when a dead claim's lease runs out
 * (instead of being picked up again as soon as the database is back) fails the test.
 */
const SETTLE_MS = 45_000;

/**
 * A bounded burst of Shopify webhooks from the simulator's sender (real HMACs, real retries):
 * products created one after another until `total` deliveries were sent. Shopify's retries bring
 * back whatever StoreOps refused while the database was away.
 */
export function webhookBurst(input: {
  sim: ShopifySim;
  shop: string;
  databaseUrl: string;
  total: number;
  paceMs: number;
}): FaultLoad & { sent(): number } {
  const { sim, shop, databaseUrl, total, paceMs } = input;
  let warmup = 0;
  const created: { id: number; title: string }[] = [];
  let sent = 0;
  let loop: Promise<void> | undefined;
  const burst = () => sim.deliveries({ shop }).slice(warmup);
  return {
    name: 'webhook burst',
    sent: () => sent,
    async start() {
      warmup = sim.deliveries({ shop }).length;
      loop = (async () => {
        for (let i = 0; sent < total; i++) {
          const title = `Fault ${i}`;
          const record = sim.createRecord(shop, 'products', { title });
          created.push({ id: record.id, title });
          sent += record.deliveries.length;
          await sleep(paceMs);
        }
      })();
    },
    async settle() {
      await loop;
      await sim.waitForDeliveries({ shop, count: warmup + sent, timeoutMs: SETTLE_MS });
      await waitFor(async () => {
        const [row] = await sql<{ n: number }>(
          databaseUrl,
          `SELECT count(*)::int AS n FROM webhook_inbox WHERE shop_domain = $1 AND status IN ('pending', 'processing')`,
          [shop],
        );
        return row.n === 0;
      }, SETTLE_MS);
    },
    async verify() {
      const deliveries = burst();
      const acked = deliveries.filter(acknowledged);
      const rows = await sql<{ webhook_id: string; status: string; processed: number }>(
        databaseUrl,
        `SELECT i.webhook_id, i.status,
                (SELECT count(*)::int FROM webhook_attempts a
                  WHERE a.inbox_id = i.id AND a.outcome = 'processed') AS processed
           FROM webhook_inbox i WHERE i.shop_domain = $1 AND i.webhook_id = ANY($2::text[])`,
        [shop, deliveries.map((d) => d.webhookId)],
      );
      const byId = new Map(rows.map((r) => [r.webhook_id, r]));
      const lost = acked.filter((d) => byId.get(d.webhookId)?.status !== 'processed');
      const twice = rows.filter((r) => r.processed > 1);
      expect(rows.length, 'one inbox row per webhook id').toBe(byId.size);
      expect(
        lost.map((d) => d.webhookId),
        'acknowledged deliveries not applied',
      ).toEqual([]);
      expect(twice, 'deliveries applied more than once').toEqual([]);
      // Shopify's retries delivered the rest: in the end every delivery is stored and applied once.
      expect(deliveries.filter((d) => d.state !== 'delivered')).toEqual([]);
      for (const d of deliveries) expect(byId.get(d.webhookId), d.webhookId).toMatchObject({ processed: 1 });
      const [mirror] = await sql<{ rows: number; ids: number }>(
        databaseUrl,
        `SELECT count(*)::int AS rows, count(DISTINCT id)::int AS ids
           FROM shop_products WHERE id = ANY($1::bigint[])`,
        [created.map((c) => c.id)],
      );
      expect({ rows: mirror.rows, ids: mirror.ids }).toEqual({ rows: created.length, ids: created.length });
      const attempts = deliveries.flatMap((d) => d.attempts);
      return {
        deliveries: deliveries.length,
        acknowledgedFirstTime: deliveries.filter((d) => d.attempts[0]?.status === 200).length,
        acknowledged: acked.length,
        refused503: attempts.filter((a) => a.status === 503).length,
        connectionErrors: attempts.filter((a) => a.status === null).length,
        retried: deliveries.filter((d) => d.attempts.length > 1).length,
        lost: lost.length,
        appliedTwice: twice.length,
        mirrorDuplicates: mirror.rows - mirror.ids,
      };
    },
  };
}

/**
 * A full orders sync that is between two batches when the faults hit: the simulator stalls the
 * bulk file after `holdLines` lines (after at least one checkpoint), and `release` lets it go on
 * (the fault script calls it while the database is down, so the next batches meet the outage).
 */
export function syncRun(input: {
  sim: ShopifySim;
  shop: string;
  tenantId: string;
  server: () => ServeProcess;
  operator: () => Promise<Credentials>;
  databaseUrl: string;
  holdLines: number;
}): FaultLoad & { release(): void } {
  const { sim, shop, tenantId, databaseUrl } = input;
  let release = () => {};
  let since = 0;
  const state = async () =>
    (
      await sql<{ status: string; run_id: string | null; backfill: any; backfilled_at: Date | null }>(
        databaseUrl,
        `SELECT status, run_id, backfill, backfilled_at FROM sync_state WHERE tenant_id = $1 AND resource = 'orders'`,
        [tenantId],
      )
    )[0];
  return {
    name: 'sync run',
    release: () => release(),
    async start() {
      release = sim.holdBulkDownloads(input.holdLines);
      since = Date.now();
      const res = await call(
        input.server().http,
        await input.operator(),
        'POST',
        `/api/v1/tenants/${tenantId}/sync`,
        {
          mode: 'full',
          resources: ['orders'],
        },
      );
      expect(res.status, res.text).toBe(202);
      // Under way: a checkpoint after the first batch, then stalled on the held download.
      await waitFor(async () => ((await state())?.backfill?.written ?? 0) > 0, 90_000);
    },
    async settle() {
      await waitFor(async () => {
        const s = await state();
        return s.run_id === null && s.backfilled_at !== null && s.backfilled_at.getTime() >= since - 1000;
      }, SETTLE_MS);
    },
    async verify() {
      const runs = await sql<{ status: string; trigger: string }>(
        databaseUrl,
        `SELECT status, trigger FROM sync_runs WHERE tenant_id = $1 AND resource = 'orders' AND started_at >= $2
          ORDER BY started_at`,
        [tenantId, new Date(since - 1000)],
      );
      expect(runs.at(-1)?.status, JSON.stringify(runs)).toBe('completed');
      const [counts] = await sql<Record<string, number>>(
        databaseUrl,
        `SELECT (SELECT count(*)::int FROM shop_orders WHERE tenant_id = $1) AS orders,
                (SELECT count(DISTINCT id)::int FROM shop_orders WHERE tenant_id = $1) AS distinct_orders,
                (SELECT count(*)::int FROM shop_order_line_items WHERE tenant_id = $1) AS lines,
                (SELECT count(DISTINCT id)::int FROM shop_order_line_items WHERE tenant_id = $1) AS distinct_lines`,
        [tenantId],
      );
      const expected = sim.shopInfo(shop).counts.orders;
      expect(counts.orders).toBe(expected);
      expect(counts.distinct_orders).toBe(expected);
      expect(counts.lines).toBe(counts.distinct_lines);
      return {
        orders: counts.orders,
        runs: runs.length,
        duplicates: counts.orders - counts.distinct_orders + counts.lines - counts.distinct_lines,
      };
    },
  };
}
