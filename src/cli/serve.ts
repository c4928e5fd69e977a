import { z } from 'zod';
import { loadConfig, loadDotEnv } from '../platform/config.ts';
import { startServer } from '../server.ts';
import { parseCommandArgs } from './args.ts';

const help = `Usage: storeops serve [--role all|api|worker] [--port N]

  --role   all (default): HTTP API and job workers in one process
           api: HTTP only (jobs are enqueued, not run)
           worker: job workers, plus /health, /ready and /metrics on the port
  --port   overrides PORT (default 3000)`;

/** `storeops serve`: runs until SIGINT/SIGTERM, then drains and exits 0. */
export async function run(argv: string[]): Promise<number | undefined> {
  const args = parseCommandArgs(argv, {
    help,
    options: { role: { type: 'string' }, port: { type: 'string' } },
    schema: z.object({
      role: z.enum(['all', 'api', 'worker']).default('all'),
      port: z.coerce.number().int().min(0).max(65535).optional(),
    }),
  });
  if (!args) return 0;
  loadDotEnv();
  const config = loadConfig(
    args.port === undefined ? process.env : { ...process.env, PORT: String(args.port) },
  );
  const server = await startServer(config, { role: args.role });

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      server.deps.logger.info({ signal }, 'shutting down');
      // A second signal while draining means "now".
      process.once(signal, () => process.exit(130));
      server.close().then(resolve, (error) => {
        server.deps.logger.error({ err: error }, 'shutdown failed');
        process.exitCode = 1;
        resolve();
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  return undefined;
}
