import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { call, type Credentials, createOperatorSession } from '../support/identity.ts';
import { signedDelivery, startWebhookStack, type WebhookStack, waitFor } from '../support/webhooks.ts';

// Shopify's mandatory compliance webhooks (issue 6, seed 003): customers/data_request,
// customers/redact and shop/redact, through the simulator, with the compliance log.

const SHOP = 'gdpr-shop.myshopify.com';
let stack: WebhookStack;
let tenantId: string;
let operator: Credentials;
let customerId: number;
let orderIds: number[];

beforeAll(async () => {
  stack = await startWebhookStack();
  tenantId = await stack.installShop(SHOP);
  operator = await createOperatorSession(stack.server);
  const customer = stack.sim.createRecord(SHOP, 'customers', {
    firstName: 'Grace',
    lastName: 'Hopper',
    email: 'grace@example.test',
    phone: '+15550100',
  });
  customerId = customer.id;
  const orders = [1, 2].map(() =>
    stack.sim.createRecord(SHOP, 'orders', { customerId, email: 'grace@example.test' }),
  );
  orderIds = orders.map((o) => o.id);
  for (const d of [...customer.deliveries, ...orders.flatMap((o) => o.deliveries)]) {
    await stack.sim.waitForDeliveries({ eventId: d.eventId, count: 1 });
  }
  await stack.settled(tenantId);
});
afterAll(async () => {
  await stack?.close();
});

const api = (method: string, path: string, tenant = tenantId) =>
  call(stack.server, operator, method, `/api/v1/tenants/${tenant}${path}`);
async function complianceFor(topic: string, tenant = tenantId) {
  const list = await api('GET', '/compliance-requests', tenant);
  expect(list.status, list.text).toBe(200);
  return list.body.requests.filter((r: any) => r.topic === topic);
}
async function deliver(
  shop: string,
  topic: Parameters<WebhookStack['sim']['triggerCompliance']>[1],
  input = {},
) {
  const deliveries = stack.sim.triggerCompliance(shop, topic, input);
  expect(deliveries).toHaveLength(1);
  await stack.sim.waitForDeliveries({ eventId: deliveries[0].eventId, count: 1 });
  return deliveries[0];
}

describe('customers/data_request', () => {
  it('exports everything held on the customer and records it for the operator', async () => {
    await deliver(SHOP, 'customers/data_request', { customerId });
    await stack.settled(tenantId);
    const [entry] = await complianceFor('customers/data_request');
    expect(entry).toMatchObject({
      status: 'completed',
      customerId,
      customerEmail: 'grace@example.test',
      summary: { customerFound: true, orders: 2 },
    });
    expect(entry.completedAt).not.toBeNull();
    expect(entry.orderIds.sort()).toEqual([...orderIds].sort());

    const detail = await api('GET', `/compliance-requests/${entry.id}`);
    expect(detail.status, detail.text).toBe(200);
    const doc = detail.body.export;
    expect(doc.customer).toMatchObject({ id: customerId, email: 'grace@example.test', first_name: 'Grace' });
    expect(doc.orders.map((o: any) => o.id).sort()).toEqual([...orderIds].sort());
    expect(doc.orders[0].line_items.length).toBeGreaterThan(0);
    expect(doc.orders[0].total_price).toMatch(/^\d+\.\d{2}$/);
  });
});

