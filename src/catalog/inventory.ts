import type { Tx } from '../platform/db/client.ts';
import { badRequest, notFound } from '../platform/errors.ts';
import { decodeCursor, toPage } from '../platform/http/schemas.ts';
import type { INVENTORY_REASONS } from './api.ts';
import { withConstraintErrors } from './text.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const invalidCursor = () => badRequest('INVALID_CURSOR', 'The cursor is not one this API issued');

/*
 * Stock per variant and location (issue 11). Every change is one conditional UPDATE of the stock
 * row plus one ledger row in the same transaction: the database CHECKs (reserved ≥ 0, reserved ≤
 * on hand unless backorders) refuse an oversell whatever the caller, and the ledger says who
 * changed what, when and why. Checkout (issue 12) reserves and releases through `adjustStock`.
 */

export type InventoryReason = (typeof INVENTORY_REASONS)[number];

/** The tenant's default location, created on first use. */
export async function defaultLocation(tx: Tx, tenantId: string): Promise<string> {
  await tx.query(
    `INSERT INTO catalog_locations (tenant_id, name) VALUES ($1, 'Default') ON CONFLICT (tenant_id, name) DO NOTHING`,
    [tenantId],
  );
  const { rows } = await tx.query<{ id: string }>(
    `SELECT id FROM catalog_locations WHERE tenant_id = $1 AND name = 'Default'`,
    [tenantId],
  );
  return rows[0].id;
}

/** One stock change. */
export type StockChange = {
  variantId: string;
  locationId?: string;
  onHandDelta?: number;
  reservedDelta?: number;
  reason: InventoryReason;
  actor: string;
  note?: string;
};

