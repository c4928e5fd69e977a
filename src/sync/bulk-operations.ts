import { EventEmitter } from 'node:events';
import { idFromGid, type EncodedOrder, type ResourceRow } from '../mirror/index.ts';
import type { AdminClient } from '../shopify/index.ts';
import { readLines, type StitchedRecord, stitchedBatches } from './jsonl.ts';
import { BULK_RUN, BULK_STATUS } from './queries.ts';
import { type RunContext, type RunTools, sleep } from './run-context.ts';
import type { BackfillCheckpoint } from './state.ts';

/*
 * Bulk Operations for sync (issue 7): start one (waiting while the shop's single slot is busy),
 * wait for it (polling, woken early by the `bulk_operations/finish` webhook), and stream its JSONL
 * file into the mirror with a few concurrent writers, reporting each contiguous written prefix.
 */

/** Builds the bulk operation helpers of one engine. */
export function createBulkOperations(tools: RunTools, options: { fetch?: typeof fetch } = {}) {
  const { settings, store, heartbeat, forWrite, write } = tools;
  const doFetch = options.fetch ?? fetch;
  /** Wakes bulk waiters when `bulk_operations/finish` arrives (same process; others poll). */
  const bulkFinished = new EventEmitter();
  bulkFinished.setMaxListeners(0);

  type BulkStatus = {
    id: string;
    status: string;
    errorCode: string | null;
    objectCount: string;
    rootObjectCount: string;
    url: string | null;
    createdAt: string;
  };

  async function bulkStatus(client: AdminClient, id: string): Promise<BulkStatus | null> {
    const { data } = await client.request<{ bulkOperation: BulkStatus | null }>(BULK_STATUS, { id });
    return data.bulkOperation;
  }

  /** Starts a bulk query; waits while another bulk query of the shop runs (one at a time per shop). */
  async function startBulk(ctx: RunContext, query: string): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      const { data } = await ctx.client.request<{
        bulkOperationRunQuery: {
          bulkOperation: { id: string } | null;
          userErrors: { code: string | null; message: string }[];
        };
      }>(BULK_RUN, { query });
      const result = data.bulkOperationRunQuery;
      if (result.bulkOperation) return result.bulkOperation.id;
      const busy = result.userErrors.some((e) => e.code === 'OPERATION_IN_PROGRESS');
      if (!busy || attempt > 3600) {
        throw new Error(
          `bulkOperationRunQuery refused: ${result.userErrors.map((e) => e.message).join('; ')}`,
        );
      }
      // Another resource's export (or a leftover one) holds the shop's single bulk slot.
      await sleep(Math.min(5000, settings.bulkPollMs * 2 ** Math.min(attempt, 4)), ctx.signal);
      await heartbeat(ctx);
    }
  }

  /** Waits until the operation leaves CREATED/RUNNING, polling (and woken by the finish webhook). */
  async function waitForBulk(
    ctx: RunContext,
    id: string,
    checkpoint?: BackfillCheckpoint,
  ): Promise<BulkStatus> {
    let delay = settings.bulkPollMs;
    for (;;) {
      const op = await bulkStatus(ctx.client, id);
      if (!op) throw new Error(`bulk operation ${id} not found`);
      if (op.status !== 'CREATED' && op.status !== 'RUNNING' && op.status !== 'CANCELING') return op;
      if (checkpoint) {
        checkpoint.exported = Number(op.objectCount);
        await store.saveBackfill(ctx.tenantId, ctx.runId, checkpoint);
      }
      await heartbeat(ctx);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(done, delay);
        function done() {
          clearTimeout(timer);
          bulkFinished.off(id, done);
          ctx.signal.removeEventListener('abort', aborted);
          resolve();
        }
        function aborted() {
          done();
          reject(ctx.signal.reason);
        }
        bulkFinished.on(id, done);
        ctx.signal.addEventListener('abort', aborted, { once: true });
      });
      delay = Math.min(5000, Math.round(delay * 1.5));
    }
  }

  /**
   * Streams a finished operation's file and writes it in batches with `settings.writers` writers.
   * `onCommitted(lastId, count)` runs in file order for each contiguous written prefix.
   */
  async function streamBulk(
    ctx: RunContext,
    url: string,
    skipThroughId: number,
    onCommitted: (lastId: number, count: number) => Promise<void>,
  ) {
    const response = await doFetch(url, { signal: ctx.signal });
    if (!response.ok || !response.body) throw new Error(`bulk file download answered ${response.status}`);
    const inflight = new Set<Promise<void>>();
    const finished = new Map<number, { lastId: number; count: number }>();
    let nextToCommit = 0;
    let sequence = 0;
    let failure: unknown;
    let committing = Promise.resolve();

    const commitReady = () => {
      committing = committing.then(async () => {
        while (finished.has(nextToCommit)) {
          const item = finished.get(nextToCommit) as { lastId: number; count: number };
          finished.delete(nextToCommit);
          nextToCommit++;
          await onCommitted(item.lastId, item.count);
        }
      });
      return committing;
    };

    // Each record is mapped (and an order encoded) as soon as its children are in.
    const complete = (r: StitchedRecord): ResourceRow | EncodedOrder | null => {
      if (skipThroughId > 0 && idFromGid(r.node.id as string) <= skipThroughId) return null;
      return forWrite(ctx.resource, ctx.spec.map(r.node, r.children));
    };
    for await (const rows of stitchedBatches(readLines(response.body), settings.batchSize, complete)) {
      if (failure) break;
      ctx.signal.throwIfAborted();
      if (rows.length === 0) continue;
      const lastId = rows.reduce((max, r) => Math.max(max, r.id), 0);
      const seq = sequence++;
      const count = rows.length;
      const task = write(ctx.tenantId, ctx.resource, rows, ctx.report)
        .then(() => {
          finished.set(seq, { lastId, count });
          return commitReady();
        })
        .catch((error) => {
          failure ??= error;
        })
        .finally(() => inflight.delete(task));
      inflight.add(task);
      if (inflight.size >= settings.writers) await Promise.race(inflight);
    }
    await Promise.all(inflight);
    await committing;
    if (failure) throw failure;
  }

  return {
    bulkStatus,
    startBulk,
    waitForBulk,
    streamBulk,
    /** The `bulk_operations/finish` hand-over: wakes this process's waiter for that operation. */
    finished: (bulkOperationId: string) => bulkFinished.emit(bulkOperationId),
  };
}

/** The bulk operation helpers of one engine. */
export type BulkOperations = ReturnType<typeof createBulkOperations>;
