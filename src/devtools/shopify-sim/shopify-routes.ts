/** The Shopify-facing HTTP surface: OAuth, Admin GraphQL and bulk result files. */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { handleGraphql, httpChaos, type Runtime } from './admin-api.ts';
import { bulkFileChunks } from './bulk.ts';
import { accessToken, authorize } from './oauth.ts';
import { normalizeShop } from './shops.ts';

/** Registers /{shop}/admin/oauth/*, /{shop}/admin/api/{version}/graphql.json and /_sim/bulk/{id}.jsonl. */
export function registerShopifyRoutes(app: FastifyInstance, rt: Runtime): void {
  app.get<{ Params: { shop: string }; Querystring: Record<string, string | string[]> }>(
    '/:shop/admin/oauth/authorize',
    async (req, reply) => {
      const shop = normalizeShop(req.params.shop);
      if (!shop) return reply.code(404).type('text/plain').send('Not Found');
      const result = authorize(rt.sim, shop, req.query);
      if ('redirect' in result) return reply.redirect(result.redirect, 302);
      return reply.code(result.status).type('text/plain; charset=utf-8').send(result.text);
    },
  );

  app.post<{ Params: { shop: string } }>('/:shop/admin/oauth/access_token', async (req, reply) => {
    const shop = normalizeShop(req.params.shop);
    if (!shop) return reply.code(404).send({ errors: 'Not Found' });
    const fault = await httpChaos(rt, shop);
    if (fault) return reply.code(fault.status).headers(fault.headers).send(fault.body);
    const body = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>;
    const result = await accessToken(rt.sim, shop, { ...(req.query as object), ...body });
    return reply.code(result.status).send(result.body);
  });

  app.post<{ Params: { shop: string; version: string } }>(
    '/:shop/admin/api/:version/graphql.json',
    async (req, reply) => {
      const header = req.headers['x-shopify-access-token'];
      const answer = await handleGraphql(
        rt,
        req.params.shop,
        req.params.version,
        Array.isArray(header) ? header[0] : header,
        req.body,
      );
      reply.code(answer.status).headers(answer.headers);
      return reply.send(answer.body);
    },
  );

  app.get<{ Params: { id: string } }>('/_sim/bulk/:id', async (req, reply) => {
    const id = Number(req.params.id.replace(/\.jsonl$/, ''));
    const op = rt.bulk.ops.get(id);
    if (!op?.file || (op.status !== 'COMPLETED' && op.status !== 'FAILED' && op.status !== 'CANCELED')) {
      return reply.code(404).type('text/plain').send('Not Found');
    }
    // Streamed from disk: a million-order export never sits in memory.
    return reply
      .type('application/jsonl')
      .header('Content-Length', String(op.fileSize))
      .send(Readable.from(bulkFileChunks(createReadStream(op.file), rt.bulk.downloadHold)));
  });
}
