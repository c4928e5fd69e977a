import type { Tx } from '../platform/db/client.ts';
import type { TopicHandler, WebhookEvent } from '../webhooks/index.ts';
import type { Mirror } from './index.ts';
import { customerFromRest, deletedIdFromRest, orderFromRest, productFromRest } from './rest.ts';

/*
 * How the mirror follows Shopify's REST webhooks (products/*, customers/*, orders/*): batch upserts
 * and tombstones in the event's tenant transaction. Registered with
 * `webhooks.subscribe('shopify', handler.topics, handler)`.
 */

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

/** One resource's handler: upserts for create/update topics, tombstones for `…/delete`. */
function resourceHandler(
  mirror: Mirror,
  name: 'products' | 'customers' | 'orders',
  topics: readonly string[],
  upsert: (tx: Tx, tenantId: string, payloads: unknown[]) => Promise<unknown>,
): TopicHandler {
  return {
    name,
    topics,
    async apply(tx, events) {
      const tenantId = events[0].tenantId;
      await upsert(
        tx,
        tenantId,
        events.filter((e) => !isDelete(e.topic)).map((e) => e.payload),
      );
      for (const e of events.filter((e) => isDelete(e.topic))) {
        await mirror.markDeleted(tx, tenantId, name, [deletedIdFromRest(e.payload)], {
          deletedAt: deletedAt(e),
        });
      }
    },
  };
}

/** The mirror's webhook handlers, in the order they should run within a batch. */
export function mirrorWebhookHandlers(mirror: Mirror): TopicHandler[] {
  return [
    resourceHandler(
      mirror,
      'products',
      ['products/create', 'products/update', 'products/delete'],
      (tx, t, p) => mirror.upsertProducts(tx, t, p.map(productFromRest)),
    ),
    resourceHandler(
      mirror,
      'customers',
      ['customers/create', 'customers/update', 'customers/delete'],
      (tx, t, p) => mirror.upsertCustomers(tx, t, p.map(customerFromRest)),
    ),
    resourceHandler(mirror, 'orders', ORDER_TOPICS, (tx, t, p) =>
      mirror.upsertOrders(tx, t, p.map(orderFromRest)),
    ),
  ];
}
