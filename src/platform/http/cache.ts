import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/*
 * Conditional GETs for cacheable public reads: a weak ETag over the response body and
 * `Cache-Control`, so a CDN or browser revalidates with `If-None-Match` and gets a bodiless 304.
 */

/** Sets ETag and Cache-Control; true when the caller's copy is current (the reply is then a 304). */
export function notModified(
  request: FastifyRequest,
  reply: FastifyReply,
  body: unknown,
  cacheControl = 'public, max-age=60, stale-while-revalidate=300',
): boolean {
  const etag = `W/"${createHash('sha256').update(JSON.stringify(body)).digest('base64url').slice(0, 27)}"`;
  reply.header('ETag', etag).header('Cache-Control', cacheControl);
  const sent = request.headers['if-none-match'];
  const matches =
    typeof sent === 'string' && sent.split(',').some((tag) => tag.trim() === etag || tag.trim() === '*');
  if (matches) reply.code(304);
  return matches;
}
