import type { Database } from '../platform/db/client.ts';
import { notFound, unprocessable } from '../platform/errors.ts';
import type { Logger } from '../platform/logger.ts';
import type { UrlGuard } from '../platform/net/ssrf.ts';
import type { AdminClient } from '../shopify/index.ts';
import {
  DEFAULT_TOPICS,
  isSubscribable,
  type SubscribableTopic,
  topicFromEnum,
  topicToEnum,
} from './topics.ts';

/*
 * Webhook subscriptions through the Admin GraphQL API (issue 6; seed 000's webhook management API):
 * a desired set of topics per tenant, `ensure` to make the shop match it, and list/get/register/
 * delete for operators. https://shopify.dev/docs/api/admin-graphql/latest/mutations/webhookSubscriptionCreate
 */

/** A subscription as Shopify reports it. */
export type Subscription = {
  id: string;
  topic: string;
  uri: string;
  format: string;
  includeFields: string[];
  filter: string | null;
  apiVersion: string | null;
  createdAt: string | null;
  updatedAt: string | null;
};

/** What `ensure` did. */
export type EnsureResult = {
  callbackUrl: string;
  desired: string[];
  created: Subscription[];
  deleted: {
    id: string;
    topic: string;
    uri: string;
    reason: 'not desired' | 'other address' | 'duplicate';
  }[];
  kept: number;
};

const FIELDS = `id topic uri format includeFields filter apiVersion { handle } createdAt updatedAt`;

type Node = {
  id: string;
  topic: string;
  uri: string;
  format: string;
  includeFields: string[] | null;
  filter: string | null;
  apiVersion: { handle: string } | null;
  createdAt: string | null;
  updatedAt: string | null;
};

const toSubscription = (n: Node): Subscription => ({
  id: n.id,
  topic: topicFromEnum(n.topic),
  uri: n.uri,
  format: n.format,
  includeFields: n.includeFields ?? [],
  filter: n.filter ?? null,
  apiVersion: n.apiVersion?.handle ?? null,
  createdAt: n.createdAt,
  updatedAt: n.updatedAt,
});

type UserError = { field: string[] | null; message: string };

function assertNoUserErrors(errors: UserError[] | undefined, action: string): void {
  if (errors && errors.length > 0) {
    throw unprocessable('SHOPIFY_USER_ERRORS', `Shopify refused to ${action}`, {
      userErrors: errors.map((e) => ({ field: e.field, message: e.message })),
    });
  }
}

