/** Shared helpers for the simulator tests: a sim on a random port, a GraphQL client, a webhook receiver. */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type ShopifySim,
  type ShopifySimOptions,
  startShopifySim,
} from '../../../src/devtools/shopify-sim/index.ts';

/** Types a parsed JSON body loosely, for assertions. */
export const asAny = (value: unknown): any => value;

export const API_KEY = 'test-api-key';
export const API_SECRET = 'test-api-secret';

/** Starts a simulator on a random loopback port. */
export function startSim(options: Partial<ShopifySimOptions> = {}): Promise<ShopifySim> {
  return startShopifySim({ apiKey: API_KEY, apiSecret: API_SECRET, port: 0, ...options });
}

/** Posts a GraphQL query and returns status, headers and JSON body. */
export async function gql(
  sim: ShopifySim,
  shop: string,
  token: string | undefined,
  query: string,
  variables: Record<string, unknown> = {},
  version = '2025-10',
): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined) headers['x-shopify-access-token'] = token;
  const res = await fetch(`${sim.url}/${shop}/admin/api/${version}/graphql.json`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (e.g. chaos 503 text)
  }
  return { status: res.status, headers: res.headers, body };
}

/** A token with every scope the tests need. */
export function fullToken(sim: ShopifySim, shop: string): string {
  const scopes = [
    'read_products',
    'write_products',
    'read_orders',
    'read_customers',
    'write_pixels',
    'read_customer_events',
  ];
  return sim.issueAccessToken(shop, { scopes }).access_token as string;
}

/** What a receiver saw in one request. */
export type Received = { headers: IncomingHttpHeaders; raw: Buffer; at: number };

/** A loopback HTTP receiver whose answer per request is chosen by `respond`. */
export async function startReceiver(respond: (n: number, r: Received) => number = () => 200) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const r = { headers: req.headers, raw: Buffer.concat(chunks), at: Date.now() };
      received.push(r);
      res.statusCode = respond(received.length, r);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks`;
  return {
    url,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Polls until `check` passes (no timing assertions: it only bounds how long a test waits). */
export async function eventually<T>(check: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
