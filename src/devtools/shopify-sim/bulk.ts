/**
 * Bulk query operations: the query runs in the background over the lazy sources, and writes JSONL
 * to a temporary file that the simulator serves from a URL (streamed from disk, never buffered).
 * Nested connections become separate lines carrying `__parentId`, after their parent.
 * One bulk query runs at a time per shop. On completion, bulk_operations/finish fires.
 * https://shopify.dev/docs/api/usage/bulk-operations/queries
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type FieldNode,
  getArgumentValues,
  getNamedType,
  type GraphQLField,
  type GraphQLObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  type GraphQLOutputType,
  Kind,
  parse,
  type SelectionSetNode,
  validate,
  isObjectType,
  type FragmentDefinitionNode,
} from 'graphql';
import type { Ctx } from './context.ts';
import { gid, restTime } from './format.ts';
import { adminSchema } from './schema.ts';
import { LIST_FIELDS, type ListField, listSource } from './sources.ts';
import { emitWebhook } from './webhooks.ts';

/** A bulk operation and its progress. */
export type BulkOp = {
  id: number;
  shop: string;
  query: string;
  status: 'CREATED' | 'RUNNING' | 'COMPLETED' | 'CANCELING' | 'CANCELED' | 'FAILED' | 'EXPIRED';
  errorCode: 'ACCESS_DENIED' | 'INTERNAL_SERVER_ERROR' | 'TIMEOUT' | null;
  createdAt: number;
  completedAt: number | null;
  objectCount: number;
  rootObjectCount: number;
  fileSize: number;
  file: string | null;
};

/** All bulk operations of the simulator. */
export type BulkState = {
  ops: Map<number, BulkOp>;
  /** The running (or last) query operation per shop. */
  currentByShop: Map<string, number>;
  dir: Promise<string> | null;
  tasks: Set<Promise<void>>;
  closed: boolean;
  /** Test hook: result downloads stall after this many lines until `released` resolves. */
  downloadHold: { afterLines: number; released: Promise<void> } | null;
};

/** Creates empty bulk state; the temp directory is made on first use. */
export function createBulkState(): BulkState {
  return {
    ops: new Map(),
    currentByShop: new Map(),
    dir: null,
    tasks: new Set(),
    closed: false,
    downloadHold: null,
  };
}

type Plan = {
  key: string;
  /** `"key":`, written before every value. */
  keyJson: string;
  name: string;
  args: Record<string, unknown>;
  kind: 'leaf' | 'object' | 'list' | 'connection';
  sub: Plan[];
};

type UserError = { code: 'INVALID' | 'OPERATION_IN_PROGRESS'; field: string[] | null; message: string };

const MAX_CONNECTIONS = 5;

function isConnectionType(t: GraphQLOutputType): boolean {
  const named = getNamedType(t);
  return isObjectType(named) && named.name.endsWith('Connection');
}

/** Compiles a selection into a flat plan for fast projection; counts connections and depth. */
function compile(
  set: SelectionSetNode,
  type: GraphQLObjectType,
  fragments: Record<string, FragmentDefinitionNode>,
  stats: { connections: number; maxDepth: number; errors: string[] },
  depth: number,
): Plan[] {
  const plans: Plan[] = [];
  const visit = (s: SelectionSetNode) => {
    for (const sel of s.selections) {
      if (sel.kind === Kind.INLINE_FRAGMENT) {
        visit(sel.selectionSet);
        continue;
      }
      if (sel.kind === Kind.FRAGMENT_SPREAD) {
        const frag = fragments[sel.name.value];
        if (frag) visit(frag.selectionSet);
        continue;
      }
      plans.push(planField(sel, type, fragments, stats, depth));
    }
  };
  visit(set);
  return plans;
}

