import type { Tx } from '../platform/db/client.ts';
import { withConstraintErrors } from './text.ts';

/*
 * Stock locations (issue 11: "inventory per variant and location"). `Default` exists from the
 * first stock row; a shop with a warehouse and a store adds its own and adjusts stock per location.
 */

type LocationRow = { id: string; name: string; created_at: Date };
const view = (r: LocationRow) => ({ id: r.id, name: r.name, createdAt: r.created_at.toISOString() });

/** The tenant's locations by name. */
export async function listLocations(tx: Tx) {
  const { rows } = await tx.query<LocationRow>(
    'SELECT id, name, created_at FROM catalog_locations ORDER BY name',
  );
  return rows.map(view);
}

/** Adds a location; 409 LOCATION_TAKEN when the name is used. */
export async function createLocation(tx: Tx, tenantId: string, name: string) {
  return withConstraintErrors(async () => {
    const { rows } = await tx.query<LocationRow>(
      'INSERT INTO catalog_locations (tenant_id, name) VALUES ($1, $2) RETURNING id, name, created_at',
      [tenantId, name],
    );
    return view(rows[0]);
  });
}
