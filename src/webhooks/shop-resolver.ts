/**
 * Which tenant holds a shop, cached in memory: the intake asks for every delivery, the answer
 * rarely changes, and a database round trip per request would halve throughput. Known shops are
 * cached for a minute, unknown ones for a few seconds (an install invalidates its shop at once in
 * this process; orphans stored meanwhile by other processes are adopted on install).
 */
export function createShopResolver(
  lookup: (shopDomain: string) => Promise<string | null>,
  options: { knownTtlMs?: number; unknownTtlMs?: number; maxEntries?: number } = {},
) {
  const knownTtl = options.knownTtlMs ?? 60_000;
  const unknownTtl = options.unknownTtlMs ?? 5_000;
  const maxEntries = options.maxEntries ?? 100_000;
  const cache = new Map<string, { tenantId: string | null; expires: number }>();
  const loading = new Map<string, Promise<string | null>>();

  async function load(shopDomain: string): Promise<string | null> {
    try {
      const tenantId = await lookup(shopDomain);
      if (cache.size >= maxEntries) cache.clear();
      cache.set(shopDomain, { tenantId, expires: Date.now() + (tenantId ? knownTtl : unknownTtl) });
      return tenantId;
    } finally {
      loading.delete(shopDomain);
    }
  }

  return {
    /** The tenant holding `shopDomain`, or null. */
    tenantFor(shopDomain: string): Promise<string | null> | string | null {
      const hit = cache.get(shopDomain);
      if (hit && hit.expires > Date.now()) return hit.tenantId;
      let pending = loading.get(shopDomain);
      if (!pending) {
        pending = load(shopDomain);
        loading.set(shopDomain, pending);
      }
      return pending;
    },
    /** Drops a cached answer (install, redact). */
    forget(shopDomain: string): void {
      cache.delete(shopDomain);
    },
  };
}

/** The shop resolver of one process. */
export type ShopResolver = ReturnType<typeof createShopResolver>;
