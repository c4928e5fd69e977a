import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authHeaders,
  basic,
  call,
  type Credentials,
  createApiKey,
  createOperatorSession,
  createStaff,
  createTenant,
} from '../support/identity.ts';
import { signedDelivery, startWebhookStack, type WebhookStack, waitFor } from '../support/webhooks.ts';

// The event log API (issue 6): list and filter, one event with its attempts, replay one or many,
// the live stream (SSE), counts, retention, and who may do what.

const SHOP = 'event-log-shop.myshopify.com';
let stack: WebhookStack;
let tenantId: string;
let operator: Credentials;
const created: { id: number; eventId: string; webhookId: string; topic: string }[] = [];

beforeAll(async () => {
  stack = await startWebhookStack();
  tenantId = await stack.installShop(SHOP);
  operator = await createOperatorSession(stack.server);
  const results = [
    () => stack.sim.createRecord(SHOP, 'products', { title: 'Searchable Teapot' }),
    () => stack.sim.createRecord(SHOP, 'customers', { firstName: 'Evelyn' }),
    () => stack.sim.createRecord(SHOP, 'orders', {}),
  ];
  for (const create of results) {
    const result = create();
    const d = result.deliveries[0];
    created.push({ id: result.id, eventId: d.eventId, webhookId: d.webhookId, topic: d.topic });
    await stack.sim.waitForDeliveries({ eventId: d.eventId, count: 1 });
  }
  await stack.settled(tenantId);
});
afterAll(async () => {
  await stack?.close();
});

const api = (method: string, path: string, body?: unknown, who: Credentials = operator) =>
  call(stack.server, who, method, `/api/v1/tenants/${tenantId}${path}`, body);
const idOf = async (webhookId: string) =>
  Number((await stack.q('SELECT id FROM webhook_inbox WHERE webhook_id = $1', [webhookId]))[0].id);

describe('listing and reading', () => {
  it('lists the tenant events newest first with cursor pagination', async () => {
    const first = await api('GET', '/events?limit=2');
    expect(first.status, first.text).toBe(200);
    expect(first.body.events).toHaveLength(2);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await api('GET', `/events?limit=2&cursor=${first.body.nextCursor}`);
    const ids = [...first.body.events, ...second.body.events].map((e: any) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(new Set(ids).size).toBe(ids.length);
    expect(first.body.events[0]).toMatchObject({
      shopDomain: SHOP,
      status: expect.any(String),
      payloadPruned: false,
      trigger: 'delivery',
    });
  });

  it('filters by topic, status, shop, time and text', async () => {
    const byTopic = await api('GET', '/events?topic=customers/create');
    expect(byTopic.body.events.map((e: any) => e.topic)).toEqual(['customers/create']);
    const byStatus = await api('GET', '/events?status=processed,duplicate');
    expect(byStatus.body.events.length).toBeGreaterThanOrEqual(3);
    expect(byStatus.body.events.every((e: any) => ['processed', 'duplicate'].includes(e.status))).toBe(true);
    const none = await api('GET', '/events?status=dead');
    expect(none.body.events).toEqual([]);
    const byText = await api('GET', '/events?q=searchable%20TEAPOT');
    expect(byText.body.events.map((e: any) => e.webhookId)).toEqual([created[0].webhookId]);
    const byWebhookId = await api('GET', `/events?q=${created[1].webhookId}`);
    expect(byWebhookId.body.events).toHaveLength(1);
    const byShop = await api('GET', `/events?shop=${SHOP}&limit=250`);
    expect(byShop.body.events.length).toBeGreaterThanOrEqual(3);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const later = await api('GET', `/events?from=${encodeURIComponent(future)}`);
    expect(later.body.events).toEqual([]);
    const bad = await api('GET', '/events?status=exploded');
    expect(bad.status).toBe(422);
  });

  it('reads one event with its payload and attempts, and hides other tenants and orphans', async () => {
    const id = await idOf(created[2].webhookId);
    const res = await api('GET', `/events/${id}`);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({
      id,
      topic: 'orders/create',
      status: 'processed',
      eventId: created[2].eventId,
    });
    expect(res.body.payload.id).toBe(created[2].id);
    expect(res.body.history).toEqual([
      expect.objectContaining({ attempt: 1, trigger: 'delivery', outcome: 'processed', error: null }),
    ]);
    const orphan = signedDelivery({
      secret: stack.apiSecret,
      shop: 'stranger.myshopify.com',
      topic: 'orders/create',
    });
    expect((await stack.post(orphan)).status).toBe(200);
    const orphanId = await idOf(orphan.webhookId);
    expect((await api('GET', `/events/${orphanId}`)).status).toBe(404);
    const other = await createTenant(stack.server);
    const foreign = await call(stack.server, operator, 'GET', `/api/v1/tenants/${other.id}/events/${id}`);
    expect(foreign.status).toBe(404);
  });

  it('counts events by topic and status', async () => {
    const res = await api('GET', '/events/stats');
    expect(res.status, res.text).toBe(200);
    expect(res.body.counts).toContainEqual({ topic: 'products/create', status: 'processed', count: 1 });
  });
});

describe('replay', () => {
  it('replays every event matching a filter through the same handlers', async () => {
    const res = await api('POST', '/events/replay', { topic: 'products/create' });
    expect(res.status, res.text).toBe(202);
    expect(res.body).toMatchObject({ queued: 1, limitReached: false });
    await stack.settled(tenantId);
    const detail = await api('GET', `/events/${res.body.eventIds[0]}`);
    expect(detail.body.history.map((a: any) => `${a.trigger}:${a.outcome}`)).toEqual([
      'delivery:processed',
      'replay:processed',
    ]);
    const [{ n }] = await stack.q(
      'SELECT count(*)::int AS n FROM shop_products WHERE tenant_id = $1 AND id = $2',
      [tenantId, created[0].id],
    );
    expect(n).toBe(1);
  });

  it('answers 404 for an unknown event and 409 for one already waiting', async () => {
    expect((await api('POST', '/events/999999999/replay')).status).toBe(404);
    const id = await idOf(created[1].webhookId);
    await stack.q(
      `UPDATE webhook_inbox SET status = 'pending', run_at = now() + interval '1 hour' WHERE id = $1`,
      [id],
    );
    const busy = await api('POST', `/events/${id}/replay`);
    expect(busy.status).toBe(409);
    expect(busy.body.error.code).toBe('EVENT_IN_PROGRESS');
    await stack.q(`UPDATE webhook_inbox SET run_at = now() WHERE id = $1`, [id]);
    await stack.settled(tenantId);
  });
});

describe('live stream', () => {
  it('streams status changes of the tenant over SSE', async () => {
    const controller = new AbortController();
    const res = await stack.server.fetch(`/api/v1/tenants/${tenantId}/events/stream`, {
      headers: authHeaders(operator),
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    const events: any[] = [];
    const reading = (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          text += Buffer.from(value).toString();
          const blocks = text.split('\n\n');
          text = blocks.pop() ?? '';
          for (const block of blocks) {
            const data = block.split('\n').find((l) => l.startsWith('data: '));
            if (block.includes('event: webhook') && data) events.push(JSON.parse(data.slice(6)));
          }
        }
      } catch {
        // aborted
      }
    })();
    const result = stack.sim.createRecord(SHOP, 'products', { title: 'Streamed Kettle' });
    const webhookId = result.deliveries[0].webhookId;
    const id = await waitFor(async () => {
      const rows = await stack.q('SELECT id FROM webhook_inbox WHERE webhook_id = $1', [webhookId]);
      return rows[0] ? Number(rows[0].id) : undefined;
    });
    await waitFor(async () => events.some((e) => e.id === id && e.status === 'processed'));
    const mine = events.filter((e) => e.id === id);
    expect(mine.map((e) => e.status)).toEqual(['pending', 'processed']);
    expect(mine[1]).toMatchObject({ topic: 'products/create', attempts: 1, error: null });
    expect(mine[1].tenantId).toBeUndefined();
    controller.abort();
    await reading;
  });
});

