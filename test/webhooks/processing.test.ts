import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInboxWriter } from '../../src/webhooks/inbox.ts';
import type { WebhookEvent } from '../../src/webhooks/index.ts';
import { call, type Credentials, createOperatorSession } from '../support/identity.ts';
import { startWebhookStack, type WebhookStack, waitFor } from '../support/webhooks.ts';

// Processing (issue 6): handlers for products, orders and customers through the simulator's real
// deliveries, order safety, one application per Shopify event, retries → dead letter → replay,
// uninstall and the bulk-operation hand-over.

const SHOP = 'processing-shop.myshopify.com';
let stack: WebhookStack;
let tenantId: string;
let operator: Credentials;

beforeAll(async () => {
  stack = await startWebhookStack();
  tenantId = await stack.installShop(SHOP);
  operator = await createOperatorSession(stack.server);
});
afterAll(async () => {
  await stack?.close();
});

const row = async (table: string, id: number) =>
  (await stack.q(`SELECT * FROM ${table} WHERE tenant_id = $1 AND id = $2`, [tenantId, id]))[0];
const children = (table: string, column: string, id: number) =>
  stack.q(`SELECT * FROM ${table} WHERE tenant_id = $1 AND ${column} = $2 ORDER BY id`, [tenantId, id]);
/** Waits until the simulator's deliveries of an event are acknowledged and StoreOps has applied them. */
async function delivered(deliveries: { eventId: string }[]) {
  for (const d of deliveries) await stack.sim.waitForDeliveries({ eventId: d.eventId, count: 1 });
  await stack.settled(tenantId);
}
const api = (method: string, path: string, body?: unknown) =>
  call(stack.server, operator, method, `/api/v1/tenants/${tenantId}${path}`, body);

describe('products, orders and customers', () => {
  it('mirrors a product through create, update and delete (a tombstone stays)', async () => {
    const created = stack.sim.createRecord(SHOP, 'products', { title: 'Oak Shelf', tags: ['wood', 'home'] });
    await delivered(created.deliveries);
    const product = await row('shop_products', created.id);
    expect(product).toMatchObject({
      title: 'Oak Shelf',
      tags: ['home', 'wood'],
      status: 'active',
      deleted_at: null,
    });
    const variants = await children('shop_product_variants', 'product_id', created.id);
    expect(variants.length).toBeGreaterThan(0);
    expect(typeof variants[0].price).toBe('string');
    expect(variants[0].price).toMatch(/^\d+\.\d{2}$/);

    stack.advanceSimClock(2_000);
    const updated = stack.sim.updateRecord(SHOP, 'products', created.id, {
      title: 'Oak Shelf XL',
      variants: [{ price: '129.99' }],
    });
    await delivered(updated.deliveries);
    expect((await row('shop_products', created.id)).title).toBe('Oak Shelf XL');
    expect((await children('shop_product_variants', 'product_id', created.id))[0].price).toBe('129.99');

    const deleted = stack.sim.deleteRecord(SHOP, 'products', created.id);
    await delivered(deleted.deliveries);
    const tombstone = await row('shop_products', created.id);
    expect(tombstone.deleted_at).not.toBeNull();
    expect(tombstone.title).toBeNull();
    expect(await children('shop_product_variants', 'product_id', created.id)).toEqual([]);
  });

  it('mirrors an order with its line items, totals as exact decimals', async () => {
    const created = stack.sim.createRecord(SHOP, 'orders', {
      lineItems: [
        { title: 'Mug', quantity: 2, price: '12.30' },
        { title: 'Plate', quantity: 1, price: '7.05' },
      ],
    });
    await delivered(created.deliveries);
    const order = await row('shop_orders', created.id);
    const payload = JSON.parse(created.deliveries[0].body);
    expect(order).toMatchObject({
      name: payload.name,
      currency: payload.currency,
      total_price: payload.total_price,
      subtotal_price: payload.subtotal_price,
      financial_status: payload.financial_status,
      email: payload.email,
    });
    const lines = await children('shop_order_line_items', 'order_id', created.id);
    expect(lines.map((l) => [l.title, l.quantity, l.price])).toEqual([
      ['Mug', 2, '12.30'],
      ['Plate', 1, '7.05'],
    ]);

    stack.advanceSimClock(2_000);
    const cancelled = stack.sim.updateRecord(SHOP, 'orders', created.id, {
      cancelReason: 'customer',
      tags: ['vip'],
    });
    await delivered(cancelled.deliveries);
    const after = await row('shop_orders', created.id);
    expect(after.cancel_reason).toBe('customer');
    expect(after.tags).toEqual(['vip']);

    const deleted = stack.sim.deleteRecord(SHOP, 'orders', created.id);
    await delivered(deleted.deliveries);
    expect((await row('shop_orders', created.id)).deleted_at).not.toBeNull();
    expect(await children('shop_order_line_items', 'order_id', created.id)).toEqual([]);
  });

  it('mirrors a customer through create, update and delete', async () => {
    const created = stack.sim.createRecord(SHOP, 'customers', {
      firstName: 'Ada',
      email: 'ada@example.test',
    });
    await delivered(created.deliveries);
    expect(await row('shop_customers', created.id)).toMatchObject({
      first_name: 'Ada',
      email: 'ada@example.test',
    });
    stack.advanceSimClock(2_000);
    const updated = stack.sim.updateRecord(SHOP, 'customers', created.id, {
      lastName: 'Lovelace',
      tags: ['b', 'a'],
    });
    await delivered(updated.deliveries);
    expect(await row('shop_customers', created.id)).toMatchObject({
      last_name: 'Lovelace',
      tags: ['a', 'b'],
    });
    const deleted = stack.sim.deleteRecord(SHOP, 'customers', created.id);
    await delivered(deleted.deliveries);
    expect(await row('shop_customers', created.id)).toMatchObject({ email: null, first_name: null });
    expect((await row('shop_customers', created.id)).deleted_at).not.toBeNull();
  });
});

