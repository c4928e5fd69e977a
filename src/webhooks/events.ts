import type { Tx } from '../platform/db/client.ts';
import { conflict, notFound } from '../platform/errors.ts';

/*
 * The event log (issue 6; seed 000's webhook_events, with the planned replay and DLQ): queries and
 * state changes over the inbox, always inside the tenant's transaction (row-level security).
 */

/** Filters of the event list and of bulk replay. */
export type EventFilter = {
  /** `shopify`, `stripe`, … */
  source?: string;
  topic?: string;
  status?: readonly string[];
  /** received_at ≥ from */
  from?: Date;
  /** received_at < to */
  to?: Date;
  shop?: string;
  /** Text searched in the payload, ids, topic and last error (case-insensitive). */
  q?: string;
};

/** One event as listed. */
export type EventSummary = {
  id: number;
  source: string;
  topic: string;
  shopDomain: string;
  webhookId: string;
  eventId: string | null;
  status: string;
  attempts: number;
  trigger: string;
  apiVersion: string | null;
  triggeredAt: string | null;
  receivedAt: string;
  processedAt: string | null;
  lastError: string | null;
  payloadBytes: number;
  payloadPruned: boolean;
};

/** One processing attempt. */
export type Attempt = {
  attempt: number;
  trigger: string;
  outcome: string;
  error: string | null;
  startedAt: string;
  finishedAt: string;
};

const SUMMARY_COLUMNS = `id, source, topic, shop_domain, webhook_id, event_id, status, attempts, trigger, api_version, triggered_at,
  received_at, processed_at, last_error, payload_bytes, payload IS NULL AS payload_pruned`;

type SummaryRow = {
  id: string;
  source: string;
  topic: string;
  shop_domain: string;
  webhook_id: string;
  event_id: string | null;
  status: string;
  attempts: number;
  trigger: string;
  api_version: string | null;
  triggered_at: Date | null;
  received_at: Date;
  processed_at: Date | null;
  last_error: string | null;
  payload_bytes: number;
  payload_pruned: boolean;
};

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

function toSummary(r: SummaryRow): EventSummary {
  return {
    id: Number(r.id),
    source: r.source,
    topic: r.topic,
    shopDomain: r.shop_domain,
    webhookId: r.webhook_id,
    eventId: r.event_id,
    status: r.status,
    attempts: r.attempts,
    trigger: r.trigger,
    apiVersion: r.api_version,
    triggeredAt: iso(r.triggered_at),
    receivedAt: iso(r.received_at) as string,
    processedAt: iso(r.processed_at),
    lastError: r.last_error,
    payloadBytes: r.payload_bytes,
    payloadPruned: r.payload_pruned,
  };
}

