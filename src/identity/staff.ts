import type { Database, Tx } from '../platform/db/client.ts';
import { hashPassword } from '../platform/crypto/passwords.ts';
import { conflict, notFound } from '../platform/errors.ts';
import type { StaffRole } from '../platform/http/auth.ts';
import { decodeCursor, timeIdCursor, toPage } from '../platform/http/schemas.ts';
import type { Actor, Audit } from './audit.ts';
import { assertStrongPassword } from './password-policy.ts';

/** A staff member's name and tenant, as `me` shows them (read as the owner, outside a tenant). */
export async function staffProfile(
  database: Database,
  userId: string,
): Promise<{ name: string; slug: string; tenant_name: string } | undefined> {
  const { rows } = await database.query<{ name: string; slug: string; tenant_name: string }>(
    `SELECT u.name, t.slug, t.name AS tenant_name FROM tenant_users u JOIN tenants t ON t.id = u.tenant_id
      WHERE u.id = $1`,
    [userId],
  );
  return rows[0];
}

/** A staff member as the API returns it (never the password hash). */
export type StaffMember = {
  id: string;
  tenantId: string;
  email: string;
  name: string;
  role: StaffRole;
  lastLoginAt: string | null;
  createdAt: string;
  updatedAt: string;
};

type Row = {
  id: string;
  tenant_id: string;
  email: string;
  name: string;
  role: StaffRole;
  last_login_at: Date | string | null;
  created_at: Date | string;
  updated_at: Date | string;
  cursor_t?: string;
};

