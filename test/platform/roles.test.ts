import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';

// `serve --role api|worker` split one process into two kinds; both share the same database.
let worker: TestServer;
let api: TestServer;
beforeAll(async () => {
  worker = await startTestServer({ role: 'worker' });
  api = await startTestServer({ role: 'api' });
});
afterAll(async () => {
  await worker?.close();
  await api?.close();
});

describe('process roles', () => {
  it('a worker answers health, readiness and metrics but serves no API routes', async () => {
    expect((await worker.fetch('/health')).status).toBe(200);
    expect((await worker.fetch('/ready')).status).toBe(200);
    expect((await worker.fetch('/metrics')).status).toBe(200);
    const me = await worker.fetch('/api/v1/me');
    expect(me.status).toBe(404);
    expect(((await me.json()) as any).error.code).toBe('ROUTE_NOT_FOUND');
  });

  it('an API process serves the API', async () => {
    const me = await api.fetch('/api/v1/me');
    expect(me.status).toBe(401);
    expect((await api.fetch('/ready')).status).toBe(200);
  });
});