describe('order safety and duplicates', () => {
  it('keeps the newest version when an older update arrives late (out of order)', async () => {
    const created = stack.sim.createRecord(SHOP, 'products', { title: 'Version 1' });
    await delivered(created.deliveries);
    stack.advanceSimClock(2_000);
    // The next update is held back by the simulator; a newer one overtakes it.
    stack.sim.setChaos({ webhookOutOfOrderRate: 1, webhookOutOfOrderDelayMs: 800 }, SHOP);
    const older = stack.sim.updateRecord(SHOP, 'products', created.id, { title: 'Version 2 (late)' });
    stack.sim.resetChaos();
    stack.advanceSimClock(2_000);
    const newer = stack.sim.updateRecord(SHOP, 'products', created.id, { title: 'Version 3' });
    await delivered(newer.deliveries);
    expect((await row('shop_products', created.id)).title).toBe('Version 3');
    await delivered(older.deliveries);
    const [late] = await stack.q('SELECT * FROM webhook_inbox WHERE webhook_id = $1', [
      older.deliveries[0].webhookId,
    ]);
    const [overtaking] = await stack.q('SELECT * FROM webhook_inbox WHERE webhook_id = $1', [
      newer.deliveries[0].webhookId,
    ]);
    expect(Number(late.id)).toBeGreaterThan(Number(overtaking.id));
    expect(late.status).toBe('processed');
    expect((await row('shop_products', created.id)).title).toBe('Version 3');
  });

  it('never resurrects a deleted record from a late update', async () => {
    const created = stack.sim.createRecord(SHOP, 'customers', { firstName: 'Late' });
    await delivered(created.deliveries);
    stack.advanceSimClock(2_000);
    stack.sim.setChaos({ webhookOutOfOrderRate: 1, webhookOutOfOrderDelayMs: 800 }, SHOP);
    const update = stack.sim.updateRecord(SHOP, 'customers', created.id, { firstName: 'Zombie' });
    stack.sim.resetChaos();
    const deleted = stack.sim.deleteRecord(SHOP, 'customers', created.id);
    await delivered([...deleted.deliveries, ...update.deliveries]);
    const customer = await row('shop_customers', created.id);
    expect(customer.deleted_at).not.toBeNull();
    expect(customer.first_name).toBeNull();
  });

  it('applies one Shopify event once even when two subscriptions deliver it', async () => {
    let applied = 0;
    stack.server.deps.webhooks.subscribe('shopify', ['products/update'], {
      name: 'count-product-updates',
      async apply(_tx, events: WebhookEvent[]) {
        applied += events.length;
      },
    });
    // A second subscription to the same topic: Shopify sends each event once per subscription,
    // with its own X-Shopify-Webhook-Id and the same X-Shopify-Event-Id.
    const second = await api('POST', '/webhook-subscriptions', {
      topic: 'products/update',
      uri: `${stack.server.url}/webhooks?subscription=second`,
    });
    expect(second.status, second.text).toBe(201);

    const created = stack.sim.createRecord(SHOP, 'products', { title: 'Twice Sent' });
    await delivered(created.deliveries);
    stack.advanceSimClock(2_000);
    const updated = stack.sim.updateRecord(SHOP, 'products', created.id, { title: 'Sent Twice' });
    expect(updated.deliveries).toHaveLength(2);
    expect(new Set(updated.deliveries.map((d) => d.eventId)).size).toBe(1);
    await delivered(updated.deliveries);

    const rows = await stack.q('SELECT status FROM webhook_inbox WHERE event_id = $1 ORDER BY status', [
      updated.deliveries[0].eventId,
    ]);
    expect(rows.map((r) => r.status)).toEqual(['duplicate', 'processed']);
    expect(applied).toBe(1);
    expect((await row('shop_products', created.id)).title).toBe('Sent Twice');

    // ensure removes the stray subscription (another address) again.
    const ensured = await api('POST', '/webhook-subscriptions/ensure');
    expect(ensured.status, ensured.text).toBe(200);
    expect(ensured.body.deleted).toEqual([
      expect.objectContaining({ id: second.body.id, topic: 'products/update', reason: 'other address' }),
    ]);
  });
});

