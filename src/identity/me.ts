import type { Database } from '../platform/db/client.ts';
import type { ApiKeyScope, Authenticator, Principal } from '../platform/http/auth.ts';
import type { Operators } from './operators.ts';
import { staffProfile } from './staff.ts';

/** What `GET /api/v1/me` and login return. */
export type Me = {
  kind: 'operator' | 'staff' | 'api_key';
  id: string;
  email?: string;
  name?: string;
  tenant?: { id: string; slug: string; name: string };
  role?: 'owner' | 'staff';
  scopes?: ApiKeyScope[];
  via: 'session' | 'basic' | 'api_key';
  csrfToken?: string;
};

/** The caller as `GET /api/v1/me` and login show it. */
export async function describePrincipal(
  deps: { database: Database; operators: Operators; authenticator: Authenticator },
  principal: Principal,
  csrfToken?: string,
): Promise<Me> {
  const { operators, authenticator } = deps;
  switch (principal.kind) {
    case 'operator': {
      const operator = await operators.get(principal.id);
      return {
        kind: 'operator',
        id: principal.id,
        email: principal.email,
        name: operator?.name ?? '',
        via: 'session',
        csrfToken,
      };
    }
    case 'staff': {
      const profile = await staffProfile(deps.database, principal.id);
      return {
        kind: 'staff',
        id: principal.id,
        email: principal.email,
        name: profile?.name ?? '',
        role: principal.role,
        tenant: { id: principal.tenantId, slug: profile?.slug ?? '', name: profile?.tenant_name ?? '' },
        via: principal.via,
        csrfToken,
      };
    }
    case 'api_key': {
      const tenant = await authenticator.findTenant(principal.tenantId);
      return {
        kind: 'api_key',
        id: principal.id,
        name: principal.name,
        scopes: [...principal.scopes],
        tenant: tenant ? { id: tenant.id, slug: tenant.slug, name: tenant.name } : undefined,
        via: 'api_key',
      };
    }
    default:
      throw new Error(`me: unsupported principal ${principal.kind}`);
  }
}
