import { z } from 'zod';
import type { TopicHandler } from '../webhooks/index.ts';

/** What `bulk_operations/finish` tells the sync engine (Shopify's payload, normalised). */
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

const bulkFinishSchema = z.object({
  admin_graphql_api_id: z.string().regex(/^gid:\/\/shopify\/BulkOperation\/\d+$/),
  status: z.string().min(1),
  error_code: z.string().nullish(),
  type: z.string().nullish(),
  completed_at: z.string().nullish(),
});

/**
 * `bulk_operations/finish`: the sync engine's hand-over, subscribed with
 * `subscribe('shopify', handler.topics, handler)`. Runs inside the event's tenant transaction; an
 * invalid payload is dead-lettered at once (ZodError).
 */
export function bulkFinishedHandler(onFinished: (operation: BulkOperationFinished) => void): TopicHandler {
  return {
    name: 'sync_bulk_operations',
    topics: ['bulk_operations/finish'],
    async apply(_tx, events) {
      for (const e of events) {
        const p = bulkFinishSchema.parse(e.payload);
        onFinished({
          tenantId: e.tenantId,
          shopDomain: e.shopDomain,
          bulkOperationId: p.admin_graphql_api_id,
          status: p.status.toUpperCase(),
          errorCode: p.error_code ?? null,
          type: (p.type ?? 'query').toUpperCase(),
          completedAt: p.completed_at ?? null,
          inboxId: e.id,
        });
      }
    },
  };
}
