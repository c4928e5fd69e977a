import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ env: { CORS_ORIGINS: 'https://admin.example.com' } });
});
afterAll(async () => {
  await server?.close();
});

describe('health, readiness and metrics', () => {
  it('answers /health and /ready with 200', async () => {
    const health = await server.fetch('/health');
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    const ready = await server.fetch('/ready');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { database: true, jobs: true } });
  });

  it('serves Prometheus metrics with HTTP latency histograms and job counters', async () => {
    await server.fetch('/health');
    const res = await server.fetch('/metrics');
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toMatch(/storeops_http_request_duration_seconds_bucket\{.*route="\/health"/);
    expect(body).toContain('# TYPE storeops_jobs_processed_total counter');
  });

  it('echoes a valid X-Request-Id and generates one otherwise', async () => {
    const mine = await server.fetch('/health', { headers: { 'x-request-id': 'trace-123' } });
    expect(mine.headers.get('x-request-id')).toBe('trace-123');
    const bogus = await server.fetch('/health', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(bogus.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('writes one access-log line per request, secret query values redacted; probes and webhooks none', async () => {
    await server.fetch('/no-such-page?state=s3cr3t-state&page=2', {
      headers: { 'x-request-id': 'access-log-1' },
    });
    await server.fetch('/health', { headers: { 'x-request-id': 'access-log-3' } });
    await server.fetch('/webhooks', {
      method: 'POST',
      headers: { 'x-request-id': 'access-log-2' },
      body: '{}',
    });
    const lines = server.logs.lines.map((l) => JSON.parse(l) as Record<string, any>);
    const page = lines.filter((l) => l.reqId === 'access-log-1' && l.msg === 'request');
    expect(page).toHaveLength(1);
    expect(page[0]).toMatchObject({ method: 'GET', statusCode: 404 });
    expect(page[0].url).toBe('/no-such-page?state=%5BRedacted%5D&page=2');
    expect(server.logs.text()).not.toContain('s3cr3t-state');
    for (const quiet of ['access-log-2', 'access-log-3'])
      expect(lines.filter((l) => l.reqId === quiet && l.msg === 'request')).toEqual([]);
  });

  it('sends security headers', async () => {
    const res = await server.fetch('/health');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
  });
});

describe('CORS allowlist', () => {
  it('allows listed origins with credentials and ignores others', async () => {
    const allowed = await server.fetch('/api/v1/openapi.json', {
      method: 'OPTIONS',
      headers: { origin: 'https://admin.example.com', 'access-control-request-method': 'GET' },
    });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://admin.example.com');
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
    const other = await server.fetch('/api/v1/openapi.json', { headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('OpenAPI', () => {
  it('publishes an OpenAPI 3.1 document and a docs page', async () => {
    const res = await server.fetch('/api/v1/openapi.json');
    expect(res.status).toBe(200);
    const doc: any = await res.json();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.paths['/health']).toBeDefined();
    expect(doc.paths['/ready'].get.responses['503']).toBeDefined();
    const docs = await server.fetch('/docs/');
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-type')).toContain('text/html');
  });
});

describe('the error envelope', () => {
  const expectEnvelope = async (res: Response, status: number, code: string) => {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toContain('application/json');
    const body: any = await res.json();
    expect(body).toEqual({
      error: expect.objectContaining({ code, message: expect.any(String), requestId: expect.any(String) }),
    });
    expect(body.error.requestId).toBe(res.headers.get('x-request-id'));
    return body;
  };

  it('404 for unknown routes', async () => {
    await expectEnvelope(await server.fetch('/api/v1/nothing-here'), 404, 'ROUTE_NOT_FOUND');
  });
});
