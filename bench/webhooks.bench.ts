// `npm run bench:webhooks` — webhook intake throughput and end-to-end lag (issue 6).
//
// In one run, on this machine, over loopback only, every phase bounded in count and time:
//  1. The peer baseline (../shared/peers/webhook-baseline: Express + @shopify/shopify-api, one INSERT
//     per request), run exactly as its run.sh does, from a temporary copy (`npm ci` there, never in
//     this repository).
//  2. StoreOps on PostgreSQL (a fresh database on DATABASE_URL's server), `serve --role api`, driven
//     by the same loadgen.mjs with the same N, concurrency, warm-up and seed; the loadgen then checks
//     in the database that every acknowledged delivery is stored exactly once.
//  3. End-to-end lag at 1,000 deliveries/s sustained (`serve`, intake and processing in one
//     process), from the simulator's load source: lag = applied_at − stored_at per event.
//  4. StoreOps on PGlite (`serve`, one process), same loadgen; storage checked in the PGlite files.
//
// Env: BENCH_N (20000), BENCH_C (64), BENCH_WARMUP (2000), BENCH_LAG_SECONDS (20), BENCH_LAG_RATE
// (1000), BENCH_PGLITE_N (10000), BENCH_SKIP (comma list of baseline,postgres,lag,pglite),
// DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { runWebhookLoad, startShopifySim } from '../src/devtools/shopify-sim/index.ts';
import { createTestDatabase } from '../test/support/database.ts';
import type { BenchServer } from './support/harness.ts';

const N = Number(process.env.BENCH_N ?? 20_000);
const C = Number(process.env.BENCH_C ?? 64);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2_000);
const LAG_SECONDS = Number(process.env.BENCH_LAG_SECONDS ?? 20);
const LAG_RATE = Number(process.env.BENCH_LAG_RATE ?? 1_000);
const PGLITE_N = Number(process.env.BENCH_PGLITE_N ?? 10_000);
const SKIP = new Set((process.env.BENCH_SKIP ?? '').split(',').filter(Boolean));
const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ROOT = path.resolve(import.meta.dirname, '..');
const PEER = path.resolve(ROOT, '../shared/peers/webhook-baseline');
const SHOP = 'bench-shop.myshopify.com';
const API_KEY = 'bench-app';
const API_SECRET = `shpss_${randomBytes(16).toString('hex')}`;
const log = (...parts: unknown[]) => console.error('[bench]', ...parts);

type LoadgenResult = {
  rps: number;
  completed: number;
  latency_ms: { p50: number; p95: number; p99: number; max: number };
  non_200: number;
  reject_check: { all_401: boolean } | null;
  verify: {
    ok: boolean;
    webhook_ids_acked_200: number;
    rows_for_acked_ids: number;
    missing_acked: number;
    duplicate_ids: number;
  } | null;
  cpu: Record<string, any>;
};

/** Runs a command to completion with a deadline; returns stdout. */
function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs: number },
) {
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    timeout: options.timeoutMs,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  if (result.status !== 0 && !result.stdout.trim())
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}`);
  return result.stdout;
}

const lastJsonLine = (out: string) =>
  JSON.parse(
    out
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .at(-1) as string,
  );

// ---------------------------------------------------------------- the peer, in a temporary copy
const peerDir = mkdtempSync(path.join(tmpdir(), 'webhook-baseline-'));
cpSync(PEER, peerDir, {
  recursive: true,
  filter: (src) => !/node_modules|results/.test(path.relative(PEER, src)),
});
spawnSync('chmod', ['-R', 'u+w', peerDir]);
log(`installing the baseline's dependencies in ${peerDir} (npm ci)`);
run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: peerDir, timeoutMs: 300_000 });
const peerNode = path.join(peerDir, 'node_modules/.bin/node');

/** The peer's loadgen against a URL: same generator, seed and checks as the baseline run. */
function loadgen(url: string, n: number, extra: string[], watch: string): LoadgenResult {
  const out = run(
    peerNode,
    [
      'loadgen.mjs',
      ...['--url', url, '--secret', API_SECRET, '--shop-domain', SHOP],
      ...['-n', String(n), '-c', String(C), '--warmup', String(Math.min(WARMUP, n)), '--seed', '1'],
      ...['--max-seconds', '120', '--cpu-watch', watch],
      ...extra,
    ],
    { cwd: peerDir, timeoutMs: 600_000 },
  );
  return lastJsonLine(out);
}