/** Runs `fn` over `items` with at most `limit` at a time. */
async function inParallel<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Subscription management for one process. */
export function createSubscriptions(deps: {
  database: Database;
  logger: Logger;
  adminClient: (tenantId: string) => Promise<AdminClient>;
  /** Where Shopify delivers: `${STOREOPS_PUBLIC_URL}/webhooks`. */
  callbackUrl: () => string;
  /** Refuses private, loopback and metadata addresses in production (src/platform/net/ssrf.ts). */
  urlGuard: UrlGuard;
}) {
  const { database } = deps;

  async function desiredTopics(tenantId: string): Promise<string[]> {
    const { rows } = await database.query<{ topics: string[] | null }>(
      'SELECT topics FROM webhook_subscription_settings WHERE tenant_id = $1',
      [tenantId],
    );
    return rows[0]?.topics ?? [...DEFAULT_TOPICS];
  }

  /** Sets the tenant's topics; null goes back to the default set. */
  async function setDesiredTopics(tenantId: string, topics: readonly string[] | null): Promise<string[]> {
    if (topics === null) {
      await database.query(
        'UPDATE webhook_subscription_settings SET topics = NULL, updated_at = now() WHERE tenant_id = $1',
        [tenantId],
      );
      return [...DEFAULT_TOPICS];
    }
    const unknown = topics.filter((t) => !isSubscribable(t));
    if (unknown.length > 0) {
      throw unprocessable(
        'UNKNOWN_WEBHOOK_TOPIC',
        'These topics cannot be subscribed through the Admin API',
        {
          topics: unknown,
        },
      );
    }
    const unique = [...new Set(topics)].sort();
    await database.query(
      `INSERT INTO webhook_subscription_settings (tenant_id, topics, updated_at) VALUES ($1, $2, now())
       ON CONFLICT (tenant_id) DO UPDATE SET topics = excluded.topics, updated_at = now()`,
      [tenantId, unique],
    );
    return unique;
  }

  async function list(tenantId: string): Promise<Subscription[]> {
    const client = await deps.adminClient(tenantId);
    const all: Subscription[] = [];
    let after: string | null = null;
    for (let page = 0; page < 50; page++) {
      const {
        data,
      }: {
        data: {
          webhookSubscriptions: {
            nodes: Node[];
            pageInfo: { hasNextPage: boolean; endCursor: string | null };
          };
        };
      } = await client.request(
        `query StoreOpsWebhookSubscriptions($after: String) {
             webhookSubscriptions(first: 100, after: $after) {
               nodes { ${FIELDS} }
               pageInfo { hasNextPage endCursor }
             }
           }`,
        { after },
      );
      all.push(...data.webhookSubscriptions.nodes.map(toSubscription));
      if (!data.webhookSubscriptions.pageInfo.hasNextPage) break;
      after = data.webhookSubscriptions.pageInfo.endCursor;
    }
    return all;
  }

  async function get(tenantId: string, id: string): Promise<Subscription> {
    const client = await deps.adminClient(tenantId);
    const { data } = await client.request<{ webhookSubscription: Node | null }>(
      `query StoreOpsWebhookSubscription($id: ID!) { webhookSubscription(id: $id) { ${FIELDS} } }`,
      { id },
    );
    if (!data.webhookSubscription) throw notFound('webhook subscription', id);
    return toSubscription(data.webhookSubscription);
  }

  async function register(
    tenantId: string,
    input: { topic: SubscribableTopic; uri?: string; includeFields?: string[]; filter?: string },
  ): Promise<Subscription> {
    // Our own address is configuration; any other one is the tenant's and must be public.
    if (input.uri !== undefined && input.uri !== deps.callbackUrl())
      await deps.urlGuard.assertPublicUrl(input.uri, 'uri');
    const client = await deps.adminClient(tenantId);
    const { data } = await client.request<{
      webhookSubscriptionCreate: { webhookSubscription: Node | null; userErrors: UserError[] } | null;
    }>(
      `mutation StoreOpsWebhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
         webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {
           webhookSubscription { ${FIELDS} }
           userErrors { field message }
         }
       }`,
      {
        topic: topicToEnum(input.topic),
        sub: {
          uri: input.uri ?? deps.callbackUrl(),
          format: 'JSON',
          ...(input.includeFields ? { includeFields: input.includeFields } : {}),
          ...(input.filter ? { filter: input.filter } : {}),
        },
      },
    );
    assertNoUserErrors(data.webhookSubscriptionCreate?.userErrors, `subscribe to ${input.topic}`);
    const created = data.webhookSubscriptionCreate?.webhookSubscription;
    if (!created)
      throw unprocessable('SHOPIFY_USER_ERRORS', `Shopify did not create the ${input.topic} subscription`);
    return toSubscription(created);
  }

  async function remove(tenantId: string, id: string): Promise<{ deletedId: string }> {
    const client = await deps.adminClient(tenantId);
    const { data } = await client.request<{
      webhookSubscriptionDelete: {
        deletedWebhookSubscriptionId: string | null;
        userErrors: UserError[];
      } | null;
    }>(
      `mutation StoreOpsWebhookSubscriptionDelete($id: ID!) {
         webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { field message } }
       }`,
      { id },
    );
    const result = data.webhookSubscriptionDelete;
    if (result?.userErrors?.length && !result.deletedWebhookSubscriptionId) {
      if (result.userErrors.some((e) => /not exist|not found/i.test(e.message)))
        throw notFound('webhook subscription', id);
      assertNoUserErrors(result.userErrors, 'delete the subscription');
    }
    return { deletedId: result?.deletedWebhookSubscriptionId ?? id };
  }

  /**
   * Makes the shop's subscriptions match the desired topics: each desired topic delivered to our
   * callback exactly once (missing ones registered in parallel), everything else removed (topics no
   * longer wanted, other addresses, duplicates). Safe to run any number of times.
   */
  async function ensure(tenantId: string): Promise<EnsureResult> {
    const callbackUrl = deps.callbackUrl();
    const desired = await desiredTopics(tenantId);
    const current = await list(tenantId);
    const keep = new Map<string, Subscription>();
    const deleted: EnsureResult['deleted'] = [];
    for (const s of current) {
      if (!desired.includes(s.topic))
        deleted.push({ id: s.id, topic: s.topic, uri: s.uri, reason: 'not desired' });
      else if (s.uri !== callbackUrl)
        deleted.push({ id: s.id, topic: s.topic, uri: s.uri, reason: 'other address' });
      else if (keep.has(s.topic)) deleted.push({ id: s.id, topic: s.topic, uri: s.uri, reason: 'duplicate' });
      else keep.set(s.topic, s);
    }
    const missing = desired.filter((t) => !keep.has(t)) as SubscribableTopic[];
    const created = await inParallel(missing, 5, (topic) => register(tenantId, { topic, uri: callbackUrl }));
    await inParallel(deleted, 5, (s) => remove(tenantId, s.id));
    const result: EnsureResult = { callbackUrl, desired, created, deleted, kept: keep.size };
    await database.query(
      `INSERT INTO webhook_subscription_settings (tenant_id, last_ensured_at, last_ensure_result)
       VALUES ($1, now(), $2)
       ON CONFLICT (tenant_id) DO UPDATE SET last_ensured_at = now(), last_ensure_result = excluded.last_ensure_result`,
      [tenantId, JSON.stringify({ created: created.length, deleted: deleted.length, kept: keep.size })],
    );
    deps.logger.info(
      { tenantId, created: created.length, deleted: deleted.length, kept: keep.size },
      'webhook subscriptions ensured',
    );
    return result;
  }

  async function settings(tenantId: string) {
    const { rows } = await database.query<{
      topics: string[] | null;
      last_ensured_at: Date | null;
      last_ensure_result: unknown;
    }>(
      'SELECT topics, last_ensured_at, last_ensure_result FROM webhook_subscription_settings WHERE tenant_id = $1',
      [tenantId],
    );
    return {
      topics: rows[0]?.topics ?? [...DEFAULT_TOPICS],
      isDefault: !rows[0]?.topics,
      callbackUrl: deps.callbackUrl(),
      lastEnsuredAt: rows[0]?.last_ensured_at ? new Date(rows[0].last_ensured_at).toISOString() : null,
      lastEnsureResult: (rows[0]?.last_ensure_result as Record<string, number> | null) ?? null,
    };
  }

  return { desiredTopics, setDesiredTopics, settings, list, get, register, remove, ensure };
}

/** Subscription management of one process. */
export type Subscriptions = ReturnType<typeof createSubscriptions>;
