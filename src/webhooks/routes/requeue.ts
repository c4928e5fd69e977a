import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { errorEnvelopeSchema, paginationQuery } from '../../platform/http/schemas.ts';
import type { App } from '../../platform/http/server.ts';
import {
  eventListQuery,
  eventPageSchema,
  eventParams,
  eventSummarySchema,
  redriveBody,
  replayBody,
  requeueResultSchema,
  tenantParams,
} from '../api.ts';
import { requeueEvent, requeueMatching } from '../events.ts';
import { eventPage } from './event-log.ts';
import { BASE, errors, READ, REPLAY, tenantOf } from './shared.ts';

/** After replays and redrives commit: wake the processor, tell the live stream. */
export type Requeued = (tenantId: string, events: { id: number; source: string; topic: string }[]) => void;

/** Replay (one event, or every finished event matching a filter) and the dead-letter queue. */
export function registerRequeueRoutes(app: App, deps: { requeued: Requeued }): void {
  const base = BASE;

  /** Queues every matching event again (replay or redrive) and tells the processor. */
  async function requeueAll(
    request: FastifyRequest,
    tenantId: string,
    filter: Parameters<typeof requeueMatching>[2],
    trigger: 'replay' | 'redrive',
    limit: number,
  ) {
    const result = await request.auth.withTenant((tx) =>
      requeueMatching(tx, tenantId, filter, trigger, limit),
    );
    deps.requeued(tenantId, result.queued);
    return {
      queued: result.queued.length,
      eventIds: result.queued.map((e) => e.id),
      limitReached: result.limitReached,
    };
  }

  /** `POST …/:event/replay|redrive`: queues one event again. */
  function requeueOneRoute(url: string, summary: string, trigger: 'replay' | 'redrive') {
    app.post(
      url,
      {
        config: { access: REPLAY },
        schema: {
          tags: ['events'],
          summary,
          params: eventParams,
          response: { 202: eventSummarySchema, 409: errorEnvelopeSchema, ...errors },
        },
      },
      async (request, reply) => {
        const tenantId = tenantOf(request);
        const event = await request.auth.withTenant((tx) =>
          requeueEvent(tx, tenantId, request.params.event, trigger),
        );
        deps.requeued(tenantId, [{ id: event.id, source: event.source, topic: event.topic }]);
        return reply.status(202).send(event as z.infer<typeof eventSummarySchema>);
      },
    );
  }

  requeueOneRoute(
    `${base}/events/:event/replay`,
    'Replay one event: apply it again through the same idempotent handlers',
    'replay',
  );

  app.post(
    `${base}/events/replay`,
    {
      config: { access: REPLAY },
      schema: {
        tags: ['events'],
        summary: 'Replay every finished event matching a filter (oldest first, up to `limit`)',
        params: tenantParams,
        body: replayBody,
        response: { 202: requeueResultSchema, ...errors },
      },
    },
    async (request, reply) => {
      const tenantId = tenantOf(request);
      const { limit, ...filter } = request.body;
      return reply.status(202).send(await requeueAll(request, tenantId, filter, 'replay', limit));
    },
  );

  app.get(
    `${base}/dead-letters`,
    {
      config: { access: READ },
      schema: {
        tags: ['events'],
        summary: 'The dead-letter queue: events whose retries are exhausted (newest first)',
        params: tenantParams,
        querystring: paginationQuery.extend({
          source: eventListQuery.shape.source,
          topic: eventListQuery.shape.topic,
        }),
        response: { 200: eventPageSchema, ...errors },
      },
    },
    async (request) => {
      const { limit, cursor, source, topic } = request.query;
      return eventPage(request, { source, topic, status: ['dead'] }, limit, cursor);
    },
  );

  requeueOneRoute(
    `${base}/dead-letters/:event/redrive`,
    'Redrive one dead letter: queue it for new attempts',
    'redrive',
  );

  app.post(
    `${base}/dead-letters/redrive`,
    {
      config: { access: REPLAY },
      schema: {
        tags: ['events'],
        summary: 'Redrive every dead letter (optionally of one topic), oldest first, up to `limit`',
        params: tenantParams,
        body: redriveBody,
        response: { 202: requeueResultSchema, ...errors },
      },
    },
    async (request, reply) => {
      const tenantId = tenantOf(request);
      const { limit, source, topic } = request.body;
      return reply.status(202).send(await requeueAll(request, tenantId, { source, topic }, 'redrive', limit));
    },
  );
}
