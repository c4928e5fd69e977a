/**
 * `storeops stripe-sim [--port 4200] [--host 127.0.0.1] [--seed N] [--secret-key K]
 * [--webhook-url U] [--webhook-secret S]`: runs the Stripe simulator until SIGINT/SIGTERM. The key
 * and webhook secret default to STRIPE_SECRET_KEY / STRIPE_WEBHOOK_SECRET, the names StoreOps
 * reads, so one .env serves both.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { DEFAULT_SIM_SECRET_KEY, startStripeSim } from './index.ts';

const argsSchema = z.object({
  port: z.coerce.number().int().min(0).max(65_535),
  host: z.string().min(1),
  seed: z.coerce.number().int(),
  secretKey: z.string().min(8, 'must be at least 8 characters'),
  webhookUrl: z.url().optional(),
  webhookSecret: z.string().min(8, 'must be at least 8 characters').optional(),
});

const USAGE =
  'usage: storeops stripe-sim [--port 4200] [--host 127.0.0.1] [--seed N] [--secret-key K] ' +
  '[--webhook-url http://127.0.0.1:3000/webhooks/stripe] [--webhook-secret whsec_…]';

/** Runs the simulator from command-line arguments; resolves after SIGINT/SIGTERM shut it down. */
export async function stripeSimCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '4200' },
      host: { type: 'string', default: '127.0.0.1' },
      seed: { type: 'string', default: '1' },
      'secret-key': { type: 'string' },
      'webhook-url': { type: 'string' },
      'webhook-secret': { type: 'string' },
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
    secretKey: values['secret-key'] ?? process.env.STRIPE_SECRET_KEY ?? DEFAULT_SIM_SECRET_KEY,
    webhookUrl: values['webhook-url'],
    webhookSecret: values['webhook-secret'] ?? process.env.STRIPE_WEBHOOK_SECRET,
  });
  if (!parsed.success) {
    // Never echo the values: they are secrets.
    const problems = parsed.error.issues.map(
      (i) => `  --${String(i.path[0]).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ${i.message}`,
    );
    throw new Error(`invalid stripe-sim arguments:\n${problems.join('\n')}\n${USAGE}`);
  }
  const o = parsed.data;
  const sim = await startStripeSim({
    port: o.port,
    host: o.host,
    seed: o.seed,
    secretKey: o.secretKey,
    webhook: o.webhookUrl ? { url: o.webhookUrl, secret: o.webhookSecret } : undefined,
  });
  console.log(`Stripe simulator listening on ${sim.url} (seed ${o.seed})`);
  console.log(`  STRIPE_API_HOST=${sim.host} STRIPE_API_PORT=${sim.port} STRIPE_API_PROTOCOL=http`);
  if (o.webhookUrl) console.log(`  webhooks to ${o.webhookUrl}`);
  console.log(`  control API: ${sim.url}/_sim/health  (docs/stripe-simulator.md)`);
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
