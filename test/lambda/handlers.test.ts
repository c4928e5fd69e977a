import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook } from '../../src/devtools/shopify-sim/index.ts';
import { lambdaConfig, createApiHandler, createWorkerHandler } from '../../src/lambda/runtime.ts';
import type { Config } from '../../src/platform/config.ts';
import { createTestStorage, type TestStorage } from '../support/server.ts';
import { context, httpApiEvent, restApiEvent, scheduledEvent, sqsEvent } from './fixtures.ts';

// The AWS Lambda handlers (issue 15) with documented API Gateway v1/v2 and EventBridge/SQS event
// shapes: health, a signed Shopify webhook whose HMAC must survive the base64 round trip, a
// tampered one refused, an unknown event shape refused, and the worker running a due job.

const apiSecret = `shpss_${randomBytes(16).toString('hex')}`;
const stripeSecret = `whsec_${randomBytes(16).toString('hex')}`;
let storage: TestStorage;
let config: Config;
let api: ReturnType<typeof createApiHandler>;

function webhook(body: Buffer, hmacOf: Buffer = body) {
  return {
    'Content-Type': 'application/json',
    'X-Shopify-Topic': 'products/update',
    'X-Shopify-Hmac-Sha256': signWebhook(apiSecret, hmacOf),
    'X-Shopify-Shop-Domain': 'lambda-shop.myshopify.com',
    'X-Shopify-API-Version': '2025-10',
    'X-Shopify-Webhook-Id': randomBytes(8).toString('hex'),
    'X-Shopify-Event-Id': randomBytes(8).toString('hex'),
    'X-Shopify-Triggered-At': new Date().toISOString(),
  };
}

beforeAll(async () => {
  storage = await createTestStorage();
  config = lambdaConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    STOREOPS_DATA_DIR: storage.dataDir,
    ...(storage.databaseUrl ? { DATABASE_URL: storage.databaseUrl } : {}),
    SHOPIFY_API_KEY: 'lambda-app',
    SHOPIFY_API_SECRET: apiSecret,
    STRIPE_WEBHOOK_SECRET: stripeSecret,
  });
  api = createApiHandler(config);
});
afterAll(async () => {
  await api?.close();
  await storage?.drop();
});

describe('API handler', () => {
  it('sizes the pool for Lambda', () => {
    expect(config.DATABASE_POOL_MAX).toBe(2);
  });

  it('answers /health for HTTP API (v2) and REST (v1) events', async () => {
    const v2 = await api(httpApiEvent({ method: 'GET', path: '/health' }), context());
    expect(v2.statusCode).toBe(200);
    expect(JSON.parse(v2.body)).toMatchObject({ status: 'ok' });
    const v1 = await api(restApiEvent({ method: 'GET', path: '/health' }), context());
    expect(v1.statusCode).toBe(200);
  });

  it('verifies a signed Shopify webhook on its exact bytes, base64 (v2) or text (v1)', async () => {
    // Non-ASCII and odd spacing: any re-encoding of the body would break the HMAC.
    const body = Buffer.from('{"id":  42, "title":"Grüße – 🎉","updated_at":"2026-12-03T14:00:00Z"}');
    for (const event of [
      httpApiEvent({ method: 'POST', path: '/webhooks', headers: webhook(body), body }),
      restApiEvent({ method: 'POST', path: '/webhooks', headers: webhook(body), body }),
    ]) {
      const res = await api(event, context());
      // Verified and stored; no tenant holds this shop, so it is recorded as orphaned.
      expect(res.statusCode, res.body).toBe(200);
      expect(JSON.parse(res.body)).toEqual({ status: 'orphaned' });
    }
    const tampered = Buffer.from(body.toString().replace('42', '43'));
    const res = await api(
      httpApiEvent({ method: 'POST', path: '/webhooks', headers: webhook(tampered, body), body: tampered }),
      context(),
    );
    expect(res.statusCode).toBe(401);
  });

  it('verifies a signed Stripe webhook through the handler (v2 base64 and v1 text)', async () => {
    const stripe = new Stripe('sk_test_lambda');
    for (const make of [httpApiEvent, restApiEvent]) {
      const body = Buffer.from(
        JSON.stringify({
          id: `evt_${randomBytes(8).toString('hex')}`,
          object: 'event',
          type: 'payment_intent.succeeded',
          api_version: '2025-10-29.clover',
          created: Math.floor(Date.now() / 1000),
          data: { object: { id: 'pi_lambda', object: 'payment_intent', metadata: { note: 'Grüße' } } },
        }),
      );
      const signature = stripe.webhooks.generateTestHeaderString({
        payload: body.toString(),
        secret: stripeSecret,
      });
      const headers = { 'Content-Type': 'application/json', 'Stripe-Signature': signature };
      const res = await api(make({ method: 'POST', path: '/webhooks/stripe', headers, body }), context());
      expect(res.statusCode, res.body).toBe(200);
      const tampered = Buffer.from(body.toString().replace('pi_lambda', 'pi_other'));
      const refused = await api(
        make({ method: 'POST', path: '/webhooks/stripe', headers, body: tampered }),
        context(),
      );
      expect(refused.statusCode).toBe(400);
    }
  });

  it('refuses an event of an unknown shape with a clear error', async () => {
    for (const event of [{}, { hello: 'world' }, scheduledEvent, null]) {
      const res = await api(event, context());
      expect(res.statusCode).toBe(400);
      expect(JSON.parse(res.body).error.code).toBe('UNSUPPORTED_EVENT');
    }
  });
});

describe('worker handler', () => {
  it('runs due jobs for a bounded time on a schedule and on an SQS message, then stops', async () => {
    const deps = await api.deps();
    const jobId = await deps.jobs.send('identity.cleanup', {});
    expect(jobId).toBeTruthy();
    // PGlite has one user: the API instance gives its database up before the worker opens it.
    await api.close();
    const worker = createWorkerHandler(config, { maxSeconds: 4 });
    const report = await worker(scheduledEvent, context(60_000));
    expect(report.trigger).toBe('schedule');
    expect(report.processed['identity.cleanup']).toBeGreaterThanOrEqual(1);
    const again = await worker(sqsEvent, context(60_000));
    expect(again.trigger).toBe('sqs');
    await expect(worker({ hello: 'world' }, context())).rejects.toThrow(/unsupported event/);
  });
});
