import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/**
 * One Prometheus registry per process (not prom-client's global one, so tests can run several
 * servers in one process). Modules add their own metrics to `registry`.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'storeops_' });
  return {
    registry,
    httpDuration: new Histogram({
      name: 'storeops_http_request_duration_seconds',
      help: 'HTTP request latency by route template and status',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    jobsSent: new Counter({
      name: 'storeops_jobs_sent_total',
      help: 'Jobs enqueued by queue',
      labelNames: ['queue'] as const,
      registers: [registry],
    }),
    jobsProcessed: new Counter({
      name: 'storeops_jobs_processed_total',
      help: 'Jobs handled by queue and outcome (completed, failed)',
      labelNames: ['queue', 'outcome'] as const,
      registers: [registry],
    }),
    jobDuration: new Histogram({
      name: 'storeops_job_duration_seconds',
      help: 'Job handler duration by queue',
      labelNames: ['queue'] as const,
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
      registers: [registry],
    }),
  };
}

/** The metrics of one process. */
export type Metrics = ReturnType<typeof createMetrics>;
