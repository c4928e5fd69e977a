import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TOPICS } from '../../src/webhooks/index.ts';
import { basic, call, type Credentials, createOperatorSession, createStaff } from '../support/identity.ts';
import { startWebhookStack, type WebhookStack } from '../support/webhooks.ts';

// Webhook subscriptions through the Admin GraphQL API of the simulator (issue 6, seed 000's
// webhook management API): ensured on install, listed, read, registered, deleted, re-ensured.

const SHOP = 'subscriptions-shop.myshopify.com';
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

const api = (method: string, path: string, body?: unknown, who: Credentials = operator) =>
  call(stack.server, who, method, `/api/v1/tenants/${tenantId}/webhook-subscriptions${path}`, body);

describe('webhook subscriptions', () => {
  it('are ensured on install: every default topic, once, to this server', async () => {
    const res = await api('GET', '');
    expect(res.status, res.text).toBe(200);
    const topics = res.body.subscriptions.map((s: any) => s.topic).sort();
    expect(topics).toEqual([...DEFAULT_TOPICS].sort());
    for (const s of res.body.subscriptions) {
      expect(s.uri).toBe(`${stack.server.url}/webhooks`);
      expect(s.format).toBe('JSON');
      expect(s.gid).toBe(`gid://shopify/WebhookSubscription/${s.id}`);
    }
    const settings = await api('GET', '/settings');
    expect(settings.body).toMatchObject({ isDefault: true, callbackUrl: `${stack.server.url}/webhooks` });
    expect(settings.body.lastEnsuredAt).not.toBeNull();
  });

  it('reads, registers and deletes one subscription', async () => {
    const created = await api('POST', '', { topic: 'shop/update' });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ topic: 'shop/update', uri: `${stack.server.url}/webhooks` });
    const one = await api('GET', `/${created.body.id}`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual(created.body);
    const removed = await api('DELETE', `/${created.body.id}`);
    expect(removed.status).toBe(204);
    expect((await api('GET', `/${created.body.id}`)).status).toBe(404);
    expect((await api('DELETE', `/${created.body.id}`)).status).toBe(404);
    expect((await api('POST', '', { topic: 'orders/exploded' })).status).toBe(422);
  });

  it('ensure makes the shop match the desired topics: removes strays, registers what is missing', async () => {
    // Shopify refuses a second subscription of one topic to one address.
    const duplicate = await api('POST', '', { topic: 'orders/create' });
    expect(duplicate.status).toBe(422);
    expect(duplicate.body.error.code).toBe('SHOPIFY_USER_ERRORS');
    const stray = await api('POST', '', { topic: 'orders/paid' });
    const elsewhere = await api('POST', '', { topic: 'products/create', uri: 'http://127.0.0.1:9/other' });
    expect([stray.status, elsewhere.status]).toEqual([201, 201]);

    const first = await api('POST', '/ensure');
    expect(first.status, first.text).toBe(200);
    const reasons = Object.fromEntries(first.body.deleted.map((d: any) => [d.id, d.reason]));
    expect(reasons[stray.body.id]).toBe('not desired');
    expect(reasons[elsewhere.body.id]).toBe('other address');
    expect(first.body.deleted).toHaveLength(2);
    expect(first.body.created).toEqual([]);
    expect(first.body.kept).toBe(DEFAULT_TOPICS.length);

    const narrowed = await api('PUT', '/settings', { topics: ['orders/create', 'app/uninstalled'] });
    expect(narrowed.status, narrowed.text).toBe(200);
    expect(narrowed.body).toMatchObject({ topics: ['app/uninstalled', 'orders/create'], isDefault: false });
    const second = await api('POST', '/ensure');
    expect(second.body.deleted).toHaveLength(DEFAULT_TOPICS.length - 2);
    expect(second.body.kept).toBe(2);
    expect((await api('GET', '')).body.subscriptions.map((s: any) => s.topic).sort()).toEqual([
      'app/uninstalled',
      'orders/create',
    ]);

    await api('PUT', '/settings', { topics: null });
    const third = await api('POST', '/ensure');
    expect(third.body.created.map((s: any) => s.topic).sort()).toEqual(
      DEFAULT_TOPICS.filter((t) => t !== 'orders/create' && t !== 'app/uninstalled').sort(),
    );
    const again = await api('POST', '/ensure');
    expect(again.body).toMatchObject({ created: [], deleted: [], kept: DEFAULT_TOPICS.length });
  });

  it('is for operators and owners only', async () => {
    const staff = basic(await createStaff(stack.server, { id: tenantId }, { role: 'staff' }));
    const owner = basic(await createStaff(stack.server, { id: tenantId }, { role: 'owner' }));
    expect((await api('GET', '', undefined, staff)).status).toBe(403);
    expect((await api('GET', '', undefined, owner)).status).toBe(200);
    expect((await api('PUT', '/settings', { topics: ['bogus/topic'] }, owner)).status).toBe(422);
  });
});
