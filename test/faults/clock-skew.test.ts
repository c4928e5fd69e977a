import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_TOKEN_CLOCK_TOLERANCE_SECONDS } from '../../src/shopify/oauth.ts';
import { CALLBACK_TIMESTAMP_TOLERANCE_S } from '../../src/shopify/install.ts';
import { signedDelivery, startWebhookStack, type WebhookStack } from '../support/webhooks.ts';

/*
 * Faults (issue 16): Shopify's clock and ours disagree. The simulator's clock is moved (it signs
 * session tokens, OAuth callbacks and webhook headers with its own time) and StoreOps must honour
 * each documented tolerance on both sides of it:
 *  - session tokens: `nbf`/`exp` with 10 s of skew (docs/shopify-setup.md);
 *  - the OAuth callback's `timestamp`: within 90 s of our clock (docs/shopify-setup.md);
 *  - webhooks: X-Shopify-Triggered-At is recorded, never used to refuse a delivery (it is not
 *    covered by the HMAC, and Shopify's retries keep the first attempt's time for up to 4 hours;
 *    repeats are caught by the webhook id), so any skew is accepted and applied once.
 */

let stack: WebhookStack;
let n = 0;
/** A small simulator shop (each install starts a backfill). */
const newShop = (what: string) => {
  const shop = `skew-${what}-${++n}.myshopify.com`;
  stack.sim.createShop({ shop, products: 1, customers: 1, orders: 1 });
  return shop;
};

beforeAll(async () => {
  stack = await startWebhookStack();
});
afterEach(() => stack.resetSimClock());
afterAll(async () => {
  await stack?.close();
});

const exchange = (token: string) =>
  stack.server.fetch('/shopify/token-exchange', {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
  });

/**
 * Exchanges a session token minted by a Shopify whose clock is `skewSeconds` off ours. Shopify's
 * clock stays off for the exchange too: it checks the token it minted with the same clock.
 */
async function exchangeFromSkewedClock(shop: string, skewSeconds: number): Promise<Response> {
  stack.advanceSimClock(skewSeconds * 1000);
  try {
    return await exchange(await stack.sim.mintSessionToken({ shop }));
  } finally {
    stack.resetSimClock();
  }
}

describe('session tokens (exp/nbf, 10 s of skew)', () => {
  // A session token lives 60 s from `iat` = `nbf`, stamped with the second (floored).
  const tolerance = SESSION_TOKEN_CLOCK_TOLERANCE_SECONDS;
  const cases = [
    { skew: tolerance - 3, ok: true, why: 'Shopify ahead, nbf inside the tolerance' },
    { skew: tolerance + 10, ok: false, reason: 'nbf', why: 'Shopify ahead, nbf beyond it' },
    { skew: -(60 + tolerance - 4), ok: true, why: 'Shopify behind, exp inside the tolerance' },
    { skew: -(60 + tolerance + 10), ok: false, reason: 'expired', why: 'Shopify behind, exp beyond it' },
  ];
  for (const c of cases) {
    it(`${c.ok ? 'accepts' : 'refuses'} a token from a clock ${c.skew} s off (${c.why})`, async () => {
      const shop = newShop('token');
      const res = await exchangeFromSkewedClock(shop, c.skew);
      const body: any = await res.json();
      if (c.ok) {
        expect(res.status, JSON.stringify(body)).toBe(200);
        expect(body).toMatchObject({ shop, status: 'active' });
      } else {
        expect(res.status).toBe(401);
        expect(body.error.code).toBe('INVALID_SESSION_TOKEN');
        expect(body.error.message).toContain(c.reason);
        expect(await stack.server.deps.shopify.resolveShop(shop)).toBeFalsy();
      }
    });
  }
});

describe('OAuth callback timestamp (90 s)', () => {
  const tolerance = CALLBACK_TIMESTAMP_TOLERANCE_S;
  for (const skew of [tolerance - 10, -(tolerance - 10), tolerance + 30, -(tolerance + 30)]) {
    const ok = Math.abs(skew) < tolerance;
    it(`${ok ? 'accepts' : 'refuses'} a callback signed by a clock ${skew} s off`, async () => {
      const shop = newShop('oauth');
      // Shopify stamps the redirect with its own time.
      stack.advanceSimClock(skew * 1000);
      const url = await stack.authorize(shop);
      const res = await stack.callback(url, { headers: { accept: 'application/json' } });
      if (ok) {
        expect(res.status, await res.clone().text()).toBe(302);
        expect(await stack.server.deps.shopify.resolveShop(shop)).toBeTruthy();
      } else {
        expect(res.status).toBe(400);
        expect(((await res.json()) as any).error.code).toBe('OAUTH_TIMESTAMP_STALE');
        expect(await stack.server.deps.shopify.resolveShop(shop)).toBeFalsy();
      }
    });
  }
});

