import { randomBytes } from 'node:crypto';
import {
  allScopes,
  authHeaders,
  call,
  type Credentials,
  createApiKey,
  createOperatorSession,
  createShopper,
  createStaff,
  createTenant,
  login,
  secretsSeen,
} from '../identity.ts';
import { picture, uploadImage } from '../images.ts';
import type { TestServer } from '../server.ts';
import { signedDelivery, startWebhookStack, type WebhookStack, waitFor } from '../webhooks.ts';

// The world the fuzzer attacks (issue 16): a real installed Shopify shop (simulator) with mirrored
// products, customers and orders, webhook events and a compliance request; a native catalog
// (category, product, variant, image, location); staff, keys and a shopper; and a second tenant
// whose owner is the "other tenant" principal. Path parameters are filled with these real ids, so
// hostile input gets past 404 into validation and the handlers. Every credential and stored hash
// is collected so no response may echo one.

/** A caller of the fuzz. `allowed` tells whether an access declaration lets it in (tenant aside). */
export type FuzzPrincipal = { name: string; credentials: Credentials; kind: string; scopes?: string[] };

/** Everything a fuzz run needs. */
export type FuzzWorld = {
  stack: WebhookStack;
  server: TestServer;
  principals: FuzzPrincipal[];
  tenant: { id: string; slug: string };
  other: { id: string; slug: string };
  /** Real ids by `segment/{param}` (e.g. `orders/{id}`) or plain parameter name. */
  ids: Record<string, string>;
  /** Values for body fields by name (real ids of the tenant: `productId`, `variantId`…). */
  hints: Record<string, unknown>;
  /** label → secret value. */
  secrets: Map<string, string>;
  /** Secrets an operation may return to its caller (`GET /api/v1/shops/{shop}/token` → the Shopify token). */
  ownedBy: Record<string, string[]>;
  /** Logs a session principal in again if its session ended (e.g. after fuzzing logout). */
  revive(principal: FuzzPrincipal): Promise<void>;
  close(): Promise<void>;
};

/** The environment of the fuzzed server: limits high enough that the fuzz measures validation, not the limiter. */
export const FUZZ_ENV: Record<string, string> = {
  RATE_LIMIT_PER_MINUTE: '10000000',
  // Small, so "oversized body" cases stay cheap; the limit itself is what is tested.
  BODY_LIMIT_BYTES: '65536',
  CATALOG_IMAGE_MAX_BYTES: '65536',
  // The daily stock check writes alert rows: moved to 02:00 on January 1st, out of the fuzz's way.
  CATALOG_LOW_STOCK_CRON: '0 2 1 1 *',
  LOG_LEVEL: 'warn',
  // Configured as in production, so Stripe intake is fuzzed past its signature check (unset, it is an honest 503).
  STRIPE_WEBHOOK_SECRET: 'whsec_fuzz_world_signing_secret',
};

const SHOP_SIZES = { products: 3, customers: 3, orders: 3 };

export async function buildFuzzWorld(env: Record<string, string> = {}): Promise<FuzzWorld> {
  const stack = await startWebhookStack({ env: { ...FUZZ_ENV, ...env } });
  try {
    return await populate(stack);
  } catch (error) {
    await stack.close();
    throw error;
  }
}

async function expectOk(res: { status: number; text: string }, what: string, status = [200, 201]) {
  if (!status.includes(res.status))
    throw new Error(`fuzz world: ${what} answered ${res.status}: ${res.text}`);
}

