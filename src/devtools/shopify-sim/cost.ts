/**
 * Calculated query cost, per Shopify's documented defaults: scalars and enums 0, objects 1,
 * interfaces/unions the maximum of their possible selections, connections sized by first/last
 * (2 + n × the cost of one node), mutations 10. Requested cost is computed from the query before
 * it runs; actual cost walks the result, so short pages and nulls cost less.
 * https://shopify.dev/docs/api/usage/rate-limits#cost-calculation
 */
import {
  type FieldNode,
  type FragmentDefinitionNode,
  getArgumentValues,
  getNamedType,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  isAbstractType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

/** A query may not cost more than this, whatever the plan. */
export const SINGLE_QUERY_MAX_COST = 1000;
/** Flat cost of a mutation field. */
export const MUTATION_COST = 10;
const CONNECTION_BASE = 2;

type Env = {
  schema: GraphQLSchema;
  fragments: Record<string, FragmentDefinitionNode>;
  variables: Record<string, unknown>;
};

function fieldsByType(env: Env, set: SelectionSetNode, type: GraphQLCompositeType): Map<string, FieldNode[]> {
  // Group the selected fields by the concrete type they apply to ('' = every type).
  const groups = new Map<string, FieldNode[]>();
  const add = (cond: string, f: FieldNode) => {
    const list = groups.get(cond) ?? [];
    list.push(f);
    groups.set(cond, list);
  };
  const visit = (s: SelectionSetNode, cond: string) => {
    for (const sel of s.selections) {
      if (sel.kind === Kind.FIELD) add(cond, sel);
      else if (sel.kind === Kind.INLINE_FRAGMENT)
        visit(sel.selectionSet, sel.typeCondition?.name.value ?? cond);
      else {
        const frag = env.fragments[sel.name.value];
        if (frag) visit(frag.selectionSet, frag.typeCondition.name.value);
      }
    }
  };
  visit(set, '');
  void type;
  return groups;
}

function possibleTypes(env: Env, type: GraphQLCompositeType): GraphQLCompositeType[] {
  return isAbstractType(type) ? [...env.schema.getPossibleTypes(type)] : [type];
}

function appliesTo(env: Env, cond: string, concrete: GraphQLCompositeType): boolean {
  if (cond === '' || cond === concrete.name) return true;
  const condType = env.schema.getType(cond);
  return Boolean(condType && isAbstractType(condType) && env.schema.isSubType(condType, concrete as never));
}

function isConnection(field: GraphQLField<unknown, unknown>): boolean {
  const named = getNamedType(field.type);
  return isObjectType(named) && named.name.endsWith('Connection');
}

/** Cost of a selection set on a composite type, requested (data undefined) or actual (data given). */
function selectionCost(
  env: Env,
  set: SelectionSetNode,
  type: GraphQLCompositeType,
  data: unknown,
  actual: boolean,
): number {
  const groups = fieldsByType(env, set, type);
  let worst = 0;
  const candidates =
    actual && data && typeof data === 'object' && '__typename' in (data as object)
      ? possibleTypes(env, type).filter((t) => t.name === (data as { __typename: string }).__typename)
      : possibleTypes(env, type);
  for (const concrete of candidates.length ? candidates : possibleTypes(env, type)) {
    if (!isObjectType(concrete)) continue;
    let sum = 0;
    for (const [cond, fields] of groups) {
      if (!appliesTo(env, cond, concrete)) continue;
      for (const f of fields) sum += fieldCost(env, f, concrete, data, actual);
    }
    worst = Math.max(worst, sum);
  }
  return worst;
}

function fieldCost(
  env: Env,
  node: FieldNode,
  parent: GraphQLCompositeType,
  data: unknown,
  actual: boolean,
): number {
  const name = node.name.value;
  if (name.startsWith('__') || !isObjectType(parent)) return 0;
  const def = parent.getFields()[name];
  if (!def) return 0;
  const named = getNamedType(def.type);
  if (isLeafType(named)) return 0;
  const key = node.alias?.value ?? name;
  const value = actual ? (data as Record<string, unknown> | null)?.[key] : undefined;
  if (actual && (value === null || value === undefined)) return isConnection(def) ? 0 : 1;
  if (isConnection(def)) {
    const args = getArgumentValues(def, node, env.variables);
    const n = Number(args.first ?? args.last ?? 0);
    const conn = named as GraphQLCompositeType;
    if (!node.selectionSet) return CONNECTION_BASE;
    if (!actual)
      return CONNECTION_BASE + n * connectionChildCost(env, node.selectionSet, conn, undefined, false);
    const v = value as { edges?: { node: unknown }[]; nodes?: unknown[] };
    const items = v.edges?.length ?? v.nodes?.length ?? 0;
    let total = CONNECTION_BASE;
    for (let i = 0; i < items; i++) total += connectionChildCost(env, node.selectionSet, conn, v, true, i);
    return total;
  }
  if (!node.selectionSet) return 1;
  if (!actual && isListType(isNonNullType(def.type) ? def.type.ofType : def.type)) {
    // A plain list is sized like a connection without the base: by `first`, or by the ids asked for.
    const args = getArgumentValues(def, node, env.variables);
    const n = Number(args.first ?? (Array.isArray(args.ids) ? args.ids.length : 1));
    return (
      Math.max(n, 1) *
      (1 + selectionCost(env, node.selectionSet, named as GraphQLCompositeType, undefined, false))
    );
  }
  if (Array.isArray(value)) {
    let total = 0;
    for (const item of value)
      total +=
        item === null
          ? 1
          : 1 + selectionCost(env, node.selectionSet, named as GraphQLCompositeType, item, true);
    return Math.max(total, 1);
  }
  return 1 + selectionCost(env, node.selectionSet, named as GraphQLCompositeType, value, actual);
}

/** Cost of one node inside a connection: the edges.node and nodes selections (pageInfo is free). */
function connectionChildCost(
  env: Env,
  set: SelectionSetNode,
  conn: GraphQLCompositeType,
  value: { edges?: { node: unknown }[]; nodes?: unknown[] } | undefined,
  actual: boolean,
  i = 0,
): number {
  if (!isObjectType(conn)) return 0;
  let sum = 0;
  const nodeType = getNamedType(
    conn.getFields().nodes?.type ?? conn.getFields().edges.type,
  ) as GraphQLCompositeType;
  const walk = (s: SelectionSetNode) => {
    for (const sel of s.selections) {
      if (sel.kind === Kind.INLINE_FRAGMENT) walk(sel.selectionSet);
      else if (sel.kind === Kind.FRAGMENT_SPREAD) {
        const frag = env.fragments[sel.name.value];
        if (frag) walk(frag.selectionSet);
      } else if (sel.name.value === 'nodes' && sel.selectionSet) {
        const key = sel.alias?.value ?? 'nodes';
        const item = actual ? (value as Record<string, unknown[]>)?.[key]?.[i] : undefined;
        sum += 1 + selectionCost(env, sel.selectionSet, nodeType, item, actual);
      } else if (sel.name.value === 'edges' && sel.selectionSet) {
        const key = sel.alias?.value ?? 'edges';
        const edge = actual ? (value as Record<string, { [k: string]: unknown }[]>)?.[key]?.[i] : undefined;
        for (const e of sel.selectionSet.selections) {
          if (e.kind !== Kind.FIELD || e.name.value !== 'node' || !e.selectionSet) continue;
          const item = actual ? edge?.[e.alias?.value ?? 'node'] : undefined;
          sum += 1 + selectionCost(env, e.selectionSet, nodeType, item, actual);
        }
      }
    }
  };
  walk(set);
  return sum;
}

/** Requested and actual cost calculator for one operation. */
export function operationCost(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragments: Record<string, FragmentDefinitionNode>,
  variables: Record<string, unknown>,
) {
  const env: Env = { schema, fragments, variables };
  const isMutation = operation.operation === 'mutation';
  const root = (isMutation ? schema.getMutationType() : schema.getQueryType()) as GraphQLCompositeType;
  const mutationCost = () =>
    operation.selectionSet.selections.filter((s) => s.kind === Kind.FIELD && !s.name.value.startsWith('__'))
      .length * MUTATION_COST;
  return {
    requested(): number {
      return isMutation ? mutationCost() : selectionCost(env, operation.selectionSet, root, undefined, false);
    },
    actual(data: unknown): number {
      if (isMutation) return mutationCost();
      return data ? selectionCost(env, operation.selectionSet, root, data, true) : 0;
    },
  };
}
