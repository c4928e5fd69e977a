/** Root resolvers of the Admin API subset: queries and mutations, over views and lazy sources. */
import { GraphQLError } from 'graphql';
import { cancelBulk, runBulkQuery } from './bulk.ts';
import { countRecords, getRecord } from './collection.ts';
import { type PageArgs, pageFromArray, pageFromScan } from './connection.ts';
import { type Ctx, requireScope } from './context.ts';
import { CUSTOMER_FIELDS, ORDER_FIELDS, PRODUCT_FIELDS } from './fieldmaps.ts';
import { parseGid } from './format.ts';
import { childIndex, recordIndex } from './ids.ts';
import { compileSearch, extractBounds, parseSearch } from './search.ts';
import type { Subscription } from './shops.ts';
import { type ListArgs, type ListField, listSource } from './sources.ts';
import { topicFromEnum } from './topics.ts';
import { uninstallApp } from './records.ts';
import { productById, variantById } from './views-catalog.ts';
import { appView, bulkView, deletionView, pixelView, shopView, subscriptionView } from './views-app.ts';
import { CustomerView, customerRecById, LineItemView, OrderView } from './views-orders.ts';

type Args = Record<string, any>;

function numericId(value: string, type: string): number | null {
  const parsed = parseGid(value);
  return parsed && parsed.type === type ? parsed.id : null;
}

function listPage(ctx: Ctx, field: ListField, args: PageArgs & ListArgs) {
  const src = listSource(ctx, field, args);
  return pageFromScan(args, src.scanFrom, src.cursorOf, src.toNode);
}

/** Fields added in a later API version do not exist before it (Shopify's error for an unknown field). */
function requireVersion(ctx: Ctx, since: string, typeName: string, fieldName: string): void {
  if (ctx.apiVersion === 'unstable' || ctx.apiVersion >= since) return;
  throw new GraphQLError(`Field '${fieldName}' doesn't exist on type '${typeName}'`, {
    extensions: { code: 'undefinedField', typeName, fieldName },
  });
}

function limitOf(args: Args): number | null {
  return args.limit === undefined ? 10_000 : args.limit;
}

/** Resolves any supported gid to its view, or null. */
export function nodeById(ctx: Ctx, id: string): unknown {
  const parsed = parseGid(id);
  if (!parsed) return null;
  const shop = ctx.shop;
  switch (parsed.type) {
    case 'Product':
      requireScope(ctx, 'read_products', 'node');
      return productById(ctx, parsed.id);
    case 'ProductVariant':
      requireScope(ctx, 'read_products', 'node');
      return variantById(ctx, parsed.id);
    case 'Customer': {
      requireScope(ctx, 'read_customers', 'node');
      const rec = customerRecById(ctx, parsed.id);
      return rec ? new CustomerView(rec, ctx.shop) : null;
    }
    case 'Order': {
      requireScope(ctx, 'read_orders', 'node');
      const index = recordIndex('Order', shop.ctx.offset, parsed.id);
      const rec = index < 0 ? null : getRecord(shop.orders, index);
      return rec ? new OrderView(ctx, rec) : null;
    }
    case 'LineItem': {
      requireScope(ctx, 'read_orders', 'node');
      const at = childIndex('LineItem', shop.ctx.offset, parsed.id);
      const order = at ? getRecord(shop.orders, at.parentIndex) : null;
      const line = order?.lineItems.find((l) => l.id === parsed.id);
      return order && line ? new LineItemView(ctx, line, order.currency) : null;
    }
    case 'WebhookSubscription': {
      const sub = shop.subscriptions.get(parsed.id);
      return sub ? subscriptionView(sub) : null;
    }
    case 'BulkOperation': {
      const op = ctx.bulk.ops.get(parsed.id);
      return op && op.shop === shop.domain ? bulkView(ctx, op) : null;
    }
    case 'WebPixel': {
      const p = shop.webPixels.get(parsed.id);
      return p ? pixelView(p) : null;
    }
    case 'Shop':
      return parsed.id === shop.id ? shopView(shop) : null;
    default:
      return null;
  }
}

