import { customerFromGraphql, orderFromGraphql, productFromGraphql } from './graphql.ts';
import {
  CUSTOMER_FIELDS,
  LINE_ITEM_FIELDS,
  ORDER_FIELDS,
  PRODUCT_FIELDS,
  VARIANT_FIELDS,
} from './graphql-nodes.ts';
import type { CustomerRow, OrderWithItems, ProductWithVariants } from './rows.ts';

/*
 * How each mirrored resource is read from Admin GraphQL (issue 7; used by sync and live reads): which
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
