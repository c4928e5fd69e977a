/**
 * CSV import benchmark (issue 11): writes a Shopify product CSV of N products × 3 variants (sizes,
 * SKUs, prices, stock, tags, an HTML description, 12 categories) to a temporary file, then imports
 * it through the catalog's door (`catalog.importProducts`, the code behind
 * `POST …/catalog/products/import` after the upload is spooled) into a fresh tenant and prints the
 * time, rows/s and the process's peak RSS during the import. Goal: 100,000 products in < 60 s and
 * < 300 MB RSS.
 *
 * PostgreSQL when DATABASE_URL is set (a fresh database on that server, dropped at the end),
 * otherwise PGlite in a temporary data dir (in this process, so its memory counts too).
 *   npm run bench catalog-import                                   100,000 products
 *   CATALOG_IMPORT_BENCH_PRODUCTS=10000 npm run bench catalog-import
 */
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { stringify } from 'csv-stringify';
import { CSV_COLUMNS } from '../src/catalog/csv-columns.ts';
import { createDeps } from '../src/deps.ts';
import { loadConfig } from '../src/platform/config.ts';
import { migrate } from '../src/platform/db/migrate.ts';
import { createTestDatabase } from '../test/support/database.ts';

const PRODUCTS = Number(process.env.CATALOG_IMPORT_BENCH_PRODUCTS ?? 100_000);
const SIZES = ['S', 'M', 'L'];
const CATEGORIES = [
  'Electronics > Audio',
  'Electronics > Phones',
  'Electronics',
  'Clothing > Shirts',
  'Clothing > Shoes',
  'Clothing',
  'Books > Fiction',
  'Books > Science',
  'Books',
  'Home > Kitchen',
  'Home > Garden',
  'Home',
];

async function writeCsv(file: string) {
  const out = stringify({ header: true, columns: [...CSV_COLUMNS] });
  const sink = createWriteStream(file);
  out.pipe(sink);
  for (let p = 0; p < PRODUCTS; p++) {
    for (const [i, size] of SIZES.entries()) {
      const first = i === 0;
      const row: Record<string, string> = {
        Handle: `bench-product-${p}`,
        'Option1 Value': size,
        'Variant SKU': `BP-${p}-${size}`,
        'Variant Grams': String(200 + i * 10),
        'Variant Inventory Qty': String((p * 7 + i) % 50),
        'Variant Inventory Policy': 'deny',
        'Variant Price': `${10 + (p % 90)}.${String((p * 13 + i) % 100).padStart(2, '0')}`,
        'Variant Compare At Price': i === 2 ? `${120 + (p % 90)}.00` : '',
        ...(first
          ? {
              Title: `Bench product ${p} ${['Blue', 'Red', 'Green', 'Black'][p % 4]} ${['shirt', 'lamp', 'novel', 'speaker'][p % 4]}`,
              'Body (HTML)': `<p>Product <b>${p}</b>: a sturdy, well-made thing.</p><ul><li>Ships fast</li><li>Size ${size}</li></ul>`,
              Vendor: `Vendor ${p % 200}`,
              'Product Category': CATEGORIES[p % CATEGORIES.length],
              Tags: `bench, tag-${p % 50}, batch-${p % 7}`,
              Published: 'TRUE',
              'Option1 Name': 'Size',
              Status: p % 10 === 0 ? 'draft' : 'active',
            }
          : {}),
      };
      if (!out.write(CSV_COLUMNS.map((c) => row[c] ?? ''))) await once(out, 'drain');
    }
  }
  out.end();
  await once(sink, 'finish');
}

/** CPU seconds used so far by the PostgreSQL backends serving this database (same machine: /proc). */
async function postgresCpu(db: { kind: string; query: (sql: string) => Promise<{ rows: any[] }> }) {
  if (db.kind !== 'postgres') return 0;
  const { rows } = await db.query('SELECT pid FROM pg_stat_activity WHERE datname = current_database()');
  const tick = 100; // USER_HZ
  let total = 0;
  for (const { pid } of rows) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / tick;
    } catch {}
  }
  return total;
}

// The CSV is written by a child process, so this process's memory is that of an import only.
if (process.argv[2] === '--write') {
  await writeCsv(process.argv[3]);
  process.exit(0);
}

const work = mkdtempSync(path.join(tmpdir(), 'storeops-bench-import-'));
const database = process.env.DATABASE_URL ? await createTestDatabase(process.env.DATABASE_URL) : undefined;
try {
  const file = path.join(work, 'products.csv');
  const t0 = performance.now();
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--write', file], {
    stdio: 'inherit',
  });
  if (child.status !== 0) throw new Error('writing the CSV failed');
  const bytes = statSync(file).size;
  console.log(
    `CSV: ${PRODUCTS} products, ${PRODUCTS * 3} rows, ${(bytes / 1e6).toFixed(1)} MB in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    STOREOPS_DATA_DIR: path.join(work, 'data'),
    ...(database?.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}),
  });
  const deps = await createDeps(config);
  await migrate(deps.database);
  await deps.jobs.start({ work: false });
  const tenant = await deps.identity.tenants.create(
    { name: 'Bench', slug: 'bench', currency: 'USD', timezone: 'UTC' },
    { actor: { kind: 'system', label: 'bench' }, ip: '127.0.0.1' },
  );

  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  const rssBefore = process.memoryUsage().rss;
  const serverCpu = await postgresCpu(deps.database);
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const summary = await deps.catalog.importProducts(
    { tenantId: tenant.id, currency: 'USD', actor: 'system:bench' },
    createReadStream(file),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const serverSeconds = (await postgresCpu(deps.database)) - serverCpu;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  console.log(JSON.stringify(summary));
  console.log(
    `CPU: this process ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s` +
      (deps.database.kind === 'postgres'
        ? `, PostgreSQL backends ${serverSeconds.toFixed(1)} s`
        : ' (PGlite included)') +
      ` — wall time also depends on what else runs on the machine (load ${loadavg()[0].toFixed(1)})`,
  );
  console.log(
    `import on ${deps.database.kind}: ${seconds.toFixed(1)} s, ${Math.round(PRODUCTS / seconds)} products/s, ` +
      `${Math.round((PRODUCTS * 3) / seconds)} rows/s; RSS ${(rssBefore / 2 ** 20).toFixed(0)} MB before, ` +
      `peak ${(peak / 2 ** 20).toFixed(0)} MB (process max ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB)`,
  );
  const search = await deps.catalog.search(tenant.id, { q: 'lamp', limit: 5 });
  console.log(`search "lamp" right after: ${search.items.length} hits`);
  await deps.jobs.stop(1000);
  await deps.database.close();
} finally {
  await database?.drop();
  rmSync(work, { recursive: true, force: true });
}
