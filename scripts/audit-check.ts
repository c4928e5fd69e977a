// `npm run audit:prod` (a CI step, issue 16): `npm audit --omit=dev` against the npm registry, failing
// on any advisory of a production dependency that `.ci/audit-allowlist.json` does not list, or lists
// past its `expires` date. Each allowlist entry names the advisory (GHSA id), the package, why it
// does not apply to StoreOps, and when to look again:
//   { "id": "GHSA-xxxx-xxxx-xxxx", "package": "name", "reason": "…", "expires": "2027-01-31" }
// A registry without the audit endpoint (some mirrors answer 404/405) cannot say anything: the step
// then says so loudly and passes, unless AUDIT_STRICT=1 makes that a failure too.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** One allowlisted advisory. */
export type AllowEntry = { id: string; package: string; reason: string; expires: string };

/** One advisory found in the report. */
export type Advisory = { id: string; package: string; severity: string; title: string; url: string };

/** Every advisory of an `npm audit --json` report (v2), one per advisory and package. */
export function advisoriesOf(report: any): Advisory[] {
  const found = new Map<string, Advisory>();
  for (const [name, entry] of Object.entries<any>(report?.vulnerabilities ?? {})) {
    for (const via of entry.via ?? []) {
      // A string `via` is a dependency whose own advisories are listed under its name.
      if (typeof via !== 'object' || via === null) continue;
      const url = String(via.url ?? '');
      const id = /GHSA-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}/i.exec(url)?.[0] ?? `npm-${via.source}`;
      const pkg = String(via.name ?? name);
      found.set(`${id} ${pkg}`, {
        id,
        package: pkg,
        severity: String(via.severity ?? entry.severity),
        title: String(via.title ?? ''),
        url,
      });
    }
  }
  return [...found.values()];
}

/** What the step decides: advisories not allowed, allowlist entries expired or no longer needed. */
export function evaluate(advisories: Advisory[], allowlist: AllowEntry[], today = new Date()) {
  const day = today.toISOString().slice(0, 10);
  const entry = (a: Advisory) =>
    allowlist.find((e) => e.id.toLowerCase() === a.id.toLowerCase() && e.package === a.package);
  const blocking = advisories.filter((a) => !entry(a));
  const expired = allowlist.filter((e) => e.expires < day && advisories.some((a) => entry(a) === e));
  const unused = allowlist.filter((e) => !advisories.some((a) => entry(a) === e));
  return { blocking, expired, unused, ok: blocking.length === 0 && expired.length === 0 };
}

/** Checks the allowlist file's shape (every field, a real date). */
export function parseAllowlist(text: string): AllowEntry[] {
  const parsed = JSON.parse(text);
  const entries: unknown[] = Array.isArray(parsed?.advisories) ? parsed.advisories : [];
  return entries.map((e: any, i) => {
    for (const field of ['id', 'package', 'reason', 'expires'])
      if (typeof e?.[field] !== 'string' || e[field].length === 0)
        throw new Error(`allowlist entry ${i}: ${field} is required`);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(e.expires))
      throw new Error(`allowlist entry ${i}: expires must be YYYY-MM-DD`);
    return { id: e.id, package: e.package, reason: e.reason, expires: e.expires };
  });
}

function main(): number {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const allowlist = parseAllowlist(readFileSync(path.join(root, '.ci/audit-allowlist.json'), 'utf8'));
  const run = spawnSync('npm', ['audit', '--omit=dev', '--json'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  let report: any;
  try {
    report = JSON.parse(run.stdout);
  } catch {
    report = undefined;
  }
  if (!report?.vulnerabilities) {
    const why =
      report?.message ?? report?.error?.summary ?? (run.stderr || 'no JSON report').trim().split('\n')[0];
    console.error(`npm audit: no report from the registry (${why}).`);
    if (process.env.AUDIT_STRICT === '1') return 1;
    console.error(
      'npm audit: SKIPPED — this registry has no audit endpoint; set AUDIT_STRICT=1 to fail instead.',
    );
    return 0;
  }
  const advisories = advisoriesOf(report);
  const result = evaluate(advisories, allowlist);
  for (const a of result.blocking)
    console.error(`NOT ALLOWED: ${a.id} ${a.package} (${a.severity}) ${a.title} ${a.url}`);
  for (const e of result.expired)
    console.error(`EXPIRED ALLOWANCE: ${e.id} ${e.package} (expired ${e.expires}): ${e.reason}`);
  for (const e of result.unused)
    console.log(`note: allowlist entry ${e.id} ${e.package} no longer matches anything; remove it`);
  console.log(
    `npm audit --omit=dev: ${advisories.length} advisories, ${advisories.length - result.blocking.length} allowlisted, ${result.blocking.length} blocking`,
  );
  return result.ok ? 0 : 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1]))
  process.exitCode = main();
