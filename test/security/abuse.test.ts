import { createHmac, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeFlood, type FloodTarget, flood } from '../support/abuse.ts';
import { createRowCounter } from '../support/fuzz/checks.ts';
import { call, createOperatorSession } from '../support/identity.ts';
import { signedDelivery, startWebhookStack, type WebhookStack, waitFor } from '../support/webhooks.ts';

// Abuse (issue 16): floods that must be contained. A webhook flood with bad HMACs is refused with
// 401 every time, stores nothing, and costs only the signature check (no lookup, no write: the
// counters of received, orphaned and duplicate deliveries stay still). Login abuse and slow
// clients are covered with their fixes (branch `hardening`); the pixel ingest flood joins as one
// more FloodTarget once its route exists.

const FLOOD = 2_000;
let stack: WebhookStack;
let shop: string;
let tenantId: string;

beforeAll(async () => {
  // Default log level, as deployed: the flood must not cost a log line per delivery either.
  stack = await startWebhookStack();
  shop = `abuse-${randomBytes(4).toString('hex')}.myshopify.com`;
  tenantId = await stack.installShop(shop);
  // The install's own traffic (backfill, its bulk-operation webhooks) has to be over before counting.
  await waitFor(async () => {
    const s = await call(
      stack.server,
      await createOperatorSession(stack.server),
      'GET',
      `/api/v1/tenants/${tenantId}/sync`,
    );
    return s.status === 200 && s.body.resources.every((r: any) => r.backfilledAt && r.status === 'idle');
  }, 60_000);
  await quiet();
});
afterAll(async () => {
  await stack?.close();
});

/** Waits until the tenant's inbox is settled and has not grown over three polls in a row. */
async function quiet(): Promise<void> {
  let last = -1;
  let still = 0;
  await waitFor(async () => {
    await stack.settled(tenantId);
    const n = (await stack.inbox(tenantId)).length;
    still = n === last ? still + 1 : 0;
    last = n;
    await new Promise((r) => setTimeout(r, 200));
    return still >= 3;
  }, 60_000);
}

/** The value of a counter of the server's metrics registry (summed over labels matching `labels`). */
async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const found = await stack.server.deps.metrics.registry.getSingleMetric(name)?.get();
  return (found?.values ?? [])
    .filter((v) => Object.entries(labels).every(([k, l]) => String(v.labels[k]) === l))
    .reduce((n, v) => n + v.value, 0);
}

/** Bad signatures of every kind, for a real shop and real topics. */
function badHmacFlood(count: number): FloodTarget {
  const wrongSecret = `shpss_${randomBytes(16).toString('hex')}`;
  return {
    name: 'webhooks with bad HMACs',
    count,
    concurrency: 16,
    request(i) {
      const delivery = signedDelivery({
        secret: wrongSecret,
        shop,
        topic: ['orders/create', 'products/update', 'customers/redact', 'app/uninstalled', 'shop/redact'][
          i % 5
        ],
        payload: { id: i, note: 'flood' },
      });
      const headers = { ...delivery.headers };
      switch (i % 6) {
        case 0: // signed with a wrong secret
          break;
        case 1: // right secret, but over other bytes than those sent
          headers['X-Shopify-Hmac-Sha256'] = createHmac('sha256', stack.apiSecret)
            .update('{}')
            .digest('base64');
          break;
        case 2: // no signature at all
          delete (headers as Record<string, string>)['X-Shopify-Hmac-Sha256'];
          break;
        case 3: // not base64 of 32 bytes
          headers['X-Shopify-Hmac-Sha256'] = 'A'.repeat(i % 200);
          break;
        case 4: // the right length, random bytes
          headers['X-Shopify-Hmac-Sha256'] = randomBytes(32).toString('base64');
          break;
        case 5: // hex instead of base64
          headers['X-Shopify-Hmac-Sha256'] = createHmac('sha256', stack.apiSecret)
            .update(delivery.body)
            .digest('hex');
          break;
      }
      return {
        path: i % 2 === 0 ? '/webhooks' : `/webhooks/${headers['X-Shopify-Topic']}`,
        headers,
        body: delivery.body,
      };
    },
  };
}

describe('abuse: webhook flood with bad HMACs', () => {
  it('refuses every delivery with 401, stores nothing and does no work beyond the signature check', async () => {
    const counter = await createRowCounter(stack.server.deps.database);
    await quiet();
    const before = await counter.snapshot();
    const rejectedBefore = await metric('storeops_webhooks_rejected_total', { reason: 'hmac' });
    const workBefore = await Promise.all(
      [
        'storeops_webhooks_received_total',
        'storeops_webhooks_orphaned_total',
        'storeops_webhooks_duplicate_total',
      ].map((n) => metric(n)),
    );

    const linesBefore = stack.server.logs.lines.length;
    const result = await flood(stack.server, badHmacFlood(FLOOD));
    console.log(describeFlood(result));
    const logged = stack.server.logs.lines.slice(linesBefore).filter((l) => l.includes('webhook rejected'));
    console.log(`log lines about the rejections: ${logged.length}`);
    // A few per minute, then only counted (the flood may straddle a minute boundary or two).
    expect(logged.length).toBeLessThanOrEqual(100);

    expect(result.failed).toBe(0);
    expect(result.statuses).toEqual({ 401: FLOOD });
    expect(result.codes).toEqual({ INVALID_HMAC: FLOOD });
    // Every one went through the HMAC check and no further: nothing looked up, stored or counted.
    expect((await metric('storeops_webhooks_rejected_total', { reason: 'hmac' })) - rejectedBefore).toBe(
      FLOOD,
    );
    const workAfter = await Promise.all(
      [
        'storeops_webhooks_received_total',
        'storeops_webhooks_orphaned_total',
        'storeops_webhooks_duplicate_total',
      ].map((n) => metric(n)),
    );
    expect(workAfter).toEqual(workBefore);
    expect(counter.diff(before, await counter.snapshot())).toEqual([]);
  });

  it('still takes a correctly signed delivery right after the flood', async () => {
    const inboxBefore = (await stack.inbox(tenantId)).length;
    const delivery = signedDelivery({
      secret: stack.apiSecret,
      shop,
      topic: 'shop/update',
      payload: { id: 1 },
    });
    const res = await stack.post(delivery);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'stored' });
    expect((await stack.inbox(tenantId)).length).toBe(inboxBefore + 1);
  });
});
