import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { head, type RawResponse, rawRequest } from '../support/raw-http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

// Issue 16: requests so malformed that Fastify or Node answer them before any route runs — bad
// framing, bad URLs, oversized heads. They must still get the one error envelope with the security
// headers, and never echo the request path back.

let server: TestServer;
const marker = 'probe-marker-7f3a';

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

function expectEnvelope(res: RawResponse, status: number, code: string) {
  expect(res.status, res.raw.slice(0, 400)).toBe(status);
  expect(res.headers['content-type']).toContain('application/json');
  const body = JSON.parse(res.body);
  expect(body).toEqual({
    error: expect.objectContaining({ code, message: expect.any(String), requestId: expect.any(String) }),
  });
  expect(Object.keys(body.error).sort()).toEqual(
    ['code', 'message', 'requestId', ...(body.error.details ? ['details'] : [])].sort(),
  );
  expect(res.headers['x-request-id']).toBe(body.error.requestId);
  expectSecurityHeaders(res.headers);
  expect(res.raw).not.toContain(marker);
  return body.error;
}

function expectSecurityHeaders(headers: Record<string, string> | Headers) {
  const get = (name: string) => (headers instanceof Headers ? headers.get(name) : headers[name]);
  expect(get('x-content-type-options')).toBe('nosniff');
  expect(get('content-security-policy')).toContain("default-src 'self'");
  expect(get('strict-transport-security')).toBeTruthy();
  expect(get('x-frame-options')).toBe('SAMEORIGIN');
}

describe("Node's own 400s (the HTTP parser refuses the request)", () => {
  it('conflicting Content-Length headers', async () => {
    const res = await rawRequest(
      server.url,
      `${head('POST', `/api/v1/sessions?${marker}`, ['Content-Type: application/json', 'Content-Length: 2', 'Content-Length: 3']).slice(0, -2)}\r\n{}`,
    );
    expectEnvelope(res, 400, 'MALFORMED_REQUEST');
    expect(res.headers.connection).toBe('close');
  });

  it('Content-Length together with Transfer-Encoding', async () => {
    const res = await rawRequest(
      server.url,
      `${head('POST', `/api/v1/sessions?${marker}`, ['Content-Length: 2', 'Transfer-Encoding: chunked']).slice(0, -2)}\r\n2\r\n{}\r\n0\r\n\r\n`,
    );
    expectEnvelope(res, 400, 'MALFORMED_REQUEST');
  });

  it('control characters in a header value', async () => {
    const res = await rawRequest(server.url, head('GET', `/api/${marker}`, ['X-Probe: a\u0001b']));
    expectEnvelope(res, 400, 'MALFORMED_REQUEST');
  });

  it('a request line that is not HTTP', async () => {
    const res = await rawRequest(server.url, `GARBAGE ${marker}\r\n\r\n`);
    expectEnvelope(res, 400, 'MALFORMED_REQUEST');
  });

  it('431 for a 20 kB header', async () => {
    const res = await rawRequest(
      server.url,
      head('GET', `/api/v1/me?${marker}`, [`X-Big: ${'a'.repeat(20_000)}`]),
    );
    expectEnvelope(res, 431, 'HEADERS_TOO_LARGE');
  });
});

describe("Fastify's own errors before routing", () => {
  it('400 BAD_URL for bad percent-encoding in a path, not echoing it', async () => {
    const res = await rawRequest(
      server.url,
      head('GET', `/api/v1/tenants/%zz${marker}`, ['Connection: close']),
    );
    expectEnvelope(res, 400, 'BAD_URL');
    const viaFetch = await server.fetch(`/api/v1/tenants/%zz${marker}/users`);
    expect(viaFetch.status).toBe(400);
    expect(await viaFetch.text()).not.toContain(marker);
    expectSecurityHeaders(viaFetch.headers);
  });

  it('414 URI_TOO_LONG for an over-long path parameter', async () => {
    const res = await rawRequest(
      server.url,
      head('GET', `/api/v1/tenants/${marker}${'x'.repeat(600)}`, ['Connection: close']),
    );
    const error = expectEnvelope(res, 414, 'URI_TOO_LONG');
    expect(error.message).not.toBe('Bad Request');
  });

  it('404 ROUTE_NOT_FOUND does not echo the path either', async () => {
    const res = await server.fetch(`/api/v1/${marker}`);
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain(marker);
    expectSecurityHeaders(res.headers);
  });
});

describe('security headers everywhere', () => {
  it('on /webhooks answers', async () => {
    const res = await server.fetch('/webhooks', { method: 'POST', body: '{}' });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expectSecurityHeaders(res.headers);
    await res.body?.cancel();
  });

  it('on health probes and API answers', async () => {
    for (const path of ['/health', '/api/v1/me', '/api/v1/openapi.json']) {
      const res = await server.fetch(path);
      expectSecurityHeaders(res.headers);
      await res.body?.cancel();
    }
  });
});
