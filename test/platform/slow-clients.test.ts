import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/platform/config.ts';
import { freshLoopbackAddress } from '../support/addresses.ts';
import { parseResponse } from '../support/raw-http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

// Issue 16: 100 connections sending one byte a second were held with no 408. Header, request
// (body) and idle timeouts drop slow clients, and a per-address cap refuses extra connections.
// Timeouts are small here (configured); the assertions are about what happens, not how fast.

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({
    env: {
      HTTP_HEADERS_TIMEOUT_MS: '1000',
      HTTP_REQUEST_TIMEOUT_MS: '2000',
      HTTP_KEEP_ALIVE_TIMEOUT_MS: '1000',
      HTTP_IDLE_TIMEOUT_MS: '3000',
      HTTP_MAX_CONNECTIONS_PER_IP: '3',
    },
  });
});
afterAll(async () => {
  await server?.close();
});

type Dribble = { received: Promise<string>; closed: Promise<void>; stop(): void; socket: net.Socket };

/**
 * Opens a connection from `localAddress` and writes `prefix`, then `drip` one byte every 250 ms
 * (slower than anyone should send), recording what the server answers and when it closes.
 */
function dribble(localAddress: string, prefix: string, drip: string): Dribble {
  const { port } = new URL(server.url);
  const socket = net.connect({ host: '127.0.0.1', port: Number(port), localAddress });
  let data = '';
  let i = 0;
  const timer = setInterval(() => {
    if (drip && !socket.destroyed && socket.writable) socket.write(drip[i++ % drip.length]);
  }, 250);
  socket.on('connect', () => {
    if (prefix) socket.write(prefix);
  });
  socket.on('data', (chunk) => {
    data += chunk.toString('latin1');
  });
  const closed = new Promise<void>((resolve) => {
    socket.on('close', () => {
      clearInterval(timer);
      resolve();
    });
    socket.on('error', () => {});
  });
  return { received: closed.then(() => data), closed, stop: () => socket.destroy(), socket };
}

/** Resolves when `promise` does, or rejects after `ms` (a hung connection fails the test). */
const within = <T>(promise: Promise<T>, ms: number, what: string) =>
  Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`still open: ${what}`)), ms)),
  ]);

describe('slow clients are dropped', () => {
  it('headers sent one byte at a time: 408 in the envelope, then closed', async () => {
    const slow = dribble(freshLoopbackAddress(), 'GET /api/v1/me HTTP/1.1\r\nHost: x\r\nX-Slow: ', 'abcdef');
    const raw = await within(slow.received, 20_000, 'slow headers');
    const res = parseResponse(raw);
    expect(res?.status, raw).toBe(408);
    expect(JSON.parse(res!.body).error.code).toBe('REQUEST_TIMEOUT');
    expect(res!.headers['x-content-type-options']).toBe('nosniff');
  });

  it('a body sent one byte at a time: dropped by the request timeout', async () => {
    const slow = dribble(
      freshLoopbackAddress(),
      'POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n',
      '          ',
    );
    const raw = await within(slow.received, 20_000, 'slow body');
    // Node answers 408 when it can; either way the connection is gone.
    if (raw) expect(parseResponse(raw)?.status).toBe(408);
  });

  it('a connection that never sends anything is closed', async () => {
    const idle = dribble(freshLoopbackAddress(), '', '');
    await within(idle.closed, 20_000, 'idle connection');
  });

  it('a keep-alive connection idle after its request is closed', async () => {
    const idle = dribble(freshLoopbackAddress(), 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n', '');
    const raw = await within(idle.received, 20_000, 'kept-alive connection');
    expect(parseResponse(raw)?.status).toBe(200);
  });
});

describe('connections per address are capped', () => {
  it('refuses the connection over HTTP_MAX_CONNECTIONS_PER_IP; other addresses are unaffected', async () => {
    const address = freshLoopbackAddress();
    const held = [0, 1, 2].map(() => dribble(address, 'GET /health HTTP/1.1\r\nHost: x\r\nX-Hold: ', 'a'));
    try {
      await Promise.all(held.map((d) => new Promise((r) => d.socket.once('connect', r))));
      // Connections are counted when the server accepts them: wait until it holds all three.
      const extra = dribble(address, 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n', '');
      const raw = await within(extra.received, 10_000, 'connection over the cap');
      const res = parseResponse(raw);
      expect(res?.status, raw).toBe(503);
      expect(JSON.parse(res!.body).error.code).toBe('TOO_MANY_CONNECTIONS');
      expect(res!.headers['retry-after']).toBeTruthy();
      // Another address still gets in.
      const other = dribble(
        freshLoopbackAddress(),
        'GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
        '',
      );
      expect(parseResponse(await within(other.received, 10_000, 'other address'))?.status).toBe(200);
    } finally {
      for (const d of held) d.stop();
    }
  });
});

describe('configuration', () => {
  it('validates the HTTP timeouts and the cap', () => {
    const base = { NODE_ENV: 'test', STOREOPS_DATA_DIR: server.dataDir };
    expect(() => loadConfig({ ...base, HTTP_HEADERS_TIMEOUT_MS: '-1' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, HTTP_MAX_CONNECTIONS_PER_IP: 'many' })).toThrow(ConfigError);
    expect(() =>
      loadConfig({ ...base, HTTP_HEADERS_TIMEOUT_MS: '5000', HTTP_REQUEST_TIMEOUT_MS: '1000' }),
    ).toThrow(/HTTP_HEADERS_TIMEOUT_MS/);
    const defaults = loadConfig(base);
    expect(defaults.HTTP_HEADERS_TIMEOUT_MS).toBeGreaterThan(0);
    expect(defaults.HTTP_MAX_CONNECTIONS_PER_IP).toBeGreaterThan(0);
  });
});