describe('failures, retries, dead letters and replay', () => {
  it('retries a failing event with backoff, dead-letters it, and a replay applies it once', async () => {
    let failing = true;
    let successes = 0;
    stack.server.deps.webhooks.subscribe('shopify', ['orders/create'], {
      name: 'flaky-downstream',
      async apply(_tx, events) {
        if (failing) throw new Error('downstream unavailable');
        successes += events.length;
      },
    });
    const created = stack.sim.createRecord(SHOP, 'orders', {});
    await stack.sim.waitForDeliveries({ eventId: created.deliveries[0].eventId, count: 1 });
    const [event] = await stack.q<{ id: number }>(
      'SELECT id::int AS id FROM webhook_inbox WHERE webhook_id = $1',
      [created.deliveries[0].webhookId],
    );
    const dead = await waitFor(async () => {
      const res = await api('GET', `/events/${event.id}`);
      return res.body.status === 'dead' ? res.body : undefined;
    });
    expect(dead.attempts).toBe(3);
    expect(dead.lastError).toContain('downstream unavailable');
    expect(dead.history.map((a: any) => a.outcome)).toEqual(['failed', 'failed', 'dead']);
    expect(new Set(dead.history.map((a: any) => a.error))).toEqual(
      new Set(['Error: downstream unavailable']),
    );
    // The order upsert ran in the same transaction as the failing handler: nothing was applied.
    expect(await row('shop_orders', created.id)).toBeUndefined();

    const letters = await api('GET', '/dead-letters');
    expect(letters.body.events.map((e: any) => e.id)).toContain(event.id);

    failing = false;
    const replay = await api('POST', `/events/${event.id}/replay`);
    expect(replay.status, replay.text).toBe(202);
    expect(replay.body).toMatchObject({ status: 'pending', trigger: 'replay', attempts: 0 });
    const done = await waitFor(async () => {
      const res = await api('GET', `/events/${event.id}`);
      return res.body.status === 'processed' ? res.body : undefined;
    });
    expect(done.history.map((a: any) => `${a.trigger}:${a.outcome}`)).toEqual([
      'delivery:failed',
      'delivery:failed',
      'delivery:dead',
      'replay:processed',
    ]);
    expect(successes).toBe(1);
    expect(Number((await row('shop_orders', created.id)).id)).toBe(created.id);
    expect(
      await stack.q('SELECT 1 FROM shop_orders WHERE tenant_id = $1 AND id = $2', [tenantId, created.id]),
    ).toHaveLength(1);

    // Replaying a processed event applies it again through the same idempotent handlers.
    const again = await api('POST', `/events/${event.id}/replay`);
    expect(again.status).toBe(202);
    await stack.settled(tenantId);
    expect(successes).toBe(2);
    expect(
      await stack.q('SELECT 1 FROM shop_orders WHERE tenant_id = $1 AND id = $2', [tenantId, created.id]),
    ).toHaveLength(1);
  });

  it('dead-letters a permanently invalid payload at once and redrives dead letters', async () => {
    let broken = true;
    stack.server.deps.webhooks.subscribe('shopify', ['customers/create'], {
      name: 'gate',
      async apply() {
        if (broken) throw new Error('gate closed');
      },
    });
    const first = stack.sim.createRecord(SHOP, 'customers', {});
    const second = stack.sim.createRecord(SHOP, 'customers', {});
    await delivered([...first.deliveries, ...second.deliveries]);
    const ids = (
      await stack.q('SELECT id FROM webhook_inbox WHERE webhook_id = ANY($1) ORDER BY id', [
        [first.deliveries[0].webhookId, second.deliveries[0].webhookId],
      ])
    ).map((r) => Number(r.id));
    const letters = await api('GET', '/dead-letters?topic=customers/create');
    expect(letters.body.events.map((e: any) => e.id)).toEqual(expect.arrayContaining(ids));

    broken = false;
    const one = await api('POST', `/dead-letters/${ids[0]}/redrive`);
    expect(one.status, one.text).toBe(202);
    expect(one.body.trigger).toBe('redrive');
    const rest = await api('POST', '/dead-letters/redrive', { topic: 'customers/create' });
    expect(rest.status, rest.text).toBe(202);
    expect(rest.body.eventIds).toContain(ids[1]);
    await stack.settled(tenantId);
    expect(await row('shop_customers', first.id)).toBeDefined();
    expect(await row('shop_customers', second.id)).toBeDefined();

    // Only dead letters can be redriven.
    const notDead = await api('POST', `/dead-letters/${ids[0]}/redrive`);
    expect(notDead.status).toBe(409);
    expect(notDead.body.error.code).toBe('EVENT_NOT_DEAD');
  });
});

