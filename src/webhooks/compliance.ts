import { z } from 'zod';
import type { Tx } from '../platform/db/client.ts';
import type { CustomerSubject, Mirror } from '../mirror/index.ts';
import type { TopicHandler, WebhookEvent } from './handler-types.ts';

/*
 * Shopify's mandatory compliance webhooks (GDPR; seed 003's pending handlers), applied like every
 * other event and recorded in `webhook_compliance_requests` with status and completion time
 * (https://shopify.dev/docs/apps/build/compliance/privacy-law-compliance).
 *  - customers/data_request: export everything held on the customer; the operator sends it.
 *  - customers/redact: anonymise the customer across the mirrored tables and the event log.
 *  - shop/redact: delete the shop's data (mirrored tables and event log); StoreOps's own redaction
 *    48 hours after an uninstall is queued as the same event (inbox-rows.ts), so this handler is
 *    the one place a shop is erased.
 */

/** The compliance topics. */
export const COMPLIANCE_TOPICS = ['customers/data_request', 'customers/redact', 'shop/redact'] as const;

const shopifyId = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const customer = z.object({
  id: shopifyId.nullable(),
  email: z.string().nullish(),
  phone: z.string().nullish(),
});

const dataRequestSchema = z.object({
  shop_domain: z.string(),
  customer,
  orders_requested: z.array(shopifyId).default([]),
  data_request: z.object({ id: shopifyId }).nullish(),
});

const customerRedactSchema = z.object({
  shop_domain: z.string(),
  customer,
  orders_to_redact: z.array(shopifyId).default([]),
});

const shopRedactSchema = z.object({
  shop_domain: z.string(),
  shop_id: shopifyId.nullish(),
  /** Set on the event StoreOps queues for its own 48-hour redaction (inbox-rows.ts). */
  storeops_trigger: z.literal('scheduled').optional(),
});

type LogEntry = {
  status: 'pending' | 'completed' | 'failed' | 'skipped';
  customerId?: number | null;
  customerEmail?: string | null;
  orderIds?: number[];
  dataRequestId?: number | null;
  summary?: Record<string, unknown> | null;
  export?: unknown;
  error?: string | null;
};

/** Records (or updates, on retries and replays) the compliance log entry of an event. */
async function record(tx: Tx, event: WebhookEvent, entry: LogEntry): Promise<void> {
  const done = entry.status === 'completed' || entry.status === 'skipped' || entry.status === 'failed';
  await tx.query(
    `INSERT INTO webhook_compliance_requests (tenant_id, inbox_id, topic, shop_domain, shopify_customer_id,
            customer_email, order_ids, data_request_id, status, requested_at, completed_at, summary, export, error)
     VALUES ($1, $2, $3, $4, $5, $6, $7::bigint[], $8, $9, coalesce($10::timestamptz, now()),
             CASE WHEN $11 THEN now() END, $12::jsonb, $13::jsonb, $14)
     ON CONFLICT (inbox_id) DO UPDATE SET
            status = excluded.status, completed_at = excluded.completed_at,
            summary = coalesce(excluded.summary, webhook_compliance_requests.summary),
            export = coalesce(excluded.export, webhook_compliance_requests.export),
            shopify_customer_id = coalesce(excluded.shopify_customer_id, webhook_compliance_requests.shopify_customer_id),
            customer_email = coalesce(excluded.customer_email, webhook_compliance_requests.customer_email),
            order_ids = coalesce(excluded.order_ids, webhook_compliance_requests.order_ids),
            error = excluded.error`,
    [
      event.tenantId,
      event.id,
      event.topic,
      event.shopDomain,
      entry.customerId ?? null,
      entry.customerEmail ?? null,
      entry.orderIds ?? null,
      entry.dataRequestId ?? null,
      entry.status,
      event.triggeredAt,
      done,
      entry.summary ? JSON.stringify(entry.summary) : null,
      entry.export === undefined ? null : JSON.stringify(entry.export),
      entry.error ?? null,
    ],
  );
}

/**
 * Clears stored payloads that mention the customer (their orders, their customer records, earlier
 * compliance requests about them), except deliveries still waiting to be applied. The rows stay in
 * the event log without their payload.
 */
async function scrubCustomerPayloads(tx: Tx, tenantId: string, subject: CustomerSubject): Promise<number> {
  const { rows } = await tx.query(
    `UPDATE webhook_inbox
        SET payload = NULL, payload_pruned_at = now()
      WHERE tenant_id = $1 AND payload IS NOT NULL AND status NOT IN ('pending', 'processing')
        AND (
          (topic LIKE 'orders/%' AND ((payload->'customer'->>'id')::bigint = $2
                                       OR (payload->>'id')::bigint = ANY($3::bigint[])
                                       OR ($4::text IS NOT NULL AND lower(payload->>'email') = lower($4::text))))
          OR (topic LIKE 'customers/%' AND ((payload->>'id')::bigint = $2
                                       OR (payload->'customer'->>'id')::bigint = $2
                                       OR ($4::text IS NOT NULL AND lower(payload->>'email') = lower($4::text))))
        )
      RETURNING id`,
    [tenantId, subject.customerId, subject.orderIds, subject.email],
  );
  return rows.length;
}