/** Applies a change and records it; 409 INSUFFICIENT_STOCK when it would oversell. */
export async function adjustStock(tx: Tx, tenantId: string, change: StockChange) {
  const locationId = change.locationId ?? (await defaultLocation(tx, tenantId));
  const onHand = change.onHandDelta ?? 0;
  const reserved = change.reservedDelta ?? 0;
  return withConstraintErrors(async () => {
    // UPDATE first: an INSERT … ON CONFLICT would check the CHECKs on the row it proposes (a bare delta).
    let { rows } = await tx.query<{ on_hand: number; reserved: number }>(
      `UPDATE catalog_inventory SET on_hand = on_hand + $4, reserved = reserved + $5, updated_at = now()
        WHERE tenant_id = $1 AND variant_id = $2 AND location_id = $3 RETURNING on_hand, reserved`,
      [tenantId, change.variantId, locationId, onHand, reserved],
    );
    if (rows.length === 0)
      ({ rows } = await tx.query<{ on_hand: number; reserved: number }>(
        `INSERT INTO catalog_inventory (tenant_id, variant_id, location_id, on_hand, reserved, allow_backorder)
         SELECT $1, v.id, $3, $4, $5, v.allow_backorder FROM catalog_variants v WHERE v.tenant_id = $1 AND v.id = $2
         RETURNING on_hand, reserved`,
        [tenantId, change.variantId, locationId, onHand, reserved],
      ));
    if (rows.length === 0) throw notFound('variant', change.variantId);
    if (rows[0].on_hand < 0 && onHand < 0) throw notEnough();
    await tx.query(
      `INSERT INTO catalog_inventory_ledger (tenant_id, variant_id, location_id, reason, on_hand_delta, reserved_delta,
              on_hand_after, reserved_after, actor, note)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        tenantId,
        change.variantId,
        locationId,
        change.reason,
        onHand,
        reserved,
        rows[0].on_hand,
        rows[0].reserved,
        change.actor,
        change.note ?? null,
      ],
    );
    return {
      locationId,
      onHand: rows[0].on_hand,
      reserved: rows[0].reserved,
      available: rows[0].on_hand - rows[0].reserved,
    };
  });
}

function notEnough() {
  return Object.assign(new Error('on hand below zero'), { constraint: 'catalog_inventory_oversell_check' });
}

/** Sets on-hand stock to a counted figure (a `correction` of the difference). */
export async function setStock(
  tx: Tx,
  tenantId: string,
  input: { variantId: string; locationId?: string; onHand: number; actor: string; note?: string },
) {
  const locationId = input.locationId ?? (await defaultLocation(tx, tenantId));
  const { rows } = await tx.query<{ on_hand: number }>(
    'SELECT on_hand FROM catalog_inventory WHERE tenant_id = $1 AND variant_id = $2 AND location_id = $3 FOR UPDATE',
    [tenantId, input.variantId, locationId],
  );
  const delta = input.onHand - (rows[0]?.on_hand ?? 0);
  return adjustStock(tx, tenantId, {
    variantId: input.variantId,
    locationId,
    onHandDelta: delta,
    reason: 'correction',
    actor: input.actor,
    note: input.note,
  });
}

/** Stock of variants (all, one product's, or only those at or below their threshold). */
export async function listInventory(
  tx: Tx,
  tenantId: string,
  options: { limit: number; cursor?: string; productId?: string; lowStock?: boolean },
) {
  const params: unknown[] = [tenantId];
  const where = ['v.tenant_id = $1'];
  if (options.productId) {
    params.push(options.productId);
    where.push(`v.product_id = $${params.length}`);
  }
  const cursor = decodeCursor<{ id?: unknown }>(options.cursor);
  if (cursor) {
    // A decoded cursor is still input: a wrong field would otherwise reach PostgreSQL as a bad uuid.
    if (typeof cursor.id !== 'string' || !UUID.test(cursor.id)) throw invalidCursor();
    params.push(cursor.id);
    where.push(`v.id > $${params.length}::uuid`);
  }
  const { rows } = await tx.query<{
    id: string;
    product_id: string;
    sku: string | null;
    title: string;
    low_stock_threshold: number;
    levels: { locationId: string; location: string; onHand: number; reserved: number }[];
  }>(
    `SELECT v.id, v.product_id, v.sku, p.title || ' — ' || v.title AS title, v.low_stock_threshold,
            coalesce(json_agg(json_build_object('locationId', l.id, 'location', l.name, 'onHand', i.on_hand,
                     'reserved', i.reserved) ORDER BY l.name) FILTER (WHERE i.variant_id IS NOT NULL), '[]') AS levels
       FROM catalog_variants v
       JOIN catalog_products p ON p.tenant_id = v.tenant_id AND p.id = v.product_id
       LEFT JOIN catalog_inventory i ON i.tenant_id = v.tenant_id AND i.variant_id = v.id
       LEFT JOIN catalog_locations l ON l.tenant_id = i.tenant_id AND l.id = i.location_id
      WHERE ${where.join(' AND ')}
      GROUP BY v.id, v.product_id, v.sku, p.title, v.title, v.low_stock_threshold
     ${options.lowStock ? 'HAVING coalesce(sum(i.on_hand - i.reserved), 0) <= v.low_stock_threshold' : ''}
      ORDER BY v.id LIMIT ${options.limit + 1}`,
    params,
  );
  return toPage(
    rows,
    options.limit,
    (r) => {
      const levels = r.levels.map((l) => ({ ...l, available: l.onHand - l.reserved }));
      const onHand = levels.reduce((n, l) => n + l.onHand, 0);
      const reserved = levels.reduce((n, l) => n + l.reserved, 0);
      return {
        variantId: r.id,
        productId: r.product_id,
        sku: r.sku,
        title: r.title,
        lowStockThreshold: r.low_stock_threshold,
        levels,
        onHand,
        reserved,
        available: onHand - reserved,
      };
    },
    (r) => ({ id: r.id }),
  );
}

/** A variant's stock history, newest first. */
export async function ledger(
  tx: Tx,
  tenantId: string,
  options: { variantId?: string; limit: number; cursor?: string },
) {
  const params: unknown[] = [tenantId];
  const where = ['tenant_id = $1'];
  if (options.variantId) {
    params.push(options.variantId);
    where.push(`variant_id = $${params.length}`);
  }
  const cursor = decodeCursor<{ id?: unknown }>(options.cursor);
  if (cursor) {
    if (typeof cursor.id !== 'number' || !Number.isSafeInteger(cursor.id)) throw invalidCursor();
    params.push(cursor.id);
    where.push(`id < $${params.length}`);
  }
  const { rows } = await tx.query<Record<string, any>>(
    `SELECT * FROM catalog_inventory_ledger WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ${options.limit + 1}`,
    params,
  );
  return toPage(
    rows,
    options.limit,
    (r) => ({
      id: Number(r.id),
      variantId: r.variant_id,
      locationId: r.location_id,
      reason: r.reason,
      onHandDelta: r.on_hand_delta,
      reservedDelta: r.reserved_delta,
      onHandAfter: r.on_hand_after,
      reservedAfter: r.reserved_after,
      actor: r.actor,
      note: r.note,
      createdAt: new Date(r.created_at).toISOString(),
    }),
    (r) => ({ id: Number(r.id) }),
  );
}