/** The Query root object. */
export const queryRoot = {
  shop: (_: Args, ctx: Ctx) => shopView(ctx.shop),
  node: (args: Args, ctx: Ctx) => nodeById(ctx, args.id),
  nodes: (args: Args, ctx: Ctx) => {
    if (args.ids.length > 250)
      throw new GraphQLError('The input array size of 251 is greater than the maximum allowed of 250.');
    return args.ids.map((id: string) => nodeById(ctx, id));
  },
  product: (args: Args, ctx: Ctx) => {
    requireScope(ctx, 'read_products', 'product');
    const id = numericId(args.id, 'Product');
    return id === null ? null : productById(ctx, id);
  },
  products: (args: Args, ctx: Ctx) => listPage(ctx, 'products', args),
  productsCount: (args: Args, ctx: Ctx) => {
    requireScope(ctx, 'read_products', 'productsCount');
    const q = parseSearch(args.query);
    return countRecords(
      ctx.shop.products,
      compileSearch(q, PRODUCT_FIELDS),
      extractBounds(q, ['created_at']),
      limitOf(args),
    );
  },
  productVariant: (args: Args, ctx: Ctx) => {
    requireScope(ctx, 'read_products', 'productVariant');
    const id = numericId(args.id, 'ProductVariant');
    return id === null ? null : variantById(ctx, id);
  },
  productVariants: (args: Args, ctx: Ctx) => listPage(ctx, 'productVariants', args),
  productVariantsCount: (args: Args, ctx: Ctx) => {
    requireScope(ctx, 'read_products', 'productVariantsCount');
    const limit = limitOf(args);
    let count = 0;
    for (const _ of listSource(ctx, 'productVariants', { query: args.query }).scanFrom(false, null)) {
      count++;
      if (limit !== null && count > limit) return { count: limit, precision: 'AT_LEAST' };
    }
    return { count, precision: 'EXACT' };
  },
  customer: (args: Args, ctx: Ctx) => {
    requireScope(ctx, 'read_customers', 'customer');
    const id = numericId(args.id, 'Customer');
    const rec = id === null ? null : customerRecById(ctx, id);
    return rec ? new CustomerView(rec, ctx.shop) : null;
  },
  customers: (args: Args, ctx: Ctx) => listPage(ctx, 'customers', args),
  customersCount: (args: Args, ctx: Ctx) => {
    requireScope(ctx, 'read_customers', 'customersCount');
    const q = parseSearch(args.query);
    return countRecords(
      ctx.shop.customers,
      compileSearch(q, CUSTOMER_FIELDS),
      extractBounds(q, ['created_at']),
      limitOf(args),
    );
  },
  order: (args: Args, ctx: Ctx) => {
    requireScope(ctx, 'read_orders', 'order');
    const id = numericId(args.id, 'Order');
    return id === null ? null : nodeById(ctx, args.id);
  },
  orders: (args: Args, ctx: Ctx) => listPage(ctx, 'orders', args),
  ordersCount: (args: Args, ctx: Ctx) => {
    requireScope(ctx, 'read_orders', 'ordersCount');
    const q = parseSearch(args.query);
    return countRecords(
      ctx.shop.orders,
      compileSearch(q, ORDER_FIELDS),
      extractBounds(q, ['created_at', 'processed_at']),
      limitOf(args),
    );
  },
  webhookSubscription: (args: Args, ctx: Ctx) => {
    const id = numericId(args.id, 'WebhookSubscription');
    const sub = id === null ? undefined : ctx.shop.subscriptions.get(id);
    return sub ? subscriptionView(sub) : null;
  },
  webhookSubscriptions: (args: Args, ctx: Ctx) => {
    const topics: string[] | null = args.topics ? args.topics.map((t: string) => topicFromEnum(t)) : null;
    const uri: string | undefined = args.uri ?? args.callbackUrl;
    const subs = [...ctx.shop.subscriptions.values()].filter(
      (s) => (!topics || topics.includes(s.topic)) && (!uri || s.uri === uri),
    );
    return pageFromArray(subs, args, (s) => s.id, subscriptionView);
  },
  webhookSubscriptionsCount: (_: Args, ctx: Ctx) => ({
    count: ctx.shop.subscriptions.size,
    precision: 'EXACT',
  }),
  currentBulkOperation: (args: Args, ctx: Ctx) => {
    if (args.type === 'MUTATION') return null;
    const id = ctx.bulk.currentByShop.get(ctx.shop.domain);
    const op = id === undefined ? undefined : ctx.bulk.ops.get(id);
    return op ? bulkView(ctx, op) : null;
  },
  bulkOperation: (args: Args, ctx: Ctx) => {
    const id = numericId(args.id, 'BulkOperation');
    const op = id === null ? undefined : ctx.bulk.ops.get(id);
    return op && op.shop === ctx.shop.domain ? bulkView(ctx, op) : null;
  },
  webPixel: (args: Args, ctx: Ctx) => {
    requireScope(ctx, 'read_customer_events', 'webPixel');
    const pixels = [...ctx.shop.webPixels.values()];
    const id = args.id ? numericId(args.id, 'WebPixel') : null;
    const pixel = id === null ? pixels[0] : ctx.shop.webPixels.get(id);
    if (!pixel)
      throw new GraphQLError('No web pixel was found for this app.', { extensions: { code: 'NOT_FOUND' } });
    return pixelView(pixel);
  },
  deletionEvents: (args: Args, ctx: Ctx) => {
    requireScope(ctx, 'read_products', 'deletionEvents');
    const types: string[] | null = args.subjectTypes ?? null;
    const q = parseSearch(args.query);
    const pred = compileSearch(q, {
      fields: { occurred_at: (e: { occurredAt: number }) => e.occurredAt },
      dateFields: new Set(['occurred_at']),
      defaults: [],
    });
    const events = ctx.shop.deletionEvents
      .map((e, i) => ({ ...e, seq: i + 1 }))
      .filter((e) => (!types || types.includes(e.subjectType)) && (!pred || pred(e)));
    return pageFromArray(events, args, (e) => e.seq, deletionView);
  },
};

