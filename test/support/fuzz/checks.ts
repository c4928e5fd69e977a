import type { Database } from '../../../src/platform/db/client.ts';
import type { RawResponse } from './raw-http.ts';

// What every fuzzed response must satisfy (issue 16), and the row counts that prove a refused
// request wrote nothing.

/**
 * Headers every error response carries (helmet's, as configured in src/platform/http/server.ts).
 * Checked by presence and, where the value matters, by value.
 */
export const SECURITY_HEADERS: Record<string, (value: string) => boolean> = {
  'x-content-type-options': (v) => v === 'nosniff',
  'content-security-policy': (v) => v.includes("default-src 'self'") && v.includes("frame-ancestors 'self'"),
  'x-frame-options': (v) => /sameorigin|deny/i.test(v),
  'referrer-policy': (v) => v.length > 0,
  'strict-transport-security': (v) => /max-age=\d+/.test(v),
  'cross-origin-opener-policy': (v) => v.length > 0,
};

/** Problems with one response (empty: fine). */
export function responseProblems(
  res: RawResponse,
  context: {
    sentText: string;
    mustNotEcho?: string;
    secrets: Map<string, string>;
    allowedSecrets?: string[];
  },
): string[] {
  const problems: string[] = [];
  if (res.status >= 500) problems.push(`server error ${res.status}`);
  if (res.status >= 400) {
    const type = res.headers['content-type'] ?? '';
    let parsed: any;
    try {
      parsed = JSON.parse(res.body);
    } catch {
      parsed = undefined;
    }
    const e = parsed?.error;
    const inEnvelope =
      type.startsWith('application/json') &&
      e &&
      typeof e.code === 'string' &&
      /^[A-Z][A-Z0-9_]*$/.test(e.code) &&
      typeof e.message === 'string' &&
      typeof e.requestId === 'string' &&
      Object.keys(parsed).length === 1;
    if (!inEnvelope) {
      // Name what answered instead: a framework code, Node's own parser ("Client Error"), nothing.
      const what = res.body.length === 0 ? 'empty body' : (parsed?.code ?? parsed?.message ?? 'not JSON');
      problems.push(`${res.status} outside the error envelope (${String(what).slice(0, 40)})`);
    } else if (res.headers['x-request-id'] !== e.requestId)
      problems.push(`${res.status} requestId differs from X-Request-Id`);
    const missing = Object.entries(SECURITY_HEADERS)
      .filter(([name, ok]) => res.headers[name] === undefined || !ok(res.headers[name]))
      .map(([name]) => name);
    if (missing.length > 0) problems.push(`${res.status} without security headers (${missing.join(', ')})`);
    if (context.mustNotEcho && res.body.includes(context.mustNotEcho))
      problems.push(`${res.status} echoes the request path`);
  }
  const seen = `${res.head}\n${res.body}`;
  for (const [label, secret] of context.secrets) {
    if (context.allowedSecrets?.includes(label)) continue;
    if (context.sentText.includes(secret)) continue;
    if (seen.includes(secret)) problems.push(`secret echoed (${label})`);
  }
  return problems;
}

/** Tables whose rows a refused request may legitimately add, with the reason (docs/reliability.md). */
export const RECORDS_REFUSALS: Record<string, string> = {
  'public.audit_events': 'the audit log records failed logins, lockouts and failed code checks',
  'public.auth_throttles': 'failed logins and codes are counted per account and address for lockout',
};

/** Schemas left out entirely: pg-boss's queue (jobs come and go on their own schedule). */
const SKIPPED_SCHEMAS = ['pg_catalog', 'information_schema', 'pgboss'];

/** Counts the rows of every table (but the ones above) in one statement. */
export async function createRowCounter(database: Database) {
  const { rows } = await database.query<{ name: string }>(
    `SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) AS name
       FROM information_schema.tables
      WHERE table_type = 'BASE TABLE' AND NOT (table_schema = ANY($1::text[]))
      ORDER BY 1`,
    [SKIPPED_SCHEMAS],
  );
  const tables = rows.map((r) => r.name).filter((name) => !(name in RECORDS_REFUSALS));
  const sql = `SELECT ${tables.map((t, i) => `(SELECT count(*) FROM ${t})::int AS c${i}`).join(', ')}`;
  return {
    tables,
    async snapshot(): Promise<number[]> {
      const {
        rows: [row],
      } = await database.query<Record<string, number>>(sql);
      return tables.map((_, i) => row[`c${i}`]);
    },
    /** `table +n` for every table whose count differs. */
    diff(before: number[], after: number[]): string[] {
      return tables.flatMap((t, i) =>
        before[i] === after[i] ? [] : [`${t} ${after[i] > before[i] ? '+' : ''}${after[i] - before[i]}`],
      );
    },
    /**
     * True while background work is due or running: a pg-boss job, or a webhook inbox row waiting
     * for the processor (replays and redrives apply after their answer; a failed attempt is retried
     * within seconds in the test stack, so rows due soon count too). Add other queues here.
     */
    async busy(): Promise<boolean> {
      const { rows: due } = await database.query<{ n: number }>(
        `SELECT (SELECT count(*) FROM pgboss.job
                  WHERE state IN ('created', 'retry', 'active') AND start_after <= now())::int
              + (SELECT count(*) FROM webhook_inbox
                  WHERE status IN ('pending', 'processing') AND run_at <= now() + interval '10 seconds')::int AS n`,
      );
      return due[0].n > 0;
    },
  };
}

/** The row counter of one database. */
export type RowCounter = Awaited<ReturnType<typeof createRowCounter>>;

/**
 * After a request that was accepted, waits until its background effects (jobs, the webhook
 * processor) have landed — no job due and the counts unchanged twice in a row — and returns the
 * counts to compare the next request against.
 */
export async function settle(counter: RowCounter, maxMs = 10_000): Promise<number[]> {
  const deadline = Date.now() + maxMs;
  let last = await counter.snapshot();
  for (;;) {
    await new Promise((r) => setTimeout(r, 40));
    // Busy first, counts second: work that ends in between shows up as a change and goes round again.
    const busy = await counter.busy();
    const next = await counter.snapshot();
    const same = counter.diff(last, next).length === 0;
    last = next;
    if ((same && !busy) || Date.now() > deadline) return last;
  }
}
