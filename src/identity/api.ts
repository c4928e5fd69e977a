import { z } from 'zod';
import { STAFF_ROLES } from '../platform/http/roles.ts';
import { isoTimeQuery } from '../platform/http/schemas.ts';
import { MAX_PASSWORD_LENGTH } from './policy.ts';

// Request and response shapes of the identity API (issue 4), shared with web/. Passwords are
// length-checked here and policy-checked in the service (the policy needs the e-mail too).

/** An e-mail address, trimmed and lower-cased. */
export const email = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email())
  .transform((v) => v.toLowerCase());

/** A password as received (the strength policy is applied where accounts are created). */
export const password = z.string().min(1).max(MAX_PASSWORD_LENGTH);

/** A six-digit e-mailed code. */
export const code = z
  .string()
  .trim()
  .regex(/^\d{6}$/, 'must be 6 digits');

/** `:tenant` — the tenant's id or slug. */
export const tenantParams = z.object({ tenant: z.string().min(1).max(100) });

const slug = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'lower-case letters, digits and dashes (1–63)');
const currency = z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD');
const timezone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'an IANA time zone such as Europe/Paris');

export const operatorSchema = z.object({
  id: z.uuid(),
  email: z.string(),
  name: z.string(),
  createdAt: z.string(),
});
export const bootstrapBody = z.object({ email, password, name: z.string().trim().max(200).optional() });

export const loginBody = z.object({
  email,
  password,
  /** Needed only when one e-mail has accounts in several tenants with the same password. */
  tenant: z.string().min(1).max(100).optional(),
});

export const tenantSchema = z.object({
  id: z.uuid(),
  slug: z.string(),
  name: z.string(),
  currency: z.string(),
  timezone: z.string(),
  status: z.enum(['active', 'deactivated', 'uninstalled']),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const createTenantBody = z.object({
  name: z.string().trim().min(1).max(200),
  slug,
  currency: currency.default('USD'),
  timezone: timezone.default('UTC'),
});
export const updateTenantBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    slug,
    currency,
    timezone,
    status: z.enum(['active', 'deactivated']),
  })
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'nothing to change');
export const tenantListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(250).default(50),
  cursor: z.string().max(512).optional(),
  status: z.enum(['active', 'deactivated', 'uninstalled']).optional(),
});

export const staffRole = z.enum(STAFF_ROLES);
export const staffSchema = z.object({
  id: z.uuid(),
  tenantId: z.uuid(),
  email: z.string(),
  name: z.string(),
  role: staffRole,
  lastLoginAt: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const createStaffBody = z.object({
  email,
  password,
  name: z.string().trim().max(200).default(''),
  role: staffRole.default('staff'),
});
export const updateStaffBody = z
  .object({ name: z.string().trim().max(200), role: staffRole, password })
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'nothing to change');
export const userParams = tenantParams.extend({ user: z.uuid() });

/** An API-key scope name; which ones exist is up to the modules (`GET /api/v1/api-key-scopes`). */
export const apiKeyScope = z
  .string()
  .max(64)
  .regex(/^[a-z][a-z_]*:[a-z][a-z_]*$/, 'a scope such as data:read');
export const scopeDefinitionSchema = z.object({ name: z.string(), description: z.string() });
export const apiKeySchema = z.object({
  id: z.uuid(),
  tenantId: z.uuid(),
  name: z.string(),
  prefix: z.string().describe('Public part of the key, to recognise it in lists and logs'),
  scopes: z.array(apiKeyScope),
  createdBy: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});
export const createApiKeyBody = z.object({
  name: z.string().trim().min(1).max(100),
  scopes: z.array(apiKeyScope).min(1).max(50),
  expiresAt: isoTimeQuery.optional(),
});
export const createdApiKeySchema = apiKeySchema.extend({
  key: z.string().describe('The secret key: shown once, store it now'),
});
export const keyParams = tenantParams.extend({ key: z.uuid() });

export const auditEventSchema = z.object({
  id: z.uuid(),
  tenantId: z.uuid().nullable(),
  occurredAt: z.string(),
  action: z.string(),
  actor: z.object({ kind: z.string(), id: z.string().nullable(), label: z.string().nullable() }),
  target: z.object({ kind: z.string(), id: z.string() }).nullable(),
  ip: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
});
export const auditQuery = z.object({
  limit: z.coerce.number().int().min(1).max(250).default(50),
  cursor: z.string().max(512).optional(),
  action: z.string().max(100).optional(),
  since: isoTimeQuery.optional(),
  tenant: z.string().max(100).optional(),
});

export const meSchema = z.object({
  kind: z.enum(['operator', 'staff', 'api_key']),
  id: z.string(),
  email: z.string().optional(),
  name: z.string().optional(),
  tenant: tenantSchema.pick({ id: true, slug: true, name: true }).optional(),
  role: staffRole.optional(),
  scopes: z.array(apiKeyScope).optional(),
  via: z.enum(['session', 'basic', 'api_key']),
  csrfToken: z.string().optional().describe('Send it as X-CSRF-Token on writes made with the session cookie'),
});
export const sessionSchema = meSchema.extend({ expiresAt: z.string() });

export const shopperSchema = z.object({
  id: z.uuid(),
  email: z.string(),
  name: z.string(),
  emailVerified: z.boolean(),
  createdAt: z.string(),
});
export const registerBody = z.object({ email, password, name: z.string().trim().max(200).default('') });
export const verifyBody = z.object({ email, code });
export const emailBody = z.object({ email });
export const resetConfirmBody = z.object({ email, code, newPassword: password });
export const shopperTokenSchema = z.object({
  accessToken: z.string(),
  tokenType: z.literal('Bearer'),
  expiresIn: z.number().int(),
  csrfToken: z.string().describe('Send it as X-CSRF-Token to refresh and logout (they use the cookie)'),
  shopper: shopperSchema,
});
export const acceptedSchema = z.object({ status: z.string(), message: z.string() });
