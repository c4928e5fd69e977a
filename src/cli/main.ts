import { ConfigError } from '../platform/config.ts';
import { isAppError } from '../platform/errors.ts';
import { UsageError } from './args.ts';

/** A CLI command: loaded lazily so `storeops --help` stays instant. */
type Command = { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number | undefined> }> };

const commands: Record<string, Command> = {
  serve: {
    summary: 'serve [--role all|api|worker] [--port N]   run the API and/or job workers',
    load: () => import('./serve.ts'),
  },
  migrate: {
    summary: 'migrate                                    apply database migrations',
    load: () => import('./migrate.ts'),
  },
  keys: {
    summary:
      'keys status|rotate|generate                encryption key ring: re-encrypt secrets under the newest key',
    load: () => import('./keys.ts'),
  },
  'shopify-sim': {
    summary:
      'shopify-sim [--port 4100] [--seed N] [--plan standard|advanced|plus]   run the local Shopify simulator',
    load: () => import('./shopify-sim.ts'),
  },
  'stripe-sim': {
    summary:
      'stripe-sim [--port 4200] [--seed N] [--webhook-url U]             run the local Stripe simulator',
    load: () => import('./stripe-sim.ts'),
  },
  sync: {
    summary: 'sync <shop> [--full|--reconcile]            mirror a shop with a progress bar',
    load: () => import('./sync.ts'),
  },
  catalog: {
    summary: 'catalog seed --tenant <slug>              load the demo catalog (idempotent)',
    load: () => import('./catalog.ts'),
  },
  operator: {
    summary: 'operator create --email E [--password-stdin]   add a platform operator',
    load: () => import('./operator.ts'),
  },
};

function usage(): string {
  return [
    'Usage: storeops <command> [options]',
    '',
    'Commands:',
    ...Object.values(commands).map((c) => `  ${c.summary}`),
    '',
    'Configuration comes from the environment (and ./.env); see README.md.',
    'Run `storeops <command> --help` for a command’s options.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return 0;
  }
  const command = commands[name];
  if (!command) {
    console.error(`storeops: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  const module = await command.load();
  return (await module.run(rest)) ?? 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`storeops: ${error.message}`);
      process.exitCode = 2;
      return;
    }
    if (error instanceof ConfigError || isAppError(error)) console.error(`storeops: ${error.message}`);
    else console.error('storeops: failed:', error);
    process.exitCode = 1;
  },
);
