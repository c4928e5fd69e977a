import type { ServerResponse } from 'node:http';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Access } from '../platform/http/auth.ts';
import {
  decodeCursor,
  encodeCursor,
  errorEnvelopeSchema,
  paginationQuery,
} from '../platform/http/schemas.ts';
import type { App } from '../platform/http/server.ts';
import {
  complianceDetailSchema,
  complianceParams,
  complianceRequestSchema,
  ensureResultSchema,
  eventDetailSchema,
  eventListQuery,
  eventPageSchema,
  eventParams,
  eventSummarySchema,
  redriveBody,
  registerBody,
  replayBody,
  requeueResultSchema,
  settingsBody,
  statsQuery,
  statsSchema,
  streamQuery,
  subscriptionParams,
  subscriptionSchema,
  subscriptionSettingsSchema,
  tenantParams,
} from './api.ts';
import {
  type EventSummary,
  eventStats,
  getComplianceRequest,
  getEvent,
  listComplianceRequests,
  listEvents,
  requeueEvent,
  requeueMatching,
} from './events.ts';
import type { StatusChange } from './processor.ts';
import type { LiveStream } from './stream.ts';
import type { Subscription, Subscriptions } from './subscriptions.ts';

/** Reading the event log: operators, the tenant's staff, API keys with `events:read`. */
const READ: Access = { operator: true, staff: 'any', apiKey: ['events:read'] };
/** Replaying and redriving: operators, owners, API keys with `events:replay`. */
const REPLAY: Access = { operator: true, staff: 'owner', apiKey: ['events:replay'] };
/** Subscriptions and the compliance log (exports hold personal data): operators and owners. */
const MANAGE: Access = { operator: true, staff: 'owner' };

const errors = {
  401: errorEnvelopeSchema,
  403: errorEnvelopeSchema,
  404: errorEnvelopeSchema,
  422: errorEnvelopeSchema,
};

const tenantOf = (request: FastifyRequest) => {
  const tenant = request.auth.tenant;
  if (!tenant) throw new Error('webhook routes need a :tenant');
  return tenant.id;
};

const numericId = (gid: string) => gid.slice(gid.lastIndexOf('/') + 1);
const subscriptionView = (s: Subscription) => ({ ...s, id: numericId(s.id), gid: s.id });