describe('retention', () => {
  it('prunes payloads of applied events, keeps the rows and the counts, then deletes old rows', async () => {
    const before = await api('GET', '/events/stats');
    const pruned = await stack.server.deps.webhooks.runRetention({ payloadRetentionMs: 0 });
    expect(pruned.payloadsPruned).toBeGreaterThan(0);
    const list = await api('GET', '/events?limit=250');
    const applied = list.body.events.filter((e: any) => e.status === 'processed');
    expect(applied.length).toBeGreaterThan(0);
    expect(applied.every((e: any) => e.payloadPruned && e.payloadBytes > 0)).toBe(true);
    const replay = await api('POST', `/events/${applied[0].id}/replay`);
    expect(replay.status).toBe(409);
    expect(replay.body.error.code).toBe('EVENT_PAYLOAD_PRUNED');

    const deleted = await stack.server.deps.webhooks.runRetention({
      now: new Date(Date.now() + 86_400_000),
      eventRetentionMs: 1,
    });
    expect(deleted.eventsDeleted).toBeGreaterThan(0);
    expect((await api('GET', '/events')).body.events).toEqual([]);
    const after = await api('GET', '/events/stats');
    expect(after.body.counts).toEqual(before.body.counts);
  });
});

describe('access', () => {
  it('lets readers read, and only owners, operators and events:replay keys replay', async () => {
    const reader = await createApiKey(stack.server, { id: tenantId }, { scopes: ['events:read'] });
    const replayer = await createApiKey(
      stack.server,
      { id: tenantId },
      { scopes: ['events:read', 'events:replay'] },
    );
    const staff = basic(await createStaff(stack.server, { id: tenantId }, { role: 'staff' }));
    const owner = basic(await createStaff(stack.server, { id: tenantId }, { role: 'owner' }));
    const outsider = basic(
      await createStaff(stack.server, await createTenant(stack.server), { role: 'owner' }),
    );
    const body = { topic: 'orders/create', limit: 1 };

    expect((await api('GET', '/events', undefined, { kind: 'none' })).status).toBe(401);
    expect((await api('GET', '/events', undefined, reader.credentials)).status).toBe(200);
    expect((await api('GET', '/dead-letters', undefined, staff)).status).toBe(200);
    expect((await api('GET', '/events', undefined, outsider)).status).toBe(404);
    expect((await api('POST', '/events/replay', body, reader.credentials)).status).toBe(403);
    expect((await api('POST', '/events/replay', body, staff)).status).toBe(403);
    expect((await api('POST', '/events/replay', body, replayer.credentials)).status).toBe(202);
    expect((await api('POST', '/events/replay', body, owner)).status).toBe(202);
    expect((await api('GET', '/compliance-requests', undefined, staff)).status).toBe(403);
    expect((await api('GET', '/webhook-subscriptions', undefined, reader.credentials)).status).toBe(403);
  });
});