function postmasterPid(): number | undefined {
  try {
    const out = run('psql', ['-X', '-At', SERVER_URL, '-c', 'SHOW data_directory'], { timeoutMs: 10_000 });
    return Number(readFileSync(path.join(out.trim(), 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return undefined;
  }
}

/** Installs SHOP through the OAuth flow against the simulator, as a merchant would. */
async function install(server: BenchServer) {
  const options = { redirect: 'manual', signal: AbortSignal.timeout(60_000) } as const;
  const start = await fetch(`${server.url}/shopify/install?shop=${SHOP}`, options);
  if (start.status !== 302) throw new Error(`install answered ${start.status}`);
  const approve = await fetch(start.headers.get('location') as string, options);
  const callback = new URL(approve.headers.get('location') as string);
  const done = await fetch(`${server.url}${callback.pathname}${callback.search}`, options);
  if (done.status !== 302) throw new Error(`callback answered ${done.status}: ${await done.text()}`);
}

const METRICS_TOKEN = randomBytes(24).toString('base64url');
const sim = await startShopifySim({ apiKey: API_KEY, apiSecret: API_SECRET });
const storeopsEnv = (extra: Record<string, string | undefined>) => ({
  SHOPIFY_API_KEY: API_KEY,
  SHOPIFY_API_SECRET: API_SECRET,
  SHOPIFY_ADMIN_URL_TEMPLATE: sim.adminUrlTemplate,
  // info: the 'listening' line is how the bench finds the port; webhook deliveries never log.
  LOG_LEVEL: 'info',
  NODE_ENV: 'production',
  STOREOPS_ENCRYPTION_KEYS: `bench:${randomBytes(32).toString('base64')}`,
  STOREOPS_SESSION_SECRET: randomBytes(32).toString('hex'),
  STOREOPS_API_KEY_PEPPER: randomBytes(32).toString('hex'),
  // Production keeps /metrics off the public port unless a token guards it.
  METRICS_TOKEN,
  ...extra,
});

const report: Record<string, any> = { n: N, concurrency: C, warmup: WARMUP };
let failed = false;

/** `storeops serve --role <role>` as a child process on a free port; killed if it does not come up. */
async function serve(role: 'all' | 'api', env: Record<string, string | undefined>): Promise<BenchServer> {
  const dataDir = env.STOREOPS_DATA_DIR ? undefined : mkdtempSync(path.join(tmpdir(), 'storeops-bench-'));
  const child = spawn(process.execPath, [path.join(ROOT, 'src/cli/main.ts'), 'serve', '--role', role], {
    env: {
      PATH: process.env.PATH,
      PORT: '0',
      STOREOPS_DATA_DIR: dataDir,
      // e.g. BENCH_NODE_OPTIONS=--cpu-prof to profile the server under load.
      NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS,
      ...storeopsEnv(env),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const stop = async () => {
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let buffer = '';
      const timer = setTimeout(() => reject(new Error('storeops serve did not start within 60 s')), 60_000);
      child.stdout!.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const lines = buffer.split('\n');
        buffer = lines.pop() ?? '';
        for (const line of lines) {
          if (line.includes('"StoreOps is listening"')) {
            clearTimeout(timer);
            resolve(JSON.parse(line).url);
          } else if (/"level":(40|50|60)/.test(line)) console.error(line);
        }
      });
      child.once('exit', (code) => reject(new Error(`storeops serve exited with ${code}`)));
    });
    return { url, child, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Mean rows per inbox INSERT and mean INSERT time, from the server's own metrics. */
async function batching(url: string) {
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
  const text = await res.text();
  const value = (name: string) =>
    Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  const inserts = value('storeops_webhooks_inbox_batch_rows_count');
  return {
    inserts,
    meanRows: Math.round((value('storeops_webhooks_inbox_batch_rows_sum') / inserts) * 10) / 10,
    meanInsertMs: Math.round((value('storeops_webhooks_inbox_write_seconds_sum') / inserts) * 10000) / 10,
    insertSeconds: Math.round(value('storeops_webhooks_inbox_write_seconds_sum') * 10) / 10,
    processBatches: value('storeops_webhooks_process_batch_seconds_count'),
    processSeconds: Math.round(value('storeops_webhooks_process_batch_seconds_sum') * 10) / 10,
  };
}

/** A fresh database on the PostgreSQL server, dropped afterwards. */
async function freshDatabase() {
  const db = await createTestDatabase(SERVER_URL);
  return { url: db.databaseUrl as string, drop: db.drop };
}

/** Every acknowledged webhook id is stored exactly once (PGlite: read its files after the server stopped). */
async function verifyPglite(dataDir: string, idsFile: string) {
  const lines = readFileSync(idsFile, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { id: string; acked: boolean });
  const db = await PGlite.create(path.join(dataDir, 'pglite'));
  try {
    const { rows } = await db.query<{ id: string; n: number }>(
      `SELECT webhook_id AS id, count(*)::int AS n FROM webhook_inbox WHERE webhook_id = ANY($1::text[]) GROUP BY 1`,
      [lines.map((l) => l.id)],
    );
    const counts = new Map(rows.map((r) => [r.id, r.n]));
    const acked = lines.filter((l) => l.acked);
    const missing = acked.filter((l) => !counts.has(l.id)).length;
    const duplicates = rows.filter((r) => r.n > 1).length;
    return {
      ok: missing === 0 && duplicates === 0,
      webhook_ids_acked_200: acked.length,
      rows_for_acked_ids: acked.length - missing,
      missing_acked: missing,
      duplicate_ids: duplicates,
    };
  } finally {
    await db.close();
  }
}

try {
  // ---------------------------------------------------------------- 1. baseline
  if (!SKIP.has('baseline')) {
    log(`baseline: run.sh N=${N} C=${C} WARMUP=${WARMUP}`);
    const out = run('bash', ['run.sh'], {
      cwd: peerDir,
      env: {
        ...process.env,
        N: String(N),
        C: String(C),
        WARMUP: String(WARMUP),
        SHOPIFY_API_SECRET: API_SECRET,
      },
      timeoutMs: 600_000,
    });
    report.baseline = lastJsonLine(out);
    if (!report.baseline.verify?.ok) failed = true;
  }

  // ---------------------------------------------------------------- 2. StoreOps on PostgreSQL
  if (!SKIP.has('postgres')) {
    const db = await freshDatabase();
    const server = await serve('api', { DATABASE_URL: db.url });
    try {
      await install(server);
      log(`StoreOps on PostgreSQL (serve --role api): N=${N} C=${C}`);
      const pm = postmasterPid();
      report.postgres = loadgen(
        `${server.url}/webhooks`,
        N,
        ['--pg-url', db.url, '--pg-table', 'webhook_inbox', '--pg-id-column', 'webhook_id'],
        `server=${server.child.pid}${pm ? `,postgres=${pm}` : ''}`,
      );
      if (!report.postgres.verify?.ok) failed = true;
      report.postgres.batching = await batching(server.url);
    } finally {
      await server.stop();
      await db.drop();
    }
  }

  // ---------------------------------------------------------------- 3. lag at 1,000/s
  if (!SKIP.has('lag')) {
    const db = await freshDatabase();
    const server = await serve('all', { DATABASE_URL: db.url });
    try {
      await install(server);
      log(`lag: ${LAG_RATE}/s for ${LAG_SECONDS}s, intake and processing in one process (serve)`);
      const load = await runWebhookLoad({
        targetUrl: `${server.url}/webhooks`,
        apiSecret: API_SECRET,
        shop: SHOP,
        rate: LAG_RATE,
        durationSeconds: LAG_SECONDS,
        concurrency: 64,
      });
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        const deadline = Date.now() + 60_000;
        for (;;) {
          const { rows } = await client.query(
            `SELECT count(*)::int AS n FROM webhook_inbox WHERE status IN ('pending', 'processing')`,
          );
          if (rows[0].n === 0 || Date.now() > deadline) break;
          await new Promise((r) => setTimeout(r, 200));
        }
        const { rows } = await client.query(`
          SELECT count(*)::int AS events,
                 count(*) FILTER (WHERE status = 'processed')::int AS processed,
                 round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - received_at)) * 1000)::numeric, 1)::float AS p50_ms,
                 round((percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - received_at)) * 1000)::numeric, 1)::float AS p95_ms,
                 round((percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - received_at)) * 1000)::numeric, 1)::float AS p99_ms,
                 round((max(extract(epoch FROM processed_at - received_at)) * 1000)::numeric, 1)::float AS max_ms
            FROM webhook_inbox WHERE topic = 'orders/create'`);
        report.lag = { load, ...rows[0], batching: await batching(server.url) };
      } finally {
        await client.end();
      }
    } finally {
      await server.stop();
      await db.drop();
    }
  }

  // ---------------------------------------------------------------- 4. PGlite
  if (!SKIP.has('pglite')) {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'storeops-bench-pglite-'));
    const idsFile = path.join(dataDir, 'ids.jsonl');
    const server = await serve('all', { DATABASE_URL: undefined, STOREOPS_DATA_DIR: dataDir });
    try {
      await install(server);
      log(`StoreOps on PGlite (serve): N=${PGLITE_N} C=${C}`);
      report.pglite = loadgen(
        `${server.url}/webhooks`,
        PGLITE_N,
        ['--ids-out', idsFile],
        `server=${server.child.pid}`,
      );
      report.pglite.batching = await batching(server.url);
    } finally {
      await server.stop();
    }
    report.pglite.verify = await verifyPglite(dataDir, idsFile);
    if (!report.pglite.verify.ok) failed = true;
    rmSync(dataDir, { recursive: true, force: true });
  }
} finally {
  await sim.close();
  rmSync(peerDir, { recursive: true, force: true });
}

// ---------------------------------------------------------------- summary
const row = (name: string, r: LoadgenResult | undefined) =>
  r
    ? `${name.padEnd(44)}${String(Math.round(r.rps)).padStart(9)}${r.latency_ms.p50.toFixed(1).padStart(9)}${r.latency_ms.p95.toFixed(1).padStart(9)}${r.latency_ms.p99.toFixed(1).padStart(9)}${String(r.non_200).padStart(8)}  ${r.verify ? (r.verify.ok ? `OK (${r.verify.webhook_ids_acked_200} acked = stored once)` : 'FAILED') : '-'}`
    : `${name.padEnd(44)}  (skipped)`;
console.log(
  `\nWebhook intake: N=${N} measured after ${WARMUP} warm-up, concurrency ${C}, loopback, realistic orders/create`,
);
console.log(
  `${'system'.padEnd(44)}${'req/s'.padStart(9)}${'p50 ms'.padStart(9)}${'p95 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'non-200'.padStart(8)}  storage check`,
);
console.log(row('baseline (Express + shopify-api + INSERT)', report.baseline));
console.log(row('StoreOps, PostgreSQL (serve --role api)', report.postgres));
console.log(row(`StoreOps, PGlite (serve, N=${PGLITE_N})`, report.pglite));
if (report.baseline && report.postgres) {
  const ratio = report.postgres.rps / report.baseline.rps;
  console.log(
    `\nPostgreSQL vs baseline: ${ratio.toFixed(2)}x throughput (goal >= 3x), p99 ${report.postgres.latency_ms.p99.toFixed(1)} vs ${report.baseline.latency_ms.p99.toFixed(1)} ms (goal <=), ${Math.round(report.postgres.rps)}/s (goal >= 10,000)`,
  );
}
if (report.postgres?.batching) {
  const b = report.postgres.batching;
  console.log(
    `PostgreSQL micro-batching: ${b.inserts} INSERTs, ${b.meanRows} deliveries each, ${b.meanInsertMs} ms each`,
  );
}
if (report.pglite) {
  const b = report.pglite.batching;
  console.log(
    `PGlite: ${Math.round(report.pglite.rps)}/s (goal >= 2,000); ${b.inserts} INSERTs of ${b.meanRows} deliveries ` +
      `(${b.insertSeconds} s in all), and ${b.processBatches} batches applied meanwhile (${b.processSeconds} s)`,
  );
}
if (report.lag) {
  console.log(
    `Lag at ${report.lag.load.achievedRate}/s for ${LAG_SECONDS}s (${report.lag.load.acknowledged} acked, ${report.lag.processed} applied): ack->applied p50 ${report.lag.p50_ms} ms, p95 ${report.lag.p95_ms} ms (goal < 1000), p99 ${report.lag.p99_ms} ms, max ${report.lag.max_ms} ms; ` +
      `${report.lag.batching.processBatches} processing batches, ${report.lag.batching.processSeconds} s in all`,
  );
}
const cpu = (r: LoadgenResult | undefined) =>
  r
    ? Object.entries(r.cpu)
        .filter(([k]) => !['ncpu', 'wall_s'].includes(k))
        .map(([k, v]) => `${k} ${typeof v === 'object' ? v.cores : v}`)
        .join(', ')
    : '';
if (report.baseline) console.log(`CPU cores, baseline: ${cpu(report.baseline)}`);
if (report.postgres)
  console.log(
    `CPU cores, StoreOps PostgreSQL: ${cpu(report.postgres)} (postgres = every backend of the shared server)`,
  );
if (report.pglite) console.log(`CPU cores, StoreOps PGlite: ${cpu(report.pglite)}`);
console.log(`\n${JSON.stringify(report)}`);
process.exitCode = failed ? 1 : 0;
