import type { Tx } from '../platform/db/client.ts';
import { notFound } from '../platform/errors.ts';
import { z } from 'zod';
import { cursorId, cursorUuid, decodeCursor, toPage } from '../platform/http/schemas.ts';
import type { INVENTORY_REASONS } from './api.ts';
import { withConstraintErrors } from './text.ts';

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

/** One counted figure for `setStockMany`; `fresh` for a variant created in this transaction (no row yet). */
export type StockFigure = { variantId: string; onHand: number; fresh?: boolean; allowBackorder?: boolean };

/**
 * Sets on-hand stock of many variants at one location to counted figures (the CSV import) with a
 * few multi-row statements: lock the existing rows, insert the missing ones, update the changed
 * ones, one ledger row per change. A variant without a stock row there gets one (`received`, as a
 * new variant's first stock); a changed figure is a `correction` of the difference. The database
 * CHECKs apply as for `adjustStock`. Returns how many figures changed.
 */
export async function setStockMany(
  tx: Tx,
  tenantId: string,
  input: { locationId: string; items: StockFigure[]; actor: string; note?: string },
): Promise<number> {
  const { locationId } = input;
  const known = input.items.filter((i) => !i.fresh);
  const before = new Map<string, number>();
  if (known.length) {
    const { rows } = await tx.query<{ variant_id: string; on_hand: number }>(
      `SELECT variant_id, on_hand FROM catalog_inventory
        WHERE tenant_id = $1 AND location_id = $2 AND variant_id = ANY($3::uuid[]) FOR UPDATE`,
      [tenantId, locationId, known.map((i) => i.variantId)],
    );
    for (const r of rows) before.set(r.variant_id, r.on_hand);
  }
  const inserts = input.items.filter((i) => !before.has(i.variantId));
  const updates = known.filter((i) => before.has(i.variantId) && before.get(i.variantId) !== i.onHand);
  const json = (items: StockFigure[]) =>
    JSON.stringify(
      items.map((i) => ({
        variant_id: i.variantId,
        on_hand: i.onHand,
        allow_backorder: i.allowBackorder ?? null,
      })),
    );
  return withConstraintErrors(async () => {
    type After = { variant_id: string; on_hand: number; reserved: number };
    const after: After[] = [];
    if (inserts.length) {
      const { rows } = await tx.query<After>(
        `INSERT INTO catalog_inventory (tenant_id, variant_id, location_id, on_hand, allow_backorder)
         SELECT $1, x.variant_id, $2, x.on_hand, coalesce(x.allow_backorder,
                (SELECT v.allow_backorder FROM catalog_variants v WHERE v.tenant_id = $1 AND v.id = x.variant_id))
           FROM json_to_recordset($3::json) AS x(variant_id uuid, on_hand int, allow_backorder boolean)
         RETURNING variant_id, on_hand, reserved`,
        [tenantId, locationId, json(inserts)],
      );
      after.push(...rows);
    }
    if (updates.length) {
      const { rows } = await tx.query<After>(
        `UPDATE catalog_inventory i SET on_hand = x.on_hand, updated_at = now()
           FROM json_to_recordset($3::json) AS x(variant_id uuid, on_hand int)
          WHERE i.tenant_id = $1 AND i.location_id = $2 AND i.variant_id = x.variant_id
         RETURNING i.variant_id, i.on_hand, i.reserved`,
        [tenantId, locationId, json(updates)],
      );
      after.push(...rows);
    }
    const entries = after
      .map((r) => ({
        variant_id: r.variant_id,
        reason: before.has(r.variant_id) ? 'correction' : 'received',
        delta: r.on_hand - (before.get(r.variant_id) ?? 0),
        on_hand: r.on_hand,
        reserved: r.reserved,
      }))
      .filter((e) => e.delta !== 0);
    if (entries.length)
      await tx.query(
        `INSERT INTO catalog_inventory_ledger (tenant_id, variant_id, location_id, reason, on_hand_delta, reserved_delta,
                on_hand_after, reserved_after, actor, note)
         SELECT $1, x.variant_id, $2, x.reason, x.delta, 0, x.on_hand, x.reserved, $3, $4
           FROM json_to_recordset($5::json) AS x(variant_id uuid, reason text, delta int, on_hand int, reserved int)`,
        [tenantId, locationId, input.actor, input.note ?? null, JSON.stringify(entries)],
      );
    return entries.length;
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
  const cursor = decodeCursor(options.cursor, z.object({ id: cursorUuid }));
  if (cursor) {
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
  const cursor = decodeCursor(options.cursor, z.object({ id: cursorId }));
  if (cursor) {
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
