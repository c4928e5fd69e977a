import { bulkQuery, oldestQuery } from './queries.ts';
import type { BulkOperations } from './bulk-operations.ts';
import type { RunContext, RunTools } from './run-context.ts';
import type { BackfillCheckpoint } from './state.ts';

/*
 * Full backfill (issue 7): a Bulk Operations export, resumable from its checkpoint.
 */

/** Builds the backfill mode of one engine. */
export function createBackfill(tools: RunTools, bulk: BulkOperations) {
  const { settings, store, logger, heartbeat, exactCount } = tools;
  const { bulkStatus, startBulk, waitForBulk, streamBulk } = bulk;

  async function planRanges(ctx: RunContext, total: number, asOf: Date): Promise<string[]> {
    const chunks = Math.max(1, Math.min(64, Math.ceil(total / settings.bulkChunkSize)));
    if (chunks === 1) return [];
    const { data } = await ctx.client.request<Record<string, any>>(oldestQuery(ctx.spec));
    const oldest = data[ctx.spec.connection].nodes[0]?.createdAt as string | undefined;
    if (!oldest) return [];
    const from = Math.floor(Date.parse(oldest) / 1000) * 1000;
    const step = Math.max(1000, Math.ceil((asOf.getTime() - from) / chunks / 1000) * 1000);
    const bounds: string[] = [];
    for (let at = from + step; at < asOf.getTime(); at += step) bounds.push(new Date(at).toISOString());
    return bounds;
  }

  /** The search of range `k` given inner boundaries (first range open below, last open above). */
  function rangeSearch(bounds: string[], k: number): string | undefined {
    const parts: string[] = [];
    if (k > 0) parts.push(`created_at:>='${bounds[k - 1]}'`);
    if (k < bounds.length) parts.push(`created_at:<'${bounds[k]}'`);
    return parts.length ? parts.join(' ') : undefined;
  }

  async function usableOperation(ctx: RunContext, id: string | null | undefined): Promise<string | null> {
    if (!id) return null;
    const op = await bulkStatus(ctx.client, id).catch(() => null);
    return op && ['CREATED', 'RUNNING', 'COMPLETED'].includes(op.status) ? op.id : null;
  }

  /**
   * Full backfill. Large resources are exported in creation-time ranges so that Shopify builds the
   * next range's file while this one streams in (one bulk query per shop at a time, but export and
   * write overlap). The checkpoint names the range, its operation, the prefetched next operation
   * and the last id written within the range; a resumed run re-attaches to both operations when
   * they still exist and skips what is stored.
   */
  async function backfill(ctx: RunContext) {
    const resumed = ctx.state.backfill;
    ctx.report.resumed = Boolean(resumed && (resumed.written > 0 || resumed.range > 0));
    ctx.total = await exactCount(ctx);
    const asOf = resumed ? new Date(resumed.startedAt) : new Date();
    const checkpoint: BackfillCheckpoint = resumed ?? {
      ranges: await planRanges(ctx, ctx.total, asOf),
      range: 0,
      bulkOperationId: null,
      nextOperationId: null,
      lastId: 0,
      written: 0,
      phase: 'starting',
      startedAt: asOf.toISOString(),
    };
    ctx.done = checkpoint.written;
    const save = () => store.saveBackfill(ctx.tenantId, ctx.runId, checkpoint);
    const timings = { exportMs: 0, writeMs: 0 };
    const rangeCount = checkpoint.ranges.length + 1;
    for (let k = checkpoint.range; k < rangeCount; k++) {
      const exportStarted = Date.now();
      checkpoint.range = k;
      checkpoint.bulkOperationId =
        (await usableOperation(ctx, checkpoint.bulkOperationId)) ??
        (await startBulk(ctx, bulkQuery(ctx.spec, rangeSearch(checkpoint.ranges, k))));
      checkpoint.phase = 'exporting';
      ctx.report.bulkOperationId = checkpoint.bulkOperationId;
      await save();
      const op = await waitForBulk(ctx, checkpoint.bulkOperationId, checkpoint);
      timings.exportMs += Date.now() - exportStarted;
      if (op.status !== 'COMPLETED') {
        // Keep what is stored; the next attempt exports this range again and skips it.
        checkpoint.bulkOperationId = null;
        await save();
        throw new Error(
          `bulk operation ${op.id} ended ${op.status}${op.errorCode ? ` (${op.errorCode})` : ''}`,
        );
      }
      // Let Shopify build the next range's file while this one is written.
      if (k + 1 < rangeCount) {
        checkpoint.nextOperationId =
          (await usableOperation(ctx, checkpoint.nextOperationId)) ??
          (await startBulk(ctx, bulkQuery(ctx.spec, rangeSearch(checkpoint.ranges, k + 1))));
      }
      checkpoint.phase = 'writing';
      await save();
      const writeStarted = Date.now();
      if (op.url) {
        await streamBulk(ctx, op.url, checkpoint.lastId, async (lastId, count) => {
          checkpoint.lastId = Math.max(checkpoint.lastId, lastId);
          checkpoint.written += count;
          ctx.done = checkpoint.written;
          await save();
          logger.debug(
            {
              tenantId: ctx.tenantId,
              resource: ctx.resource,
              range: k,
              lastId: checkpoint.lastId,
              written: checkpoint.written,
            },
            'sync checkpoint saved',
          );
          await heartbeat(ctx);
        });
      }
      timings.writeMs += Date.now() - writeStarted;
      checkpoint.bulkOperationId = checkpoint.nextOperationId;
      checkpoint.nextOperationId = null;
      checkpoint.lastId = 0;
      checkpoint.range = k + 1;
      await save();
    }
    ctx.report.timings = timings;
    // Everything changed since the backfill began is the incremental run's job.
    await store.saveCursor(ctx.tenantId, ctx.runId, asOf);
    await store.saveBackfill(ctx.tenantId, ctx.runId, null);
    ctx.done = Math.max(ctx.total ?? 0, checkpoint.written);
  }

  return backfill;
}
