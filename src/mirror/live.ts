import type { AdminClient } from '../shopify/index.ts';
import { childPageQuery, type ResourceRow, type ResourceSpec } from './queries.ts';

/*
 * Helpers for reading full records page by page (incremental sync, reconcile repairs, live reads):
 * a node comes with the first page of its nested connection; the rest is fetched by node id.
 */

type Connection = { nodes: unknown[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };

/** Every item of a node's nested connection (variants, line items), following its cursor. */
export async function completeChildrenOf(
  client: AdminClient,
  spec: ResourceSpec,
  node: Record<string, any>,
): Promise<unknown[]> {
  if (!spec.child) return [];
  const first = node[spec.child.connection] as Connection | undefined;
  if (!first) return [];
  const nodes = [...first.nodes];
  let pageInfo = first.pageInfo;
  while (pageInfo.hasNextPage && pageInfo.endCursor) {
    const { data } = await client.request<{ node: Record<string, any> | null }>(childPageQuery(spec), {
      id: node.id,
      after: pageInfo.endCursor,
    });
    const more = data.node?.[spec.child.connection] as Connection | undefined;
    if (!more) break;
    nodes.push(...more.nodes);
    pageInfo = more.pageInfo;
  }
  return nodes;
}

/** Maps page nodes to rows, completing nested connections first. */
export async function mapNodesWith(
  client: AdminClient,
  spec: ResourceSpec,
  nodes: readonly Record<string, any>[],
): Promise<ResourceRow[]> {
  const rows: ResourceRow[] = [];
  for (const node of nodes) rows.push(spec.map(node, await completeChildrenOf(client, spec, node)));
  return rows;
}
