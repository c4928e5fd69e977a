import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig } from '../../src/platform/config.ts';
import { notFound } from '../../src/platform/errors.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { createMetrics } from '../../src/platform/metrics.ts';
import { type App, createHttpServer } from '../../src/platform/http/server.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

// The envelope is produced by the platform's HTTP layer; these probe routes exercise each failure
// class through a real listening server.
let app: App;
let base: string;
beforeAll(async () => {
  const config = loadConfig({
    NODE_ENV: 'test',
    STOREOPS_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'storeops-errors-')),
    RATE_LIMIT_PER_MINUTE: '3',
    BODY_LIMIT_BYTES: '2048',
  });
  app = await createHttpServer({
    config,
    logger: createLogger({ level: 'silent' }),
    metrics: createMetrics(),
  });
  app.post(
    '/api/v1/probe',
    {
      config: { rateLimit: false },
      schema: { body: z.object({ name: z.string().min(2), quantity: z.number().int().positive() }) },
    },
    async (request) => ({ ok: request.body.name }),
  );
  app.get('/api/v1/probe/:id', { config: { rateLimit: false } }, async (request) => {
    throw notFound('probe', (request.params as { id: string }).id);
  });
  app.get('/api/v1/boom', { config: { rateLimit: false } }, async () => {
    throw new Error('database password is hunter2');
  });
  app.get('/api/v1/limited', async () => ({ ok: true }));
  base = await app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await app?.close();
});

async function envelope(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  const body: any = await res.json();
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  expect(body.error.requestId).toBe(res.headers.get('x-request-id'));
  return body.error;
}

const post = (body: string, contentType = 'application/json') =>
  fetch(`${base}/api/v1/probe`, { method: 'POST', body, headers: { 'content-type': contentType } });

describe('error envelope', () => {
  it('accepts a valid body', async () => {
    const res = await post(JSON.stringify({ name: 'ab', quantity: 2 }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: 'ab' });
  });

  it('400 MALFORMED_JSON for broken JSON', async () => {
    await envelope(await post('{"name": "ab",'), 400, 'MALFORMED_JSON');
  });

  it('422 VALIDATION_FAILED with field details', async () => {
    const error = await envelope(
      await post(JSON.stringify({ name: 'a', quantity: -1 })),
      422,
      'VALIDATION_FAILED',
    );
    const paths = error.details.issues.map((i: { path: string }) => i.path).sort();
    expect(paths).toEqual(['name', 'quantity']);
    expect(error.details.issues[0].in).toBe('body');
  });

  it('413 PAYLOAD_TOO_LARGE over the body limit', async () => {
    await envelope(
      await post(JSON.stringify({ name: 'x'.repeat(5000), quantity: 1 })),
      413,
      'PAYLOAD_TOO_LARGE',
    );
  });

  it('415 UNSUPPORTED_MEDIA_TYPE for other content types', async () => {
    await envelope(await post('name=ab', 'application/x-www-form-urlencoded'), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('404 with the resource code from notFound()', async () => {
    const error = await envelope(await fetch(`${base}/api/v1/probe/42`), 404, 'PROBE_NOT_FOUND');
    expect(error.details).toEqual({ id: '42' });
  });

  it('500 INTERNAL_ERROR without leaking internals', async () => {
    const res = await fetch(`${base}/api/v1/boom`);
    const error = await envelope(res, 500, 'INTERNAL_ERROR');
    expect(JSON.stringify(error)).not.toContain('hunter2');
  });

  it('429 RATE_LIMITED with Retry-After once the limit is spent', async () => {
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 4; i++) {
      last = await fetch(`${base}/api/v1/limited`);
      statuses.push(last.status);
      if (last.status !== 429) await last.body?.cancel();
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    const retryAfter = Number(last!.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    const error = await envelope(last!, 429, 'RATE_LIMITED');
    expect(error.details.retryAfterSeconds).toBe(retryAfter);
  });
});
