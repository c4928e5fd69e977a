import type { Database } from '../platform/db/client.ts';
import { retryTransient } from '../platform/db/transient.ts';
import { conflict } from '../platform/errors.ts';
import type { Resource } from '../mirror/index.ts';

/*
 * The `sync_state` row of one tenant and resource (issue 7): lease, checkpoint and progress. All
 * statements run as the tenant (row-level security) and are single UPDATEs keyed by the run id,
 * so a run that lost its lease (it stopped heartbeating and another took over) can no longer
 * write anything.
 */

/**
 * What a backfill resumes from. The resource is exported in creation-time ranges (`ranges` are
 * the inner boundaries, oldest first); ranges before `range` are stored, and within `range` every
 * record with an id ≤ `lastId` is.
 */
export type BackfillCheckpoint = {
  ranges: string[];
  range: number;
  /** The bulk operation exporting `range`, and the one already exporting the next range. */
  bulkOperationId: string | null;
  nextOperationId: string | null;
  lastId: number;
  written: number;
  /** `exporting` while Shopify builds the file, `writing` while we stream it. */
  phase: 'starting' | 'exporting' | 'writing';
  /** Objects Shopify has exported so far (while `exporting`). */
  exported?: number;
  /** When the backfill began: the incremental cursor starts here. */
  startedAt: string;
};

/** A `sync_state` row as the engine reads it. */
export type SyncStateRow = {
  tenant_id: string;
  resource: Resource;
  status: 'idle' | 'running' | 'failed' | 'paused';
  run_id: string | null;
  lease_until: Date | null;
  mode: string | null;
  backfill: BackfillCheckpoint | null;
  updated_at_cursor: Date | null;
  backfilled_at: Date | null;
  last_incremental_at: Date | null;
  last_reconcile_at: Date | null;
  done: string | number;
  total: string | number | null;
  rate: number | null;
  started_at: Date | null;
  finished_at: Date | null;
  last_error: string | null;
  last_error_at: Date | null;
  incremental_every_minutes: number | null;
  reconcile_every_hours: number | null;
};

