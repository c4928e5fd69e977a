import type { Database, Tx } from '../platform/db/client.ts';
import type { Principal } from '../platform/http/auth.ts';
import { decodeCursor, timeIdCursor, toPage } from '../platform/http/schemas.ts';

/** Who did something, as the audit log records it (never a secret). */
export type Actor = { kind: string; id?: string; label?: string };

/** One security event to record. `details` must never hold secrets. */
export type AuditInput = {
  action: string;
  tenantId?: string | null;
  actor: Actor;
  target?: { kind: string; id: string };
  ip?: string;
  details?: Record<string, unknown>;
};

/** An audit event as the API returns it. */
export type AuditEvent = {
  id: string;
  tenantId: string | null;
  occurredAt: string;
  action: string;
  actor: { kind: string; id: string | null; label: string | null };
  target: { kind: string; id: string } | null;
  ip: string | null;
  details: Record<string, unknown>;
};

/** The audit actor for a principal. */
export function actorOf(principal: Principal): Actor {
  switch (principal.kind) {
    case 'operator':
    case 'staff':
    case 'shopper':
      return { kind: principal.kind, id: principal.id, label: principal.email };
    case 'api_key':
      return { kind: 'api_key', id: principal.id, label: principal.name };
    default:
      return { kind: 'anonymous' };
  }
}

type Row = {
  id: string;
  tenant_id: string | null;
  occurred_at: Date | string;
  action: string;
  actor_kind: string;
  actor_id: string | null;
  actor_label: string | null;
  target_kind: string | null;
  target_id: string | null;
  ip: string | null;
  details: Record<string, unknown> | string;
  /** The exact timestamp (microseconds) for the keyset cursor. */
  cursor_t: string;
};

const iso = (value: Date | string) => new Date(value).toISOString();

/**
 * The audit log of security events (logins, failures, key, role and tenant changes). Writes go
 * into the caller's transaction when there is one, so the event commits with the change.
 */
export function createAudit(database: Database) {
  async function record(input: AuditInput, tx?: Tx): Promise<void> {
    const query = tx ? tx.query : database.query;
    await query(
      `INSERT INTO audit_events (tenant_id, action, actor_kind, actor_id, actor_label, target_kind, target_id, ip, details)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        input.tenantId ?? null,
        input.action,
        input.actor.kind,
        input.actor.id ?? null,
        input.actor.label ?? null,
        input.target?.kind ?? null,
        input.target?.id ?? null,
        input.ip ?? null,
        JSON.stringify(input.details ?? {}),
      ],
    );
  }

  /**
   * Newest first, keyset-paginated. With `tx` (a tenant transaction) row-level security limits it
   * to that tenant; without, it is the operators' global log (optionally filtered by tenant).
   */
  async function list(
    options: { limit: number; cursor?: string; action?: string; tenantId?: string; since?: Date },
    tx?: Tx,
  ): Promise<{ items: AuditEvent[]; nextCursor: string | null }> {
    const query = tx ? tx.query : database.query;
    const after = decodeCursor(options.cursor, timeIdCursor);
    const where: string[] = [];
    const params: unknown[] = [];
    const bind = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    if (options.tenantId) where.push(`tenant_id = ${bind(options.tenantId)}`);
    if (options.action)
      where.push(`(action = ${bind(options.action)} OR action LIKE ${bind(`${options.action}.%`)})`);
    if (options.since) where.push(`occurred_at >= ${bind(options.since)}`);
    if (after) where.push(`(occurred_at, id) < (${bind(after.t)}::timestamptz, ${bind(after.id)}::uuid)`);
    const { rows } = await query<Row>(
      `SELECT *, occurred_at::text AS cursor_t FROM audit_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY occurred_at DESC, id DESC LIMIT ${bind(options.limit + 1)}`,
      params,
    );
    return toPage(
      rows,
      options.limit,
      (r) => ({
        id: r.id,
        tenantId: r.tenant_id,
        occurredAt: iso(r.occurred_at),
        action: r.action,
        actor: { kind: r.actor_kind, id: r.actor_id, label: r.actor_label },
        target: r.target_kind && r.target_id ? { kind: r.target_kind, id: r.target_id } : null,
        ip: r.ip,
        details: typeof r.details === 'string' ? JSON.parse(r.details) : r.details,
      }),
      (r) => ({ t: r.cursor_t, id: r.id }),
    );
  }

  return { record, list };
}

/** The audit log of one process. */
export type Audit = ReturnType<typeof createAudit>;