function userError(field: string[] | null, message: string) {
  return { field, message };
}

function subscriptionInput(input: Args): { uri: string | null; error: string | null } {
  const uri: string | undefined = input.uri ?? input.callbackUrl;
  if (!uri) return { uri: null, error: "Address can't be blank" };
  if (!URL.canParse(uri) || !/^https?:$/.test(new URL(uri).protocol))
    return { uri: null, error: 'Address is invalid' };
  return { uri, error: null };
}

/** The Mutation root object. */
export const mutationRoot = {
  webhookSubscriptionCreate: (args: Args, ctx: Ctx) => {
    const topic = topicFromEnum(args.topic);
    const input = args.webhookSubscription ?? {};
    const { uri, error } = subscriptionInput(input);
    if (!topic || !uri)
      return {
        webhookSubscription: null,
        userErrors: [userError(['webhookSubscription', 'callbackUrl'], error ?? 'Topic is invalid')],
      };
    for (const s of ctx.shop.subscriptions.values()) {
      if (s.topic === topic && s.uri === uri) {
        return {
          webhookSubscription: null,
          userErrors: [
            userError(
              ['webhookSubscription', 'callbackUrl'],
              'Address for this topic has already been taken',
            ),
          ],
        };
      }
    }
    const now = ctx.sim.options.clock();
    const sub: Subscription = {
      id: ++ctx.sim.counters.subscription,
      topic,
      uri,
      format: 'JSON',
      includeFields: input.includeFields ?? [],
      filter: input.filter ?? null,
      apiVersion: ctx.apiVersion,
      createdAt: now,
      updatedAt: now,
    };
    ctx.shop.subscriptions.set(sub.id, sub);
    return { webhookSubscription: subscriptionView(sub), userErrors: [] };
  },
  webhookSubscriptionUpdate: (args: Args, ctx: Ctx) => {
    const id = numericId(args.id, 'WebhookSubscription');
    const sub = id === null ? undefined : ctx.shop.subscriptions.get(id);
    if (!sub)
      return {
        webhookSubscription: null,
        userErrors: [userError(['id'], 'Webhook subscription does not exist')],
      };
    const input = args.webhookSubscription ?? {};
    if (input.uri !== undefined || input.callbackUrl !== undefined) {
      const { uri, error } = subscriptionInput(input);
      if (!uri)
        return {
          webhookSubscription: null,
          userErrors: [userError(['webhookSubscription', 'callbackUrl'], error ?? 'Address is invalid')],
        };
      sub.uri = uri;
    }
    if (input.includeFields !== undefined) sub.includeFields = input.includeFields ?? [];
    if (input.filter !== undefined) sub.filter = input.filter;
    sub.updatedAt = ctx.sim.options.clock();
    return { webhookSubscription: subscriptionView(sub), userErrors: [] };
  },
  webhookSubscriptionDelete: (args: Args, ctx: Ctx) => {
    const id = numericId(args.id, 'WebhookSubscription');
    if (id === null || !ctx.shop.subscriptions.delete(id)) {
      return {
        deletedWebhookSubscriptionId: null,
        userErrors: [userError(['id'], 'Webhook subscription does not exist')],
      };
    }
    return { deletedWebhookSubscriptionId: args.id, userErrors: [] };
  },
  bulkOperationRunQuery: (args: Args, ctx: Ctx) => {
    const { op, userErrors } = runBulkQuery(ctx, args.query);
    return { bulkOperation: op ? bulkView(ctx, op) : null, userErrors };
  },
  bulkOperationCancel: (args: Args, ctx: Ctx) => {
    const id = numericId(args.id, 'BulkOperation');
    const op = id === null ? null : cancelBulk(ctx, id);
    if (!op) return { bulkOperation: null, userErrors: [userError(['id'], 'Bulk operation does not exist')] };
    return { bulkOperation: bulkView(ctx, op), userErrors: [] };
  },
  webPixelCreate: (args: Args, ctx: Ctx) => {
    requireScope(ctx, 'write_pixels', 'webPixelCreate');
    requireScope(ctx, 'read_customer_events', 'webPixelCreate');
    if (ctx.shop.webPixels.size > 0) {
      return {
        webPixel: null,
        userErrors: [{ code: 'TAKEN', field: ['webPixel'], message: 'Web pixel is taken.' }],
      };
    }
    const settings = pixelSettings(args.webPixel?.settings);
    if (settings === null) {
      return {
        webPixel: null,
        userErrors: [
          { code: 'INVALID_SETTINGS', field: ['webPixel', 'settings'], message: 'Settings are invalid.' },
        ],
      };
    }
    const pixel = { id: ++ctx.sim.counters.pixel, settings };
    ctx.shop.webPixels.set(pixel.id, pixel);
    return { webPixel: pixelView(pixel), userErrors: [] };
  },
  webPixelUpdate: (args: Args, ctx: Ctx) => {
    requireScope(ctx, 'write_pixels', 'webPixelUpdate');
    requireScope(ctx, 'read_customer_events', 'webPixelUpdate');
    const id = numericId(args.id, 'WebPixel');
    const pixel = id === null ? undefined : ctx.shop.webPixels.get(id);
    if (!pixel)
      return {
        webPixel: null,
        userErrors: [{ code: 'NOT_FOUND', field: ['id'], message: 'Web pixel not found.' }],
      };
    const settings = pixelSettings(args.webPixel?.settings);
    if (settings === null) {
      return {
        webPixel: null,
        userErrors: [
          { code: 'INVALID_SETTINGS', field: ['webPixel', 'settings'], message: 'Settings are invalid.' },
        ],
      };
    }
    pixel.settings = settings;
    return { webPixel: pixelView(pixel), userErrors: [] };
  },
  webPixelDelete: (args: Args, ctx: Ctx) => {
    requireScope(ctx, 'write_pixels', 'webPixelDelete');
    const id = numericId(args.id, 'WebPixel');
    if (id === null || !ctx.shop.webPixels.delete(id)) {
      return {
        deletedWebPixelId: null,
        userErrors: [{ code: 'NOT_FOUND', field: ['id'], message: 'Web pixel not found.' }],
      };
    }
    return { deletedWebPixelId: args.id, userErrors: [] };
  },
  /**
   * The app uninstalls itself (API 2025-07 and later;
   * https://shopify.dev/docs/api/admin-graphql/latest/mutations/appUninstall). Same path as the
   * control API's uninstall: app/uninstalled fires, subscriptions and pixels go, and every access
   * and refresh token of the shop is revoked, the calling one included.
   */
  appUninstall: (_args: Args, ctx: Ctx) => {
    requireVersion(ctx, '2025-07', 'Mutation', 'appUninstall');
    uninstallApp(ctx, ctx.shop);
    return { app: appView(ctx.sim), userErrors: [] };
  },
};

/** Settings arrive as a JSON string or a JSON object; they are stored as the JSON string. */
function pixelSettings(value: unknown): string | null {
  if (typeof value === 'string') {
    try {
      const parsed = JSON.parse(value);
      return parsed !== null && typeof parsed === 'object' ? JSON.stringify(parsed) : null;
    } catch {
      return null;
    }
  }
  return value !== null && typeof value === 'object' ? JSON.stringify(value) : null;
}
