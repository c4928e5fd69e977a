// `npm run bench fuzz` — the long run of the OpenAPI fuzz (issue 16; the CI run is
// test/security/fuzz.test.ts with a sweep and 12 random cases per operation and a fixed seed).
//
// Same world, same cases and checks, many more cases per operation, and by default a new seed
// each run (printed, so a finding can be replayed with FUZZ_SEED). Prints the requests fuzzed and
// the 5xx seen by operation, then every finding; writes the report to bench/results/. Exits 1 when
// anything was found.
//
// Env: FUZZ_RUNS (cases per operation, 150), FUZZ_SEED (default: from the clock), FUZZ_ONLY
// (substring of the operations to fuzz, e.g. "/catalog/"), DATABASE_URL (a PostgreSQL server to make
// the run's database on; default: PGlite).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { formatFindings, runFuzz } from '../test/support/fuzz/runner.ts';
import { buildFuzzWorld } from '../test/support/fuzz/world.ts';

const runs = Number(process.env.FUZZ_RUNS ?? 150);
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const only = process.env.FUZZ_ONLY;

const started = Date.now();
const world = await buildFuzzWorld();
console.log(
  `fuzz bench: seed ${seed}, ${runs} cases per operation, ${world.server.deps.database.kind}, world ready in ${Math.round((Date.now() - started) / 1000)} s`,
);
let exitCode = 0;
try {
  const report = await runFuzz(world, {
    seed,
    runs,
    only: only ? (op) => op.key.includes(only) : undefined,
    onOperation: (s) => {
      if (s.serverErrors > 0)
        console.log(`  5xx ×${s.serverErrors} on ${s.operation} (${s.requests} requests)`);
    },
  });
  console.log('\n| operation | requests | 5xx | statuses |\n| --- | ---: | ---: | --- |');
  for (const s of report.byOperation)
    console.log(`| ${s.operation} | ${s.requests} | ${s.serverErrors} | ${JSON.stringify(s.statuses)} |`);
  console.log(
    `\nrequests fuzzed: ${report.requests} over ${report.byOperation.length} operations; 5xx seen: ${report.serverErrors} ` +
      `on ${report.byOperation.filter((s) => s.serverErrors > 0).length} operations; ` +
      `${Math.round((Date.now() - started) / 1000)} s in all`,
  );
  const lines = formatFindings(report.findings);
  if (lines.length > 0) {
    exitCode = 1;
    console.log(`\n${lines.length} kinds of finding:`);
    for (const line of lines) console.log(`- ${line}`);
  } else console.log('no findings');
  const dir = path.join(import.meta.dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `fuzz-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ runs, ...report }, null, 2));
  console.log(`report: ${path.relative(process.cwd(), file)}`);
} finally {
  await world.close();
}
process.exit(exitCode);
