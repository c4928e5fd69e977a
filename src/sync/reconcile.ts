import { idFromGid, nodesQuery, type ResourceRow } from '../mirror/index.ts';
import { type ConnectionPage, paginate } from '../shopify/index.ts';
import { idsQuery, oldestQuery, timeFilter, windowQuery } from './queries.ts';
import type { RunContext, RunTools, SyncReport } from './run-context.ts';

/*
 * Reconcile (issue 7): counts and newest `updated_at` per creation-time window, compared with the
 * mirror; windows that differ are split until small, then compared id by id and repaired.
 */

const MAX_REPAIRED_IDS = 100;

/** Builds the reconcile mode of one engine. */
export function createReconcile(tools: RunTools) {
  const { database, mirror, settings, heartbeat, mapNodes, write, allForWrite } = tools;

  /** The mirror's side of a window: how many live records, and the newest update. */
  const localWindow = (ctx: RunContext, from: Date, to: Date) =>
    database.withTenant(ctx.tenantId, (tx) =>
      mirror.createdWindowSummary(tx, ctx.tenantId, ctx.resource, from, to),
    );

  async function remoteWindow(ctx: RunContext, search: string) {
    const { data } = await ctx.client.request<{
      count: { count: number } | null;
      newest: { nodes: { updatedAt: string }[] };
    }>(windowQuery(ctx.spec), { query: search });
    const newest = data.newest.nodes[0]?.updatedAt;
    return { count: data.count?.count ?? 0, newest: newest ? Date.parse(newest) : 0 };
  }

  const windowSearch = (from: Date, to: Date) =>
    `${timeFilter('created_at', '>=', from)} ${timeFilter('created_at', '<', to)}`;

  async function fetchByIds(ctx: RunContext, ids: number[]): Promise<Map<number, ResourceRow>> {
    const found = new Map<number, ResourceRow>();
    for (let i = 0; i < ids.length; i += ctx.spec.pageSize) {
      const chunk = ids
        .slice(i, i + ctx.spec.pageSize)
        .map((id) => `gid://shopify/${ctx.spec.typeName}/${id}`);
      const { data } = await ctx.client.request<{ nodes: (Record<string, any> | null)[] }>(
        nodesQuery(ctx.spec),
        {
          ids: chunk,
        },
      );
      const nodes = data.nodes.filter((n): n is Record<string, any> => Boolean(n?.id));
      for (const row of await mapNodes(ctx, nodes)) found.set(row.id, row);
    }
    return found;
  }

  async function drill(ctx: RunContext, from: Date, to: Date) {
    const rec = ctx.report.reconcile as NonNullable<SyncReport['reconcile']>;
    rec.drilled++;
    const listedAt = new Date();
    const remote = new Map<number, number>();
    const pages = paginate(
      ctx.client,
      idsQuery(ctx.spec),
      { query: windowSearch(from, to) },
      (d: Record<string, ConnectionPage<{ id: string; updatedAt: string }>>) => d[ctx.spec.connection],
      { signal: ctx.signal },
    );
    for await (const nodes of pages) {
      for (const n of nodes) remote.set(idFromGid(n.id), Date.parse(n.updatedAt));
    }
    const local = await database.withTenant(ctx.tenantId, (tx) =>
      mirror.createdWindowRecords(tx, ctx.tenantId, ctx.resource, from, to),
    );
    const localById = new Map(local.map((r) => [r.id, r]));
    const missing: number[] = [];
    const stale: number[] = [];
    for (const [id, updated] of remote) {
      const mine = localById.get(id);
      if (!mine) missing.push(id);
      else if (!mine.updated || mine.updated.getTime() < updated) stale.push(id);
    }
    // Rows written after the listing may be newer than it: only older rows can be "gone".
    const candidates = local.filter((r) => !remote.has(r.id) && r.syncedAt < listedAt).map((r) => r.id);
    const repair = [...missing, ...stale];
    if (repair.length > 0) {
      const rows = [...(await fetchByIds(ctx, repair)).values()];
      await write(ctx.tenantId, ctx.resource, allForWrite(ctx.resource, rows), ctx.report);
      rec.missing += missing.length;
      rec.stale += stale.length;
      for (const id of repair) if (rec.repairedIds.length < MAX_REPAIRED_IDS) rec.repairedIds.push(id);
    }
    if (candidates.length > 0) {
      // Confirm with Shopify before writing tombstones: a record may just have moved windows.
      const stillThere = await fetchByIds(ctx, candidates);
      const gone = candidates.filter((id) => !stillThere.has(id));
      if (stillThere.size > 0)
        await write(
          ctx.tenantId,
          ctx.resource,
          allForWrite(ctx.resource, [...stillThere.values()]),
          ctx.report,
        );
      if (gone.length > 0) {
        const { deleted } = await database.withTenant(ctx.tenantId, (tx) =>
          mirror.markDeleted(tx, ctx.tenantId, ctx.resource, gone, { source: 'sync' }),
        );
        ctx.report.deleted += deleted;
        rec.deleted += gone.length;
        for (const id of gone) if (rec.repairedIds.length < MAX_REPAIRED_IDS) rec.repairedIds.push(id);
      }
    }
  }

  async function checkWindow(ctx: RunContext, from: Date, to: Date, depth: number): Promise<void> {
    ctx.signal.throwIfAborted();
    const rec = ctx.report.reconcile as NonNullable<SyncReport['reconcile']>;
    rec.windows++;
    const [remote, local] = [
      await remoteWindow(ctx, windowSearch(from, to)),
      await localWindow(ctx, from, to),
    ];
    ctx.done += 1;
    await heartbeat(ctx);
    // Times have whole seconds: a deletion and a creation in the same window, within the second of
    // its newest update, cancel out in count and newest. The whole range is therefore always split
    // (old deletions and new creations fall in different parts), only parts are trusted as equal.
    const same =
      remote.count === local.count && Math.floor(remote.newest / 1000) === Math.floor(local.newest / 1000);
    if (same && depth > 0) return;
    const span = to.getTime() - from.getTime();
    if (Math.max(remote.count, local.count) <= settings.drillLimit || depth >= 24 || span <= 2000) {
      await drill(ctx, from, to);
      return;
    }
    const parts = 4;
    const step = Math.ceil(span / parts / 1000) * 1000;
    for (let start = from.getTime(); start < to.getTime(); start += step) {
      await checkWindow(ctx, new Date(start), new Date(Math.min(to.getTime(), start + step)), depth + 1);
    }
  }

  async function reconcile(ctx: RunContext) {
    ctx.report.reconcile = { windows: 0, drilled: 0, missing: 0, stale: 0, deleted: 0, repairedIds: [] };
    const { data } = await ctx.client.request<Record<string, any>>(oldestQuery(ctx.spec));
    const remoteOldest = data[ctx.spec.connection].nodes[0]?.createdAt as string | undefined;
    const localOldest = await database.withTenant(ctx.tenantId, (tx) =>
      mirror.oldestCreated(tx, ctx.tenantId, ctx.resource),
    );
    const candidates = [
      remoteOldest ? Date.parse(remoteOldest) : Number.POSITIVE_INFINITY,
      localOldest?.getTime() ?? Number.POSITIVE_INFINITY,
    ];
    const oldest = Math.min(...candidates);
    if (!Number.isFinite(oldest)) return;
    const from = new Date(Math.floor(oldest / 1000) * 1000);
    // One second past now: the newest records sit in the last window.
    const to = new Date(Math.ceil(Date.now() / 1000) * 1000 + 1000);
    await checkWindow(ctx, from, to, 0);
  }

  return reconcile;
}
