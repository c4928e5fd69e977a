import type { Database } from '../platform/db/client.ts';
import type { WebhookEvent } from './handler-types.ts';

/** An inbox row as a claim returns it. */
export type Claimed = {
  id: string;
  source: string;
  tenant_id: string;
  shop_domain: string;
  topic: string;
  webhook_id: string;
  event_id: string | null;
  triggered_at: Date | null;
  api_version: string | null;
  payload: unknown;
  attempts: number;
  claims: number;
  trigger: WebhookEvent['trigger'];
  received_at: Date;
};

/**
 * Claims up to `batchSize` due rows (`FOR UPDATE SKIP LOCKED`, so any number of workers share the
 * inbox): each attempt counts, each claim bumps the fencing token, and the lease (`run_at`) returns
 * the row to the queue if this worker dies.
 */
export async function claimDue(
  database: Database,
  batchSize: number,
  leaseSeconds: number,
): Promise<Claimed[]> {
  const { rows } = await database.query<Claimed>(
    `UPDATE webhook_inbox AS i
        SET status = 'processing', attempts = i.attempts + 1, claims = i.claims + 1,
            run_at = now() + make_interval(secs => $2)
       FROM (SELECT id FROM webhook_inbox
              WHERE status IN ('pending', 'processing') AND run_at <= now()
              ORDER BY run_at
              LIMIT $1
                FOR UPDATE SKIP LOCKED) AS due
      WHERE i.id = due.id
    RETURNING i.id, i.source, i.tenant_id, i.shop_domain, i.topic, i.webhook_id, i.event_id, i.triggered_at,
              i.api_version, i.payload, i.attempts, i.claims, i.trigger, i.received_at`,
    [batchSize, leaseSeconds],
  );
  return rows;
}

/** The event handlers see. */
export const toEvent = (row: Claimed): WebhookEvent => ({
  id: Number(row.id),
  source: row.source,
  tenantId: row.tenant_id,
  shopDomain: row.shop_domain,
  topic: row.topic,
  webhookId: row.webhook_id,
  eventId: row.event_id,
  triggeredAt: row.triggered_at,
  apiVersion: row.api_version,
  payload: row.payload,
  attempt: row.attempts,
  trigger: row.trigger,
  receivedAt: row.received_at,
});

/** Claimed rows by tenant (each tenant's events are applied in one transaction). */
export function byTenant(claimed: Claimed[]): Map<string, Claimed[]> {
  const groups = new Map<string, Claimed[]>();
  for (const row of claimed) {
    const list = groups.get(row.tenant_id);
    if (list) list.push(row);
    else groups.set(row.tenant_id, [row]);
  }
  return groups;
}
