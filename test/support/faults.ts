import { createServer } from 'node:net';
import pg from 'pg';
import type { ShopifySim } from '../../src/devtools/shopify-sim/index.ts';
import type { TestServer } from './server.ts';
import { type CliProcess, spawnCli } from './process.ts';

// Helpers for the fault suite (issue 16): StoreOps as a child process that a test can SIGKILL,
// bounded probes of /ready, raw SQL against a PostgreSQL database, and ports nothing else takes.

/** A `storeops serve` child process and where it listens. */
export type ServeProcess = CliProcess & {
  url: string;
  /** Something `call`/`createOperatorSession` (test/support/identity.ts) accept. */
  http: TestServer;
  /** SIGKILL (no clean-up at all); resolves when the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
};

/** Spawns `storeops serve` (with `--role` when given) and waits until it listens. */
export async function spawnServe(
  env: Record<string, string | undefined>,
  options: { role?: 'all' | 'api' | 'worker' } = {},
): Promise<ServeProcess> {
  const args = ['serve', ...(options.role ? ['--role', options.role] : [])];
  const proc = spawnCli(args, { NODE_ENV: 'test', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env });
  let listening: Record<string, unknown>;
  try {
    listening = await proc.waitForLog('StoreOps is listening', 90_000);
  } catch (error) {
    proc.child.kill('SIGKILL');
    throw error;
  }
  const url = String(listening.url);
  const alive = () => proc.child.exitCode === null && proc.child.signalCode === null;
  return Object.assign(proc, {
    url,
    http: { fetch: (p: string, init?: RequestInit) => fetch(new URL(p, url), init) } as TestServer,
    async kill() {
      if (alive()) proc.child.kill('SIGKILL');
      await proc.exited;
    },
    async stop() {
      if (alive()) proc.child.kill('SIGTERM');
      return (await proc.exited).code;
    },
  });
}

/** One bounded `/ready` probe: its status, or `timeout` when no answer came in `timeoutMs`. */
export async function probeReady(
  url: string,
  timeoutMs = 3_000,
): Promise<{ status: number | 'timeout' | 'error'; startedAt: number; ms: number }> {
  const startedAt = Date.now();
  try {
    const res = await fetch(new URL('/ready', url), { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return { status: res.status, startedAt, ms: Date.now() - startedAt };
  } catch (error) {
    const name = (error as Error).name;
    const status = name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'error';
    return { status, startedAt, ms: Date.now() - startedAt };
  }
}

/**
 * Polls `/ready` until it answers 200; throws when it has not within `withinMs` (a requirement
 * bound, not a speed check). Resolves with how long it took.
 */
export async function readyWithin(url: string, withinMs: number): Promise<number> {
  const started = Date.now();
  const seen: string[] = [];
  for (;;) {
    const probe = await probeReady(url, Math.max(500, withinMs - (Date.now() - started)));
    if (probe.status === 200) return Date.now() - started;
    seen.push(String(probe.status));
    if (Date.now() - started >= withinMs)
      throw new Error(`/ready did not answer 200 within ${withinMs} ms (answers: ${seen.join(', ')})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Raw SQL on its own short-lived connection (the test's view of a PostgreSQL database). */
export async function sql<T = Record<string, any>>(
  databaseUrl: string,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/**
 * Installs `shop` through OAuth against a StoreOps child process (its redirect URI may name port
 * 0, so the callback goes to the real address), then waits until a probe delivery is acknowledged.
 */
export async function installThroughOAuth(
  server: ServeProcess,
  sim: ShopifySim,
  shop: string,
): Promise<void> {
  const install = await server.http.fetch(`/shopify/install?shop=${shop}`, { redirect: 'manual' });
  if (install.status !== 302) throw new Error(`install answered ${install.status}: ${await install.text()}`);
  const approve = await fetch(install.headers.get('location') as string, { redirect: 'manual' });
  const target = new URL(approve.headers.get('location') as string);
  const callback = await server.http.fetch(`${target.pathname}${target.search}`, { redirect: 'manual' });
  if (callback.status !== 302)
    throw new Error(`callback answered ${callback.status}: ${await callback.text()}`);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const probe = sim.createRecord(shop, 'customers', {});
    const [d] = probe.deliveries;
    if (d) {
      await sim.waitForDeliveries({ eventId: d.eventId, count: 1, timeoutMs: 5_000 }).catch(() => {});
      if (sim.deliveries({ eventId: d.eventId })[0]?.state === 'delivered') return;
    }
    if (Date.now() > deadline) throw new Error(`no webhook from ${shop} reached StoreOps`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * A port below the kernel's ephemeral range (32768+ on Linux) that is free now. Every other test
 * listens on port 0, which only hands out ephemeral ports, so none of them can take this one
 * while its owner is down between a stop and a start (a restarted server, a restarted cluster).
 */
export async function reservedPort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

/** True when a 2xx is among a simulator delivery's attempts: Shopify counts it as acknowledged. */
export const acknowledged = (d: { attempts: { status: number | null }[] }) =>
  d.attempts.some((a) => a.status !== null && a.status >= 200 && a.status < 300);
