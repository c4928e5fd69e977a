import type { Database } from '../platform/db/client.ts';
import type { Mirror } from '../mirror/index.ts';
import { mirrorWebhookHandlers } from '../mirror/index.ts';
import type { Shopify } from '../shopify/index.ts';
import { complianceHandlers, eraseTenantData } from './compliance.ts';
import type { Subscribe, TopicHandler } from './handler-types.ts';
import { queueScheduledRedaction } from './inbox-rows.ts';
import type { ShopResolver } from './shop-resolver.ts';

/*
 * What the pipeline itself does with Shopify's events, registered like any other module's
 * handlers through `subscribe('shopify', …)`. Registration order is application order within a
 * batch: the mirror's data first, so a redaction later in the same batch has the last word.
 */

/** `app/uninstalled`: the Shopify connection's uninstall path (erase tokens, mark uninstalled, schedule redaction). */
export function appUninstalledHandler(uninstall: (shopDomain: string) => Promise<unknown>): TopicHandler {
  return {
    name: 'app_uninstalled',
    topics: ['app/uninstalled'],
    // The connection module runs its own transaction; it is idempotent, as `prepare` must be.
    prepare: (event) => uninstall(event.shopDomain),
  };
}

/** Registers the mirror's data handlers, the uninstall and the compliance (GDPR) handlers. */
export function subscribeShopHandlers(
  subscribe: Subscribe,
  deps: {
    mirror: Mirror;
    shopify: Pick<Shopify, 'resolveShop' | 'handleAppUninstalled' | 'handleShopRedact'>;
    resolver: ShopResolver;
  },
): void {
  const { mirror, shopify, resolver } = deps;
  const handlers: TopicHandler[] = [
    ...mirrorWebhookHandlers(mirror),
    appUninstalledHandler((shop) => shopify.handleAppUninstalled(shop)),
    ...complianceHandlers({
      mirror,
      redactShop: async (shop) => {
        const redacted = await shopify.handleShopRedact(shop);
        resolver.forget(shop);
        return redacted;
      },
      isRedacted: async (shop) => (await shopify.resolveShop(shop))?.status === 'redacted',
      eraseTenant: (tx, tenantId, keep) => eraseTenantData(tx, mirror, tenantId, keep),
    }),
  ];
  for (const handler of handlers) subscribe('shopify', handler.topics, handler);
}

/**
 * The Shopify connection's `shop-redact` event. Shopify's shop/redact webhook is itself an inbox
 * event, erased by the compliance handler that caused the event; the 48-hour redaction StoreOps
 * schedules after an uninstall becomes one, so both are erased by that one handler, once.
 */
export function onShopRedacted(deps: {
  database: Database;
  shopify: Pick<Shopify, 'events'>;
  resolver: ShopResolver;
  wake: () => void;
}): void {
  deps.shopify.events.subscribe('shop-redact', {
    name: 'webhooks-erase',
    retryLimit: 10,
    handler: async ({ id, data }) => {
      deps.resolver.forget(data.shop);
      if (data.trigger === 'shop_redact_webhook')
        return { queued: false, reason: 'the webhook event erases' };
      const inboxId = await queueScheduledRedaction(deps.database, {
        tenantId: data.tenantId,
        shopDomain: data.shop,
        key: id,
      });
      deps.wake();
      return { queued: inboxId !== undefined, inboxId };
    },
  });
}
