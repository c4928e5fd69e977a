import { z } from 'zod';
import { createEventBus, type EventPayloads } from '../platform/events.ts';
import type { Jobs } from '../platform/jobs.ts';
import type { Logger } from '../platform/logger.ts';

/**
 * What the Shopify connection publishes for higher modules (issue 5): the webhooks module ensures
 * subscriptions on `connection-installed`, sync queues a backfill on it and stops on
 * `connection-uninstalled`, the data modules erase a shop on `shop-redact`.
 *
 * Durable and fanned out per subscriber by `createEventBus` (src/platform/events.ts).
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
export type ShopifyEvents = EventPayloads<typeof schemas>;
export type ShopifyEventName = keyof ShopifyEvents;

/** Defines the Shopify lifecycle event queues (`shopify.<event>`, `shopify.<event>.<subscriber>`). */
export function createShopifyEvents(deps: { jobs: Jobs; logger: Logger }) {
  return createEventBus({ ...deps, prefix: 'shopify', schemas });
}

/** The Shopify lifecycle events of one process. */
export type ShopifyEventBus = ReturnType<typeof createShopifyEvents>;