describe('app and sync topics', () => {
  it('hands bulk_operations/finish to the sync listener inside the event transaction', async () => {
    const seen: { id: string; status: string }[] = [];
    stack.server.deps.webhooks.subscribe('shopify', ['bulk_operations/finish'], {
      name: 'bulk-listener',
      async apply(tx, events) {
        for (const e of events) {
          const [{ n }] = (
            await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM webhook_inbox WHERE id = $1', [
              e.id,
            ])
          ).rows;
          expect(n).toBe(1);
          const op = e.payload as { admin_graphql_api_id: string; status: string };
          seen.push({ id: op.admin_graphql_api_id, status: op.status.toUpperCase() });
        }
      },
    });
    const client = await stack.server.deps.shopify.adminClient(tenantId);
    const { data } = await client.request<any>(
      `mutation { bulkOperationRunQuery(query: "{ products { edges { node { id title } } } }") {
         bulkOperation { id status } userErrors { message } } }`,
    );
    const id = data.bulkOperationRunQuery.bulkOperation.id;
    await waitFor(async () => seen.find((s) => s.id === id));
    expect(seen.find((s) => s.id === id)?.status).toBe('COMPLETED');
  });

  it('runs the uninstall path for app/uninstalled', async () => {
    const shop = 'uninstalling-shop.myshopify.com';
    const uninstalledTenant = await stack.installShop(shop);
    const deliveries = stack.sim.uninstall(shop);
    expect(deliveries.map((d) => d.topic)).toContain('app/uninstalled');
    await stack.sim.waitForDeliveries({ shop, topic: 'app/uninstalled', count: 1 });
    await stack.settled(uninstalledTenant);
    const held = await stack.server.deps.shopify.resolveShop(shop);
    expect(held?.status).toBe('uninstalled');
    const [tenant] = await stack.q('SELECT status FROM tenants WHERE id = $1', [uninstalledTenant]);
    expect(tenant.status).toBe('uninstalled');
    const [connection] = await stack.q(
      'SELECT access_token_enc FROM shopify_connections WHERE shop_domain = $1',
      [shop],
    );
    expect(connection.access_token_enc).toBeNull();
    const events = await stack.inbox(uninstalledTenant);
    expect(events.find((e) => e.topic === 'app/uninstalled')?.status).toBe('processed');
  });
});

