import fc from 'fast-check';
import { buildRequest, caseArbitrary, caseClass, describeCase, type FuzzCase, sweepCases } from './cases.ts';
import { createRowCounter, responseProblems, settle } from './checks.ts';
import { type Operation, operationsOf } from './openapi.ts';
import { type RawResponse, rawRequest } from './raw-http.ts';
import type { FuzzWorld } from './world.ts';

// Drives the fuzz (issue 16): every operation of the server's OpenAPI document, `runs` cases each,
// drawn by fast-check from a seed (FUZZ_SEED) mixed with the operation's key, so adding a route
// never changes the cases of the others. Failures are collected rather than thrown, grouped by
// operation and kind, with the first example of each.

/** The fixed default seed of CI runs. */
export const DEFAULT_SEED = 16016;

/** One kind of failure on one operation. */
export type Finding = { operation: string; problem: string; count: number; example: string };

/** Per-operation figures. */
export type OperationStats = {
  operation: string;
  requests: number;
  serverErrors: number;
  statuses: Record<number, number>;
  /** Wall time spent on the operation, ms. */
  ms: number;
};

/** What a run found. */
export type FuzzReport = {
  seed: number;
  requests: number;
  serverErrors: number;
  findings: Finding[];
  byOperation: OperationStats[];
  /** Where the time went (ms): requests, row counts, waiting for accepted requests' effects, re-logins. */
  timings: { request: number; count: number; settle: number; revive: number };
};

/** Operations that end the caller's own session go last, DELETEs before them, reads first. */
const ORDER = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
const SELF_ENDING = /\/sessions\/current$|\/logout$/;
function rank(op: Operation): number {
  return (SELF_ENDING.test(op.path) ? 10 : 0) + ORDER.indexOf(op.method);
}

/** 32-bit FNV-1a of a string, to derive each operation's seed. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h | 0;
}

/** The operations of the document, in fuzzing order. */
export async function fuzzOperations(world: FuzzWorld): Promise<Operation[]> {
  const res = await world.server.fetch('/api/v1/openapi.json');
  if (res.status !== 200) throw new Error(`OpenAPI document answered ${res.status}`);
  return operationsOf(await res.json()).sort((a, b) => rank(a) - rank(b));
}

