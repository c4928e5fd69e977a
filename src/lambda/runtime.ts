import awsLambdaFastify from '@fastify/aws-lambda';
import { buildApp } from '../app.ts';
import { createDeps, type Deps } from '../deps.ts';
import { type Config, loadConfig } from '../platform/config.ts';
import { migrate } from '../platform/db/migrate.ts';
import type { App } from '../platform/http/server.ts';

/** What a Lambda invocation receives besides its event (the few fields StoreOps reads). */
export type LambdaContext = {
  getRemainingTimeInMillis(): number;
  callbackWaitsForEmptyEventLoop?: boolean;
};

/**
 * The configuration on Lambda: the environment as everywhere, with a small pool by default
 * (one invocation at a time per instance; RDS Proxy or PgBouncer in front for many instances).
 */
export function lambdaConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return loadConfig({ DATABASE_POOL_MAX: '2', SHUTDOWN_TIMEOUT_MS: '5000', ...env });
}

/** API Gateway REST (v1) and HTTP API (v2) proxy events, told apart by their documented fields. */
export function eventKind(event: unknown): 'v1' | 'v2' | undefined {
  if (!event || typeof event !== 'object') return undefined;
  const e = event as Record<string, any>;
  if (
    e.version === '2.0' &&
    typeof e.requestContext?.http?.method === 'string' &&
    typeof e.rawPath === 'string'
  )
    return 'v2';
  if (typeof e.httpMethod === 'string' && typeof e.path === 'string' && e.requestContext) return 'v1';
  return undefined;
}

const unknownShape = {
  statusCode: 400,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({
    error: {
      code: 'UNSUPPORTED_EVENT',
      message: 'not an API Gateway proxy event (REST v1 or HTTP API v2 payload format)',
      details: {},
      requestId: null,
    },
  }),
};

/**
 * The API function: Fastify behind API Gateway through @fastify/aws-lambda. The app is built once
 * per instance (cold start) and reused; request bodies reach the routes as the bytes API Gateway
 * received (base64 bodies decoded to the same buffer), so webhook HMACs verify as over HTTP.
 */
export function createApiHandler(config: Config = lambdaConfig()) {
  let ready: Promise<{ deps: Deps; app: App; proxy: ReturnType<typeof awsLambdaFastify> }> | undefined;
  const load = () => {
    ready ??= (async () => {
      const deps = await createDeps(config);
      if (config.STOREOPS_AUTO_MIGRATE) await migrate(deps.database);
      await deps.jobs.start({ work: false });
      const app = await buildApp(deps, 'api');
      // The adapter decorates the app, so it comes before `ready`.
      const proxy = awsLambdaFastify(app as any, { binaryMimeTypes: ['image/*'] });
      await app.ready();
      return { deps, app, proxy };
    })();
    return ready;
  };
  const handler = async (event: unknown, context: LambdaContext) => {
    // The pool and pg-boss timers stay open between invocations; do not wait for them.
    context.callbackWaitsForEmptyEventLoop = false;
    if (!eventKind(event)) return unknownShape;
    const { proxy } = await load();
    return (proxy as any)(event, context);
  };
  return Object.assign(handler, {
    /** The instance's dependencies (tests; tooling that shares the warm instance). */
    deps: async () => (await load()).deps,
    async close() {
      if (!ready) return;
      const { deps, app } = await ready;
      ready = undefined;
      await app.close();
      await deps.jobs.stop(1000);
      await deps.database.close();
    },
  });
}

export type WorkerReport = {
  trigger: 'schedule' | 'sqs' | 'migrate';
  ms: number;
  processed: Record<string, number>;
};

/** EventBridge schedules, SQS messages, or `{ "storeops": "migrate" }` from a deployment step. */
export function workerTrigger(event: unknown): WorkerReport['trigger'] | undefined {
  if (!event || typeof event !== 'object') return undefined;
  const e = event as Record<string, any>;
  if (e.storeops === 'migrate') return 'migrate';
  if (e.source === 'aws.events' || e['detail-type'] === 'Scheduled Event') return 'schedule';
  if (
    Array.isArray(e.Records) &&
    e.Records.length > 0 &&
    e.Records.every((r: any) => r?.eventSource === 'aws:sqs')
  )
    return 'sqs';
  return undefined;
}

/**
 * The worker function: on a schedule (every minute) or a queue message it starts the job workers,
 * lets them run due jobs for a bounded time (`maxSeconds`, at most the invocation's remaining
 * time less a margin), then stops them gracefully and closes the database. Each invocation is a
 * whole worker lifetime, so a frozen Lambda instance never holds a job lease.
 */
export function createWorkerHandler(config: Config = lambdaConfig(), options: { maxSeconds?: number } = {}) {
  const maxSeconds = options.maxSeconds ?? Number(process.env.STOREOPS_WORKER_SECONDS ?? 45);
  return async (event: unknown, context: LambdaContext): Promise<WorkerReport> => {
    const trigger = workerTrigger(event);
    if (!trigger)
      throw new Error(
        'storeops worker: unsupported event (expected an EventBridge schedule, SQS messages or {"storeops":"migrate"})',
      );
    const started = Date.now();
    const deps = await createDeps(config);
    try {
      if (trigger === 'migrate' || config.STOREOPS_AUTO_MIGRATE) await migrate(deps.database);
      if (trigger === 'migrate') return { trigger, ms: Date.now() - started, processed: {} };
      await deps.jobs.start({ work: true });
      const budget = Math.min(
        maxSeconds * 1000,
        context.getRemainingTimeInMillis() - 10_000 - config.SHUTDOWN_TIMEOUT_MS,
      );
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, budget)));
      await deps.jobs.stop(config.SHUTDOWN_TIMEOUT_MS);
      const processed: Record<string, number> = {};
      for (const value of (await deps.metrics.jobsProcessed.get()).values) {
        if (value.labels.outcome !== 'completed') continue;
        const queue = String(value.labels.queue);
        processed[queue] = (processed[queue] ?? 0) + value.value;
      }
      return { trigger, ms: Date.now() - started, processed };
    } finally {
      await deps.jobs.stop(1000).catch(() => {});
      await deps.database.close();
    }
  };
}
