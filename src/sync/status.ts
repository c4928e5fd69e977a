import type { Database } from '../platform/db/client.ts';
import { type Mirror, RESOURCES } from '../mirror/index.ts';
import { DEFAULT_INCREMENTAL_MINUTES, DEFAULT_RECONCILE_HOURS } from './schedule.ts';
import type { SyncStateStore } from './state.ts';

/*
 * What `GET /tenants/:tenant/sync` shows (issue 7): per resource the state, live progress with
 * rate and ETA, checkpoints, stored counts (from the mirror's door), last error and schedule, and
 * the recent runs.
 */

/** Per-resource state, progress, checkpoints, counts and recent runs of a tenant. */
export async function readStatus(
  deps: { database: Database; mirror: Pick<Mirror, 'storedCounts'>; store: SyncStateStore },
  tenantId: string,
) {
  const { database, mirror } = deps;
  const states = new Map((await deps.store.read(tenantId)).map((s) => [s.resource, s]));
  const { counts, runs } = await database.withTenant(tenantId, async (tx) => {
    const counts = await mirror.storedCounts(tx, tenantId);
    const { rows: r } = await tx.query<{
      id: string;
      resource: string;
      mode: string;
      status: string;
      trigger: string;
      started_at: Date;
      finished_at: Date | null;
      report: Record<string, unknown>;
      error: string | null;
    }>(
      `SELECT id, resource, mode, status, trigger, started_at, finished_at, report, error FROM sync_runs
        WHERE tenant_id = $1 ORDER BY started_at DESC LIMIT 20`,
      [tenantId],
    );
    return { counts, runs: r };
  });
  const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);
  return {
    resources: RESOURCES.map((resource) => {
      const s = states.get(resource);
      const running = Boolean(s?.run_id && s.lease_until && s.lease_until.getTime() > Date.now());
      const done = Number(s?.done ?? 0);
      const total = s?.total === null || s?.total === undefined ? null : Number(s.total);
      const rate = s?.rate ?? null;
      return {
        resource,
        status: running ? 'running' : s?.status === 'running' ? 'interrupted' : (s?.status ?? 'never'),
        mode: s?.mode ?? null,
        progress: {
          done,
          total,
          percent: total ? Math.min(100, Math.round((done / total) * 1000) / 10) : null,
          ratePerSecond: rate === null ? null : Math.round(rate * 10) / 10,
          etaSeconds:
            running && rate && total !== null && rate > 0
              ? Math.ceil(Math.max(0, total - done) / rate)
              : null,
        },
        checkpoint: { backfill: s?.backfill ?? null, updatedAtCursor: iso(s?.updated_at_cursor) },
        startedAt: iso(s?.started_at),
        finishedAt: iso(s?.finished_at),
        backfilledAt: iso(s?.backfilled_at),
        lastIncrementalAt: iso(s?.last_incremental_at),
        lastReconcileAt: iso(s?.last_reconcile_at),
        lastError: s?.last_error ? { message: s.last_error, at: iso(s.last_error_at) } : null,
        stored: counts[resource],
        schedule: {
          incrementalEveryMinutes: s?.incremental_every_minutes ?? DEFAULT_INCREMENTAL_MINUTES,
          reconcileEveryHours: s?.reconcile_every_hours ?? DEFAULT_RECONCILE_HOURS,
        },
      };
    }),
    runs: runs.map((r) => ({
      id: r.id,
      resource: r.resource,
      mode: r.mode,
      status: r.status,
      trigger: r.trigger,
      startedAt: r.started_at.toISOString(),
      finishedAt: iso(r.finished_at),
      report: r.report,
      error: r.error,
    })),
  };
}