function planField(
  node: FieldNode,
  parent: GraphQLObjectType,
  fragments: Record<string, FragmentDefinitionNode>,
  stats: { connections: number; maxDepth: number; errors: string[] },
  depth: number,
): Plan {
  const name = node.name.value;
  const key = node.alias?.value ?? name;
  if (name === '__typename')
    return { key, keyJson: `${JSON.stringify(key)}:`, name, args: {}, kind: 'leaf', sub: [] };
  const def = parent.getFields()[name] as GraphQLField<unknown, unknown>;
  const args = getArgumentValues(def, node, {});
  const named = getNamedType(def.type);
  if (isLeafType(named))
    return { key, keyJson: `${JSON.stringify(key)}:`, name, args, kind: 'leaf', sub: [] };
  if (isConnectionType(def.type)) {
    stats.connections++;
    stats.maxDepth = Math.max(stats.maxDepth, depth + 1);
    const nodeSel = connectionNodeSelection(node, fragments);
    const conn = named as GraphQLObjectType;
    const nodeType = getNamedType(conn.getFields().nodes.type) as GraphQLObjectType;
    const sub = nodeSel ? compile(nodeSel, nodeType, fragments, stats, depth + 1) : [];
    if (sub.some((p) => p.kind === 'connection') && !sub.some((p) => p.name === 'id' && p.key === 'id')) {
      stats.errors.push(
        `The parent 'node' field for a nested connection must select the 'id' field. Connection field: '${name}'`,
      );
    }
    return { key, keyJson: `${JSON.stringify(key)}:`, name, args, kind: 'connection', sub };
  }
  const inner = isNonNullType(def.type) ? def.type.ofType : def.type;
  const sub = node.selectionSet
    ? compile(node.selectionSet, named as GraphQLObjectType, fragments, stats, depth)
    : [];
  return {
    key,
    keyJson: `${JSON.stringify(key)}:`,
    name,
    args,
    kind: isListType(inner) ? 'list' : 'object',
    sub,
  };
}

/** The selection under `edges { node { … } }` or `nodes { … }` of a connection field. */
function connectionNodeSelection(
  field: FieldNode,
  fragments: Record<string, FragmentDefinitionNode>,
): SelectionSetNode | null {
  const selections: SelectionSetNode['selections'][number][] = [];
  const collect = (set: SelectionSetNode | undefined) => {
    for (const sel of set?.selections ?? []) {
      if (sel.kind === Kind.FRAGMENT_SPREAD) collect(fragments[sel.name.value]?.selectionSet);
      else if (sel.kind === Kind.INLINE_FRAGMENT) collect(sel.selectionSet);
      else if (sel.name.value === 'nodes' && sel.selectionSet)
        selections.push(...sel.selectionSet.selections);
      else if (sel.name.value === 'edges') {
        for (const e of sel.selectionSet?.selections ?? []) {
          if (e.kind === Kind.FIELD && e.name.value === 'node' && e.selectionSet)
            selections.push(...e.selectionSet.selections);
        }
      }
    }
  };
  collect(field.selectionSet);
  return selections.length ? { kind: Kind.SELECTION_SET, selections } : null;
}

function resolve(view: any, plan: Plan): unknown {
  if (plan.name === '__typename') return view.__typename;
  const value = view[plan.name];
  return typeof value === 'function' ? value.call(view, plan.args) : value;
}

/**
 * One object's JSON text, written straight from the view: no intermediate object for
 * JSON.stringify to walk again (a million-order export writes three million lines).
 */
function objectJson(view: any, plans: Plan[], parentId: string | null): string {
  let out = '';
  for (const plan of plans) {
    if (plan.kind === 'connection') continue;
    const value = resolve(view, plan);
    out += out ? `,${plan.keyJson}` : plan.keyJson;
    if (value === null || value === undefined) out += 'null';
    else if (plan.kind === 'leaf') out += JSON.stringify(value);
    else if (plan.kind === 'object') out += objectJson(value, plan.sub, null);
    else {
      const items = (value as unknown[]).map((v) =>
        v !== null && typeof v === 'object' ? objectJson(v, plan.sub, null) : JSON.stringify(v),
      );
      out += `[${items.join(',')}]`;
    }
  }
  if (parentId !== null) out += `${out ? ',' : ''}"__parentId":${JSON.stringify(parentId)}`;
  return `{${out}}`;
}

/** Children of a nested connection: every item, ignoring first/last as bulk operations do. */
function childrenOf(view: any, plan: Plan): unknown[] {
  const all = view[`all${plan.name.charAt(0).toUpperCase()}${plan.name.slice(1)}`];
  if (typeof all === 'function') return all.call(view);
  const conn = view[plan.name]?.call(view, { first: 250 });
  return conn?.nodes ?? [];
}

