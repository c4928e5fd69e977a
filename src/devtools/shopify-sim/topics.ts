/** Webhook topics the simulator emits, in REST form ("orders/updated") and GraphQL enum form. */

/** Topics an app can subscribe to through webhookSubscriptionCreate. */
export const API_TOPICS = {
  'products/create': 'PRODUCTS_CREATE',
  'products/update': 'PRODUCTS_UPDATE',
  'products/delete': 'PRODUCTS_DELETE',
  'orders/create': 'ORDERS_CREATE',
  'orders/updated': 'ORDERS_UPDATED',
  'orders/delete': 'ORDERS_DELETE',
  'orders/paid': 'ORDERS_PAID',
  'orders/cancelled': 'ORDERS_CANCELLED',
  'orders/fulfilled': 'ORDERS_FULFILLED',
  'customers/create': 'CUSTOMERS_CREATE',
  'customers/update': 'CUSTOMERS_UPDATE',
  'customers/delete': 'CUSTOMERS_DELETE',
  'app/uninstalled': 'APP_UNINSTALLED',
  'bulk_operations/finish': 'BULK_OPERATIONS_FINISH',
  'shop/update': 'SHOP_UPDATE',
} as const;

/**
 * Mandatory compliance topics: Shopify only lets apps set these in the app configuration, never
 * through the API, so the simulator takes their URLs from the control API / start options.
 * https://shopify.dev/docs/apps/build/compliance/privacy-law-compliance
 */
export const COMPLIANCE_TOPICS = ['customers/data_request', 'customers/redact', 'shop/redact'] as const;

/** A topic the simulator can emit. */
export type Topic = keyof typeof API_TOPICS | (typeof COMPLIANCE_TOPICS)[number];

/** GraphQL enum value → REST topic, e.g. ORDERS_UPDATED → orders/updated. */
export function topicFromEnum(value: string): string | null {
  for (const [topic, name] of Object.entries(API_TOPICS)) if (name === value) return topic;
  return null;
}

/** REST topic → GraphQL enum value. */
export function topicToEnum(topic: string): string {
  return (API_TOPICS as Record<string, string>)[topic] ?? topic.toUpperCase().replace('/', '_');
}

/** Every topic accepted in app-level (configuration) subscriptions. */
export function isKnownTopic(topic: string): topic is Topic {
  return topic in API_TOPICS || (COMPLIANCE_TOPICS as readonly string[]).includes(topic);
}
