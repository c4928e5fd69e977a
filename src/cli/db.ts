import { existsSync } from 'node:fs';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { z } from 'zod';
import { loadDotEnv } from '../platform/config.ts';
import {
  type CopyProgress,
  copyEmbeddedToServer,
  copyServerToEmbedded,
  DbToolError,
  displayUrl,
} from '../platform/db/transfer/index.ts';
import { parseCommandArgs, UsageError } from './args.ts';

const help = `Usage: storeops db copy (--to postgres://… | --from postgres://…) [--data-dir DIR]

Moves a StoreOps database between the embedded engine (PGlite) and a PostgreSQL server, with every
table (identity, Shopify connections, webhooks, sync, catalog, jobs, …) and its row count checked.
Stop every StoreOps process using either database first.

  --to URL        copy the embedded database of the data dir into URL, an EMPTY PostgreSQL
                  database (create it with \`createdb\`); a database with rows is refused
  --from URL      copy the PostgreSQL database at URL into a NEW embedded database in the data dir
                  (for local debugging); an existing embedded database there is refused
  --data-dir DIR  the data dir (default STOREOPS_DATA_DIR, ./data)

The schema comes from this version's migrations; data follows table by table in foreign-key order
inside one transaction on the target, so a failed copy leaves nothing half-written. Secrets at rest
stay sealed: run the new deployment with the same STOREOPS_ENCRYPTION_KEYS (and session secret and
API key pepper), or Shopify tokens will not decrypt.`;

const postgresUrl = z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL');

/** Progress bars on stderr: one bar for all rows, labelled with the table being copied. */
function progressBars(): CopyProgress & { stop(): void } {
  const bar = new cliProgress.SingleBar(
    {
      format: 'Copying {bar} {percentage}% {value}/{total} rows | {table}',
      stream: process.stderr,
      hideCursor: true,
      noTTYOutput: !process.stderr.isTTY,
      notTTYSchedule: 2000,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let before = 0;
  return {
    onStart(_tables, totalRows) {
      bar.start(Math.max(totalRows, 1), 0, { table: '' });
    },
    onTable(name) {
      before = bar.getProgress() * bar.getTotal();
      bar.update(Math.round(before), { table: name });
    },
    onRows(_name, done) {
      bar.update(Math.round(before + done));
    },
    onVerify() {
      bar.update(bar.getTotal(), { table: 'checking row counts' });
    },
    stop() {
      bar.stop();
    },
  };
}

/** `storeops db copy`: embedded ⇄ PostgreSQL. */
export async function run(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if (action !== 'copy') {
    if (action === undefined || action === '--help' || action === '-h') {
      console.log(help);
      return action === undefined ? 2 : 0;
    }
    throw new UsageError(`unknown action "${action}"\n\n${help}`);
  }
  const args = parseCommandArgs(rest, {
    help,
    options: { to: { type: 'string' }, from: { type: 'string' }, 'data-dir': { type: 'string' } },
    schema: z
      .object({
        to: postgresUrl.optional(),
        from: postgresUrl.optional(),
        'data-dir': z.string().min(1).optional(),
      })
      .refine((a) => (a.to === undefined) !== (a.from === undefined), {
        message: 'give exactly one of --to and --from',
        path: ['to'],
      }),
  });
  if (!args) return 0;
  loadDotEnv();
  // Not loadConfig(): it would generate development secrets into a new data dir.
  const dataDir = args['data-dir'] ?? (process.env.STOREOPS_DATA_DIR || './data');
  const bars = progressBars();
  try {
    const report = args.to
      ? await copyEmbeddedToServer({
          dataDir,
          targetUrl: args.to,
          progress: bars,
          // Undocumented test knob: read the embedded tables in slices of N heap pages.
          pagesPerSlice: Number(process.env.STOREOPS_COPY_SLICE_PAGES) || undefined,
        })
      : await copyServerToEmbedded({ sourceUrl: args.from!, dataDir, progress: bars });
    bars.stop();
    const filled = report.tables.filter((t) => t.rows > 0);
    const width = Math.max(0, ...filled.map((t) => t.name.length));
    for (const t of filled) console.log(`  ${t.name.padEnd(width)}  ${String(t.rows).padStart(10)} rows ✓`);
    const empty = report.tables.length - filled.length;
    if (empty > 0) console.log(`  (${empty} empty table${empty === 1 ? '' : 's'}, empty in the copy too)`);
    const where = args.to ? displayUrl(args.to) : path.resolve(dataDir, 'pglite');
    console.log(
      `Copied ${report.rows} rows in ${report.tables.length} tables to ${where} in ${(report.durationMs / 1000).toFixed(1)} s (${Math.round(report.rowsPerSecond)} rows/s); every row count matches.`,
    );
    if (args.to) {
      console.log(
        `Next: set DATABASE_URL to it, keep STOREOPS_ENCRYPTION_KEYS, STOREOPS_SESSION_SECRET and STOREOPS_API_KEY_PEPPER as they are${!process.env.STOREOPS_ENCRYPTION_KEYS && existsSync(path.join(dataDir, 'secrets.json')) ? ` (they are generated development values in ${path.resolve(dataDir, 'secrets.json')}: copy them into the environment)` : ''}, then start StoreOps.`,
      );
    }
    return 0;
  } catch (error) {
    bars.stop();
    if (error instanceof DbToolError) {
      console.error(`storeops: db copy failed: ${error.message}`);
      return 1;
    }
    throw error;
  }
}