/** Appends the JSONL lines of one object and its nested connections; returns lines written. */
function emitLines(view: any, plans: Plan[], parentId: string | null, out: string[]): number {
  out.push(objectJson(view, plans, parentId));
  let count = 1;
  for (const plan of plans) {
    if (plan.kind !== 'connection') continue;
    const id = view.id as string;
    for (const child of childrenOf(view, plan)) count += emitLines(child, plan.sub, id, out);
  }
  return count;
}

function write(stream: WriteStream, chunk: string): Promise<void> {
  return new Promise((resolveWrite, reject) => {
    const ok = stream.write(chunk, (err) => (err ? reject(err) : undefined));
    if (ok) resolveWrite();
    else stream.once('drain', () => resolveWrite());
  });
}

async function execute(
  ctx: Ctx,
  state: BulkState,
  op: BulkOp,
  field: ListField,
  args: Record<string, unknown>,
  plans: Plan[],
) {
  op.status = 'RUNNING';
  state.dir ??= mkdtemp(join(tmpdir(), 'storeops-shopify-sim-'));
  const file = join(await state.dir, `${op.id}.jsonl`);
  const stream = createWriteStream(file);
  op.file = file;
  try {
    const source = listSource(ctx, field, args);
    const lines: string[] = [];
    let pendingBytes = 0;
    let roots = 0;
    for (const item of source.scanFrom(Boolean(args.reverse), null)) {
      if (state.closed || (op.status as BulkOp['status']) === 'CANCELING') break;
      const start = lines.length;
      op.objectCount += emitLines(source.toNode(item), plans, null, lines);
      op.rootObjectCount++;
      for (let i = start; i < lines.length; i++) pendingBytes += Buffer.byteLength(lines[i]) + 1;
      // Small chunks keep every line short-lived, so garbage dies young instead of growing the heap.
      if (++roots % 200 === 0 || lines.length > 1000) {
        const chunk = `${lines.join('\n')}\n`;
        lines.length = 0;
        op.fileSize += pendingBytes;
        pendingBytes = 0;
        await write(stream, chunk);
        // Let the event loop answer polling and other requests while a big export runs.
        await new Promise((r) => setImmediate(r));
      }
    }
    if (lines.length) {
      op.fileSize += pendingBytes;
      await write(stream, `${lines.join('\n')}\n`);
    }
    await new Promise<void>((r) => stream.end(() => r()));
    op.status = (op.status as BulkOp['status']) === 'CANCELING' ? 'CANCELED' : 'COMPLETED';
  } catch (err) {
    stream.destroy();
    op.status = 'FAILED';
    op.errorCode =
      (err as { extensions?: { code?: string } }).extensions?.code === 'ACCESS_DENIED'
        ? 'ACCESS_DENIED'
        : 'INTERNAL_SERVER_ERROR';
  }
  op.completedAt = ctx.sim.options.clock();
  if (state.closed) return;
  emitWebhook(ctx.sim, ctx.engine, ctx.shop, 'bulk_operations/finish', {
    admin_graphql_api_id: gid('BulkOperation', op.id),
    completed_at: restTime(op.completedAt),
    created_at: restTime(op.createdAt),
    error_code: op.errorCode === null ? null : op.errorCode.toLowerCase(),
    status: op.status.toLowerCase(),
    type: 'query',
  });
}

