import type { Tx } from '../platform/db/client.ts';
import type { TenantRef } from '../platform/http/auth.ts';
import type { Audit } from './audit.ts';

/** A shopper as the API returns it. */
export type Shopper = { id: string; email: string; name: string; emailVerified: boolean; createdAt: string };

/** A `shoppers` row as the shopper functions read it. */
export type ShopperRow = {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  email_verified_at: Date | string | null;
  token_version: number;
  created_at: Date | string;
};

const COLUMNS = 'id, email, name, password_hash, email_verified_at, token_version, created_at';

export const toShopper = (r: ShopperRow): Shopper => ({
  id: r.id,
  email: r.email,
  name: r.name,
  emailVerified: r.email_verified_at !== null,
  createdAt: new Date(r.created_at).toISOString(),
});

/** The tenant's shopper with this address (case-insensitive), locked for update when asked. */
export async function findByEmail(tx: Tx, email: string, lock = false): Promise<ShopperRow | undefined> {
  const { rows } = await tx.query<ShopperRow>(
    `SELECT ${COLUMNS} FROM shoppers WHERE lower(email) = lower($1) ${lock ? 'FOR UPDATE' : ''}`,
    [email],
  );
  return rows[0];
}

/** The shopper `id` (row-level security keeps it to the transaction's tenant). */
export async function findById(tx: Tx, id: string): Promise<ShopperRow | undefined> {
  const { rows } = await tx.query<ShopperRow>(`SELECT ${COLUMNS} FROM shoppers WHERE id = $1`, [id]);
  return rows[0];
}

/** Who an audited shopper event is about: the shopper (signed in or proven) or an anonymous caller. */
export type ShopperActor =
  | { shopper: { id: string; email?: string }; target?: boolean }
  | { anonymous: string | undefined; target?: string };

/**
 * The one way the shopper functions write the audit log: the tenant, the ip and the actor shape are
 * the same for every event, inside the caller's transaction.
 */
export function shopperAudit(audit: Audit, tenant: TenantRef, ip: string) {
  return (tx: Tx, action: string, who: ShopperActor, details?: Record<string, unknown>) => {
    const actor =
      'shopper' in who
        ? { kind: 'shopper', id: who.shopper.id, label: who.shopper.email }
        : { kind: 'anonymous', label: who.anonymous };
    const targetId = 'shopper' in who ? (who.target === false ? undefined : who.shopper.id) : who.target;
    return audit.record(
      {
        action: `shopper.${action}`,
        tenantId: tenant.id,
        actor,
        ...(targetId ? { target: { kind: 'shopper', id: targetId } } : {}),
        ip,
        ...(details ? { details } : {}),
      },
      tx,
    );
  };
}
