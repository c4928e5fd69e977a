import {
  type AdminClient,
  type AdminErrorKind,
  type AdminResponse,
  type QueryCost,
  ShopifyAdminError,
} from './admin-client.ts';

/*
 * Pacing and retries (issue 7). Shopify's cost-based limit is a leaky bucket per shop and app:
 * every answer carries `extensions.cost.throttleStatus`, and a query whose requested cost exceeds
 * what is available is refused with THROTTLED (HTTP 200). `pacedClient` wraps a client so that
 * each request first reserves its expected cost from a `Pacer` (the shared budget; see
 * rate-budget.ts, which keeps it in the database so every worker process spends from one
 * bucket), reports the real cost and throttle status back after the answer, and retries THROTTLED,
 * 429 (Retry-After seconds) and 5xx/network failures with capped exponential backoff and jitter.
 */

/** The shared budget a paced client spends from. */
export type Pacer = {
  /** Waits until `cost` points may be spent on `shop`, and reserves them. */
  reserve(shop: string, cost: number, signal?: AbortSignal): Promise<void>;
  /**
   * After an answer: `reserved` is what `reserve` took, `charged` what Shopify actually deducted
   * (0 when throttled), `cost` the extension as sent (throttle status to snap to).
   */
  settle(
    shop: string,
    outcome: { reserved: number; charged: number; cost?: QueryCost; throttled: boolean },
  ): Promise<void>;
};

/** Options of `pacedClient`. */
export type PacingOptions = {
  pacer: Pacer;
  /** Attempts per request, the first included (default 8). */
  maxAttempts?: number;
  /** First backoff for 5xx and network errors (default 500 ms), doubled each time up to `maxDelayMs`. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Cost assumed for a query never seen before (default 100; capped at the bucket size by the pacer). */
  defaultCost?: number;
  /** Called before each retry (metrics, tests). */
  onRetry?: (event: { kind: AdminErrorKind; attempt: number; delayMs: number }) => void;
  /** Sleeps (tests replace it). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
};

/** Requested cost per query text (and page size), learned from answers; shared by every paced client. */
const learned = new Map<string, number>();
const LEARNED_MAX = 2000;

const RETRYABLE: ReadonlySet<AdminErrorKind> = new Set(['throttled', 'rate_limited', 'unavailable']);

function remember(key: string, cost: number): void {
  if (learned.size >= LEARNED_MAX && !learned.has(key)) learned.clear();
  learned.set(key, cost);
}

const defaultSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });

/**
 * Wraps `client` with budget pacing and bounded retries; same interface, so callers do not change.
 * The requested cost of each query text is learned from its first answer, so later calls reserve
 * exactly what Shopify will check (which is what keeps THROTTLED the exception).
 */
export function pacedClient(client: AdminClient, options: PacingOptions): AdminClient {
  const { pacer } = options;
  const maxAttempts = options.maxAttempts ?? 8;
  const baseDelayMs = options.baseDelayMs ?? 500;
  const maxDelayMs = options.maxDelayMs ?? 30_000;
  const sleep = options.sleep ?? defaultSleep;
  return {
    shop: client.shop,
    apiVersion: client.apiVersion,
    async request<T>(
      query: string,
      variables?: Record<string, unknown>,
      requestOptions: { signal?: AbortSignal; timeoutMs?: number } = {},
    ): Promise<AdminResponse<T>> {
      // Connection sizes come from variables too (`first: $n`), so they are part of the key.
      const key = variables?.first === undefined ? query : `${query}\u0000${String(variables.first)}`;
      for (let attempt = 1; ; attempt++) {
        const reserved = learned.get(key) ?? options.defaultCost ?? 100;
        await pacer.reserve(client.shop, reserved, requestOptions.signal);
        try {
          const response = await client.request<T>(query, variables, requestOptions);
          const cost = response.extensions?.cost;
          if (cost) remember(key, cost.requestedQueryCost);
          await pacer.settle(client.shop, {
            reserved,
            charged: cost ? (cost.actualQueryCost ?? cost.requestedQueryCost) : reserved,
            cost,
            throttled: false,
          });
          return response;
        } catch (error) {
          if (!(error instanceof ShopifyAdminError)) throw error;
          const throttled = error.kind === 'throttled';
          if (error.cost) remember(key, error.cost.requestedQueryCost);
          // Errors other than THROTTLED still ran (and cost) when Shopify computed a cost.
          const charged = throttled || !error.cost ? 0 : (error.cost.actualQueryCost ?? 0);
          await pacer.settle(client.shop, { reserved, charged, cost: error.cost, throttled });
          if (!RETRYABLE.has(error.kind) || attempt >= maxAttempts) throw error;
          const backoff = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
          // THROTTLED needs no extra wait: the next reserve waits for the bucket to refill.
          const floor =
            error.kind === 'rate_limited' ? (error.retryAfterSeconds ?? 1) * 1000 : throttled ? 0 : backoff;
          const delayMs = Math.round(floor + Math.random() * Math.min(1000, floor / 2 + 50));
          options.onRetry?.({ kind: error.kind, attempt, delayMs });
          await sleep(delayMs, requestOptions.signal);
        }
      }
    },
  };
}

/** One page of a connection as the pagination helper needs it. */
export type ConnectionPage<N> = {
  nodes: N[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
};

/**
 * Cursor pagination: runs `query` with `$after` set to each page's `endCursor` until
 * `hasNextPage` is false, yielding the nodes of every page. `connection` picks the connection out
 * of `data` (e.g. `(d) => d.orders`). The query must declare `$after: String`.
 *
 *   for await (const page of paginate(client, ORDERS, { first: 250 }, (d) => d.orders)) …
 */
export async function* paginate<N, D = Record<string, unknown>>(
  client: AdminClient,
  query: string,
  variables: Record<string, unknown>,
  connection: (data: D) => ConnectionPage<N>,
  options: { signal?: AbortSignal } = {},
): AsyncGenerator<N[]> {
  let after: string | null = null;
  for (;;) {
    const { data }: { data: D } = await client.request<D>(query, { ...variables, after }, options);
    const page = connection(data);
    yield page.nodes;
    if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor) return;
    after = page.pageInfo.endCursor;
  }
}
