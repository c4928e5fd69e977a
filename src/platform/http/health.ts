import { z } from 'zod';
import { AppError } from '../errors.ts';
import type { Metrics } from '../metrics.ts';
import { checkMetricsToken, type MetricsAccess } from './metrics-access.ts';
import { errorEnvelopeSchema } from './schemas.ts';
import type { App } from './server.ts';

/** A named readiness check: resolves true when the dependency answers. */
export type ReadinessCheck = () => Promise<boolean>;

const CHECK_TIMEOUT_MS = 2_000;

async function withTimeout(check: ReadinessCheck): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      check().catch(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** `/health` (the process is alive), `/ready` (every dependency answers), `/metrics` (Prometheus, when on this port). */
export function registerHealthRoutes(
  app: App,
  deps: { checks: Record<string, ReadinessCheck>; metrics: Metrics; metricsAccess: MetricsAccess },
) {
  app.get(
    '/health',
    {
      logLevel: 'warn',
      schema: {
        tags: ['operations'],
        summary: 'Liveness: the process is up',
        response: { 200: z.object({ status: z.literal('ok'), uptimeSeconds: z.number() }) },
      },
    },
    async () => ({ status: 'ok' as const, uptimeSeconds: Math.round(process.uptime()) }),
  );

  app.get(
    '/ready',
    {
      logLevel: 'warn',
      schema: {
        tags: ['operations'],
        summary: 'Readiness: database and job system reachable (503 otherwise)',
        response: {
          200: z.object({ status: z.literal('ready'), checks: z.record(z.string(), z.boolean()) }),
          503: errorEnvelopeSchema,
        },
      },
    },
    async () => {
      const names = Object.keys(deps.checks);
      const results = await Promise.all(names.map((name) => withTimeout(deps.checks[name])));
      const checks = Object.fromEntries(names.map((name, i) => [name, results[i]]));
      if (results.every(Boolean)) return { status: 'ready' as const, checks };
      throw new AppError(503, 'NOT_READY', 'A dependency is not reachable', {
        details: { checks },
        headers: { 'retry-after': '5' },
      });
    },
  );

  // Off the public port in production unless a token guards it (metrics-access.ts).
  if (!deps.metricsAccess.publicPort) return;
  app.get('/metrics', { logLevel: 'warn', schema: { hide: true } }, async (request, reply) => {
    checkMetricsToken(request, deps.metricsAccess);
    reply.type(deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
}
