import type { Database } from '../platform/db/client.ts';
import { RESOURCES, type Resource } from '../mirror/index.ts';
import type { SyncMode, SyncTrigger } from './engine.ts';
import type { SyncStateRow } from './state.ts';

/*
 * When sync runs by itself (issue 7): the minute tick queues incremental runs and reconciles per
 * each tenant's schedule, resumes runs whose process died (their lease expired), and resumes a
 * failed backfill after a pause.
 */

/** Minutes between incremental runs when a tenant has not chosen (issue 7: "configurable"). */
export const DEFAULT_INCREMENTAL_MINUTES = 15;
/** Hours between reconciles when a tenant has not chosen. */
export const DEFAULT_RECONCILE_HOURS = 24;
/** A failed backfill is resumed by the tick after this long. */
const RESUME_FAILED_AFTER_MS = 10 * 60_000;

/** Schedule of one tenant (null: the default; 0: off). */
export type SyncSchedule = { incrementalEveryMinutes?: number | null; reconcileEveryHours?: number | null };

/** A run the tick should queue. */
export type DueRun = { tenantId: string; resource: Resource; mode: SyncMode; trigger: SyncTrigger };

/** Every tenant's sync state, with whether its lease expired (what the tick decides on). */
export async function statesForTick(database: Database) {
  const { rows } = await database.query<SyncStateRow & { expired: boolean }>(
    `SELECT *, (run_id IS NOT NULL AND lease_until < now()) AS expired FROM sync_state`,
  );
  return rows;
}

/** The runs due at `now` for these states. */
export function dueRuns(rows: readonly (SyncStateRow & { expired: boolean })[], now: number): DueRun[] {
  const due: DueRun[] = [];
  for (const row of rows) {
    const run = (mode: SyncMode, trigger: SyncTrigger) =>
      due.push({ tenantId: row.tenant_id, resource: row.resource, mode, trigger });
    if (row.expired) {
      run((row.mode as SyncMode) ?? 'incremental', 'resume');
      continue;
    }
    if (row.run_id || row.status === 'paused' || !row.backfilled_at) {
      // A backfill that failed (its job retries exhausted, or interrupted) resumes at most every
      // ten minutes, so a shop that keeps failing does not spin.
      const failedAt = row.last_error_at?.getTime() ?? 0;
      if (!row.run_id && row.status === 'failed' && row.backfill && now - failedAt >= RESUME_FAILED_AFTER_MS)
        run('full', 'resume');
      continue;
    }
    const every = row.incremental_every_minutes ?? DEFAULT_INCREMENTAL_MINUTES;
    const last = row.last_incremental_at?.getTime() ?? 0;
    if (every > 0 && now - last >= every * 60_000) run('incremental', 'schedule');
    const hours = row.reconcile_every_hours ?? DEFAULT_RECONCILE_HOURS;
    const reconciled = row.last_reconcile_at?.getTime() ?? row.backfilled_at.getTime();
    if (hours > 0 && now - reconciled >= hours * 3_600_000) run('reconcile', 'schedule');
  }
  return due;
}

/** Sets a tenant's schedule for every resource (an absent field keeps its value). */
export async function setSchedule(database: Database, tenantId: string, schedule: SyncSchedule) {
  await database.withTenant(tenantId, async (tx) => {
    for (const resource of RESOURCES) {
      await tx.query(
        `INSERT INTO sync_state (tenant_id, resource, incremental_every_minutes, reconcile_every_hours)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, resource) DO UPDATE SET
           incremental_every_minutes = CASE WHEN $5 THEN excluded.incremental_every_minutes
                                            ELSE sync_state.incremental_every_minutes END,
           reconcile_every_hours = CASE WHEN $6 THEN excluded.reconcile_every_hours
                                        ELSE sync_state.reconcile_every_hours END,
           updated_at = now()`,
        [
          tenantId,
          resource,
          schedule.incrementalEveryMinutes ?? null,
          schedule.reconcileEveryHours ?? null,
          schedule.incrementalEveryMinutes !== undefined,
          schedule.reconcileEveryHours !== undefined,
        ],
      );
    }
  });
}