/** The three compliance handlers; `redactShop` is the Shopify connection's redaction. */
export function complianceHandlers(deps: {
  mirror: Mirror;
  /** Marks the shop redacted (so later deliveries are orphaned); false if reinstalled or unknown. */
  redactShop: (shopDomain: string) => Promise<boolean>;
  /** Whether the connection of a shop is now redacted (after `redactShop`). */
  isRedacted: (shopDomain: string) => Promise<boolean>;
  /** Erases the event log and mirrored data of a redacted tenant. */
  eraseTenant: (tx: Tx, tenantId: string, keepInboxId?: number) => Promise<Record<string, number>>;
}): TopicHandler[] {
  const { mirror } = deps;
  const failed = async (tx: Tx, event: WebhookEvent, error: string, final: boolean) =>
    record(tx, event, { status: final ? 'failed' : 'pending', error });

  return [
    {
      name: 'customers_data_request',
      topics: ['customers/data_request'],
      failed,
      async apply(tx, events) {
        for (const event of events) {
          const p = dataRequestSchema.parse(event.payload);
          const subject = {
            customerId: p.customer.id,
            email: p.customer.email ?? null,
            orderIds: p.orders_requested,
          };
          const data = await mirror.exportCustomer(tx, event.tenantId, subject);
          await record(tx, event, {
            status: 'completed',
            customerId: subject.customerId,
            customerEmail: subject.email,
            orderIds: subject.orderIds,
            dataRequestId: p.data_request?.id ?? null,
            summary: { customerFound: data.customer !== null, orders: data.orders.length },
            export: {
              generatedAt: new Date().toISOString(),
              shop: event.shopDomain,
              request: {
                customer: p.customer,
                ordersRequested: p.orders_requested,
                dataRequestId: p.data_request?.id,
              },
              ...data,
            },
          });
        }
      },
    },
    {
      name: 'customers_redact',
      topics: ['customers/redact'],
      failed,
      async apply(tx, events) {
        for (const event of events) {
          const p = customerRedactSchema.parse(event.payload);
          const subject = {
            customerId: p.customer.id,
            email: p.customer.email ?? null,
            orderIds: p.orders_to_redact,
          };
          const redacted = await mirror.redactCustomer(tx, event.tenantId, subject);
          const payloads = await scrubCustomerPayloads(tx, event.tenantId, subject);
          // Earlier exports of this customer go too: the log keeps only ids and outcomes.
          await tx.query(
            `UPDATE webhook_compliance_requests SET export = NULL, customer_email = NULL
              WHERE tenant_id = $1 AND topic = 'customers/data_request' AND shopify_customer_id = $2`,
            [event.tenantId, subject.customerId],
          );
          await record(tx, event, {
            status: 'completed',
            customerId: subject.customerId,
            orderIds: subject.orderIds,
            summary: { ...redacted, eventPayloadsCleared: payloads },
          });
          // The request itself names the customer's e-mail and phone.
          await tx.query(`UPDATE webhook_inbox SET payload = NULL, payload_pruned_at = now() WHERE id = $1`, [
            event.id,
          ]);
        }
      },
    },
    {
      name: 'shop_redact',
      topics: ['shop/redact'],
      failed,
      async prepare(event) {
        const p = shopRedactSchema.parse(event.payload);
        await deps.redactShop(event.shopDomain);
        return {
          redacted: await deps.isRedacted(event.shopDomain),
          trigger: p.storeops_trigger ?? 'webhook',
        };
      },
      async apply(tx, events) {
        for (const event of events) {
          const { redacted, trigger } = event.prepared as { redacted: boolean; trigger: string };
          if (!redacted) {
            // Shopify sends shop/redact 48 hours after an uninstall; a shop reinstalled since keeps its data.
            await record(tx, event, {
              status: 'skipped',
              summary: { reason: 'the shop is connected again' },
            });
            continue;
          }
          // The one place a redacted shop's data is erased (Shopify's shop/redact or the 48 h schedule).
          const deleted = await deps.eraseTenant(tx, event.tenantId, event.id);
          await record(tx, event, { status: 'completed', summary: { deleted, trigger } });
        }
      },
    },
  ];
}

/**
 * Erases what the webhooks module and the mirrored tables hold for a redacted tenant: mirrored
 * rows, event-log rows (compliance requests keep their row, without payload, as the record of what
 * was asked), exports, receipts. `keepInboxId` is the event doing it.
 */
export async function eraseTenantData(
  tx: Tx,
  mirror: Mirror,
  tenantId: string,
  keepInboxId?: number,
): Promise<Record<string, number>> {
  const mirrored = await mirror.eraseShop(tx, tenantId);
  const keep = keepInboxId ?? -1;
  const { rows: events } = await tx.query(
    `DELETE FROM webhook_inbox
      WHERE tenant_id = $1 AND id <> $2 AND status <> 'processing'
        AND topic NOT IN ('customers/data_request', 'customers/redact', 'shop/redact')
      RETURNING id`,
    [tenantId, keep],
  );
  await tx.query(
    `UPDATE webhook_inbox SET payload = NULL, payload_pruned_at = now()
      WHERE tenant_id = $1 AND id <> $2 AND status NOT IN ('pending', 'processing') AND payload IS NOT NULL`,
    [tenantId, keep],
  );
  await tx.query('DELETE FROM webhook_event_receipts WHERE tenant_id = $1', [tenantId]);
  await tx.query(
    'UPDATE webhook_compliance_requests SET export = NULL, customer_email = NULL WHERE tenant_id = $1',
    [tenantId],
  );
  return { ...mirrored, webhook_inbox: events.length };
}
