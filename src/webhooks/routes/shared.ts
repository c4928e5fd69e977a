import type { FastifyRequest } from 'fastify';
import type { Access } from '../../platform/http/auth.ts';
import { errorEnvelopeSchema } from '../../platform/http/schemas.ts';

/** What every webhook management route shares: its base path, access rules and error shapes. */

/** Every route is under the tenant. */
export const BASE = '/api/v1/tenants/:tenant';

/** Reading the event log: operators, the tenant's staff, API keys with `events:read`. */
export const READ: Access = { operator: true, staff: 'any', apiKey: ['events:read'] };
/** Replaying and redriving: operators, owners, API keys with `events:replay`. */
export const REPLAY: Access = { operator: true, staff: 'owner', apiKey: ['events:replay'] };
/** Subscriptions and the compliance log (exports hold personal data): operators and owners. */
export const MANAGE: Access = { operator: true, staff: 'owner' };

export const errors = {
  401: errorEnvelopeSchema,
  403: errorEnvelopeSchema,
  404: errorEnvelopeSchema,
  422: errorEnvelopeSchema,
};

/** The tenant resolved by the access layer (every route has `:tenant`). */
export const tenantOf = (request: FastifyRequest) => {
  const tenant = request.auth.tenant;
  if (!tenant) throw new Error('webhook routes need a :tenant');
  return tenant.id;
};
