/**
 * Webhook topics StoreOps knows: REST names ("orders/updated", in X-Shopify-Topic) and the GraphQL
 * enum (`ORDERS_UPDATED`) that `webhookSubscriptionCreate` takes.
 */

/** Topics that can be subscribed through the Admin API, with their GraphQL enum value. */
export const SUBSCRIBABLE_TOPICS = {
  'products/create': 'PRODUCTS_CREATE',
  'products/update': 'PRODUCTS_UPDATE',
  'products/delete': 'PRODUCTS_DELETE',
  'orders/create': 'ORDERS_CREATE',
  'orders/updated': 'ORDERS_UPDATED',
  'orders/delete': 'ORDERS_DELETE',
  'orders/paid': 'ORDERS_PAID',
  'orders/cancelled': 'ORDERS_CANCELLED',
  'orders/fulfilled': 'ORDERS_FULFILLED',
  'orders/partially_fulfilled': 'ORDERS_PARTIALLY_FULFILLED',
  'customers/create': 'CUSTOMERS_CREATE',
  'customers/update': 'CUSTOMERS_UPDATE',
  'customers/delete': 'CUSTOMERS_DELETE',
  'app/uninstalled': 'APP_UNINSTALLED',
  'bulk_operations/finish': 'BULK_OPERATIONS_FINISH',
  'shop/update': 'SHOP_UPDATE',
} as const;

/** A topic subscribable through the Admin API. */
export type SubscribableTopic = keyof typeof SUBSCRIBABLE_TOPICS;

/**
 * What a tenant subscribes to unless it chose otherwise: every record change StoreOps mirrors, the
 * uninstall, and bulk-operation completion for sync. (orders/updated already covers paid,
 * cancelled and fulfilled.) The compliance topics are not here: Shopify only accepts those in the
 * app's configuration (Partner dashboard or shopify.app.toml), pointing at `/webhooks`.
 */
export const DEFAULT_TOPICS: readonly SubscribableTopic[] = [
  'products/create',
  'products/update',
  'products/delete',
  'orders/create',
  'orders/updated',
  'orders/delete',
  'customers/create',
  'customers/update',
  'customers/delete',
  'app/uninstalled',
  'bulk_operations/finish',
];

/** True for a topic the Admin API can subscribe. */
export function isSubscribable(topic: string): topic is SubscribableTopic {
  return Object.hasOwn(SUBSCRIBABLE_TOPICS, topic);
}

/** `orders/updated` → `ORDERS_UPDATED`. */
export function topicToEnum(topic: SubscribableTopic): string {
  return SUBSCRIBABLE_TOPICS[topic];
}

const FROM_ENUM = new Map(Object.entries(SUBSCRIBABLE_TOPICS).map(([topic, value]) => [value, topic]));

/** `ORDERS_UPDATED` → `orders/updated` (unknown values: lower case, first `_` as `/`). */
export function topicFromEnum(value: string): string {
  return FROM_ENUM.get(value as never) ?? value.toLowerCase().replace('_', '/');
}
