// `npm run bench db-copy` — `storeops db copy --to` throughput (issue 15; goal ≥ 50,000 rows/s).
//
// Builds an embedded database in a temporary data dir with BENCH_ORDERS mirrored orders
// (default 200,000; the figure is 1,000,000) shaped like real ones (addresses, a raw JSON
// document, tags), two line items per order and one webhook inbox row per four orders with a
// 1.5 KB payload, then copies it into a fresh database on DATABASE_URL's server (default
// postgres://postgres@127.0.0.1:5432/test) with the same code the CLI runs. Prints rows/s overall
// and the time of each phase. The row counts are checked by the copy itself.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase } from '../src/platform/db/client.ts';
import { migrate } from '../src/platform/db/migrate.ts';
import { copyEmbeddedToServer } from '../src/platform/db/transfer/index.ts';
import { createTestDatabase } from '../test/support/database.ts';

const ORDERS = Number(process.env.BENCH_ORDERS ?? 200_000);
const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const TENANT = '00000000-0000-4000-8000-000000000001';

// BENCH_DATA_DIR keeps the built source between runs (it is reused when it exists).
const keep = process.env.BENCH_DATA_DIR;
const reuse = keep !== undefined && existsSync(path.join(keep, 'pglite', 'PG_VERSION'));
const dataDir = keep ?? mkdtempSync(path.join(tmpdir(), 'storeops-bench-copy-'));
const target = await createTestDatabase(SERVER_URL);
try {
  let started = performance.now();
  if (!reuse) await build();
  console.log(
    `built an embedded database with ${ORDERS} orders in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );

  started = performance.now();
  const report = await copyEmbeddedToServer({ dataDir, targetUrl: target.databaseUrl! });
  const total = performance.now() - started;
  for (const t of report.tables.filter((t) => t.rows > 0))
    console.log(`  ${t.name}: ${t.rows} rows in ${((report.timings[t.name] ?? 0) / 1000).toFixed(2)} s`);
  console.log(
    `  building the secondary indexes: ${((report.timings['(indexes)'] ?? 0) / 1000).toFixed(2)} s`,
  );
  console.log(
    `db copy: ${report.rows} rows in ${(report.durationMs / 1000).toFixed(1)} s of copying = ${Math.round(report.rowsPerSecond)} rows/s` +
      ` (${(total / 1000).toFixed(1)} s with opening both databases and migrating the target: ${Math.round(report.rows / (total / 1000))} rows/s)`,
  );
} finally {
  await target.drop();
  if (!keep) rmSync(dataDir, { recursive: true, force: true });
}

async function build() {
  const source = await openDatabase({ dataDir });
  await migrate(source);
  await source.query(`INSERT INTO tenants (id, slug, name) VALUES ($1, 'bench', 'Bench')`, [TENANT]);
  const BATCH = 50_000;
  for (let first = 1; first <= ORDERS; first += BATCH) {
    const last = Math.min(ORDERS, first + BATCH - 1);
    await source.query(
      `INSERT INTO shop_orders (tenant_id, id, name, order_number, email, currency, financial_status,
         fulfillment_status, processed_at, subtotal_price, total_tax, total_price, current_total_price,
         tags, billing_address, shipping_address, shopify_created_at, shopify_updated_at, source, raw)
       SELECT $1, g, '#' || g, g, 'buyer' || g || '@example.com', 'EUR', 'paid', 'fulfilled',
         now() - g * interval '1 minute', (g % 500) + 19.99, 3.80, (g % 500) + 23.79, (g % 500) + 23.79,
         ARRAY['bench', 'tag' || (g % 7)],
         jsonb_build_object('city', 'Berlin', 'zip', '10' || (g % 999), 'address1', g || ' Example Street'),
         jsonb_build_object('city', 'Hamburg', 'zip', '20' || (g % 999), 'address1', g || ' Harbour Road'),
         now() - g * interval '1 minute', now() - g * interval '30 seconds', 'sync',
         jsonb_build_object('id', g, 'admin_graphql_api_id', 'gid://shopify/Order/' || g, 'note', repeat('n', 120))
       FROM generate_series($2::bigint, $3::bigint) g`,
      [TENANT, first, last],
    );
    await source.query(
      `INSERT INTO shop_order_line_items (tenant_id, id, order_id, title, quantity, price, sku)
       SELECT $1, g * 2 + k, g, 'Item ' || (g % 100), 1 + k, 9.99 + k, 'SKU-' || (g % 1000)
       FROM generate_series($2::bigint, $3::bigint) g, generate_series(0, 1) k`,
      [TENANT, first, last],
    );
    await source.query(
      `INSERT INTO webhook_inbox (tenant_id, shop_domain, topic, webhook_id, event_id, triggered_at,
         api_version, payload, payload_bytes, status, dedupe_key, processed_at)
       SELECT $1, 'bench.myshopify.com', 'orders/updated', 'wh-' || g, 'ev-' || g, now(), '2025-10',
         json_build_object('id', g, 'body', repeat('x', 1500)), 1530, 'applied', 'shopify:wh-' || g, now()
       FROM generate_series($2::bigint, $3::bigint) g WHERE g % 4 = 0`,
      [TENANT, first, last],
    );
  }
  await source.close();
}