describe('customers/redact', () => {
  it('erases the customer personal data across tables; orders keep their totals', async () => {
    const totalsBefore = await stack.q(
      'SELECT id, total_price, subtotal_price FROM shop_orders WHERE tenant_id = $1 AND id = ANY($2) ORDER BY id',
      [tenantId, orderIds],
    );
    await deliver(SHOP, 'customers/redact', { customerId, orderIds });
    await stack.settled(tenantId);

    const [customer] = await stack.q('SELECT * FROM shop_customers WHERE tenant_id = $1 AND id = $2', [
      tenantId,
      customerId,
    ]);
    expect(customer).toMatchObject({
      email: null,
      first_name: null,
      last_name: null,
      phone: null,
      raw: null,
    });
    expect(customer.redacted_at).not.toBeNull();

    const orders = await stack.q(
      'SELECT id, email, phone, billing_address, shipping_address, raw, total_price, subtotal_price, redacted_at FROM shop_orders WHERE tenant_id = $1 AND id = ANY($2) ORDER BY id',
      [tenantId, orderIds],
    );
    for (const [i, order] of orders.entries()) {
      expect(order).toMatchObject({
        email: null,
        phone: null,
        billing_address: null,
        shipping_address: null,
        raw: null,
      });
      expect(order.redacted_at).not.toBeNull();
      expect(order.total_price).toBe(totalsBefore[i].total_price);
      expect(order.subtotal_price).toBe(totalsBefore[i].subtotal_price);
    }

    // The event log keeps the rows, not the payloads that named the customer.
    const mentions = await stack.q(
      `SELECT topic, payload FROM webhook_inbox WHERE tenant_id = $1
         AND (topic LIKE 'customers/%' OR (topic LIKE 'orders/%' AND (payload->>'id')::bigint = ANY($2)))`,
      [tenantId, orderIds],
    );
    expect(mentions.length).toBeGreaterThan(0);
    expect(mentions.filter((m) => m.payload !== null)).toEqual([]);
    const logs = JSON.stringify(
      await stack.q('SELECT * FROM webhook_compliance_requests WHERE tenant_id = $1', [tenantId]),
    );
    expect(logs).not.toContain('grace@example.test');

    const [entry] = await complianceFor('customers/redact');
    expect(entry).toMatchObject({ status: 'completed', customerId, summary: { customers: 1, orders: 2 } });

    // A later update of the customer does not bring the personal data back.
    stack.advanceSimClock(5_000);
    const update = stack.sim.updateRecord(SHOP, 'customers', customerId, { note: 'called again' });
    await stack.sim.waitForDeliveries({ eventId: update.deliveries[0].eventId, count: 1 });
    await stack.settled(tenantId);
    const [after] = await stack.q(
      'SELECT email, first_name FROM shop_customers WHERE tenant_id = $1 AND id = $2',
      [tenantId, customerId],
    );
    expect(after).toEqual({ email: null, first_name: null });
  });
});

describe('shop/redact', () => {
  it('leaves a shop that is connected again alone (recorded as skipped)', async () => {
    await deliver(SHOP, 'shop/redact');
    await stack.settled(tenantId);
    const [entry] = await complianceFor('shop/redact');
    expect(entry.status).toBe('skipped');
    const [{ n }] = await stack.q('SELECT count(*)::int AS n FROM shop_orders WHERE tenant_id = $1', [
      tenantId,
    ]);
    expect(n).toBeGreaterThan(0);
  });

  it('deletes the shop data after an uninstall; later deliveries are orphaned', async () => {
    const shop = 'leaving-shop.myshopify.com';
    const leaving = await stack.installShop(shop);
    const product = stack.sim.createRecord(shop, 'products', { title: 'Last Product' });
    await stack.sim.waitForDeliveries({ eventId: product.deliveries[0].eventId, count: 1 });
    stack.sim.uninstall(shop);
    await stack.sim.waitForDeliveries({ shop, topic: 'app/uninstalled', count: 1 });
    await stack.settled(leaving);

    const redact = await deliver(shop, 'shop/redact');
    await stack.settled(leaving);
    expect((await stack.server.deps.shopify.resolveShop(shop))?.status).toBe('redacted');
    for (const table of ['shop_products', 'shop_product_variants', 'shop_orders', 'shop_customers']) {
      const [{ n }] = await stack.q(`SELECT count(*)::int AS n FROM ${table} WHERE tenant_id = $1`, [
        leaving,
      ]);
      expect(n, table).toBe(0);
    }
    const remaining = await stack.inbox(leaving);
    expect(remaining.map((r) => r.topic)).toEqual(['shop/redact']);
    expect(remaining[0].webhook_id).toBe(redact.webhookId);
    const [entry] = await complianceFor('shop/redact', leaving);
    expect(entry.status).toBe('completed');
    // What this event deleted (the shop-redact event's own subscriber may have erased first: idempotent).
    expect(entry.summary.deleted).toEqual(expect.objectContaining({ shop_products: expect.any(Number) }));

    const late = signedDelivery({
      secret: stack.apiSecret,
      shop,
      topic: 'products/update',
      payload: { id: product.id, title: 'Too late', updated_at: new Date().toISOString() },
    });
    const res = await stack.post(late);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'orphaned' });
  });
});

