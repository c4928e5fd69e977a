import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { cursorId, decodeCursor, encodeCursor } from '../../platform/http/schemas.ts';
import type { App } from '../../platform/http/server.ts';
import {
  eventDetailSchema,
  eventListQuery,
  eventPageSchema,
  eventParams,
  type eventSummarySchema,
  statsQuery,
  statsSchema,
  tenantParams,
} from '../api.ts';
import { eventStats, getEvent, listEvents } from '../events.ts';
import { BASE, errors, READ, tenantOf } from './shared.ts';

/** One page of the event log (newest first) with the cursor of the next. */
export async function eventPage(
  request: FastifyRequest,
  filter: Parameters<typeof listEvents>[2],
  limit: number,
  cursor: string | undefined,
) {
  const tenantId = tenantOf(request);
  const before = decodeCursor(cursor, z.object({ before: cursorId }))?.before;
  const page = await request.auth.withTenant((tx) => listEvents(tx, tenantId, filter, { limit, before }));
  const last = page.events.at(-1);
  return {
    events: page.events as z.infer<typeof eventSummarySchema>[],
    nextCursor: page.more && last ? encodeCursor({ before: last.id }) : null,
  };
}

/** The event log: list (filtered by source, topic, status, time, shop, text), counts, one event. */
export function registerEventLogRoutes(app: App): void {
  const base = BASE;
  app.get(
    `${base}/events`,
    {
      config: { access: READ },
      schema: {
        tags: ['events'],
        summary: 'List webhook events (newest first), filtered by topic, status, time, shop and text',
        params: tenantParams,
        querystring: eventListQuery,
        response: { 200: eventPageSchema, ...errors },
      },
    },
    async (request) => {
      const { limit, cursor, ...filter } = request.query;
      return eventPage(request, filter, limit, cursor);
    },
  );

  app.get(
    `${base}/events/stats`,
    {
      config: { access: READ },
      schema: {
        tags: ['events'],
        summary: 'Event counts by topic and status (including counts kept after retention deleted rows)',
        params: tenantParams,
        querystring: statsQuery,
        response: { 200: statsSchema, ...errors },
      },
    },
    async (request) => {
      const tenantId = tenantOf(request);
      const counts = await request.auth.withTenant((tx) => eventStats(tx, tenantId, request.query));
      return { counts };
    },
  );

  app.get(
    `${base}/events/:event`,
    {
      config: { access: READ },
      schema: {
        tags: ['events'],
        summary: 'One event with its payload, attempts and errors',
        params: eventParams,
        response: { 200: eventDetailSchema, ...errors },
      },
    },
    async (request) => {
      const tenantId = tenantOf(request);
      const event = await request.auth.withTenant((tx) => getEvent(tx, tenantId, request.params.event));
      return event as z.infer<typeof eventDetailSchema>;
    },
  );
}
