import { idFromGid } from '../mirror/index.ts';
import { type ConnectionPage, paginate } from '../shopify/index.ts';
import { pageQuery } from '../mirror/index.ts';
import type { BulkOperations } from './bulk-operations.ts';
import { bulkQuery, PRODUCT_DELETIONS, timeFilter } from './queries.ts';
import type { RunContext, RunTools } from './run-context.ts';

/*
 * Incremental runs (issue 7): records updated since the cursor (minus an overlap) page by page, or
 * through a filtered bulk operation when many changed; product deletions from `deletionEvents`.
 */

/** Builds the incremental mode of one engine. */
export function createIncremental(tools: RunTools, bulk: BulkOperations) {
  const { database, mirror, settings, store, heartbeat, exactCount, mapNodes, write, allForWrite } = tools;
  const { startBulk, waitForBulk, streamBulk } = bulk;

  async function incremental(ctx: RunContext) {
    const cursor = ctx.state.updated_at_cursor as Date;
    const from = new Date(cursor.getTime() - settings.overlapSeconds * 1000);
    const search = timeFilter('updated_at', '>=', from);
    const startedAt = new Date();
    ctx.total = await exactCount(ctx, search);
    if (ctx.total > settings.bulkThreshold) {
      const id = await startBulk(ctx, bulkQuery(ctx.spec, search));
      ctx.report.bulkOperationId = id;
      const op = await waitForBulk(ctx, id);
      if (op.status !== 'COMPLETED') throw new Error(`bulk operation ${op.id} ended ${op.status}`);
      if (op.url) {
        await streamBulk(ctx, op.url, 0, async (_lastId, count) => {
          ctx.done += count;
          await heartbeat(ctx);
        });
      }
      await store.saveCursor(ctx.tenantId, ctx.runId, new Date(op.createdAt));
    } else {
      const pages = paginate(
        ctx.client,
        pageQuery(ctx.spec, 'UPDATED_AT'),
        { first: ctx.spec.pageSize, query: search },
        (d: Record<string, ConnectionPage<Record<string, any>>>) => d[ctx.spec.connection],
        { signal: ctx.signal },
      );
      for await (const nodes of pages) {
        const rows = await mapNodes(ctx, nodes);
        await write(ctx.tenantId, ctx.resource, allForWrite(ctx.resource, rows), ctx.report);
        ctx.done += rows.length;
        const newest = rows.reduce((max, r) => Math.max(max, Date.parse(r.updatedAt)), 0);
        // Pages come in updated_at order, so everything up to this page's newest is stored.
        if (newest > 0) await store.saveCursor(ctx.tenantId, ctx.runId, new Date(newest));
        await heartbeat(ctx);
      }
      // Nothing newer than the start can have been missed by this run's own listing.
      if (ctx.total === 0)
        await store.saveCursor(
          ctx.tenantId,
          ctx.runId,
          new Date(Math.min(startedAt.getTime(), Date.now()) - settings.overlapSeconds * 1000),
        );
    }
    if (ctx.resource === 'products') await productDeletions(ctx, from);
  }

  async function productDeletions(ctx: RunContext, from: Date) {
    type Deletions = { deletionEvents: ConnectionPage<{ subjectId: string; occurredAt: string }> };
    const pages = paginate(
      ctx.client,
      PRODUCT_DELETIONS,
      { query: timeFilter('occurred_at', '>=', from) },
      (d: Deletions) => d.deletionEvents,
      { signal: ctx.signal },
    );
    for await (const events of pages) {
      for (const e of events) {
        const { deleted } = await database.withTenant(ctx.tenantId, (tx) =>
          mirror.markDeleted(tx, ctx.tenantId, 'products', [idFromGid(e.subjectId)], {
            deletedAt: e.occurredAt,
            source: 'sync',
          }),
        );
        ctx.report.deleted += deleted;
      }
    }
  }

  return incremental;
}