describe('one erase per redaction', () => {
  /** Installs a shop with a product, uninstalls it (app/uninstalled) and waits for both to settle. */
  async function uninstalledShop(shop: string) {
    const tenant = await stack.installShop(shop);
    const product = stack.sim.createRecord(shop, 'products', { title: 'Soon Gone' });
    await stack.sim.waitForDeliveries({ eventId: product.deliveries[0].eventId, count: 1 });
    stack.sim.uninstall(shop);
    await stack.sim.waitForDeliveries({ shop, topic: 'app/uninstalled', count: 1 });
    await stack.settled(tenant);
    return tenant;
  }
  /** Waits until the shop-redact event's webhooks subscriber has run for the shop. */
  const subscriberDone = (shop: string) =>
    waitFor(async () => {
      const jobs = await stack.q<{ state: string }>(
        `SELECT state FROM pgboss.job WHERE name = 'shopify.shop-redact.webhooks-erase' AND data->>'shop' = $1`,
        [shop],
      );
      return jobs.length > 0 && jobs.every((j) => j.state === 'completed');
    }, 30_000);
  const productsOf = async (tenant: string) =>
    (await stack.q('SELECT count(*)::int AS n FROM shop_products WHERE tenant_id = $1', [tenant]))[0].n;

  it("erases the shop once when Shopify's shop/redact arrives (not again through the shop-redact event)", async () => {
    const shop = 'erased-once.myshopify.com';
    const tenant = await uninstalledShop(shop);
    const erase = vi.spyOn(stack.server.deps.mirror, 'eraseShop');
    try {
      await deliver(shop, 'shop/redact');
      await stack.settled(tenant);
      await subscriberDone(shop);
      expect(erase.mock.calls.filter((c) => c[1] === tenant)).toHaveLength(1);
      expect(await productsOf(tenant)).toBe(0);
    } finally {
      erase.mockRestore();
    }
  });

  it('erases the shop once, through the same compliance handler, when StoreOps redacts it 48 h after the uninstall', async () => {
    const shop = 'redacted-on-schedule.myshopify.com';
    const tenant = await uninstalledShop(shop);
    const [connection] = await stack.q(
      'SELECT id, uninstalled_at FROM shopify_connections WHERE shop_domain = $1',
      [shop],
    );
    const erase = vi.spyOn(stack.server.deps.mirror, 'eraseShop');
    try {
      const job = {
        connectionId: connection.id,
        uninstalledAt: new Date(connection.uninstalled_at).toISOString(),
      };
      expect(await stack.server.deps.shopify.connections.redact(job, 'scheduled')).toBe(true);
      await subscriberDone(shop);
      await stack.settled(tenant);
      expect(erase.mock.calls.filter((c) => c[1] === tenant)).toHaveLength(1);
      expect(await productsOf(tenant)).toBe(0);
      const [entry] = await complianceFor('shop/redact', tenant);
      expect(entry).toMatchObject({
        status: 'completed',
        summary: expect.objectContaining({ trigger: 'scheduled' }),
      });
      expect(entry.summary.deleted.shop_products).toBeGreaterThan(0);
      const remaining = await stack.inbox(tenant);
      expect(remaining.map((r) => r.topic)).toEqual(['shop/redact']);
    } finally {
      erase.mockRestore();
    }
  });
});
