import { z } from 'zod';
import { email } from '../identity/api.ts';
import { createOperatorAccount } from '../identity/index.ts';
import { loadConfig, loadDotEnv } from '../platform/config.ts';
import { openDatabase } from '../platform/db/client.ts';
import { migrate } from '../platform/db/migrate.ts';
import { parseCommandArgs, UsageError } from './args.ts';

const help = `Usage: storeops operator create --email <address> [--name <name>] [--password-stdin]

Creates a platform operator (works whether or not operators exist; the API's bootstrap only works
for the first one). The password comes from, in order:
  --password-stdin                   read it from standard input (first line)
  STOREOPS_OPERATOR_PASSWORD         the environment
  --password <value>                 the command line (visible to other users in ps: avoid)
It must have 8+ characters with upper, lower and a digit, and not be a common password.`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

/** `storeops operator create`: adds an operator to the configured database. */
export async function run(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if (action !== 'create') {
    if (action === '--help' || action === '-h' || action === undefined) {
      console.log(help);
      return action === undefined ? 2 : 0;
    }
    throw new UsageError(`unknown action "${action}"\n\n${help}`);
  }
  const args = parseCommandArgs(rest, {
    help,
    options: {
      email: { type: 'string' },
      name: { type: 'string' },
      password: { type: 'string' },
      'password-stdin': { type: 'boolean' },
    },
    schema: z.object({
      email,
      name: z.string().max(200).optional(),
      password: z.string().optional(),
      'password-stdin': z.boolean().optional(),
    }),
  });
  if (!args) return 0;
  loadDotEnv();
  const password = args['password-stdin']
    ? await readStdin()
    : (process.env.STOREOPS_OPERATOR_PASSWORD ?? args.password);
  if (!password) throw new UsageError(`no password given\n\n${help}`);
  const config = loadConfig();
  const database = await openDatabase({
    databaseUrl: config.DATABASE_URL,
    dataDir: config.STOREOPS_DATA_DIR,
  });
  try {
    if (config.STOREOPS_AUTO_MIGRATE) await migrate(database);
    const operator = await createOperatorAccount(database, { email: args.email, password, name: args.name });
    console.log(`created operator ${operator.email} (${operator.id})`);
  } finally {
    await database.close();
  }
  return 0;
}
