import {
  CUSTOMER_FIELDS,
  customerFromGraphql,
  LINE_ITEM_FIELDS,
  ORDER_FIELDS,
  orderFromGraphql,
  PRODUCT_FIELDS,
  productFromGraphql,
  VARIANT_FIELDS,
} from '../mirror/index.ts';
import type { CustomerRow, OrderWithItems, ProductWithVariants } from '../mirror/index.ts';

/*
 * The typed Admin GraphQL queries of sync (issue 7), one description per resource: which
 * connection, which fields, which nested connection, how a node maps to rows. Page sizes are
 * chosen so a page's requested cost stays under Shopify's 1,000-point single-query limit
 * (https://shopify.dev/docs/api/usage/rate-limits): a full order with ten line items costs about
 * 100 points, an id + updatedAt pair one.
 */

/** The mirrored resources, in backfill order (orders reference products and customers). */
export const RESOURCES = ['products', 'customers', 'orders'] as const;
/** One mirrored resource. */
export type Resource = (typeof RESOURCES)[number];

/** A row any resource maps to. */
export type ResourceRow = ProductWithVariants | CustomerRow | OrderWithItems;

/** How sync reads one resource. */
export type ResourceSpec = {
  resource: Resource;
  /** Root connection and count fields (`orders`, `ordersCount`). */
  connection: string;
  countField: string;
  /** GraphQL type of a node (for `... on Order` in node lookups). */
  typeName: string;
  fields: string;
  /** Nested connection (variants, line items) read with the node. */
  child?: { connection: string; fields: string; pageSize: number };
  /** Nodes per page of full records (cost-bounded). */
  pageSize: number;
  map(node: unknown, children: readonly unknown[]): ResourceRow;
};

/** The three specs. */
export const SPECS: Record<Resource, ResourceSpec> = {
  products: {
    resource: 'products',
    connection: 'products',
    countField: 'productsCount',
    typeName: 'Product',
    fields: PRODUCT_FIELDS,
    child: { connection: 'variants', fields: VARIANT_FIELDS, pageSize: 20 },
    // ~63 points a product with 20 variants.
    pageSize: 15,
    map: (node, children) => productFromGraphql(node, children),
  },
  customers: {
    resource: 'customers',
    connection: 'customers',
    countField: 'customersCount',
    typeName: 'Customer',
    fields: CUSTOMER_FIELDS,
    // ~2 points a customer.
    pageSize: 250,
    map: (node) => customerFromGraphql(node),
  },
  orders: {
    resource: 'orders',
    connection: 'orders',
    countField: 'ordersCount',
    typeName: 'Order',
    fields: ORDER_FIELDS,
    child: { connection: 'lineItems', fields: LINE_ITEM_FIELDS, pageSize: 10 },
    // ~92 points an order with 10 line items.
    pageSize: 10,
    map: (node, children) => orderFromGraphql(node, children),
  },
};

/** Bulk query: every field, nested connection as its own lines; `search` filters (e.g. `id:>123`). */
export function bulkQuery(spec: ResourceSpec, search?: string): string {
  const args = search ? `(query: ${JSON.stringify(search)}, sortKey: ID)` : '(sortKey: ID)';
  const child = spec.child ? ` ${spec.child.connection} { edges { node { ${spec.child.fields} } } }` : '';
  return `{ ${spec.connection}${args} { edges { node { ${spec.fields}${child} } } } }`;
}

/** One page of full records, sorted by `sortKey`, with the first page of the nested connection. */
export function pageQuery(spec: ResourceSpec, sortKey: 'ID' | 'UPDATED_AT' | 'CREATED_AT'): string {
  const child = spec.child
    ? ` ${spec.child.connection}(first: ${spec.child.pageSize}) { nodes { ${spec.child.fields} } pageInfo { hasNextPage endCursor } }`
    : '';
  return `query SyncPage($first: Int!, $after: String, $query: String) {
  ${spec.connection}(first: $first, after: $after, query: $query, sortKey: ${sortKey}) {
    nodes { ${spec.fields}${child} }
    pageInfo { hasNextPage endCursor }
  } }`;
}

/** The rest of a node's nested connection (more than one page of variants or line items). */
export function childPageQuery(spec: ResourceSpec): string {
  const child = spec.child as NonNullable<ResourceSpec['child']>;
  return `query SyncChildren($id: ID!, $after: String) { node(id: $id) { ... on ${spec.typeName} {
    ${child.connection}(first: 100, after: $after) { nodes { ${child.fields} } pageInfo { hasNextPage endCursor } }
  } } }`;
}

/** Full records by id (reconcile repairs, live reads). */
export function nodesQuery(spec: ResourceSpec): string {
  const child = spec.child
    ? ` ${spec.child.connection}(first: ${spec.child.pageSize}) { nodes { ${spec.child.fields} } pageInfo { hasNextPage endCursor } }`
    : '';
  return `query SyncNodes($ids: [ID!]!) { nodes(ids: $ids) { ... on ${spec.typeName} { ${spec.fields}${child} } } }`;
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