/** Fuzzes every operation; `onOperation` sees each one's figures as it finishes. */
export async function runFuzz(
  world: FuzzWorld,
  options: {
    seed: number;
    runs: number;
    only?: (op: Operation) => boolean;
    onOperation?: (s: OperationStats) => void;
  },
): Promise<FuzzReport> {
  const operations = (await fuzzOperations(world)).filter(options.only ?? (() => true));
  const counter = await createRowCounter(world.server.deps.database);
  const url = new URL(world.server.url);
  const origin = { host: url.hostname, port: Number(url.port) };
  const findings = new Map<string, Finding>();
  const byOperation: OperationStats[] = [];
  const timings = { request: 0, count: 0, settle: 0, revive: 0 };
  const timed = async <T>(what: keyof typeof timings, fn: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await fn();
    } finally {
      timings[what] += performance.now() - started;
    }
  };
  let baseline = await settle(counter);

  const record = (operation: string, problem: string, example: string) => {
    const key = `${operation}\u0000${problem}`;
    const found = findings.get(key);
    if (found) found.count++;
    else findings.set(key, { operation, problem, count: 1, example });
  };

  /** Sends the cases; with `countEach`, compares row counts around every refused request. */
  async function runCases(
    op: Operation,
    cases: FuzzCase[],
    stats: OperationStats,
    countEach: boolean,
    replay = false,
  ) {
    for (const c of cases) {
      const principal = world.principals[c.principal];
      const request = buildRequest(world, op, principal, c);
      let res: RawResponse;
      try {
        res = await timed('request', () => rawRequest(origin, request));
      } catch (error) {
        record(
          op.key,
          `no response (${(error as Error).message.slice(0, 60)})`,
          describeCase(principal, request, c),
        );
        baseline = await timed('settle', () => settle(counter));
        continue;
      }
      stats.requests++;
      stats.statuses[res.status] = (stats.statuses[res.status] ?? 0) + 1;
      if (res.status >= 500) stats.serverErrors++;
      const problems = replay
        ? []
        : responseProblems(res, {
            sentText: request.sentText,
            mustNotEcho: request.mustNotEcho,
            secrets: world.secrets,
            allowedSecrets: world.ownedBy[op.key],
          });
      for (const problem of problems)
        record(
          op.key,
          problem.startsWith('server error') ? `${problem} (${caseClass(c)})` : problem,
          `${describeCase(principal, request, c)} → ${res.status} ${res.body.slice(0, 200)}`,
        );
      if (!countEach) continue;
      if (res.status >= 400) {
        let after = await timed('count', () => counter.snapshot());
        let written = counter.diff(baseline, after);
        if (written.length > 0) {
          // Background work (a simulator's webhook, a retry) may have landed meanwhile: let it
          // settle, then send the same refused request again against fresh counts.
          baseline = await timed('settle', () => settle(counter));
          const again = await timed('request', () => rawRequest(origin, request)).catch(() => undefined);
          after = await timed('count', () => counter.snapshot());
          written = again && again.status >= 400 ? counter.diff(baseline, after) : [];
        }
        if (written.length > 0)
          record(
            op.key,
            `refused but wrote rows (${written.join(', ')})`,
            describeCase(principal, request, c),
          );
        baseline = after;
      } else {
        baseline =
          op.method === 'GET'
            ? await timed('count', () => counter.snapshot())
            : await timed('settle', () => settle(counter));
      }
    }
  }

  for (const op of operations) {
    const stats: OperationStats = { operation: op.key, requests: 0, serverErrors: 0, statuses: {}, ms: 0 };
    const started = performance.now();
    const cases = [
      ...sweepCases(op, world.principals),
      ...fc.sample(caseArbitrary(op, world.principals), {
        seed: hash(`${options.seed}:${op.key}`),
        numRuns: options.runs,
      }),
    ];
    if (op.method === 'GET') {
      // Reads should write nothing: one count before and after the batch, and only if something
      // changed, the batch again with a count around every request to find which one (an accepted
      // read may write, e.g. the OAuth state of /shopify/install; a refused one never).
      await runCases(op, cases, stats, false);
      const after = await timed('count', () => counter.snapshot());
      if (counter.diff(baseline, after).length > 0) {
        baseline = await timed('settle', () => settle(counter));
        await runCases(op, cases, stats, true, true);
      } else baseline = after;
    } else {
      await runCases(op, cases, stats, true);
    }
    // A fuzzed logout ends the caller's session: log the principal in again.
    if (SELF_ENDING.test(op.path))
      for (const p of world.principals) await timed('revive', () => world.revive(p));
    stats.ms = performance.now() - started;
    byOperation.push(stats);
    options.onOperation?.(stats);
  }
  const requests = byOperation.reduce((n, s) => n + s.requests, 0);
  const serverErrors = byOperation.reduce((n, s) => n + s.serverErrors, 0);
  return {
    seed: options.seed,
    requests,
    serverErrors,
    findings: [...findings.values()],
    byOperation,
    timings,
  };
}

/** A readable summary: one line per problem, with the operations it was seen on and one example. */
export function formatFindings(findings: Finding[]): string[] {
  const byProblem = new Map<string, Finding[]>();
  for (const f of findings) byProblem.set(f.problem, [...(byProblem.get(f.problem) ?? []), f]);
  return [...byProblem.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([problem, list]) => {
      const count = list.reduce((n, f) => n + f.count, 0);
      const ops = list.map((f) => f.operation).sort();
      const shown =
        ops.length > 6 ? `${ops.slice(0, 6).join(', ')} and ${ops.length - 6} more` : ops.join(', ');
      return `${problem} ×${count} on ${ops.length} operation(s): ${shown} — e.g. ${list[0].example.slice(0, 400)}`;
    });
}
