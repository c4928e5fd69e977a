import type { DestinationStream } from 'pino';
import { buildApp, type Role } from './app.ts';
import { createDeps, type Deps } from './deps.ts';
import type { Config } from './platform/config.ts';
import { migrate } from './platform/db/migrate.ts';
import { metricsAccess, startMetricsListener } from './platform/http/metrics-access.ts';
import type { App } from './platform/http/server.ts';

/** A started StoreOps process: its address, its parts, and an orderly way to stop it. */
export type RunningServer = {
  url: string;
  /** The metrics listener's `/metrics` URL when `METRICS_PORT` is set. */
  metricsUrl?: string;
  app: App;
  deps: Deps;
  role: Role;
  close(): Promise<void>;
};

/**
 * Starts one process: database, migrations (unless switched off), job system (workers unless
 * role=api), then HTTP. `close` drains HTTP, lets running jobs finish, then closes the database.
 */
export async function startServer(
  config: Config,
  options: { role?: Role; logDestination?: DestinationStream } = {},
): Promise<RunningServer> {
  const role = options.role ?? 'all';
  const deps = await createDeps(config, { logDestination: options.logDestination });
  const { logger } = deps;
  try {
    for (const name of config.generatedSecrets) {
      logger.warn(
        { variable: name, file: `${config.STOREOPS_DATA_DIR}/secrets.json` },
        'secret not configured: using a generated development value (set it in production)',
      );
    }
    if (config.STOREOPS_AUTO_MIGRATE) {
      const { tenantTables } = await migrate(deps.database);
      logger.info({ tenantTables: tenantTables.length }, 'database migrated');
    }
    await deps.jobs.start({ work: role !== 'api' });
    const app = await buildApp(deps, role);
    const address = await app.listen({ port: config.PORT, host: config.HOST });
    const url = address.replace('[::1]', '127.0.0.1');
    logger.info({ url, role, database: deps.database.kind }, 'StoreOps is listening');
    const access = metricsAccess(config);
    const metricsListener =
      access.port === undefined
        ? undefined
        : await startMetricsListener(deps.metrics, { ...access, port: access.port }).catch(async (error) => {
            await app.close();
            throw error;
          });
    if (metricsListener) logger.info({ url: metricsListener.url }, 'metrics listener');
    else if (!access.publicPort)
      logger.warn('metrics are not served: set METRICS_PORT (own listener) or METRICS_TOKEN (public port)');

    let closing: Promise<void> | undefined;
    const close = () => {
      closing ??= (async () => {
        const timeout = config.SHUTDOWN_TIMEOUT_MS;
        await Promise.race([app.close(), new Promise((r) => setTimeout(r, timeout).unref())]);
        await metricsListener?.close();
        await deps.jobs.stop(timeout);
        await deps.database.close();
        logger.info('StoreOps stopped');
      })();
      return closing;
    };
    return { url, metricsUrl: metricsListener?.url, app, deps, role, close };
  } catch (error) {
    await deps.jobs.stop(1000).catch(() => {});
    await deps.database.close().catch(() => {});
    throw error;
  }
}