describe('sources', () => {
  it("stores another source's delivery with the same dedupe key, and subscribe(source…) sees only its source", async () => {
    const testSeen: WebhookEvent[] = [];
    const shopifySeen: number[] = [];
    stack.server.deps.webhooks.subscribe('test', ['products/update'], {
      name: 'test-source',
      async apply(_tx, events) {
        testSeen.push(...events);
      },
    });
    stack.server.deps.webhooks.subscribe('shopify', ['products/update'], {
      name: 'shopify-source',
      async apply(_tx, events) {
        shopifySeen.push(...events.map((e) => e.id));
      },
    });
    const created = stack.sim.createRecord(SHOP, 'products', { title: 'From Shopify' });
    await delivered(created.deliveries);
    stack.advanceSimClock(2_000);
    const updated = stack.sim.updateRecord(SHOP, 'products', created.id, { title: 'Updated at Shopify' });
    await delivered(updated.deliveries);
    const [shopifyRow] = await stack.q(
      'SELECT id, source, dedupe_key, payload FROM webhook_inbox WHERE webhook_id = $1',
      [updated.deliveries[0].webhookId],
    );
    expect(shopifyRow.source).toBe('shopify');
    expect(shopifyRow.dedupe_key).toBe(`${SHOP}/${updated.deliveries[0].webhookId}`);

    // Same key, another source: a different delivery, kept (and a repeat of it is a duplicate).
    const inbox = createInboxWriter({
      database: stack.server.deps.database,
      logger: stack.server.deps.logger,
    });
    const payload = {
      ...shopifyRow.payload,
      title: 'From the test source',
      updated_at: new Date().toISOString(),
    };
    const delivery = () => ({
      source: 'test',
      dedupeKey: shopifyRow.dedupe_key,
      tenantId,
      shopDomain: SHOP,
      topic: 'products/update',
      webhookId: 'test-delivery-1',
      eventId: null,
      triggeredAt: null,
      apiVersion: null,
      body: Buffer.from(JSON.stringify(payload)),
    });
    const stored = await inbox.store(delivery());
    expect(stored.stored).toBe(true);
    expect(await inbox.store(delivery())).toEqual({ stored: false });
    await inbox.close();
    const rows = await stack.q('SELECT source FROM webhook_inbox WHERE dedupe_key = $1 ORDER BY source', [
      shopifyRow.dedupe_key,
    ]);
    expect(rows.map((r) => r.source)).toEqual(['shopify', 'test']);

    await stack.server.deps.webhooks.processDue();
    await stack.settled(tenantId);
    const testId = stored.stored ? stored.id : -1;
    expect(testSeen.map((e) => [e.id, e.source])).toEqual([[testId, 'test']]);
    expect(shopifySeen).toContain(Number(shopifyRow.id));
    expect(shopifySeen).not.toContain(testId);
    // The mirror subscribes to Shopify only: the test source's product never reached it.
    expect((await row('shop_products', created.id)).title).toBe('Updated at Shopify');
    const [event] = await stack.q('SELECT status FROM webhook_inbox WHERE id = $1', [testId]);
    expect(event.status).toBe('processed');

    // The event log lists and filters by source.
    const listed = await api('GET', '/events?source=test');
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.events.map((e: any) => [e.id, e.source])).toEqual([[testId, 'test']]);
  });
});