/** HTTP API of the event log, replay, dead letters, live stream, subscriptions and compliance log. */
export function registerWebhookRoutes(
  app: App,
  deps: {
    stream: LiveStream;
    subscriptions: Subscriptions;
    /** After replays and redrives commit: wake the processor, tell the live stream. */
    requeued: (tenantId: string, events: { id: number; topic: string }[]) => void;
  },
): void {
  const base = '/api/v1/tenants/:tenant';
  const requeuedChanges = (tenantId: string, events: EventSummary[]) =>
    deps.requeued(
      tenantId,
      events.map((e) => ({ id: e.id, topic: e.topic })),
    );

  /** One page of the event log (newest first) with the cursor of the next. */
  async function eventPage(
    request: FastifyRequest,
    filter: Parameters<typeof listEvents>[2],
    limit: number,
    cursor: string | undefined,
  ) {
    const tenantId = tenantOf(request);
    const before = decodeCursor<{ before: number }>(cursor)?.before;
    const page = await request.auth.withTenant((tx) =>
      listEvents(tx, tenantId, filter, { limit, before: typeof before === 'number' ? before : undefined }),
    );
    const last = page.events.at(-1);
    return {
      events: page.events as z.infer<typeof eventSummarySchema>[],
      nextCursor: page.more && last ? encodeCursor({ before: last.id }) : null,
    };
  }

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
        requeuedChanges(tenantId, [event]);
        return reply.status(202).send(event as z.infer<typeof eventSummarySchema>);
      },
    );
  }

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
          'text/event-stream; each change is `event: webhook` with JSON data {id, topic, status, attempts, error, at}. ' +
          'A comment line is sent every 15 s to keep the connection open.',
        params: tenantParams,
        querystring: streamQuery,
      },
    },
    async (request, reply) => {
      const tenantId = tenantOf(request);
      const topic = request.query.topic;
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
        if (topic && change.topic !== topic) return;
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
        querystring: paginationQuery.extend({ topic: eventListQuery.shape.topic }),
        response: { 200: eventPageSchema, ...errors },
      },
    },
    async (request) => {
      const { limit, cursor, topic } = request.query;
      return eventPage(request, { topic, status: ['dead'] }, limit, cursor);
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
      const { limit, topic } = request.body;
      return reply.status(202).send(await requeueAll(request, tenantId, { topic }, 'redrive', limit));
    },
  );

  // ---------------------------------------------------------------- subscriptions (Admin API)

  app.get(
    `${base}/webhook-subscriptions`,
    {
      config: { access: MANAGE },
      schema: {
        tags: ['webhook subscriptions'],
        summary: "The shop's webhook subscriptions, as Shopify reports them",
        params: tenantParams,
        response: { 200: z.object({ subscriptions: z.array(subscriptionSchema) }), ...errors },
      },
    },
    async (request) => ({
      subscriptions: (await deps.subscriptions.list(tenantOf(request))).map(subscriptionView),
    }),
  );

  app.post(
    `${base}/webhook-subscriptions`,
    {
      config: { access: MANAGE },
      schema: {
        tags: ['webhook subscriptions'],
        summary: 'Register a webhook subscription at Shopify (address defaults to this server)',
        params: tenantParams,
        body: registerBody,
        response: { 201: subscriptionSchema, ...errors },
      },
    },
    async (request, reply) => {
      const created = await deps.subscriptions.register(tenantOf(request), request.body);
      return reply.status(201).send(subscriptionView(created));
    },
  );

  app.post(
    `${base}/webhook-subscriptions/ensure`,
    {
      config: { access: MANAGE },
      schema: {
        tags: ['webhook subscriptions'],
        summary: 'Make the shop match the desired topics: register the missing (in parallel), remove strays',
        params: tenantParams,
        response: { 200: ensureResultSchema, ...errors },
      },
    },
    async (request) => {
      const result = await deps.subscriptions.ensure(tenantOf(request));
      return {
        ...result,
        created: result.created.map(subscriptionView),
        deleted: result.deleted.map((d) => ({ ...d, id: numericId(d.id), gid: d.id })),
      };
    },
  );

  app.get(
    `${base}/webhook-subscriptions/settings`,
    {
      config: { access: MANAGE },
      schema: {
        tags: ['webhook subscriptions'],
        summary: 'The desired topics and the last ensure result',
        params: tenantParams,
        response: { 200: subscriptionSettingsSchema, ...errors },
      },
    },
    async (request) => deps.subscriptions.settings(tenantOf(request)),
  );

  app.put(
    `${base}/webhook-subscriptions/settings`,
    {
      config: { access: MANAGE },
      schema: {
        tags: ['webhook subscriptions'],
        summary: 'Set the desired topics (null: the default set); run ensure to apply them',
        params: tenantParams,
        body: settingsBody,
        response: { 200: subscriptionSettingsSchema, ...errors },
      },
    },
    async (request) => {
      const tenantId = tenantOf(request);
      await deps.subscriptions.setDesiredTopics(tenantId, request.body.topics);
      return deps.subscriptions.settings(tenantId);
    },
  );

  app.get(
    `${base}/webhook-subscriptions/:id`,
    {
      config: { access: MANAGE },
      schema: {
        tags: ['webhook subscriptions'],
        summary: 'One webhook subscription',
        params: subscriptionParams,
        response: { 200: subscriptionSchema, ...errors },
      },
    },
    async (request) =>
      subscriptionView(
        await deps.subscriptions.get(
          tenantOf(request),
          `gid://shopify/WebhookSubscription/${request.params.id}`,
        ),
      ),
  );

  app.delete(
    `${base}/webhook-subscriptions/:id`,
    {
      config: { access: MANAGE },
      schema: {
        tags: ['webhook subscriptions'],
        summary: 'Delete a webhook subscription at Shopify',
        params: subscriptionParams,
        response: { 204: z.null(), ...errors },
      },
    },
    async (request, reply) => {
      await deps.subscriptions.remove(
        tenantOf(request),
        `gid://shopify/WebhookSubscription/${request.params.id}`,
      );
      return reply.status(204).send(null);
    },
  );

  // ---------------------------------------------------------------- compliance log

  const complianceView = (r: Record<string, any>) => ({
    id: r.id as string,
    eventId: Number(r.inbox_id),
    topic: r.topic as string,
    shopDomain: r.shop_domain as string,
    customerId: r.shopify_customer_id === null ? null : Number(r.shopify_customer_id),
    customerEmail: r.customer_email as string | null,
    orderIds: ((r.order_ids as (string | number)[] | null) ?? []).map(Number),
    dataRequestId: r.data_request_id === null ? null : Number(r.data_request_id),
    status: r.status,
    requestedAt: new Date(r.requested_at).toISOString(),
    completedAt: r.completed_at ? new Date(r.completed_at).toISOString() : null,
    summary: (r.summary as Record<string, unknown> | null) ?? null,
    error: r.error as string | null,
  });

  app.get(
    `${base}/compliance-requests`,
    {
      config: { access: MANAGE },
      schema: {
        tags: ['events'],
        summary:
          'The compliance log: GDPR requests (data request, customer redact, shop redact) and their outcome',
        params: tenantParams,
        querystring: paginationQuery,
        response: {
          200: z.object({ requests: z.array(complianceRequestSchema), nextCursor: z.string().nullable() }),
          ...errors,
        },
      },
    },
    async (request) => {
      const tenantId = tenantOf(request);
      const before = decodeCursor<{ before: string }>(request.query.cursor)?.before;
      const page = await request.auth.withTenant((tx) =>
        listComplianceRequests(
          tx,
          tenantId,
          request.query.limit,
          typeof before === 'string' ? before : undefined,
        ),
      );
      const requests = page.requests.map(complianceView);
      const last = requests.at(-1);
      return { requests, nextCursor: page.more && last ? encodeCursor({ before: last.requestedAt }) : null };
    },
  );

  app.get(
    `${base}/compliance-requests/:id`,
    {
      config: { access: MANAGE },
      schema: {
        tags: ['events'],
        summary: 'One compliance request, with the data export of a customers/data_request',
        params: complianceParams,
        response: { 200: complianceDetailSchema, ...errors },
      },
    },
    async (request) => {
      const tenantId = tenantOf(request);
      const row = await request.auth.withTenant((tx) =>
        getComplianceRequest(tx, tenantId, request.params.id),
      );
      return { ...complianceView(row), export: row.export ?? null };
    },
  );
}
