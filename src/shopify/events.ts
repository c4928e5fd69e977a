import { z } from 'zod';
import type { Tx } from '../platform/db/client.ts';
import type { Jobs, Queue, QueueDefinition } from '../platform/jobs.ts';
import type { Logger } from '../platform/logger.ts';

/**
 * What the Shopify connection publishes for higher modules (issue 5): the webhooks module ensures
 * subscriptions on `connection-installed`, sync queues a backfill on it and stops on
 * `connection-uninstalled`, the data modules erase a shop on `shop-redact`.
 *
 * Each event is one durable job written in the same transaction as the state change (so it exists
 * exactly when the change committed). Its handler fans the event out to one queue per subscriber,
 * so each subscriber has its own retries and dead letters and one failing subscriber never blocks
 * another. Subscribers must be idempotent (a fan-out retried midway can deliver twice).
 *
 *   shopify.events.subscribe('connection-installed', {
 *     name: 'webhooks-ensure',
 *     handler: async ({ data }) => webhooks.ensure(data.tenantId),
 *   });
 *
 * Subscribe at wiring time (src/deps.ts), before the job system starts.
 */

const installed = z.object({
  tenantId: z.uuid(),
  shop: z.string(),
  connectionId: z.uuid(),
  source: z.enum(['oauth', 'token_exchange', 'manual']),
  /** True when the shop had been connected before (same tenant reattached). */
  reinstalled: z.boolean(),
});

const uninstalled = z.object({
  tenantId: z.uuid(),
  shop: z.string(),
  connectionId: z.uuid(),
  /** `app_uninstalled` (Shopify's webhook) or `disconnected` (manual disconnect). */
  reason: z.enum(['app_uninstalled', 'disconnected']),
  /** When `shop-redact` fires unless the app is reinstalled first (ISO time). */
  redactAt: z.iso.datetime(),
});

const redact = z.object({
  tenantId: z.uuid(),
  shop: z.string(),
  connectionId: z.uuid(),
  /** `scheduled` (48 h after uninstall) or `shop_redact_webhook` (Shopify's shop/redact). */
  trigger: z.enum(['scheduled', 'shop_redact_webhook']),
});

const schemas = {
  'connection-installed': installed,
  'connection-uninstalled': uninstalled,
  'shop-redact': redact,
} as const;

/** The events and their payloads. */
export type ShopifyEvents = {
  'connection-installed': z.infer<typeof installed>;
  'connection-uninstalled': z.infer<typeof uninstalled>;
  'shop-redact': z.infer<typeof redact>;
};
export type ShopifyEventName = keyof ShopifyEvents;

/** A subscriber: its queue is `shopify.<event>.<name>`; queue options as in `jobs.define`. */
export type Subscriber<E extends ShopifyEventName> = Omit<
  QueueDefinition<ShopifyEvents[E]>,
  'name' | 'schema' | 'cron'
> & {
  name: string;
};

/** Defines the event queues; `subscribe` adds subscribers, `publish` writes an event in a transaction. */
export function createShopifyEvents(deps: { jobs: Jobs; logger: Logger }) {
  const subscribers = new Map<ShopifyEventName, Queue<any>[]>();
  const eventQueues = new Map<ShopifyEventName, Queue<any>>();

  for (const event of Object.keys(schemas) as ShopifyEventName[]) {
    subscribers.set(event, []);
    eventQueues.set(
      event,
      deps.jobs.define<any>({
        name: `shopify.${event}`,
        schema: schemas[event],
        retryLimit: 10,
        async handler({ data }) {
          for (const queue of subscribers.get(event) ?? []) await queue.send(data);
          return { fannedOutTo: (subscribers.get(event) ?? []).map((q) => q.name) };
        },
      }),
    );
  }

  return {
    /** Registers a subscriber (wiring time only). */
    subscribe<E extends ShopifyEventName>(event: E, subscriber: Subscriber<E>): void {
      const queue = deps.jobs.define<ShopifyEvents[E]>({
        ...subscriber,
        name: `shopify.${event}.${subscriber.name}`,
        schema: schemas[event] as unknown as z.ZodType<ShopifyEvents[E]>,
      });
      subscribers.get(event)?.push(queue);
    },
    /** Publishes `event` atomically with the caller's transaction. */
    async publish<E extends ShopifyEventName>(tx: Tx, event: E, data: ShopifyEvents[E]): Promise<void> {
      await eventQueues.get(event)?.send(data, { tx });
      deps.logger.debug(
        { event: `shopify.${event}`, shop: data.shop, tenantId: data.tenantId },
        'shopify event queued',
      );
    },
    /** Queue name of an event (for status pages and tests). */
    queueName: (event: ShopifyEventName) => `shopify.${event}`,
  };
}

/** The Shopify lifecycle events of one process. */
export type ShopifyEventBus = ReturnType<typeof createShopifyEvents>;