/** WHERE clause for a filter; `params` starts with the tenant id as $1. */
function where(filter: EventFilter, params: unknown[]): string {
  const clauses = ['tenant_id = $1'];
  const add = (sql: (n: string) => string, value: unknown) => {
    params.push(value);
    clauses.push(sql(`$${params.length}`));
  };
  if (filter.source) add((p) => `source = ${p}`, filter.source);
  if (filter.topic) add((p) => `topic = ${p}`, filter.topic);
  if (filter.status && filter.status.length > 0) add((p) => `status = ANY(${p}::text[])`, filter.status);
  if (filter.from) add((p) => `received_at >= ${p}`, filter.from);
  if (filter.to) add((p) => `received_at < ${p}`, filter.to);
  if (filter.shop) add((p) => `shop_domain = ${p}`, filter.shop.toLowerCase());
  if (filter.q) {
    const pattern = `%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    add(
      (p) =>
        `(payload::text ILIKE ${p} OR webhook_id ILIKE ${p} OR event_id ILIKE ${p} OR topic ILIKE ${p} OR last_error ILIKE ${p})`,
      pattern,
    );
  }
  return clauses.join(' AND ');
}

/** Lists events newest first; `before` is the keyset cursor (an event id). */
export async function listEvents(
  tx: Tx,
  tenantId: string,
  filter: EventFilter,
  page: { limit: number; before?: number },
): Promise<{ events: EventSummary[]; more: boolean }> {
  const params: unknown[] = [tenantId];
  let sql = where(filter, params);
  if (page.before !== undefined) {
    params.push(page.before);
    sql += ` AND id < $${params.length}`;
  }
  params.push(page.limit + 1);
  const { rows } = await tx.query<SummaryRow>(
    `SELECT ${SUMMARY_COLUMNS} FROM webhook_inbox WHERE ${sql} ORDER BY id DESC LIMIT $${params.length}`,
    params,
  );
  return { events: rows.slice(0, page.limit).map(toSummary), more: rows.length > page.limit };
}

/** One event with its payload and attempts; 404 when it is not the tenant's. */
export async function getEvent(
  tx: Tx,
  tenantId: string,
  id: number,
): Promise<EventSummary & { payload: unknown; attempts: number; history: Attempt[] }> {
  const { rows } = await tx.query<SummaryRow & { payload: unknown }>(
    `SELECT ${SUMMARY_COLUMNS}, payload FROM webhook_inbox WHERE tenant_id = $1 AND id = $2`,
    [tenantId, id],
  );
  if (rows.length === 0) throw notFound('event', id);
  const { rows: attempts } = await tx.query<{
    attempt: number;
    trigger: string;
    outcome: string;
    error: string | null;
    started_at: Date;
    finished_at: Date;
  }>(
    `SELECT attempt, trigger, outcome, error, started_at, finished_at FROM webhook_attempts
      WHERE tenant_id = $1 AND inbox_id = $2 ORDER BY id`,
    [tenantId, id],
  );
  return {
    ...toSummary(rows[0]),
    payload: rows[0].payload,
    history: attempts.map((a) => ({
      attempt: a.attempt,
      trigger: a.trigger,
      outcome: a.outcome,
      error: a.error,
      startedAt: iso(a.started_at) as string,
      finishedAt: iso(a.finished_at) as string,
    })),
  };
}

const FINISHED = `status NOT IN ('pending', 'processing')`;

/**
 * Queues one event to be applied again through the same handlers (a replay applies even when the
 * Shopify event was applied before; `redrive` retries a dead letter and still de-duplicates).
 */
export async function requeueEvent(
  tx: Tx,
  tenantId: string,
  id: number,
  trigger: 'replay' | 'redrive',
): Promise<EventSummary> {
  const { rows } = await tx.query<SummaryRow>(
    `UPDATE webhook_inbox
        SET status = 'pending', trigger = $3, attempts = 0, run_at = now(), last_error = NULL, processed_at = NULL
      WHERE tenant_id = $1 AND id = $2 AND ${FINISHED} AND payload IS NOT NULL
        ${trigger === 'redrive' ? "AND status = 'dead'" : ''}
      RETURNING ${SUMMARY_COLUMNS}`,
    [tenantId, id, trigger],
  );
  if (rows.length > 0) return toSummary(rows[0]);
  const { rows: current } = await tx.query<{ status: string; pruned: boolean }>(
    'SELECT status, payload IS NULL AS pruned FROM webhook_inbox WHERE tenant_id = $1 AND id = $2',
    [tenantId, id],
  );
  if (current.length === 0) throw notFound('event', id);
  if (current[0].status === 'pending' || current[0].status === 'processing') {
    throw conflict('EVENT_IN_PROGRESS', 'The event is already waiting to be applied', {
      status: current[0].status,
    });
  }
  if (current[0].pruned) {
    throw conflict(
      'EVENT_PAYLOAD_PRUNED',
      'The payload was removed by retention or redaction; it cannot be applied again',
    );
  }
  throw conflict('EVENT_NOT_DEAD', 'Only dead-lettered events can be redriven; replay it instead', {
    status: current[0].status,
  });
}

/** Queues every finished event matching the filter (oldest first, at most `limit`). */
export async function requeueMatching(
  tx: Tx,
  tenantId: string,
  filter: EventFilter,
  trigger: 'replay' | 'redrive',
  limit: number,
): Promise<{ queued: { id: number; source: string; topic: string }[]; limitReached: boolean }> {
  const params: unknown[] = [tenantId];
  const sql = where(trigger === 'redrive' ? { ...filter, status: ['dead'] } : filter, params);
  params.push(trigger, limit);
  const { rows } = await tx.query<{ id: string; source: string; topic: string }>(
    `UPDATE webhook_inbox
        SET status = 'pending', trigger = $${params.length - 1}, attempts = 0, run_at = now(), last_error = NULL,
            processed_at = NULL
      WHERE id IN (SELECT id FROM webhook_inbox
                    WHERE ${sql} AND ${FINISHED} AND status <> 'orphaned' AND payload IS NOT NULL
                    ORDER BY id LIMIT $${params.length})
      RETURNING id, source, topic`,
    params,
  );
  const queued = rows
    .map((r) => ({ id: Number(r.id), source: r.source, topic: r.topic }))
    .sort((a, b) => a.id - b.id);
  return { queued, limitReached: queued.length === limit };
}

/** Counts by topic and status over a time range: live rows plus the daily counts kept by retention. */
export async function eventStats(
  tx: Tx,
  tenantId: string,
  range: { from?: Date; to?: Date },
): Promise<{ topic: string; status: string; count: number }[]> {
  const { rows } = await tx.query<{ topic: string; status: string; count: string }>(
    `SELECT topic, status, sum(n)::bigint AS count FROM (
       SELECT topic, status, count(*) AS n FROM webhook_inbox
        WHERE tenant_id = $1 AND ($2::timestamptz IS NULL OR received_at >= $2) AND ($3::timestamptz IS NULL OR received_at < $3)
        GROUP BY topic, status
       UNION ALL
       SELECT topic, status, sum(count) AS n FROM webhook_event_counts
        WHERE tenant_id = $1 AND ($2::timestamptz IS NULL OR day >= $2::date) AND ($3::timestamptz IS NULL OR day < $3::date)
        GROUP BY topic, status
     ) AS t GROUP BY topic, status ORDER BY topic, status`,
    [tenantId, range.from ?? null, range.to ?? null],
  );
  return rows.map((r) => ({ topic: r.topic, status: r.status, count: Number(r.count) }));
}

/** The compliance log of a tenant, newest first (exports omitted; `getComplianceRequest` has it). */
export async function listComplianceRequests(tx: Tx, tenantId: string, limit: number, before?: string) {
  const { rows } = await tx.query<Record<string, unknown>>(
    `SELECT id, inbox_id, topic, shop_domain, shopify_customer_id, customer_email, order_ids, data_request_id, status,
            requested_at, completed_at, summary, error, export IS NOT NULL AS has_export
       FROM webhook_compliance_requests
      WHERE tenant_id = $1 AND ($2::timestamptz IS NULL OR requested_at < $2)
      ORDER BY requested_at DESC, id LIMIT $3`,
    [tenantId, before ?? null, limit + 1],
  );
  return { requests: rows.slice(0, limit), more: rows.length > limit };
}

/** One compliance request with its export. */
export async function getComplianceRequest(tx: Tx, tenantId: string, id: string) {
  const { rows } = await tx.query<Record<string, unknown>>(
    `SELECT id, inbox_id, topic, shop_domain, shopify_customer_id, customer_email, order_ids, data_request_id, status,
            requested_at, completed_at, summary, error, export
       FROM webhook_compliance_requests WHERE tenant_id = $1 AND id = $2`,
    [tenantId, id],
  );
  if (rows.length === 0) throw notFound('compliance request', id);
  return rows[0];
}
