import type { ServerResponse } from 'node:http';
import type { App } from '../../platform/http/server.ts';
import { streamQuery, tenantParams } from '../api.ts';
import type { StatusChange } from '../processor.ts';
import type { LiveStream } from '../stream.ts';
import { BASE, READ, tenantOf } from './shared.ts';

/** The live stream (Server-Sent Events) of a tenant's status changes, for every source. */
export function registerStreamRoute(app: App, deps: { stream: LiveStream }): void {
  const base = BASE;
  // Open SSE responses end when the server closes, so a shutdown never waits on a dashboard tab.
  const openStreams = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    for (const res of openStreams) res.end();
  });

  app.get(
    `${base}/events/stream`,
    {
      config: { access: READ },
      schema: {
        tags: ['events'],
        summary: 'Live stream (Server-Sent Events) of event status changes',
        description:
          'text/event-stream; each change is `event: webhook` with JSON data {id, source, topic, status, attempts, error, at}. ' +
          'A comment line is sent every 15 s to keep the connection open.',
        params: tenantParams,
        querystring: streamQuery,
      },
    },
    async (request, reply) => {
      const tenantId = tenantOf(request);
      const { source, topic } = request.query;
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-request-id': request.id,
      });
      res.write('retry: 2000\n: connected\n\n');
      const unsubscribe = deps.stream.subscribe(tenantId, (change: StatusChange) => {
        if ((topic && change.topic !== topic) || (source && change.source !== source)) return;
        const { tenantId: _tenant, ...data } = change;
        res.write(
          `id: ${change.id}-${change.attempts}-${change.status}\nevent: webhook\ndata: ${JSON.stringify(data)}\n\n`,
        );
        // A client that stopped reading is dropped instead of buffering without bound; it reconnects.
        if (res.writableLength > 1_000_000) res.destroy();
      });
      const heartbeat = setInterval(() => res.write(': ping\n\n'), 15_000);
      const end = () => {
        clearInterval(heartbeat);
        unsubscribe();
      };
      res.on('close', end);
      openStreams.add(res);
      res.on('close', () => openStreams.delete(res));
    },
  );
}
