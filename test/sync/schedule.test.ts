import { describe, expect, it } from 'vitest';
import { dueRuns } from '../../src/sync/schedule.ts';
import type { SyncStateRow } from '../../src/sync/state.ts';

// The tick's decisions, as a pure function of the stored states and the time.
const NOW = Date.parse('2026-12-03T12:00:00Z');
const ago = (ms: number) => new Date(NOW - ms);
const MIN = 60_000;
const HOUR = 60 * MIN;

function state(
  overrides: Partial<SyncStateRow & { expired: boolean }> = {},
): SyncStateRow & { expired: boolean } {
  return {
    tenant_id: 't1',
    resource: 'orders',
    status: 'idle',
    run_id: null,
    lease_until: null,
    mode: null,
    backfill: null,
    updated_at_cursor: ago(MIN),
    backfilled_at: ago(2 * HOUR),
    last_incremental_at: ago(MIN),
    last_reconcile_at: ago(HOUR),
    done: 0,
    total: null,
    rate: null,
    started_at: null,
    finished_at: null,
    last_error: null,
    last_error_at: null,
    incremental_every_minutes: null,
    reconcile_every_hours: null,
    expired: false,
    ...overrides,
  };
}

describe('the sync tick', () => {
  it('queues nothing for a tenant that ran recently', () => {
    expect(dueRuns([state()], NOW)).toEqual([]);
  });

  it('queues an incremental run after the default 15 minutes, or the tenant’s own interval', () => {
    expect(dueRuns([state({ last_incremental_at: ago(15 * MIN) })], NOW)).toEqual([
      { tenantId: 't1', resource: 'orders', mode: 'incremental', trigger: 'schedule' },
    ]);
    expect(
      dueRuns([state({ last_incremental_at: ago(15 * MIN), incremental_every_minutes: 30 })], NOW),
    ).toEqual([]);
    // 0 turns scheduled runs off.
    expect(
      dueRuns([state({ last_incremental_at: ago(24 * HOUR), incremental_every_minutes: 0 })], NOW),
    ).toEqual([]);
  });

  it('queues a reconcile a day after the last one (or after the backfill when never reconciled)', () => {
    expect(dueRuns([state({ last_reconcile_at: ago(24 * HOUR) })], NOW)).toEqual([
      { tenantId: 't1', resource: 'orders', mode: 'reconcile', trigger: 'schedule' },
    ]);
    expect(dueRuns([state({ last_reconcile_at: null, backfilled_at: ago(25 * HOUR) })], NOW)).toEqual([
      { tenantId: 't1', resource: 'orders', mode: 'reconcile', trigger: 'schedule' },
    ]);
  });

  it('resumes a run whose lease expired in its own mode', () => {
    expect(dueRuns([state({ run_id: 'r1', mode: 'full', expired: true })], NOW)).toEqual([
      { tenantId: 't1', resource: 'orders', mode: 'full', trigger: 'resume' },
    ]);
  });

  it('leaves running, paused and never-backfilled resources alone, and resumes a failed backfill after ten minutes', () => {
    const checkpoint = { range: 0 } as unknown as SyncStateRow['backfill'];
    expect(
      dueRuns(
        [
          state({ run_id: 'r1', lease_until: new Date(NOW + MIN), last_incremental_at: ago(HOUR) }),
          state({ status: 'paused', last_incremental_at: ago(HOUR) }),
          state({ backfilled_at: null, last_incremental_at: ago(HOUR) }),
          state({ backfilled_at: null, status: 'failed', backfill: checkpoint, last_error_at: ago(9 * MIN) }),
        ],
        NOW,
      ),
    ).toEqual([]);
    expect(
      dueRuns(
        [
          state({
            backfilled_at: null,
            status: 'failed',
            backfill: checkpoint,
            last_error_at: ago(10 * MIN),
          }),
        ],
        NOW,
      ),
    ).toEqual([{ tenantId: 't1', resource: 'orders', mode: 'full', trigger: 'resume' }]);
  });
});
