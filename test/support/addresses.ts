import { Agent, fetch as undiciFetch } from 'undici';
import type { TestServer } from './server.ts';

// Per-address limits count by client address, and every test request comes from loopback. Linux
// routes all of 127.0.0.0/8 to loopback, so a test can speak from its own address (127.0.0.2, …)
// and get budgets of its own: no test depends on what an earlier one used up.

let next = 2;

/** A loopback address no other test of this process has used (127.0.0.2 onward). */
export function freshLoopbackAddress(): string {
  const n = next++;
  return `127.0.${Math.floor(n / 250)}.${(n % 250) + 2}`;
}

/** `fetch` against `server` from `address` (as a different client machine would). */
export function fetchFrom(address: string) {
  const dispatcher = new Agent({ localAddress: address });
  const fn = async (server: TestServer, pathname: string, init: Record<string, unknown> = {}) =>
    undiciFetch(new URL(pathname, server.url), {
      ...init,
      dispatcher,
    } as never) as unknown as Promise<Response>;
  return Object.assign(fn, { close: () => dispatcher.close() });
}