async function populate(stack: WebhookStack): Promise<FuzzWorld> {
  const shop = `fuzz-${randomBytes(4).toString('hex')}.myshopify.com`;
  stack.sim.createShop({ shop, ...SHOP_SIZES });
  const tenantId = await stack.installShop(shop);
  const server = stack.server;
  const operator = await createOperatorSession(server);
  const api = (method: string, path: string, body?: unknown) => call(server, operator, method, path, body);
  const base = `/api/v1/tenants/${tenantId}`;

  // The backfill has to finish before anything is counted.
  await waitFor(async () => {
    const s = await api('GET', `${base}/sync`);
    return s.status === 200 && s.body.resources.every((r: any) => r.backfilledAt && r.status === 'idle');
  }, 60_000);
  const tenantRow = (await api('GET', base)).body;

  // Principals of the tenant, and victims (the ids in paths, so fuzzing a DELETE never ends a principal).
  const owner = await createStaff(server, { id: tenantId }, { role: 'owner' }, operator);
  const staff = await createStaff(server, { id: tenantId }, { role: 'staff' }, operator);
  const victim = await createStaff(server, { id: tenantId }, { role: 'staff' }, operator);
  const keyAll = await createApiKey(server, { id: tenantId }, { scopes: allScopes(server) }, operator);
  const keyRead = await createApiKey(server, { id: tenantId }, { scopes: ['data:read'] }, operator);
  const victimKey = await createApiKey(server, { id: tenantId }, { scopes: ['data:read'] }, operator);
  const shopper = await createShopper(server, { id: tenantId });
  // The other tenant and its owner.
  const other = await createTenant(server, {}, operator);
  const otherOwner = await createStaff(server, other, { role: 'owner' }, operator);
  const otherKey = await createApiKey(server, other, { scopes: allScopes(server) }, operator);

  // Native catalog.
  const category = await api('POST', `${base}/catalog/categories`, { name: 'Fuzz Category' });
  await expectOk(category, 'category');
  const location = await api('POST', `${base}/catalog/locations`, { name: 'Fuzz Warehouse' });
  await expectOk(location, 'location');
  const product = await api('POST', `${base}/catalog/products`, {
    title: 'Fuzz Product',
    status: 'active',
    categoryId: category.body.id,
    variants: [{ price: 1000, sku: 'FUZZ-1' }],
  });
  await expectOk(product, 'product');
  const image = await uploadImage(server, operator, tenantId, product.body.id, {
    bytes: await picture('png', 64, 64),
    name: 'fuzz.png',
    type: 'image/png',
  });
  await expectOk(image, 'image');
  const variantId = product.body.variants[0].id;

  // Webhook events and a compliance request, applied.
  const secret = stack.apiSecret;
  const sent = signedDelivery({ secret, shop, topic: 'shop/update', payload: { id: 1, name: 'Fuzz' } });
  const delivered = await stack.post(sent);
  await expectOk({ status: delivered.status, text: await delivered.text() }, 'webhook');
  stack.sim.triggerCompliance(shop, 'customers/data_request', {});
  await waitFor(
    async () => (await api('GET', `${base}/compliance-requests`)).body?.requests?.length > 0,
    30_000,
  );
  await stack.settled(tenantId);
  const events = await api('GET', `${base}/events?limit=1`);
  const compliance = await api('GET', `${base}/compliance-requests?limit=1`);
  const subscriptions = await api('GET', `${base}/webhook-subscriptions`);
  const mirror = async (resource: string) => {
    const res = await api('GET', `${base}/${resource}?limit=1`);
    await expectOk(res, resource);
    const first = (res.body.items ?? res.body[resource] ?? [])[0];
    if (!first) throw new Error(`fuzz world: no mirrored ${resource}`);
    return String(first.id);
  };

  const ids: Record<string, string> = {
    tenant: tenantId,
    user: victim.id,
    key: victimKey.id,
    product: product.body.id,
    variant: variantId,
    category: category.body.id,
    image: image.body.image.id,
    idOrHandle: product.body.handle,
    shop,
    topic: 'shop',
    action: 'update',
    event: String(events.body.items?.[0]?.id ?? events.body.events?.[0]?.id ?? 1),
    'products/{id}': await mirror('products'),
    'customers/{id}': await mirror('customers'),
    'orders/{id}': await mirror('orders'),
    'webhook-subscriptions/{id}': String(subscriptions.body.subscriptions?.[0]?.id ?? 1),
    'compliance-requests/{id}': String(compliance.body.requests?.[0]?.id ?? 1),
  };
  const hints: Record<string, unknown> = {
    productId: product.body.id,
    variantId,
    categoryId: category.body.id,
    locationId: location.body.id,
    tenant: tenantId,
    shop,
  };

  const sessions = {
    operator,
    owner: await login(server, owner),
    staff: await login(server, staff),
    otherOwner: await login(server, otherOwner),
  };
  const accounts: Record<string, { email: string; password: string }> = {
    owner,
    staff,
    otherOwner,
  };
  const principals: FuzzPrincipal[] = [
    { name: 'anonymous', kind: 'anonymous', credentials: { kind: 'none' } },
    { name: 'operator (session)', kind: 'operator', credentials: sessions.operator },
    { name: 'owner (session)', kind: 'owner', credentials: sessions.owner },
    { name: 'staff (session)', kind: 'staff', credentials: sessions.staff },
    {
      name: 'api key (all scopes)',
      kind: 'api_key',
      scopes: allScopes(server),
      credentials: keyAll.credentials,
    },
    { name: 'api key (data:read)', kind: 'api_key', scopes: ['data:read'], credentials: keyRead.credentials },
    { name: 'shopper (bearer)', kind: 'shopper', credentials: shopper.credentials },
    { name: 'other tenant owner (session)', kind: 'other', credentials: sessions.otherOwner },
    { name: 'other tenant api key', kind: 'other', credentials: otherKey.credentials },
  ];

  // Secrets: every credential the helpers handled, the process's own secrets, and every stored hash.
  const secrets = new Map<string, string>();
  let n = 0;
  // CSRF tokens are no secret from their own session (login and `me` return them): left out.
  const csrfTokens = new Set([...Object.values(sessions).map((s) => s.csrfToken), shopper.csrfToken]);
  for (const value of secretsSeen)
    if (value.length >= 12 && !csrfTokens.has(value)) secrets.set(`credential #${++n}`, value);
  const config = server.deps.config;
  secrets.set('STOREOPS_SESSION_SECRET', config.STOREOPS_SESSION_SECRET);
  secrets.set('STOREOPS_API_KEY_PEPPER', config.STOREOPS_API_KEY_PEPPER);
  for (const k of config.STOREOPS_ENCRYPTION_KEYS)
    secrets.set(`encryption key ${k.id}`, k.key.toString('base64'));
  secrets.set('SHOPIFY_API_SECRET', secret);
  const hashes = await stack.q<{ label: string; value: string }>(
    `SELECT 'operator password hash' AS label, password_hash AS value FROM operators
     UNION ALL SELECT 'staff password hash', password_hash FROM tenant_users
     UNION ALL SELECT 'shopper password hash', password_hash FROM shoppers
     UNION ALL SELECT 'api key hash', key_hash FROM api_keys
     UNION ALL SELECT 'session token hash', token_hash FROM sessions`,
  );
  for (const row of hashes) if (row.value) secrets.set(`${row.label} #${++n}`, row.value);
  const token = await call(server, keyAll.credentials, 'GET', `/api/v1/shops/${shop}/token`);
  await expectOk(token, 'shop token');
  const shopifyToken = String(token.body.accessToken ?? token.body.token ?? '');
  if (shopifyToken.length >= 12) secrets.set('Shopify access token', shopifyToken);

  return {
    stack,
    server,
    principals,
    tenant: { id: tenantId, slug: tenantRow.slug },
    other: { id: other.id, slug: other.slug },
    ids,
    hints,
    secrets,
    ownedBy: { 'GET /api/v1/shops/{shop}/token': ['Shopify access token'] },
    async revive(principal) {
      if (principal.credentials.kind !== 'session') return;
      const me = await server.fetch('/api/v1/me', { headers: authHeaders(principal.credentials) });
      if (me.status === 200) return;
      const account =
        principal.kind === 'operator'
          ? undefined
          : accounts[principal.kind === 'other' ? 'otherOwner' : principal.kind];
      principal.credentials = account ? await login(server, account) : await createOperatorSession(server);
    },
    close: () => stack.close(),
  };
}