/** bulkOperationRunQuery: validates the query, starts it, and returns the new operation. */
export function runBulkQuery(ctx: Ctx, query: string): { op: BulkOp | null; userErrors: UserError[] } {
  const state = ctx.bulk;
  const invalid = (message: string) => ({
    op: null,
    userErrors: [{ code: 'INVALID' as const, field: ['query'], message }],
  });
  const currentId = state.currentByShop.get(ctx.shop.domain);
  const current = currentId === undefined ? undefined : state.ops.get(currentId);
  if (
    current &&
    (current.status === 'CREATED' || current.status === 'RUNNING' || current.status === 'CANCELING')
  ) {
    return {
      op: null,
      userErrors: [
        {
          code: 'OPERATION_IN_PROGRESS',
          field: null,
          message: `A bulk query operation for this app and shop is already in progress: ${gid('BulkOperation', current.id)}.`,
        },
      ],
    };
  }
  let doc: ReturnType<typeof parse>;
  try {
    doc = parse(query);
  } catch (err) {
    return invalid(`Invalid bulk query: ${(err as Error).message}`);
  }
  const schema = adminSchema();
  const errors = validate(schema, doc);
  if (errors.length) return invalid(`Invalid bulk query: ${errors[0].message}`);
  const operation = doc.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
  if (!operation || operation.kind !== Kind.OPERATION_DEFINITION || operation.operation !== 'query') {
    return invalid('Bulk queries must contain a query operation.');
  }
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments[d.name.value] = d;
  const roots = operation.selectionSet.selections.filter((s) => s.kind === Kind.FIELD) as FieldNode[];
  if (roots.some((r) => r.name.value === 'node' || r.name.value === 'nodes')) {
    return invalid('Bulk queries cannot contain a top level `node` or `nodes` field.');
  }
  const root = roots.find((r) => (LIST_FIELDS as readonly string[]).includes(r.name.value));
  if (!root || roots.length !== 1) {
    return invalid(
      `Bulk queries must contain exactly one top-level connection field (supported here: ${LIST_FIELDS.join(', ')}).`,
    );
  }
  const queryType = schema.getQueryType() as GraphQLObjectType;
  const rootDef = queryType.getFields()[root.name.value];
  const stats = { connections: 1, maxDepth: 1, errors: [] as string[] };
  const nodeSel = connectionNodeSelection(root, fragments);
  if (!nodeSel)
    return invalid('Bulk queries must select `edges { node { … } }` or `nodes { … }` on the connection.');
  const conn = getNamedType(rootDef.type) as GraphQLObjectType;
  const nodeType = getNamedType(conn.getFields().nodes.type) as GraphQLObjectType;
  const plans = compile(nodeSel, nodeType, fragments, stats, 1);
  const nested = plans.find((p) => p.kind === 'connection');
  if (nested && !plans.some((p) => p.name === 'id' && p.key === 'id')) {
    stats.errors.unshift(
      `The parent 'node' field for a nested connection must select the 'id' field. Connection field: '${nested.name}'`,
    );
  }
  if (stats.errors.length) return invalid(stats.errors[0]);
  if (stats.connections > MAX_CONNECTIONS)
    return invalid(`Bulk queries cannot contain more than ${MAX_CONNECTIONS} connections.`);
  if (stats.maxDepth > 2)
    return invalid('Bulk queries cannot contain connections nested more than two levels deep.');
  const args = getArgumentValues(rootDef, root, {});
  const op: BulkOp = {
    id: ++ctx.sim.counters.bulk,
    shop: ctx.shop.domain,
    query,
    status: 'CREATED',
    errorCode: null,
    createdAt: ctx.sim.options.clock(),
    completedAt: null,
    objectCount: 0,
    rootObjectCount: 0,
    fileSize: 0,
    file: null,
  };
  state.ops.set(op.id, op);
  state.currentByShop.set(ctx.shop.domain, op.id);
  const task = new Promise<void>((r) => setImmediate(r)).then(() =>
    execute(ctx, state, op, root.name.value as ListField, args, plans),
  );
  state.tasks.add(task);
  task.finally(() => state.tasks.delete(task));
  return { op, userErrors: [] };
}

/** bulkOperationCancel: asks a running operation to stop. */
export function cancelBulk(ctx: Ctx, id: number): BulkOp | null {
  const op = ctx.bulk.ops.get(id);
  if (!op || op.shop !== ctx.shop.domain) return null;
  if (op.status === 'CREATED' || op.status === 'RUNNING') op.status = 'CANCELING';
  return op;
}

/**
 * A result file's bytes; with a download hold, the stream stops after the hold's line count until
 * it is released (a stalled transfer, so a test can kill a client at a known point).
 */
export async function* bulkFileChunks(
  chunks: AsyncIterable<Buffer>,
  hold: BulkState['downloadHold'],
): AsyncGenerator<Buffer> {
  let lines = 0;
  let waiting = hold !== null;
  for await (const chunk of chunks) {
    if (!waiting || !hold) {
      yield chunk;
      continue;
    }
    let at = -1;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) {
      if (++lines === hold.afterLines) {
        at = i + 1;
        break;
      }
    }
    if (at === -1) {
      yield chunk;
      continue;
    }
    yield chunk.subarray(0, at);
    await hold.released;
    waiting = false;
    if (at < chunk.length) yield chunk.subarray(at);
  }
}

/** Waits for running exports and deletes their files. */
export async function closeBulk(state: BulkState): Promise<void> {
  state.closed = true;
  await Promise.allSettled([...state.tasks]);
  if (state.dir) await rm(await state.dir, { recursive: true, force: true });
}