const COLUMNS = 'id, tenant_id, email, name, role, last_login_at, created_at, updated_at';
const iso = (v: Date | string) => new Date(v).toISOString();
const toStaff = (r: Row): StaffMember => ({
  id: r.id,
  tenantId: r.tenant_id,
  email: r.email,
  name: r.name,
  role: r.role,
  lastLoginAt: r.last_login_at ? iso(r.last_login_at) : null,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

type By = { actor: Actor; ip: string };

/**
 * Tenant staff and their roles (the seeds' users and user groups). Every function runs inside the
 * caller's tenant transaction (`request.auth.withTenant`), so row-level security scopes it.
 */
export function createStaff(deps: { audit: Audit; onCredentialsChanged: (userId: string) => Promise<void> }) {
  const { audit } = deps;

  async function load(tx: Tx, userId: string, lock = false): Promise<Row> {
    const { rows } = await tx.query<Row>(
      `SELECT ${COLUMNS} FROM tenant_users WHERE id = $1 ${lock ? 'FOR UPDATE' : ''}`,
      [userId],
    );
    if (!rows[0]) throw notFound('user', userId);
    return rows[0];
  }

  /** Refuses to leave a tenant without an owner. */
  async function assertAnotherOwner(tx: Tx, userId: string): Promise<void> {
    const { rows } = await tx.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM tenant_users WHERE role = 'owner' AND id <> $1`,
      [userId],
    );
    if (rows[0].n === 0) throw conflict('LAST_OWNER', 'A tenant must keep at least one owner');
  }

  return {
    async list(tx: Tx, options: { limit: number; cursor?: string }) {
      const after = decodeCursor(options.cursor, timeIdCursor);
      const { rows } = await tx.query<Row>(
        `SELECT ${COLUMNS}, created_at::text AS cursor_t FROM tenant_users
          ${after ? 'WHERE (created_at, id) > ($2::timestamptz, $3::uuid)' : ''}
          ORDER BY created_at, id LIMIT $1`,
        after ? [options.limit + 1, after.t, after.id] : [options.limit + 1],
      );
      return toPage(rows, options.limit, toStaff, (row) => ({ t: row.cursor_t, id: row.id }));
    },

    async get(tx: Tx, userId: string): Promise<StaffMember> {
      return toStaff(await load(tx, userId));
    },

    /** Adds a staff member; 409 STAFF_EMAIL_TAKEN when the e-mail is already staff of this tenant. */
    async create(
      tx: Tx,
      tenantId: string,
      input: { email: string; password: string; name: string; role: StaffRole },
      by: By,
    ): Promise<StaffMember> {
      assertStrongPassword(input.password, { email: input.email });
      const existing = await tx.query('SELECT 1 FROM tenant_users WHERE lower(email) = lower($1)', [
        input.email,
      ]);
      if (existing.rows.length > 0)
        throw conflict('STAFF_EMAIL_TAKEN', 'This e-mail is already a staff member');
      const passwordHash = await hashPassword(input.password);
      const { rows } = await tx.query<Row>(
        `INSERT INTO tenant_users (tenant_id, email, name, role, password_hash) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT DO NOTHING RETURNING ${COLUMNS}`,
        [tenantId, input.email, input.name, input.role, passwordHash],
      );
      // A concurrent request added the same address between the check and the insert.
      if (!rows[0]) throw conflict('STAFF_EMAIL_TAKEN', 'This e-mail is already a staff member');
      await audit.record(
        {
          action: 'staff.created',
          tenantId,
          actor: by.actor,
          target: { kind: 'staff', id: rows[0].id },
          ip: by.ip,
          details: { email: input.email, role: input.role },
        },
        tx,
      );
      return toStaff(rows[0]);
    },

    /** Renames, changes the role (user groups) or sets a new password; audited. */
    async update(
      tx: Tx,
      tenantId: string,
      userId: string,
      patch: { name?: string; role?: StaffRole; password?: string },
      by: By,
    ): Promise<{ member: StaffMember; credentialsChanged: boolean }> {
      const before = await load(tx, userId, true);
      if (patch.role && patch.role !== before.role && before.role === 'owner')
        await assertAnotherOwner(tx, userId);
      if (patch.password) assertStrongPassword(patch.password, { email: before.email });
      const { rows } = await tx.query<Row>(
        `UPDATE tenant_users SET name = coalesce($2, name), role = coalesce($3, role),
                password_hash = coalesce($4, password_hash), updated_at = now()
          WHERE id = $1 RETURNING ${COLUMNS}`,
        [
          userId,
          patch.name ?? null,
          patch.role ?? null,
          patch.password ? await hashPassword(patch.password) : null,
        ],
      );
      const target = { kind: 'staff', id: userId };
      if (patch.role && patch.role !== before.role) {
        await audit.record(
          {
            action: 'staff.role_changed',
            tenantId,
            actor: by.actor,
            target,
            ip: by.ip,
            details: { email: before.email, from: before.role, to: patch.role },
          },
          tx,
        );
      }
      if (patch.password) {
        await audit.record(
          {
            action: 'staff.password_changed',
            tenantId,
            actor: by.actor,
            target,
            ip: by.ip,
            details: { email: before.email },
          },
          tx,
        );
      }
      if (patch.name !== undefined && patch.name !== before.name) {
        await audit.record(
          {
            action: 'staff.updated',
            tenantId,
            actor: by.actor,
            target,
            ip: by.ip,
            details: { fields: ['name'] },
          },
          tx,
        );
      }
      return { member: toStaff(rows[0]), credentialsChanged: Boolean(patch.password) };
    },

    /** Removes a staff member (their sessions go with them); never the last owner. */
    async remove(tx: Tx, tenantId: string, userId: string, by: By): Promise<void> {
      const before = await load(tx, userId, true);
      if (before.role === 'owner') await assertAnotherOwner(tx, userId);
      await tx.query('DELETE FROM tenant_users WHERE id = $1', [userId]);
      await audit.record(
        {
          action: 'staff.removed',
          tenantId,
          actor: by.actor,
          target: { kind: 'staff', id: userId },
          ip: by.ip,
          details: { email: before.email, role: before.role },
        },
        tx,
      );
    },

    /** Ends the sessions of a member whose password changed (outside the tenant transaction). */
    onCredentialsChanged: deps.onCredentialsChanged,
  };
}

/** The staff service. */
export type Staff = ReturnType<typeof createStaff>;
