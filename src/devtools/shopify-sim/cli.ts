/**
 * `storeops shopify-sim --port 4100 [--seed N] [--plan standard|advanced|plus] [--api-key K]
 * [--api-secret S]`: runs the simulator until SIGINT/SIGTERM. Credentials default to
 * SHOPIFY_API_KEY / SHOPIFY_API_SECRET, the same names StoreOps reads.
 */
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { z } from 'zod';
import { startShopifySim } from './index.ts';
import { PLANS } from './shops.ts';

const argsSchema = z.object({
  port: z.coerce.number().int().min(0).max(65_535),
  host: z.string().min(1),
  seed: z.coerce.number().int(),
  plan: z.enum(PLANS),
  apiKey: z.string({ error: 'set --api-key or SHOPIFY_API_KEY' }).min(1, 'set --api-key or SHOPIFY_API_KEY'),
  apiSecret: z
    .string({ error: 'set --api-secret or SHOPIFY_API_SECRET' })
    .min(1, 'set --api-secret or SHOPIFY_API_SECRET'),
  timeScale: z.coerce.number().positive(),
});

const USAGE =
  'usage: storeops shopify-sim [--port 4100] [--host 127.0.0.1] [--seed N] [--plan standard|advanced|plus] ' +
  '[--api-key K] [--api-secret S] [--time-scale F]';

/**
 * Makes V8 trade a little speed for a much smaller heap. The simulator's live set is small (records
 * are generated, not stored), but a 1M-order export allocates fast and V8's default growth policy
 * lets garbage pile up to ~400 MB RSS; with this flag the same export peaks near 160 MB at ~90% of
 * the throughput (bench/shopify-sim-memory.bench.ts). Process-wide, so only for a process that
 * runs nothing but the simulator.
 */
export function preferSmallHeap(): void {
  v8.setFlagsFromString('--optimize-for-size');
}

/** Runs the simulator from command-line arguments; resolves after SIGINT/SIGTERM shut it down. */
export async function shopifySimCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '4100' },
      host: { type: 'string', default: '127.0.0.1' },
      seed: { type: 'string', default: '1' },
      plan: { type: 'string', default: 'standard' },
      'api-key': { type: 'string' },
      'api-secret': { type: 'string' },
      'time-scale': { type: 'string', default: '1' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const parsed = argsSchema.safeParse({
    port: values.port,
    host: values.host,
    seed: values.seed,
    plan: values.plan,
    apiKey: values['api-key'] ?? process.env.SHOPIFY_API_KEY,
    apiSecret: values['api-secret'] ?? process.env.SHOPIFY_API_SECRET,
    timeScale: values['time-scale'],
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (i) => `  --${String(i.path[0]).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ${i.message}`,
    );
    throw new Error(`invalid shopify-sim arguments:\n${problems.join('\n')}\n${USAGE}`);
  }
  const o = parsed.data;
  preferSmallHeap();
  const sim = await startShopifySim(o);
  console.log(`Shopify simulator listening on ${sim.url} (seed ${o.seed}, plan ${o.plan})`);
  console.log(`  SHOPIFY_ADMIN_URL_TEMPLATE=${sim.adminUrlTemplate}`);
  console.log(`  control API: ${sim.url}/_sim/health  (docs/shopify-simulator.md)`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      sim.close().then(resolve, resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
