/** The simulator's in-memory state and the options it was started with. */
import type { Bucket } from './bucket.ts';
import type { Chaos } from './chaos.ts';
import {
  createShopState,
  DEFAULT_SIZES,
  normalizeShop,
  type Plan,
  type ShopSizes,
  type ShopState,
} from './shops.ts';

/** Options of startShopifySim (see index.ts). */
export type SimOptions = {
  apiKey: string;
  apiSecret: string;
  seed: number;
  plan: Plan;
  /** Multiplies simulated durations (webhook retry schedule); 0.001 turns 4 hours into 14.4 s. */
  timeScale: number;
  /** Injected clock in epoch ms; tests use it to step the leaky bucket without sleeping. */
  clock: () => number;
  /** Sizes for shops that appear on first use. */
  defaultSizes: ShopSizes;
  /** Scopes the app's configuration asks for; token exchange grants these. */
  scopes: string[];
  /** Deliver webhooks to non-loopback hosts (off: this simulator is for local use). */
  allowRemoteWebhooks: boolean;
};

/** An access token the simulator issued. */
export type TokenRec = {
  token: string;
  shop: string;
  scopes: string[];
  kind: 'offline' | 'online';
  /** Epoch ms when it stops working; null for non-expiring offline tokens. */
  expiresAt: number | null;
  revoked: boolean;
  /** Refresh token issued alongside (expiring offline tokens only). */
  refreshToken: string | null;
};

/** A refresh token and what it can mint. */
export type RefreshRec = {
  token: string;
  shop: string;
  scopes: string[];
  expiresAt: number;
  revoked: boolean;
  /** The access token issued with it; using the refresh token retires its predecessor. */
  accessToken: string;
  /** Refresh token this one replaced; stays usable until this one is first used. */
  previous: string | null;
  used: boolean;
};

/** An authorization code from the authorize redirect. */
export type CodeRec = {
  code: string;
  shop: string;
  scopes: string[];
  expiresAt: number;
  used: boolean;
  /** Requested with grant_options[]=per-user: the code yields an online token. */
  online: boolean;
};

/** The whole simulator. */
export type SimState = {
  options: SimOptions;
  /** Base URL once listening, e.g. http://127.0.0.1:4100. */
  url: string;
  shops: Map<string, ShopState>;
  tokens: Map<string, TokenRec>;
  refreshTokens: Map<string, RefreshRec>;
  codes: Map<string, CodeRec>;
  /** Shops where the app is installed (an access token was issued and not uninstalled). */
  installed: Set<string>;
  /** Granted scopes per shop, as the latest install/consent left them. */
  grantedScopes: Map<string, string[]>;
  chaos: Chaos;
  /** GraphQL leaky buckets per shop (the simulator serves one app). */
  buckets: Map<string, Bucket>;
  /** App-level subscriptions (as shopify.app.toml declares them), e.g. the compliance topics. */
  appSubscriptions: Map<string, string>;
  counters: { subscription: number; bulk: number; pixel: number; user: number };
};

/** The shop for a domain, created with default sizes on first use; null if not *.myshopify.com. */
export function shopFor(sim: SimState, domain: string): ShopState | null {
  const shop = normalizeShop(domain);
  if (!shop) return null;
  let state = sim.shops.get(shop);
  if (!state) {
    state = createShopState(
      shop,
      sim.options.seed,
      sim.options.defaultSizes,
      sim.options.plan,
      sim.options.clock(),
    );
    sim.shops.set(shop, state);
  }
  return state;
}

/** Creates (or replaces) a shop with chosen sizes. */
export function createShop(
  sim: SimState,
  domain: string,
  sizes: Partial<ShopSizes>,
  plan?: Plan,
): ShopState | null {
  const shop = normalizeShop(domain);
  if (!shop) return null;
  const state = createShopState(
    shop,
    sim.options.seed,
    { ...DEFAULT_SIZES, ...sim.options.defaultSizes, ...sizes },
    plan ?? sim.options.plan,
    sim.options.clock(),
  );
  sim.shops.set(shop, state);
  return state;
}
