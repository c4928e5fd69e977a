import { Counter, Histogram, type Registry } from 'prom-client';

/**
 * The webhook pipeline's metrics (issue 6) on the process registry (`/metrics`). Topic labels only
 * ever come from deliveries whose HMAC verified, so strangers cannot inflate their cardinality;
 * rejections are labelled by reason only.
 */
export function createWebhookMetrics(registry: Registry) {
  const registers = [registry];
  return {
    received: new Counter({
      name: 'storeops_webhooks_received_total',
      help: 'Verified deliveries stored in the inbox, by topic',
      labelNames: ['topic'] as const,
      registers,
    }),
    duplicate: new Counter({
      name: 'storeops_webhooks_duplicate_total',
      help: 'Duplicates acknowledged but not applied again: kind=delivery (same webhook id) or event (same event id)',
      labelNames: ['topic', 'kind'] as const,
      registers,
    }),
    rejected: new Counter({
      name: 'storeops_webhooks_rejected_total',
      help: 'Deliveries refused and not stored, by reason (hmac, headers, body, too_large, unavailable)',
      labelNames: ['reason'] as const,
      registers,
    }),
    orphaned: new Counter({
      name: 'storeops_webhooks_orphaned_total',
      help: 'Verified deliveries for shops StoreOps does not hold: recorded, acknowledged, never applied',
      labelNames: ['topic'] as const,
      registers,
    }),
    processed: new Counter({
      name: 'storeops_webhooks_processed_total',
      help: 'Events applied (or skipped: no handler), by topic',
      labelNames: ['topic'] as const,
      registers,
    }),
    failed: new Counter({
      name: 'storeops_webhooks_failed_total',
      help: 'Failed processing attempts, by topic (each is retried until dead)',
      labelNames: ['topic'] as const,
      registers,
    }),
    dead: new Counter({
      name: 'storeops_webhooks_dead_total',
      help: 'Events moved to the dead-letter queue, by topic',
      labelNames: ['topic'] as const,
      registers,
    }),
    intakeSeconds: new Histogram({
      name: 'storeops_webhooks_intake_seconds',
      help: 'From request start to acknowledgement, for verified deliveries (stored before the 200)',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    lagSeconds: new Histogram({
      name: 'storeops_webhooks_lag_seconds',
      help: 'End-to-end lag: from the stored acknowledgement to the event being applied',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
      registers,
    }),
    inboxWriteSeconds: new Histogram({
      name: 'storeops_webhooks_inbox_write_seconds',
      help: 'Duration of one inbox INSERT (a micro-batch), commit included',
      buckets: [0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 1],
      registers,
    }),
    processBatchSeconds: new Histogram({
      name: 'storeops_webhooks_process_batch_seconds',
      help: "Time to apply one tenant's batch of events (transaction included)",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    inboxBatchRows: new Histogram({
      name: 'storeops_webhooks_inbox_batch_rows',
      help: 'Deliveries written per inbox INSERT (micro-batching)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
      registers,
    }),
  };
}

/** The webhook metrics of one process. */
export type WebhookMetrics = ReturnType<typeof createWebhookMetrics>;