describe('webhook timestamps (recorded, never a reason to refuse)', () => {
  it('applies the simulator’s deliveries once whether its clock is minutes ahead or behind', async () => {
    const shop = newShop('hooks');
    const tenantId = await stack.installShop(shop);
    const sent: { webhookId: string; triggeredAt: string }[] = [];
    const finals = new Map<number, string | null>();
    for (const skewMinutes of [5, -5]) {
      stack.advanceSimClock(skewMinutes * 60_000);
      const p = stack.sim.createRecord(shop, 'products', { title: `Skewed ${skewMinutes}` });
      const u = stack.sim.updateRecord(shop, 'products', p.id, { title: `Skewed ${skewMinutes} (updated)` });
      const gone = stack.sim.createRecord(shop, 'products', { title: 'To delete' });
      const d = stack.sim.deleteRecord(shop, 'products', gone.id);
      for (const r of [p, u, gone, d]) sent.push(...r.deliveries);
      finals.set(p.id, `Skewed ${skewMinutes} (updated)`);
      finals.set(gone.id, null);
      await stack.sim.waitForDeliveries({ shop, count: sent.length, timeoutMs: 30_000 });
      stack.resetSimClock();
    }
    expect(stack.sim.deliveries({ shop }).filter((d) => d.state !== 'delivered')).toEqual([]);
    await stack.settled(tenantId);
    const rows = await stack.q<{ webhook_id: string; status: string; triggered_at: Date }>(
      'SELECT webhook_id, status, triggered_at FROM webhook_inbox WHERE webhook_id = ANY($1::text[])',
      [sent.map((d) => d.webhookId)],
    );
    expect(rows).toHaveLength(sent.length);
    expect(rows.filter((r) => r.status !== 'processed')).toEqual([]);
    const sentAt = new Map(sent.map((d) => [d.webhookId, Date.parse(d.triggeredAt)]));
    for (const r of rows) expect(r.triggered_at.getTime()).toBe(sentAt.get(r.webhook_id));
    const mirror = await stack.q<{ id: string; title: string; deleted_at: Date | null }>(
      'SELECT id, title, deleted_at FROM shop_products WHERE tenant_id = $1 AND id = ANY($2::bigint[])',
      [tenantId, [...finals.keys()]],
    );
    const state = new Map(mirror.map((m) => [Number(m.id), m.deleted_at ? null : m.title]));
    expect(state).toEqual(finals);
  });

  it('accepts and applies deliveries stamped a day early, a day late or decades off', async () => {
    const shop = newShop('stamps');
    const tenantId = await stack.installShop(shop);
    const day = 86_400_000;
    const stamps = [
      new Date(Date.now() - day).toISOString(),
      new Date(Date.now() + day).toISOString(),
      '2001-01-01T00:00:00.000Z',
      // Shopify's own shape: nanoseconds and an offset.
      '2031-06-01T12:00:00.123456789+02:00',
    ];
    const posted: string[] = [];
    const ids = stamps.map((_, i) => 7_700_000_000 + i);
    for (const [i, stamp] of stamps.entries()) {
      const delivery = signedDelivery({
        secret: stack.apiSecret,
        shop,
        topic: 'customers/create',
        payload: { id: ids[i], email: `skew${i}@example.com`, updated_at: '2025-03-01T10:00:00Z' },
      });
      delivery.headers['X-Shopify-Triggered-At'] = stamp;
      const res = await stack.post(delivery);
      expect(res.status, await res.clone().text()).toBe(200);
      posted.push(delivery.webhookId);
      // Shopify retrying the same delivery later (same headers): stored once.
      expect((await stack.post(delivery)).status).toBe(200);
    }
    await stack.settled(tenantId);
    const rows = await stack.q<{ webhook_id: string; status: string; triggered_at: Date }>(
      'SELECT webhook_id, status, triggered_at FROM webhook_inbox WHERE webhook_id = ANY($1::text[]) ORDER BY id',
      [posted],
    );
    expect(rows.map((r) => r.status)).toEqual(stamps.map(() => 'processed'));
    expect(rows.map((r) => r.triggered_at.getTime())).toEqual(
      stamps.map((s) => Date.parse(s.replace(/(\.\d{3})\d+/, '$1'))),
    );
    const [{ n: customers }] = await stack.q<{ n: number }>(
      'SELECT count(*)::int AS n FROM shop_customers WHERE tenant_id = $1 AND id = ANY($2::bigint[])',
      [tenantId, ids],
    );
    expect(customers).toBe(stamps.length);
  });
});
