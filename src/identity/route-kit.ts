import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { errorEnvelopeSchema } from '../platform/http/schemas.ts';
import { actorOf } from './audit.ts';

// What identity's route files share: the error responses, list and page shapes, who did it, and
// the request's tenant.

export const errors = {
  400: errorEnvelopeSchema,
  401: errorEnvelopeSchema,
  403: errorEnvelopeSchema,
  404: errorEnvelopeSchema,
  409: errorEnvelopeSchema,
  422: errorEnvelopeSchema,
  429: errorEnvelopeSchema,
};
export const listOf = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });
export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(250).default(50),
  cursor: z.string().max(512).optional(),
});

/**
 * Config of the public routes that take credentials or create accounts (logins, sign-ups, codes):
 * each is throttled by identity's own rules (policy.ts: failures per account and per address), so
 * it is kept out of the general per-address request budget — failed logins must not use up the
 * budget of everyone behind an address (issue 16).
 */
export const throttledPublic = { access: 'public', rateLimit: false } as const;

/** Who did it and from where, for the audit log. */
export const by = (request: FastifyRequest) => ({ actor: actorOf(request.auth.principal), ip: request.ip });

/** The tenant of a request whose route has `:tenant` (resolved and checked by the access layer). */
export const tenantOf = (request: FastifyRequest) => {
  if (!request.auth.tenant) throw new Error('route without a tenant');
  return request.auth.tenant;
};
