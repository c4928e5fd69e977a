/** Shop state: identity, plan, the three lazy collections and per-shop app state. */
import { type Collection, createCollection } from './collection.ts';
import type { GenContext } from './generate.ts';
import { shopOffset } from './ids.ts';
import { hashString, mix32 } from './rng.ts';
import type { CustomerRec, OrderRec, ProductRec } from './types.ts';

/** Shopify plans the simulator distinguishes (they set the GraphQL bucket). */
export const PLANS = ['standard', 'advanced', 'plus'] as const;
/** A shop plan. */
export type Plan = (typeof PLANS)[number];

/** How many records a shop's generator provides. */
export type ShopSizes = { products: number; customers: number; orders: number };

/** Sizes for shops that spring into existence on first use. */
export const DEFAULT_SIZES: ShopSizes = { products: 40, customers: 120, orders: 300 };

/** Largest shop the id scheme supports per kind. */
export const MAX_RECORDS = 50_000_000;

/** A stored webhook subscription. */
export type Subscription = {
  id: number;
  topic: string;
  uri: string;
  format: 'JSON';
  includeFields: string[];
  filter: string | null;
  apiVersion: string;
  createdAt: number;
  updatedAt: number;
};

/** A web pixel registered by the app. */
export type WebPixel = { id: number; settings: string };

/** A deletion the Admin API exposes through `deletionEvents`. */
export type DeletionEvent = { subjectType: 'PRODUCT'; subjectId: number; occurredAt: number };

/** Everything the simulator knows about one shop. */
export type ShopState = {
  domain: string;
  name: string;
  id: number;
  plan: Plan;
  currency: string;
  createdAt: number;
  ctx: GenContext;
  products: Collection<ProductRec>;
  customers: Collection<CustomerRec>;
  orders: Collection<OrderRec>;
  subscriptions: Map<number, Subscription>;
  webPixels: Map<number, WebPixel>;
  deletionEvents: DeletionEvent[];
};

const CURRENCIES = ['USD', 'USD', 'USD', 'CAD', 'GBP', 'EUR'] as const;

/** Lower-cases and checks a shop domain; only *.myshopify.com shops exist. */
export function normalizeShop(value: string): string | null {
  const shop = value.trim().toLowerCase();
  return /^[a-z0-9][a-z0-9-]*\.myshopify\.com$/.test(shop) ? shop : null;
}

/** Creates a shop whose data is generated from (seed, domain). */
export function createShopState(
  domain: string,
  seed: number,
  sizes: ShopSizes,
  plan: Plan,
  now: number,
): ShopState {
  const hash = mix32(hashString(domain), seed >>> 0);
  const offset = shopOffset(hash);
  const handle = domain.replace('.myshopify.com', '');
  const ctx: GenContext = {
    shop: domain,
    hash,
    offset,
    currency: CURRENCIES[hash % CURRENCIES.length],
    counts: { product: sizes.products, customer: sizes.customers, order: sizes.orders },
    productCache: new Map(),
    customerCache: new Map(),
  };
  return {
    domain,
    name: handle
      .split('-')
      .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
      .join(' '),
    id: 60_000_000_000 + (hash % 1_000_000_000),
    plan,
    currency: ctx.currency,
    createdAt: now,
    ctx,
    products: createCollection<ProductRec>('product', ctx, sizes.products),
    customers: createCollection<CustomerRec>('customer', ctx, sizes.customers),
    orders: createCollection<OrderRec>('order', ctx, sizes.orders),
    subscriptions: new Map(),
    webPixels: new Map(),
    deletionEvents: [],
  };
}
