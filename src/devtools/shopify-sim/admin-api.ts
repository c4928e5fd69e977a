/**
 * POST /{shop}/admin/api/{version}/graphql.json: auth, chaos, validation, the single-query cost
 * ceiling, the leaky bucket, execution, and `extensions.cost` on the answer.
 * https://shopify.dev/docs/api/admin-graphql#rate-limits
 * https://shopify.dev/docs/api/usage/response-codes
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  execute,
  type FragmentDefinitionNode,
  type GraphQLError,
  Kind,
  type OperationDefinitionNode,
  parse,
  validate,
} from 'graphql';
import { createBucket, refund, take, throttleStatus } from './bucket.ts';
import type { BulkState } from './bulk.ts';
import { chaosFor, roll } from './chaos.ts';
import type { Ctx } from './context.ts';
import { operationCost, SINGLE_QUERY_MAX_COST } from './cost.ts';
import { authenticate } from './oauth.ts';
import { mutationRoot, queryRoot } from './resolvers.ts';
import { adminSchema } from './schema.ts';
import { shopFor, type SimState } from './state.ts';
import type { WebhookEngine } from './webhooks.ts';

/** The simulator plus its delivery and bulk machinery. */
export type Runtime = { sim: SimState; engine: WebhookEngine; bulk: BulkState };

/** An HTTP answer independent of the web framework. */
export type HttpAnswer = { status: number; headers: Record<string, string>; body: unknown };

const INVALID_TOKEN = '[API] Invalid API key or access token (unrecognized login or wrong password)';
const RATE_LIMIT_DOCS = 'https://shopify.dev/api/usage/rate-limits';

/** Well-formed API versions: quarterly YYYY-MM releases and `unstable`. */
export function isApiVersion(version: string): boolean {
  return version === 'unstable' || /^\d{4}-(01|04|07|10)$/.test(version);
}

/** Chaos faults that apply to any Admin API call before it is processed; null when none fired. */
export async function httpChaos(rt: Runtime, shop: string): Promise<HttpAnswer | null> {
  const chaos = chaosFor(rt.sim.chaos, shop);
  if (roll(rt.sim.chaos, chaos.http5xxRate)) {
    return {
      status: 503,
      headers: { 'Content-Type': 'text/plain; charset=utf-8' },
      body: 'Service Unavailable',
    };
  }
  if (roll(rt.sim.chaos, chaos.http429Rate)) {
    return {
      status: 429,
      headers: { 'Retry-After': chaos.retryAfterSeconds.toFixed(1) },
      body: {
        errors:
          'Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.',
      },
    };
  }
  if (roll(rt.sim.chaos, chaos.slowRate)) await sleep(chaos.slowMs);
  return null;
}

/** Handles one Admin GraphQL request. */
export async function handleGraphql(
  rt: Runtime,
  shopDomain: string,
  version: string,
  tokenHeader: string | undefined,
  body: unknown,
): Promise<HttpAnswer> {
  const shop = shopFor(rt.sim, shopDomain);
  const json = { 'Content-Type': 'application/json; charset=utf-8', 'X-Shopify-API-Version': version };
  if (!shop || !isApiVersion(version)) return { status: 404, headers: json, body: { errors: 'Not Found' } };
  const fault = await httpChaos(rt, shop.domain);
  if (fault) return fault;
  const token = authenticate(rt.sim, shop.domain, tokenHeader);
  if (!token) return { status: 401, headers: json, body: { errors: INVALID_TOKEN } };

  let bucket = rt.sim.buckets.get(shop.domain);
  const now = rt.sim.options.clock();
  if (!bucket || bucket.max !== createBucket(shop.plan, now).max) {
    bucket = createBucket(shop.plan, now);
    rt.sim.buckets.set(shop.domain, bucket);
  }
  const costOf = (requested: number, actual: number | null) => {
    return {
      cost: {
        requestedQueryCost: requested,
        actualQueryCost: actual,
        throttleStatus: throttleStatus(bucket),
      },
    };
  };
  const fail = (errors: unknown[], requested = 0) => ({
    status: 200,
    headers: json,
    body: { errors, extensions: costOf(requested, null) },
  });

  const req = (body ?? {}) as { query?: unknown; variables?: unknown; operationName?: unknown };
  if (typeof req.query !== 'string' || !req.query.trim()) {
    return {
      status: 400,
      headers: json,
      body: { errors: { query: 'Required parameter missing or invalid' } },
    };
  }
  let document: ReturnType<typeof parse>;
  try {
    document = parse(req.query);
  } catch (err) {
    return fail([(err as GraphQLError).toJSON()]);
  }
  const schema = adminSchema();
  const validation = validate(schema, document);
  if (validation.length) return fail(validation.map((e) => e.toJSON()));
  const operations = document.definitions.filter(
    (d) => d.kind === Kind.OPERATION_DEFINITION,
  ) as OperationDefinitionNode[];
  const operation =
    typeof req.operationName === 'string'
      ? operations.find((o) => o.name?.value === req.operationName)
      : operations.length === 1
        ? operations[0]
        : undefined;
  if (!operation)
    return fail([{ message: 'An operation name is required when a document has several operations.' }]);
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments[d.name.value] = d;
  const variables = (req.variables && typeof req.variables === 'object' ? req.variables : {}) as Record<
    string,
    unknown
  >;

  let cost: ReturnType<typeof operationCost>;
  let requested: number;
  try {
    cost = operationCost(schema, operation, fragments, variables);
    requested = cost.requested();
  } catch {
    // Bad variables: let execution report them with GraphQL's own messages.
    cost = { requested: () => 0, actual: () => 0 };
    requested = 0;
  }
  if (requested > SINGLE_QUERY_MAX_COST) {
    return fail(
      [
        {
          message: `Query cost is ${requested}, which exceeds the single query max cost limit (${SINGLE_QUERY_MAX_COST}).\n\nSee https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\ncost of a query is calculated.\n\nTo query larger amounts of data with fewer limits, bulk operations should be used instead.\nSee https://shopify.dev/api/usage/bulk-operations/queries for usage details.\n`,
          extensions: {
            code: 'MAX_COST_EXCEEDED',
            cost: requested,
            maxCost: SINGLE_QUERY_MAX_COST,
            documentation: RATE_LIMIT_DOCS,
          },
        },
      ],
      requested,
    );
  }
  const forcedThrottle = roll(rt.sim.chaos, chaosFor(rt.sim.chaos, shop.domain).throttleRate);
  if (forcedThrottle || !take(bucket, requested, now)) {
    return fail(
      [{ message: 'Throttled', extensions: { code: 'THROTTLED', documentation: RATE_LIMIT_DOCS } }],
      requested,
    );
  }
  const ctx: Ctx = {
    sim: rt.sim,
    engine: rt.engine,
    bulk: rt.bulk,
    shop,
    token,
    apiVersion: version,
    inBulk: false,
  };
  const result = await execute({
    schema,
    document,
    operationName: operation.name?.value,
    rootValue: operation.operation === 'mutation' ? mutationRoot : queryRoot,
    contextValue: ctx,
    variableValues: variables,
  });
  const actual = Math.min(requested, cost.actual(result.data ?? null));
  refund(bucket, requested - actual);
  const out: Record<string, unknown> = {};
  if (result.errors?.length) out.errors = result.errors.map((e) => e.toJSON());
  out.data = result.data ?? null;
  out.extensions = costOf(requested, actual);
  return { status: 200, headers: json, body: out };
}
