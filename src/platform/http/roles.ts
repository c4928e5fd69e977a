// Browser-safe (no imports): the identity API schemas share it with the web dashboard.

/** Tenant staff roles: owners manage staff and keys, staff run catalog and orders. */
export const STAFF_ROLES = ['owner', 'staff'] as const;

/** One staff role. */
export type StaffRole = (typeof STAFF_ROLES)[number];
