/**
 * Shopify simulator memory benchmark (issue 3: "a 1,000,000-order shop keeps the simulator under
 * 300 MB"). Runs the simulator in a child process on loopback (this same file with --serve), so the
 * RSS measured is the simulator's alone, not the consumer's. Creates a 10,000-order baseline shop
 * and a 1,000,000-order shop through the control API, bulk-exports every order with its line
 * items over HTTP (streaming and parsing the JSONL), pages through a slice with GraphQL cursors,
 * and prints the simulator's peak RSS and throughput for both. Run: node bench/shopify-sim-memory.bench.ts
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { preferSmallHeap } from '../src/devtools/shopify-sim/cli.ts';
import { startShopifySim } from '../src/devtools/shopify-sim/index.ts';

if (process.argv.includes('--serve')) {
  // Child: just the simulator, tuned as `storeops shopify-sim` runs it (SIM_DEFAULT_HEAP=1 skips that).
  if (!process.env.SIM_DEFAULT_HEAP) preferSmallHeap();
  const served = await startShopifySim({
    apiKey: 'bench-key',
    apiSecret: 'bench-secret',
    seed: 1,
    plan: 'plus',
  });
  process.send?.({ url: served.url });
  process.on('disconnect', () => {
    served.close().then(() => process.exit(0));
  });
  await new Promise(() => {});
}

const BUDGET_MB = 300;
const SCOPES = ['read_orders', 'read_products', 'read_customers'];
const BULK_QUERY = `{ orders { edges { node { id name createdAt updatedAt displayFinancialStatus
  totalPriceSet { shopMoney { amount currencyCode } }
  lineItems { edges { node { id title quantity sku originalUnitPriceSet { shopMoney { amount } } } } } } } } }`;
const PAGE_QUERY = `query($after: String) { orders(first: 250, after: $after) {
  nodes { id name updatedAt totalPriceSet { shopMoney { amount } } }
  pageInfo { hasNextPage endCursor } } }`;

const child = fork(import.meta.filename, ['--serve'], {
  execArgv: (process.env.SIM_FLAGS ?? '').split(' ').filter(Boolean),
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const simUrl = await new Promise<string>((resolve, reject) => {
  child.once('message', (m: any) => resolve(m.url));
  child.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
});
const sim = { url: simUrl };

/** The simulator process's resident set size in bytes, from /proc (Linux). */
function childRss(): number {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}
let peak = 0;
const sampler = setInterval(() => {
  peak = Math.max(peak, childRss());
}, 25);
const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);

async function control(method: string, path: string, body: unknown) {
  const res = await fetch(`${sim.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as any;
}

async function gql(shop: string, token: string, query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(`${sim.url}/${shop}/admin/api/2025-10/graphql.json`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-shopify-access-token': token },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as any;
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

async function bulkExport(shop: string, token: string) {
  const started = performance.now();
  const run = await gql(
    shop,
    token,
    `mutation($q: String!) { bulkOperationRunQuery(query: $q) { bulkOperation { id } userErrors { message } } }`,
    {
      q: BULK_QUERY,
    },
  );
  const id = run.bulkOperationRunQuery.bulkOperation.id;
  let op: any;
  for (;;) {
    op = (
      await gql(
        shop,
        token,
        `{ bulkOperation(id: "${id}") { status url objectCount rootObjectCount fileSize } }`,
      )
    ).bulkOperation;
    if (op.status === 'COMPLETED' || op.status === 'FAILED') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  if (op.status !== 'COMPLETED') throw new Error(`bulk operation ${op.status}`);
  const ready = performance.now();
  // Stream the file and parse every line, as a consumer would; nothing is kept.
  const res = await fetch(op.url);
  const decoder = new TextDecoder();
  let rest = '';
  let roots = 0;
  let lines = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    const text = rest + decoder.decode(chunk, { stream: true });
    const parts = text.split('\n');
    rest = parts.pop() ?? '';
    for (const line of parts) {
      const row = JSON.parse(line);
      lines++;
      if (row.__parentId === undefined) roots++;
    }
  }
  const done = performance.now();
  return {
    roots,
    lines,
    fileMb: mb(Number(op.fileSize)),
    exportS: (ready - started) / 1000,
    totalS: (done - started) / 1000,
  };
}

async function pageThrough(shop: string, token: string, maxPages: number) {
  const started = performance.now();
  let after: string | null = null;
  let orders = 0;
  let pages = 0;
  while (pages < maxPages) {
    // The bench measures memory and generation, not the leaky bucket: keep the bucket full.
    await control('PUT', `/_sim/shops/${shop}/bucket`, { currentlyAvailable: 20_000 });
    const data: any = await gql(shop, token, PAGE_QUERY, { after });
    orders += data.orders.nodes.length;
    pages++;
    if (!data.orders.pageInfo.hasNextPage) break;
    after = data.orders.pageInfo.endCursor;
  }
  return { orders, pages, seconds: (performance.now() - started) / 1000 };
}

async function measure(label: string, shop: string, orders: number, maxPages: number) {
  peak = childRss();
  await control('POST', '/_sim/shops', {
    shop,
    orders,
    products: 2_000,
    customers: Math.max(1000, orders / 10),
  });
  const token = (await control('POST', `/_sim/shops/${shop}/tokens`, { scopes: SCOPES }))
    .access_token as string;
  const bulk = await bulkExport(shop, token);
  const paging = await pageThrough(shop, token, maxPages);
  const result = {
    label,
    orders,
    bulkRoots: bulk.roots,
    bulkLines: bulk.lines,
    fileMb: bulk.fileMb,
    exportS: +bulk.exportS.toFixed(2),
    bulkTotalS: +bulk.totalS.toFixed(2),
    bulkOrdersPerS: Math.round(bulk.roots / bulk.totalS),
    pagedOrders: paging.orders,
    pagedOrdersPerS: Math.round(paging.orders / paging.seconds),
    peakRssMb: mb(peak),
  };
  if (bulk.roots !== orders) throw new Error(`${label}: exported ${bulk.roots} of ${orders} orders`);
  return result;
}

try {
  const baseline = await measure('baseline', 'bench-small.myshopify.com', 10_000, 40);
  const big = await measure('1M orders', 'bench-million.myshopify.com', 1_000_000, 400);
  console.table([baseline, big]);
  console.log(
    `peak RSS ${big.peakRssMb} MB with 1,000,000 orders vs ${baseline.peakRssMb} MB with 10,000 ` +
      `(budget ${BUDGET_MB} MB: ${big.peakRssMb < BUDGET_MB ? 'within' : 'OVER'}); ` +
      `bulk throughput ${big.bulkOrdersPerS} orders/s vs ${baseline.bulkOrdersPerS} orders/s baseline; ` +
      `simulator VmHWM ${Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) >> 10} MB`,
  );
  if (big.peakRssMb >= BUDGET_MB) process.exitCode = 1;
} finally {
  clearInterval(sampler);
  child.disconnect();
}
