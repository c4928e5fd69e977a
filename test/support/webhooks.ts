import { randomUUID } from 'node:crypto';
import { type Delivery, signWebhook } from '../../src/devtools/shopify-sim/index.ts';
import { COMPLIANCE_TOPICS } from '../../src/webhooks/compliance.ts';
import { type ShopifyStack, startShopifyStack, waitFor } from './shopify.ts';

/** A Shopify stack for webhook tests: simulator + StoreOps, with helpers to install and inspect. */
export type WebhookStack = ShopifyStack & {
  /** Installs `shop` and waits until its subscriptions point at this server; returns the tenant id. */
  installShop(shop: string): Promise<string>;
  /** Raw SQL as the database owner. */
  q<T = Record<string, any>>(text: string, params?: unknown[]): Promise<T[]>;
  /** Sends a recorded delivery again (same bytes and headers unless overridden), as Shopify's retry would. */
  resend(
    delivery: Delivery,
    changes?: { headers?: Record<string, string | null>; body?: string },
  ): Promise<Response>;
  /** Waits until no inbox row of the tenant is pending or processing. */
  settled(tenantId: string): Promise<void>;
  /** Inbox rows of a tenant, oldest first. */
  inbox(tenantId: string): Promise<Record<string, any>[]>;
  /** POSTs a delivery to this server (default path /webhooks). */
  post(
    delivery: { headers: Record<string, string>; body: string | Buffer },
    pathname?: string,
  ): Promise<Response>;
};

/**
 * A delivery built and signed exactly as the simulator's sender does (same header names and HMAC),
 * for cases the simulator never produces on its own: wrong secrets, odd headers, bad bodies.
 */
export function signedDelivery(input: {
  secret: string;
  shop: string;
  topic: string;
  payload?: unknown;
  body?: string | Buffer;
  webhookId?: string;
  eventId?: string;
  apiVersion?: string;
}): { headers: Record<string, string>; body: string | Buffer; webhookId: string; eventId: string } {
  const body = input.body ?? JSON.stringify(input.payload ?? {});
  const webhookId = input.webhookId ?? randomUUID();
  const eventId = input.eventId ?? randomUUID();
  return {
    webhookId,
    eventId,
    body,
    headers: {
      'Content-Type': 'application/json',
      'X-Shopify-Topic': input.topic,
      'X-Shopify-Hmac-Sha256': signWebhook(input.secret, body),
      'X-Shopify-Shop-Domain': input.shop,
      'X-Shopify-API-Version': input.apiVersion ?? '2025-10',
      'X-Shopify-Webhook-Id': webhookId,
      'X-Shopify-Event-Id': eventId,
      'X-Shopify-Triggered-At': new Date().toISOString(),
    },
  };
}

/** Starts the simulator and StoreOps for webhook tests (short retry delays). */
export async function startWebhookStack(
  options: { env?: Record<string, string> } = {},
): Promise<WebhookStack> {
  const stack = await startShopifyStack({
    env: { WEBHOOK_RETRY_BASE_MS: '50', WEBHOOK_MAX_ATTEMPTS: '3', ...options.env },
  });
  const q = async <T = Record<string, any>>(text: string, params: unknown[] = []) =>
    (await stack.server.deps.database.query<T>(text, params)).rows;
  const webhookUrl = () => `${stack.server.url}/webhooks`;
  return Object.assign(stack, {
    q,
    async installShop(shop: string) {
      const tenantId = await stack.install(shop);
      // Compliance topics live in the app's configuration, not in the Admin API.
      for (const topic of COMPLIANCE_TOPICS) stack.sim.setAppWebhook(topic, webhookUrl());
      await waitFor(async () => {
        const subs = await stack.server.deps.webhooks.subscriptions.list(tenantId);
        return subs.length >= 11 && subs.every((s) => s.uri === webhookUrl());
      }, 30_000);
      return tenantId;
    },
    async resend(
      delivery: Delivery,
      changes: { headers?: Record<string, string | null>; body?: string } = {},
    ) {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries({ ...delivery.headers, ...changes.headers }))
        if (v !== null) headers[k] = v;
      return fetch(webhookUrl(), { method: 'POST', headers, body: changes.body ?? delivery.body });
    },
    async settled(tenantId: string) {
      await waitFor(async () => {
        const [row] = await q<{ n: number }>(
          `SELECT count(*)::int AS n FROM webhook_inbox WHERE tenant_id = $1 AND status IN ('pending', 'processing')`,
          [tenantId],
        );
        return row.n === 0;
      }, 30_000);
    },
    inbox: (tenantId: string) =>
      q('SELECT * FROM webhook_inbox WHERE tenant_id = $1 ORDER BY id', [tenantId]),
    post: (delivery: { headers: Record<string, string>; body: string | Buffer }, pathname = '/webhooks') =>
      stack.server.fetch(pathname, { method: 'POST', headers: delivery.headers, body: delivery.body }),
  });
}

export { waitFor };
