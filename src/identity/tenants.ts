import type { Database, Tx } from '../platform/db/client.ts';
import { conflict, notFound } from '../platform/errors.ts';
import { decodeCursor, timeIdCursor, toPage } from '../platform/http/schemas.ts';
import type { Actor, Audit } from './audit.ts';

/** A tenant as the API returns it. */
export type Tenant = {
  id: string;
  slug: string;
  name: string;
  currency: string;
  timezone: string;
  status: 'active' | 'deactivated' | 'uninstalled';
  createdAt: string;
  updatedAt: string;
};

type Row = {
  id: string;
  slug: string;
  name: string;
  currency: string;
  timezone: string;
  status: Tenant['status'];
  created_at: Date | string;
  updated_at: Date | string;
  cursor_t?: string;
};

const iso = (v: Date | string) => new Date(v).toISOString();
const toTenant = (r: Row): Tenant => ({
  id: r.id,
  slug: r.slug,
  name: r.name,
  currency: r.currency,
  timezone: r.timezone,
  status: r.status,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

const isUniqueViolation = (error: unknown) => (error as { code?: string })?.code === '23505';

/** Tenants (stores): operators create, list, read, update and deactivate them. */
export function createTenants(deps: { database: Database; audit: Audit }) {
  const { database, audit } = deps;

  return {
    /** Creates a tenant; 409 TENANT_SLUG_TAKEN when the slug is in use. */
    async create(
      input: { name: string; slug: string; currency: string; timezone: string },
      by: { actor: Actor; ip: string },
    ): Promise<Tenant> {
      return database.transaction(async (tx) => {
        let row: Row;
        try {
          ({
            rows: [row],
          } = await tx.query<Row>(
            `INSERT INTO tenants (slug, name, currency, timezone) VALUES ($1, $2, $3, $4) RETURNING *`,
            [input.slug, input.name, input.currency, input.timezone],
          ));
        } catch (error) {
          if (isUniqueViolation(error))
            throw conflict('TENANT_SLUG_TAKEN', 'A tenant already uses this slug');
          throw error;
        }
        await audit.record(
          {
            action: 'tenant.created',
            tenantId: row.id,
            actor: by.actor,
            target: { kind: 'tenant', id: row.id },
            ip: by.ip,
            details: { slug: row.slug, name: row.name },
          },
          tx,
        );
        return toTenant(row);
      });
    },

    /** Oldest first, keyset-paginated. */
    async list(options: { limit: number; cursor?: string; status?: string }) {
      const after = decodeCursor(options.cursor, timeIdCursor);
      const params: unknown[] = [];
      const where: string[] = [];
      if (options.status) {
        params.push(options.status);
        where.push(`status = $${params.length}`);
      }
      if (after) {
        params.push(after.t, after.id);
        where.push(`(created_at, id) > ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
      }
      params.push(options.limit + 1);
      const { rows } = await database.query<Row>(
        `SELECT *, created_at::text AS cursor_t FROM tenants ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
          ORDER BY created_at, id LIMIT $${params.length}`,
        params,
      );
      return toPage(rows, options.limit, toTenant, (row) => ({ t: row.cursor_t, id: row.id }));
    },

    /** One tenant by id (tenant-scoped transactions may read their own tenant row). */
    async get(tenantId: string, tx?: Tx): Promise<Tenant> {
      const query = tx ? tx.query : database.query;
      const { rows } = await query<Row>('SELECT * FROM tenants WHERE id = $1', [tenantId]);
      if (!rows[0]) throw notFound('tenant', tenantId);
      return toTenant(rows[0]);
    },

    /** Changes name, slug, currency, timezone or status (active ↔ deactivated), audited. */
    async update(
      tenantId: string,
      patch: Partial<Pick<Tenant, 'name' | 'slug' | 'currency' | 'timezone'>> & {
        status?: 'active' | 'deactivated';
      },
      by: { actor: Actor; ip: string },
    ): Promise<Tenant> {
      return database.transaction(async (tx) => {
        const { rows: before } = await tx.query<Row>('SELECT * FROM tenants WHERE id = $1 FOR UPDATE', [
          tenantId,
        ]);
        if (!before[0]) throw notFound('tenant', tenantId);
        const columns = Object.entries(patch).filter(([, v]) => v !== undefined);
        const sets = columns.map(([k], i) => `${k} = $${i + 2}`);
        let row: Row;
        try {
          ({
            rows: [row],
          } = await tx.query<Row>(
            `UPDATE tenants SET ${[...sets, 'updated_at = now()'].join(', ')} WHERE id = $1 RETURNING *`,
            [tenantId, ...columns.map(([, v]) => v)],
          ));
        } catch (error) {
          if (isUniqueViolation(error))
            throw conflict('TENANT_SLUG_TAKEN', 'A tenant already uses this slug');
          throw error;
        }
        const changes = Object.fromEntries(
          columns
            .filter(
              ([k]) => (before[0] as Record<string, unknown>)[k] !== (row as Record<string, unknown>)[k],
            )
            .map(([k]) => [
              k,
              { from: (before[0] as Record<string, unknown>)[k], to: (row as Record<string, unknown>)[k] },
            ]),
        );
        const statusChange = changes.status as { to: string } | undefined;
        const action = statusChange
          ? statusChange.to === 'deactivated'
            ? 'tenant.deactivated'
            : 'tenant.reactivated'
          : 'tenant.updated';
        if (Object.keys(changes).length > 0) {
          await audit.record(
            {
              action,
              tenantId,
              actor: by.actor,
              target: { kind: 'tenant', id: tenantId },
              ip: by.ip,
              details: { changes },
            },
            tx,
          );
        }
        return toTenant(row);
      });
    },
  };
}

/** The tenants service. */
export type Tenants = ReturnType<typeof createTenants>;
