import { z } from 'zod';
import type { Tx } from '../platform/db/client.ts';
import {
  customerFromRest,
  deletedIdFromRest,
  orderFromRest,
  productFromRest,
  type Mirror,
} from '../mirror/index.ts';

/** One stored delivery being applied by a worker. */
export type WebhookEvent = {
  /** Inbox row id (the event id of the event log API). */
  id: number;
  tenantId: string;
  shopDomain: string;
  topic: string;
  webhookId: string;
  /** Shopify's X-Shopify-Event-Id, shared by every subscription's copy of one event. */
  eventId: string | null;
  triggeredAt: Date | null;
  apiVersion: string | null;
  /** The JSON body as Shopify sent it. */
  payload: unknown;
  /** 1 for the first attempt. */
  attempt: number;
  /** Why it is being applied: first delivery (and its retries), an explicit replay, or a redrive. */
  trigger: 'delivery' | 'replay' | 'redrive';
  receivedAt: Date;
  /** What the handler's `prepare` returned, if it has one. */
  prepared?: unknown;
};

/**
 * How a set of topics is applied. The processor calls, for one tenant's batch of events:
 *  1. `prepare(event)` outside any transaction — for calls into modules that run their own
 *     transactions (uninstall, redact); it must be idempotent, since a failure later repeats it;
 *  2. `apply(tx, events)` inside the tenant's transaction, which also marks the events processed,
 *     so the effect and the "applied" mark commit together (exactly once in effect);
 *  3. `failed(tx, event, error, final)` when an attempt fails, in the transaction recording it.
 * A handler that throws fails the batch; the processor then retries the events one by one so only
 * the bad ones fail. Throw `PermanentError` (or let a ZodError through) for input that can never
 * succeed: it skips the retries and goes to the dead-letter queue at once.
 */
export type TopicHandler = {
  /** Short name for logs and errors. */
  name: string;
  topics: ReadonlySet<string>;
  prepare?(event: WebhookEvent): Promise<unknown>;
  apply?(tx: Tx, events: WebhookEvent[]): Promise<void>;
  failed?(tx: Tx, event: WebhookEvent, error: string, final: boolean): Promise<void>;
};

/** An error retrying cannot fix (an invalid payload): the event is dead-lettered at once. */
export class PermanentError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentError';
  }
}

/** True for errors that retries cannot fix. */
export function isPermanent(error: unknown): boolean {
  return error instanceof PermanentError || error instanceof z.ZodError;
}

const isDelete = (topic: string) => topic.endsWith('/delete');
/** A delete's time: when Shopify triggered it, else now. */
const deletedAt = (e: WebhookEvent) => (e.triggeredAt ?? new Date()).toISOString();

/** Order topics whose payload is a REST order (orders/edited carries an order_edit instead). */
export const ORDER_TOPICS = [
  'orders/create',
  'orders/updated',
  'orders/paid',
  'orders/cancelled',
  'orders/fulfilled',
  'orders/partially_fulfilled',
  'orders/delete',
] as const;

/** products/*, customers/* and orders/*: batch upserts and tombstones into the mirrored tables. */
export function dataHandlers(mirror: Mirror): TopicHandler[] {
  return [
    {
      name: 'products',
      topics: new Set(['products/create', 'products/update', 'products/delete']),
      async apply(tx, events) {
        const tenantId = events[0].tenantId;
        const upserts = events.filter((e) => !isDelete(e.topic)).map((e) => productFromRest(e.payload));
        await mirror.upsertProducts(tx, tenantId, upserts);
        for (const e of events.filter((e) => isDelete(e.topic))) {
          await mirror.markDeleted(tx, tenantId, 'products', [deletedIdFromRest(e.payload)], {
            deletedAt: deletedAt(e),
          });
        }
      },
    },
    {
      name: 'customers',
      topics: new Set(['customers/create', 'customers/update', 'customers/delete']),
      async apply(tx, events) {
        const tenantId = events[0].tenantId;
        const upserts = events.filter((e) => !isDelete(e.topic)).map((e) => customerFromRest(e.payload));
        await mirror.upsertCustomers(tx, tenantId, upserts);
        for (const e of events.filter((e) => isDelete(e.topic))) {
          await mirror.markDeleted(tx, tenantId, 'customers', [deletedIdFromRest(e.payload)], {
            deletedAt: deletedAt(e),
          });
        }
      },
    },
    {
      name: 'orders',
      topics: new Set(ORDER_TOPICS),
      async apply(tx, events) {
        const tenantId = events[0].tenantId;
        const upserts = events.filter((e) => !isDelete(e.topic)).map((e) => orderFromRest(e.payload));
        await mirror.upsertOrders(tx, tenantId, upserts);
        for (const e of events.filter((e) => isDelete(e.topic))) {
          await mirror.markDeleted(tx, tenantId, 'orders', [deletedIdFromRest(e.payload)], {
            deletedAt: deletedAt(e),
          });
        }
      },
    },
  ];
}

/** What `bulk_operations/finish` tells the sync engine (payload of Shopify's webhook, normalised). */
export type BulkOperationFinished = {
  tenantId: string;
  shopDomain: string;
  /** gid://shopify/BulkOperation/… */
  bulkOperationId: string;
  /** COMPLETED, FAILED, CANCELED, EXPIRED… (upper case, as GraphQL spells it). */
  status: string;
  errorCode: string | null;
  /** QUERY or MUTATION. */
  type: string;
  completedAt: string | null;
  /** The inbox row id, to find the delivery in the event log. */
  inboxId: number;
};

/** A consumer of finished bulk operations; runs inside the event's tenant transaction. */
export type BulkOperationListener = (tx: Tx, operation: BulkOperationFinished) => Promise<void>;

const bulkFinishSchema = z.object({
  admin_graphql_api_id: z.string().regex(/^gid:\/\/shopify\/BulkOperation\/\d+$/),
  status: z.string().min(1),
  error_code: z.string().nullish(),
  type: z.string().nullish(),
  completed_at: z.string().nullish(),
});

/**
 * `bulk_operations/finish`: hands the finished operation to the sync engine's listeners, inside the
 * tenant transaction (so a listener that enqueues its job with `{ tx }` commits with the event).
 * With no listener registered the event fails and is kept for replay once one is.
 */
export function bulkOperationHandler(listeners: readonly BulkOperationListener[]): TopicHandler {
  return {
    name: 'bulk_operations',
    topics: new Set(['bulk_operations/finish']),
    async apply(tx, events) {
      if (listeners.length === 0) {
        throw new Error(
          'no bulk-operation consumer is registered (sync module); replay this event once one is',
        );
      }
      for (const e of events) {
        const p = bulkFinishSchema.parse(e.payload);
        const operation: BulkOperationFinished = {
          tenantId: e.tenantId,
          shopDomain: e.shopDomain,
          bulkOperationId: p.admin_graphql_api_id,
          status: p.status.toUpperCase(),
          errorCode: p.error_code ?? null,
          type: (p.type ?? 'query').toUpperCase(),
          completedAt: p.completed_at ?? null,
          inboxId: e.id,
        };
        for (const listener of listeners) await listener(tx, operation);
      }
    },
  };
}

/** `app/uninstalled`: the Shopify connection's uninstall path (erase tokens, mark uninstalled, schedule redaction). */
export function appUninstalledHandler(uninstall: (shopDomain: string) => Promise<unknown>): TopicHandler {
  return {
    name: 'app_uninstalled',
    topics: new Set(['app/uninstalled']),
    // The connection module runs its own transaction; it is idempotent, as `prepare` must be.
    prepare: (event) => uninstall(event.shopDomain),
  };
}
