import { AppError } from '../errors.ts';
import { IMMUTABLE_CACHE, isObjectKey, MEDIA_PATH, type ObjectStorage } from '../storage.ts';
import type { App } from './server.ts';

/**
 * `GET /media/<key>`: objects of the object storage, read from the data dir or proxied from the
 * bucket. Keys are immutable, so answers are cached for a year; the Content-Type is the one the
 * key's extension names. Any browser origin may embed them (storefronts on their own domains).
 */
export function registerMediaRoutes(app: App, deps: { storage: ObjectStorage }) {
  const { storage } = deps;
  app.get(`${MEDIA_PATH}/*`, { schema: { hide: true } }, async (request, reply) => {
    const key = (request.params as { '*'?: string })['*'] ?? '';
    const object = isObjectKey(key) ? await storage.get(key) : null;
    if (!object) throw new AppError(404, 'OBJECT_NOT_FOUND', 'No such object');
    reply
      .header('Cache-Control', IMMUTABLE_CACHE)
      .header('Cross-Origin-Resource-Policy', 'cross-origin')
      .type(object.contentType);
    if (object.bytes !== undefined) reply.header('Content-Length', object.bytes);
    return reply.send(object.body);
  });
}
