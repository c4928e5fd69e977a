import { Agent, fetch } from 'undici';
import type { TestServer } from './server.ts';

// Floods for the abuse suite (issue 16): a bounded number of requests at a bounded concurrency,
// built by a function of their index, with the answers tallied. Each flood target is one entry
// (webhooks with bad HMACs today; the pixel ingest joins when its route exists — a `FloodTarget`
// with its path and body, nothing else to write).

/** One request of a flood. */
export type FloodRequest = {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
};

/** What a flood sends: request number `i` of `count`. */
export type FloodTarget = {
  name: string;
  count: number;
  concurrency: number;
  request(i: number): FloodRequest;
};

/** What came back. */
export type FloodResult = {
  name: string;
  sent: number;
  /** status → how many. */
  statuses: Record<number, number>;
  /** error code of the envelope → how many (non-JSON answers count as `(not JSON)`). */
  codes: Record<string, number>;
  /** Requests that got no answer at all. */
  failed: number;
  elapsedMs: number;
};

/** Sends a flood over keep-alive connections (one per concurrent sender) and tallies the answers. */
export async function flood(server: TestServer, target: FloodTarget): Promise<FloodResult> {
  const dispatcher = new Agent({ connections: target.concurrency, pipelining: 1 });
  const result: FloodResult = {
    name: target.name,
    sent: 0,
    statuses: {},
    codes: {},
    failed: 0,
    elapsedMs: 0,
  };
  let next = 0;
  const started = performance.now();
  const sender = async () => {
    while (next < target.count) {
      const i = next++;
      const request = target.request(i);
      result.sent++;
      try {
        const res = await fetch(new URL(request.path, server.url), {
          method: request.method ?? 'POST',
          headers: request.headers,
          body: request.body,
          dispatcher,
        });
        result.statuses[res.status] = (result.statuses[res.status] ?? 0) + 1;
        const text = await res.text();
        let code = '(not JSON)';
        try {
          code = JSON.parse(text)?.error?.code ?? '(no error)';
        } catch {
          // stays "(not JSON)"
        }
        result.codes[code] = (result.codes[code] ?? 0) + 1;
      } catch {
        result.failed++;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: target.concurrency }, sender));
  } finally {
    await dispatcher.close();
  }
  result.elapsedMs = performance.now() - started;
  return result;
}

/** A one-line account of a flood, for the test output and docs/reliability.md. */
export function describeFlood(result: FloodResult): string {
  const perSecond = Math.round((result.sent / result.elapsedMs) * 1000);
  return `${result.name}: ${result.sent} requests in ${Math.round(result.elapsedMs)} ms (${perSecond}/s), statuses ${JSON.stringify(result.statuses)}, codes ${JSON.stringify(result.codes)}, no answer ${result.failed}`;
}
