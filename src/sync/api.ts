import { z } from 'zod';
import { RESOURCES } from '../mirror/api.ts';

/*
 * The sync API's schemas (issue 7): status with progress and checkpoints, and starting a run.
 * Zod and types only, so the web dashboard can import them.
 */

export const syncProgressSchema = z.object({
  done: z.number(),
  total: z.number().nullable(),
  percent: z.number().nullable(),
  ratePerSecond: z.number().nullable(),
  etaSeconds: z.number().nullable(),
});

export const syncStatusSchema = z.object({
  resources: z.array(
    z.object({
      resource: z.enum(RESOURCES),
      status: z.string(),
      mode: z.string().nullable(),
      progress: syncProgressSchema,
      checkpoint: z.object({ backfill: z.unknown(), updatedAtCursor: z.string().nullable() }),
      startedAt: z.string().nullable(),
      finishedAt: z.string().nullable(),
      backfilledAt: z.string().nullable(),
      lastIncrementalAt: z.string().nullable(),
      lastReconcileAt: z.string().nullable(),
      lastError: z.object({ message: z.string(), at: z.string().nullable() }).nullable(),
      stored: z.object({ live: z.number(), deleted: z.number() }),
      schedule: z.object({ incrementalEveryMinutes: z.number(), reconcileEveryHours: z.number() }),
    }),
  ),
  runs: z.array(
    z.object({
      id: z.string(),
      resource: z.string(),
      mode: z.string(),
      status: z.string(),
      trigger: z.string(),
      startedAt: z.string(),
      finishedAt: z.string().nullable(),
      report: z.unknown(),
      error: z.string().nullable(),
    }),
  ),
});

export const startSyncBody = z
  .object({
    mode: z.enum(['full', 'incremental', 'reconcile']).default('incremental'),
    resources: z.array(z.enum(RESOURCES)).min(1).max(3).optional(),
    schedule: z
      .object({
        incrementalEveryMinutes: z.number().int().min(0).max(10_080).nullable().optional(),
        reconcileEveryHours: z.number().int().min(0).max(720).nullable().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** What starting runs answers. */
export const syncStartedSchema = z.object({
  mode: z.enum(['full', 'incremental', 'reconcile']),
  queued: z.array(z.object({ resource: z.enum(RESOURCES), jobId: z.string().nullable() })),
});
