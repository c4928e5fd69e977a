import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';

// Issue 16: /metrics was open to anyone on the public port. It now takes a bearer token
// (METRICS_TOKEN) and/or lives on its own listener (METRICS_PORT, loopback by default), and in
// production it is off the public port unless a token is set.

const productionSecrets = () => ({
  NODE_ENV: 'production',
  STOREOPS_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
  STOREOPS_SESSION_SECRET: randomBytes(32).toString('base64url'),
  STOREOPS_API_KEY_PEPPER: randomBytes(32).toString('base64url'),
});

async function withServer(env: Record<string, string>, run: (server: TestServer) => Promise<void>) {
  const server = await startTestServer({ env });
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

const expectEnvelope = async (res: Response, status: number, code: string) => {
  expect(res.status).toBe(status);
  expect(((await res.json()) as any).error.code).toBe(code);
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
};

describe('/metrics access', () => {
  it('METRICS_TOKEN: a bearer token is required (401 otherwise), never logged', async () => {
    const token = randomBytes(24).toString('base64url');
    await withServer({ METRICS_TOKEN: token }, async (server) => {
      await expectEnvelope(await server.fetch('/metrics'), 401, 'UNAUTHENTICATED');
      await expectEnvelope(
        await server.fetch('/metrics', { headers: { authorization: `Bearer ${token}x` } }),
        401,
        'UNAUTHENTICATED',
      );
      await expectEnvelope(
        await server.fetch('/metrics', { headers: { authorization: `Basic ${token}` } }),
        401,
        'UNAUTHENTICATED',
      );
      const ok = await server.fetch('/metrics', { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('storeops_http_request_duration_seconds');
      expect(server.logs.text()).not.toContain(token);
    });
  });

  it('production without a token: not on the public port', async () => {
    await withServer(productionSecrets(), async (server) => {
      await expectEnvelope(await server.fetch('/metrics'), 404, 'ROUTE_NOT_FOUND');
      expect(server.metricsUrl).toBeUndefined();
      expect(server.logs.text()).toContain('METRICS_PORT');
    });
  });

  it('METRICS_PORT: its own loopback listener; the public port does not serve them', async () => {
    await withServer({ ...productionSecrets(), METRICS_PORT: '0' }, async (server) => {
      await expectEnvelope(await server.fetch('/metrics'), 404, 'ROUTE_NOT_FOUND');
      expect(server.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const res = await fetch(server.metricsUrl as string);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      expect(await res.text()).toContain('storeops_http_request_duration_seconds');
      const other = await fetch(new URL('/health', server.metricsUrl));
      expect(other.status).toBe(404);
      await other.body?.cancel();
    });
  });

  it('production with a token: on the public port behind it', async () => {
    const token = randomBytes(24).toString('base64url');
    await withServer({ ...productionSecrets(), METRICS_TOKEN: token }, async (server) => {
      await expectEnvelope(await server.fetch('/metrics'), 401, 'UNAUTHENTICATED');
      const ok = await server.fetch('/metrics', { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      await ok.body?.cancel();
    });
  });
});
