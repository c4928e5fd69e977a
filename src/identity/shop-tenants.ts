import { randomBytes } from 'node:crypto';
import type { Tx } from '../platform/db/client.ts';
import type { Audit } from './audit.ts';

/**
 * Tenants for Shopify installs (issue 5 needs these from identity, issue 4): a new shop gets a new
 * tenant, a reinstall reactivates the same one, an uninstall marks it `uninstalled`. Both run in
 * the caller's transaction so the tenant and the stored token commit (or fail) together.
 * Kept minimal and additive; identity owns the tenants table and may fold this into its factory.
 * Each change is written to the audit log in the same transaction (actor: the Shopify shop).
 */

/** Lower-case slug from the shop handle (`my-store.myshopify.com` → `my-store`). */
function slugFor(shopDomain: string): string {
  const handle = shopDomain.replace(/\.myshopify\.com$/, '').toLowerCase();
  return (
    handle
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 48) || 'shop'
  );
}

/** What a Shopify install knows about the shop when it creates or reattaches its tenant. */
export type AttachShopInput = {
  shopDomain: string;
  name: string;
  currency?: string;
  timezone?: string;
  /** The tenant of an earlier install of the same shop, reactivated instead of creating one. */
  existingTenantId?: string;
};

/** Tenant functions for Shopify installs; `audit` is identity's audit log. */
export function createShopTenants(deps: { audit: Pick<Audit, 'record'> }) {
  const actor = (shopDomain: string) => ({ kind: 'shopify', label: shopDomain });
  return {
    /** Creates the tenant of a newly installed shop, or reactivates `existingTenantId` after an uninstall. */
    async attachShop(tx: Tx, input: AttachShopInput): Promise<string> {
      const id = await attachShopTenant(tx, input);
      const action = !input.existingTenantId ? 'tenant.created' : 'tenant.shop_attached';
      await deps.audit.record(
        {
          action,
          tenantId: id,
          actor: actor(input.shopDomain),
          target: { kind: 'tenant', id },
          details: { shop: input.shopDomain },
        },
        tx,
      );
      return id;
    },
    /** Marks the tenant uninstalled (audited). */
    async markUninstalled(tx: Tx, tenantId: string, shopDomain: string): Promise<void> {
      await markTenantUninstalled(tx, tenantId);
      await deps.audit.record(
        {
          action: 'tenant.uninstalled',
          tenantId,
          actor: actor(shopDomain),
          target: { kind: 'tenant', id: tenantId },
          details: { shop: shopDomain },
        },
        tx,
      );
    },
  };
}

/** Creates the tenant of a newly installed shop, or reactivates `existingTenantId` after an uninstall. */
export async function attachShopTenant(tx: Tx, input: AttachShopInput): Promise<string> {
  if (input.existingTenantId) {
    // An operator's deactivation stands; only an uninstalled tenant comes back on reinstall.
    await tx.query(
      `UPDATE tenants SET status = 'active', updated_at = now() WHERE id = $1 AND status = 'uninstalled'`,
      [input.existingTenantId],
    );
    return input.existingTenantId;
  }
  const base = slugFor(input.shopDomain);
  for (let attempt = 0; attempt < 5; attempt++) {
    const slug = attempt === 0 ? base : `${base}-${randomBytes(3).toString('hex')}`;
    const { rows } = await tx.query<{ id: string }>(
      `INSERT INTO tenants (slug, name, currency, timezone)
       VALUES ($1, $2, COALESCE($3, 'USD'), COALESCE($4, 'UTC'))
       ON CONFLICT DO NOTHING RETURNING id`,
      [slug, input.name.slice(0, 200) || base, input.currency ?? null, input.timezone ?? null],
    );
    if (rows[0]) return rows[0].id;
  }
  throw new Error(`could not find a free tenant slug for ${input.shopDomain}`);
}

/** Marks a tenant whose Shopify app was uninstalled or disconnected. */
export async function markTenantUninstalled(tx: Tx, tenantId: string): Promise<void> {
  await tx.query(
    `UPDATE tenants SET status = 'uninstalled', updated_at = now() WHERE id = $1 AND status = 'active'`,
    [tenantId],
  );
}
