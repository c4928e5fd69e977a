import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { runWebhookLoad } from '../../../src/devtools/shopify-sim/index.ts';
import { API_SECRET, startReceiver } from './helpers.ts';

describe('webhook load source', () => {
  // Signed as https://shopify.dev/docs/apps/build/webhooks/subscribe/https describes.
  it('sends a bounded number of signed webhooks and reports acknowledgements', async () => {
    const rx = await startReceiver((n) => (n % 10 === 0 ? 500 : 200));
    try {
      const report = await runWebhookLoad({
        targetUrl: rx.url,
        apiSecret: API_SECRET,
        rate: 2000,
        count: 200,
        concurrency: 16,
      });
      expect(report.sent).toBe(200);
      expect(report.acknowledged).toBe(180);
      expect(report.failed).toBe(20);
      expect(report.statusCounts).toEqual({ 200: 180, 500: 20 });
      expect(report.latencyMs.p50).toBeLessThanOrEqual(report.latencyMs.p99);
      const r = rx.received[0];
      expect(r.headers['x-shopify-hmac-sha256']).toBe(
        createHmac('sha256', API_SECRET).update(r.raw).digest('base64'),
      );
      expect(r.headers['x-shopify-topic']).toBe('orders/create');
      expect(new Set(rx.received.map((x) => x.headers['x-shopify-webhook-id'])).size).toBe(200);
    } finally {
      await rx.close();
    }
  });

  it('refuses non-loopback targets and unbounded runs', async () => {
    await expect(
      runWebhookLoad({ targetUrl: 'http://10.0.0.1/hook', apiSecret: 's', rate: 10, count: 1 }),
    ).rejects.toThrow(/loopback/);
    await expect(
      runWebhookLoad({ targetUrl: 'http://127.0.0.1:1/hook', apiSecret: 's', rate: 10 }),
    ).rejects.toThrow(/count or durationSeconds/);
  });
});