/** Lease, checkpoint and progress writes for one run. */
export function createSyncStateStore(database: Database) {
  return {
    /**
     * Takes the lease of (tenant, resource) for `runId`, or throws 409 SYNC_IN_PROGRESS while
     * another live run holds it. An expired lease (its run crashed) is taken over.
     */
    async acquire(
      tenantId: string,
      resource: Resource,
      run: { runId: string; mode: string; trigger: string; leaseSeconds: number },
    ) {
      const { runId, mode, trigger, leaseSeconds } = run;
      const row = await database.withTenant(tenantId, async (tx) => {
        // A run whose lease expired is taken over: its process died, so its history says so.
        await tx.query(
          `UPDATE sync_runs AS r SET status = 'interrupted', finished_at = now(),
                  error = 'its process stopped before the run finished (the lease expired)'
             FROM sync_state AS s
            WHERE s.tenant_id = $1 AND s.resource = $2 AND s.lease_until < now()
              AND r.id = s.run_id AND r.status = 'running'`,
          [tenantId, resource],
        );
        const { rows } = await tx.query<SyncStateRow>(
          `INSERT INTO sync_state AS s (tenant_id, resource, status, run_id, lease_until, mode, started_at, done,
                  total, rate, finished_at, updated_at)
           VALUES ($1, $2, 'running', $3, now() + make_interval(secs => $5), $4, now(), 0, NULL, NULL, NULL, now())
           ON CONFLICT (tenant_id, resource) DO UPDATE SET
                  status = 'running', run_id = $3, lease_until = now() + make_interval(secs => $5), mode = $4,
                  started_at = now(), done = 0, total = NULL, rate = NULL, finished_at = NULL, updated_at = now()
            WHERE s.run_id IS NULL OR s.lease_until < now()
           RETURNING *`,
          [tenantId, resource, runId, mode, leaseSeconds],
        );
        if (rows[0]) {
          await tx.query(
            `INSERT INTO sync_runs (id, tenant_id, resource, mode, status, trigger) VALUES ($1, $2, $3, $4, 'running', $5)`,
            [runId, tenantId, resource, mode, trigger],
          );
        }
        return rows[0];
      });
      if (!row) {
        throw conflict('SYNC_IN_PROGRESS', `A ${resource} sync is already running for this tenant`, {
          resource,
        });
      }
      return row;
    },

    /** Extends the lease and records progress; false when the lease was lost. */
    async heartbeat(
      tenantId: string,
      runId: string,
      leaseSeconds: number,
      progress: { done?: number; total?: number | null; rate?: number | null } = {},
    ): Promise<boolean> {
      const { rows } = await database.withTenant(tenantId, (tx) =>
        tx.query(
          `UPDATE sync_state SET lease_until = now() + make_interval(secs => $3),
                  done = coalesce($4, done), total = coalesce($5, total), rate = coalesce($6, rate), updated_at = now()
            WHERE tenant_id = $1 AND run_id = $2
           RETURNING 1`,
          [
            tenantId,
            runId,
            leaseSeconds,
            progress.done ?? null,
            progress.total ?? null,
            progress.rate ?? null,
          ],
        ),
      );
      return rows.length > 0;
    },

    /** Stores the backfill checkpoint (null clears it). */
    async saveBackfill(tenantId: string, runId: string, checkpoint: BackfillCheckpoint | null) {
      await database.withTenant(tenantId, (tx) =>
        tx.query(
          'UPDATE sync_state SET backfill = $3::jsonb, updated_at = now() WHERE tenant_id = $1 AND run_id = $2',
          [tenantId, runId, checkpoint === null ? null : JSON.stringify(checkpoint)],
        ),
      );
    },

    /** Moves the incremental cursor forward (never back). */
    async saveCursor(tenantId: string, runId: string, cursor: Date) {
      await database.withTenant(tenantId, (tx) =>
        tx.query(
          `UPDATE sync_state SET updated_at_cursor = greatest(coalesce(updated_at_cursor, $3), $3), updated_at = now()
            WHERE tenant_id = $1 AND run_id = $2`,
          [tenantId, runId, cursor],
        ),
      );
    },

    /** Ends a run: releases the lease, stamps the mode's time, stores the outcome in history. */
    async finish(
      tenantId: string,
      runId: string,
      outcome: {
        status: 'completed' | 'failed' | 'interrupted';
        mode: string;
        report: Record<string, unknown>;
        error?: string;
        paused?: boolean;
      },
    ) {
      const stamp =
        outcome.status !== 'completed'
          ? ''
          : outcome.mode === 'full'
            ? ', backfilled_at = now(), last_incremental_at = now()'
            : outcome.mode === 'incremental'
              ? ', last_incremental_at = now()'
              : ', last_reconcile_at = now()';
      // An interrupted run (killed, shut down) is a failure to resume like any other.
      const state = outcome.paused ? 'paused' : outcome.status === 'completed' ? 'idle' : 'failed';
      await database.withTenant(tenantId, async (tx) => {
        await tx.query(
          `UPDATE sync_state SET status = $3, run_id = NULL, lease_until = NULL, finished_at = now(),
                  last_error = CASE WHEN $4::text IS NULL THEN last_error ELSE $4 END,
                  last_error_at = CASE WHEN $4::text IS NULL THEN last_error_at ELSE now() END,
                  updated_at = now()${stamp}
            WHERE tenant_id = $1 AND run_id = $2`,
          [tenantId, runId, state, outcome.error ?? null],
        );
        await tx.query(
          `UPDATE sync_runs SET status = $2, finished_at = now(), report = $3::jsonb, error = $4 WHERE id = $1`,
          [runId, outcome.status, JSON.stringify(outcome.report), outcome.error ?? null],
        );
      });
    },

    /** Reads the state rows of a tenant. */
    async read(tenantId: string): Promise<SyncStateRow[]> {
      const { rows } = await database.withTenant(tenantId, (tx) =>
        tx.query<SyncStateRow>('SELECT * FROM sync_state WHERE tenant_id = $1 ORDER BY resource', [tenantId]),
      );
      return rows;
    },

    /** Reads one state row. */
    async readOne(tenantId: string, resource: Resource): Promise<SyncStateRow | undefined> {
      const { rows } = await database.withTenant(tenantId, (tx) =>
        tx.query<SyncStateRow>('SELECT * FROM sync_state WHERE tenant_id = $1 AND resource = $2', [
          tenantId,
          resource,
        ]),
      );
      return rows[0];
    },
  };
}

/** The state store of one process. */
export type SyncStateStore = ReturnType<typeof createSyncStateStore>;

/**
 * The same store with its reads and run writes retried through a database outage of up to `maxMs`.
 * Each write is one UPDATE keyed by the run id (a repeat changes nothing more); `acquire` is not
 * retried (a lost answer would leave the lease with a run that does not know it holds it).
 */
export function ridingOutOutages(store: SyncStateStore, maxMs: number): SyncStateStore {
  const retried =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    (...args: A) =>
      retryTransient(() => fn(...args), { maxMs });
  return {
    ...store,
    heartbeat: retried(store.heartbeat),
    saveBackfill: retried(store.saveBackfill),
    saveCursor: retried(store.saveCursor),
    finish: retried(store.finish),
    read: retried(store.read),
    readOne: retried(store.readOne),
  };
}
