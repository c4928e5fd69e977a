import type { ResourceSpec } from '../mirror/index.ts';

/*
 * The sync engine's own Admin GraphQL queries (issue 7): bulk exports, id listings and counted
 * windows for reconcile, bulk operation control and product deletions. The per-resource specs and
 * record queries they build on belong to the mirror (src/mirror/queries.ts).
 */

/** Bulk query: every field, nested connection as its own lines; `search` filters (e.g. `id:>123`). */
export function bulkQuery(spec: ResourceSpec, search?: string): string {
  const args = search ? `(query: ${JSON.stringify(search)}, sortKey: ID)` : '(sortKey: ID)';
  const child = spec.child ? ` ${spec.child.connection} { edges { node { ${spec.child.fields} } } }` : '';
  return `{ ${spec.connection}${args} { edges { node { ${spec.fields}${child} } } } }`;
}

/** Ids and update times only: 250 per page for about 250 points (reconcile drill-down). */
export function idsQuery(spec: ResourceSpec): string {
  return `query SyncIds($after: String, $query: String) {
  ${spec.connection}(first: 250, after: $after, query: $query, sortKey: ID) {
    nodes { id updatedAt } pageInfo { hasNextPage endCursor } } }`;
}

/** Exact count (`limit: null`) and the newest `updatedAt` matching a search. */
export function windowQuery(spec: ResourceSpec): string {
  return `query SyncWindow($query: String) {
  count: ${spec.countField}(query: $query, limit: null) { count }
  newest: ${spec.connection}(first: 1, query: $query, sortKey: UPDATED_AT, reverse: true) { nodes { updatedAt } } }`;
}

/** The oldest record's creation time (where reconcile windows start). */
export function oldestQuery(spec: ResourceSpec): string {
  return `{ ${spec.connection}(first: 1, sortKey: CREATED_AT) { nodes { createdAt } } }`;
}

export const BULK_RUN = `mutation SyncBulkRun($query: String!) {
  bulkOperationRunQuery(query: $query) { bulkOperation { id status } userErrors { code field message } } }`;

export const BULK_STATUS = `query SyncBulkStatus($id: ID!) {
  bulkOperation(id: $id) { id status errorCode objectCount rootObjectCount url createdAt completedAt } }`;

export const PRODUCT_DELETIONS = `query SyncDeletions($after: String, $query: String) {
  deletionEvents(first: 250, after: $after, query: $query, subjectTypes: [PRODUCT]) {
    nodes { subjectId occurredAt } pageInfo { hasNextPage endCursor } } }`;

/** Shopify search syntax for a time bound: `updated_at:>='2025-01-01T00:00:00Z'`. */
export function timeFilter(field: string, op: '>' | '>=' | '<' | '<=', at: Date): string {
  return `${field}:${op}'${at.toISOString()}'`;
}
