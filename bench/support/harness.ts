import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

/** A server child process for a benchmark, started and stopped by PID. */
export type BenchServer = { url: string; child: ChildProcess; stop(): Promise<void> };

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Starts `node <script> [...args]` and waits for its "listening" JSON log line. */
export async function startProcess(script: string, args: string[], env: Record<string, string | undefined>) {
  const child = spawn(process.execPath, [path.join(ROOT, script), ...args], {
    env: { PATH: process.env.PATH, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`${script} did not start within 60 s`)), 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (const line of buffer.split('\n')) {
        if (line.includes('"StoreOps is listening"')) {
          clearTimeout(timer);
          resolve(JSON.parse(line).url);
        }
      }
      buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  child.stdout!.resume();
  return {
    url,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  } satisfies BenchServer;
}

/** Starts StoreOps (`storeops serve`) on a fresh data dir; default logging (one access line per request), as deployed. */
export function startStoreOps(env: Record<string, string | undefined> = {}) {
  return startProcess('src/cli/main.ts', ['serve'], {
    PORT: '0',
    STOREOPS_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'storeops-bench-')),
    RATE_LIMIT_PER_MINUTE: '100000000',
    ...env,
  });
}

/** One load figure set. */
export type LoadResult = {
  name: string;
  rps: number;
  p50: number;
  p97_5: number;
  p99: number;
  errors: number;
  non2xx: number;
};

/** Runs autocannon for `seconds` (after a short warm-up) and returns its main figures. */
export async function load(
  name: string,
  url: string,
  options: { seconds?: number; connections?: number } = {},
) {
  await autocannon({ url, connections: 8, duration: 1 });
  const result = await autocannon({
    url,
    connections: options.connections ?? 32,
    duration: options.seconds ?? 5,
  });
  return {
    name,
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p97_5: result.latency.p97_5,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  } satisfies LoadResult;
}

/** Prints results as an aligned table with the ratio to the first (baseline) row. */
export function printTable(title: string, rows: LoadResult[]) {
  const base = rows[0].rps;
  console.log(`\n${title}`);
  console.log(
    'scenario'.padEnd(44),
    'req/s'.padStart(9),
    'p50 ms'.padStart(8),
    'p97.5'.padStart(8),
    'p99'.padStart(8),
    'errors'.padStart(7),
    'vs baseline'.padStart(12),
  );
  for (const r of rows) {
    console.log(
      r.name.padEnd(44),
      String(r.rps).padStart(9),
      String(r.p50).padStart(8),
      String(r.p97_5).padStart(8),
      String(r.p99).padStart(8),
      String(r.errors + r.non2xx).padStart(7),
      `${(r.rps / base).toFixed(2)}x`.padStart(12),
    );
  }
}
