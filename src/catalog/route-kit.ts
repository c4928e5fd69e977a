import type { FastifyRequest } from 'fastify';
import { AppError } from '../platform/errors.ts';
import { errorResponses } from '../platform/http/schemas.ts';
import type { CatalogCore } from './index.ts';
import type { WriteContext } from './products.ts';

/*
 * What the catalog's staff routes share: access rules, error schemas, who is asking, and the
 * optimistic-concurrency header.
 */

export const errors = errorResponses(400, 401, 403, 404, 409, 412, 422, 428);
export const read = { operator: true, staff: 'any', apiKey: ['catalog:read'] } as const;
export const write = { operator: true, staff: 'any', apiKey: ['catalog:write'] } as const;
export const base = '/api/v1/tenants/:tenant/catalog';
export const tags = ['catalog'];

export const tenantOf = (request: FastifyRequest) => request.auth.tenant?.id as string;
/** `staff:<id>`, `api_key:<id>`, `operator:<id>` (the ledger's and audit's actor). */
export const actorOf = (request: FastifyRequest) => {
  const p = request.auth.principal;
  return 'id' in p ? `${p.kind}:${p.id}` : p.kind;
};

/** The version the caller last saw: `If-Match: "3"` (or W/"3"), else `version` in the body. */
export function expectedVersion(
  request: FastifyRequest,
  bodyVersion?: number,
  required = false,
): number | undefined {
  const header = request.headers['if-match'];
  if (typeof header === 'string' && header.trim() !== '*') {
    const match = /^(?:W\/)?"?(\d{1,9})"?$/.exec(header.trim());
    if (!match)
      throw new AppError(400, 'INVALID_IF_MATCH', 'If-Match must be the ETag of a read, such as "3"');
    return Number(match[1]);
  }
  if (bodyVersion !== undefined) return bodyVersion;
  if (required)
    throw new AppError(
      428,
      'PRECONDITION_REQUIRED',
      'Send If-Match with the ETag you read (or version) to change a product',
    );
  return undefined;
}

/** Who writes, for which tenant, in which currency. */
export async function writeContext(
  catalog: Pick<CatalogCore, 'currencyOf'>,
  request: FastifyRequest,
): Promise<WriteContext> {
  return {
    tenantId: tenantOf(request),
    currency: await catalog.currencyOf(tenantOf(request)),
    actor: actorOf(request),
  };
}
