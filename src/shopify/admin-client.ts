import { AppError } from '../platform/errors.ts';
import { adminBaseUrl } from './oauth.ts';

/**
 * A small fetch-based Admin GraphQL client (DESIGN.md: Shopify's client never retries THROTTLED
 * and misreads Retry-After, so the rate-budget client is ours). This file only does one request
 * well: URL from `SHOPIFY_ADMIN_URL_TEMPLATE`, the token from a `TokenSource` (decrypted on demand,
 * refreshed before expiry), one refresh-and-retry on 401, `extensions.cost` handed back, and typed
 * errors. Pacing and retries on THROTTLED/429/5xx wrap `request` in paced-client.ts.
 */

/** Shopify's calculated query cost, as sent in `extensions.cost`. */
export type QueryCost = {
  requestedQueryCost: number;
  actualQueryCost: number | null;
  throttleStatus: { maximumAvailable: number; currentlyAvailable: number; restoreRate: number };
};

/** A successful answer: `data` plus the cost extension (when Shopify sent it). */
export type AdminResponse<T> = { data: T; extensions?: { cost?: QueryCost; [key: string]: unknown } };

/** Where a client gets its token; implemented by the connections store. */
export type TokenSource = {
  /** The token to use now (refreshed first when it is about to expire) and its version. */
  get(): Promise<{ token: string; version: number }>;
  /** A request with token `version` got 401: refresh if nobody has yet. True when a new token is ready. */
  onUnauthorized(version: number): Promise<boolean>;
};

/** What went wrong with an Admin API call. */
export type AdminErrorKind =
  | 'reauth_required'
  | 'throttled'
  | 'rate_limited'
  | 'access_denied'
  | 'graphql'
  | 'http'
  | 'unavailable'
  | 'invalid_response';

const STATUS: Record<AdminErrorKind, [number, string]> = {
  reauth_required: [409, 'SHOPIFY_REAUTH_REQUIRED'],
  throttled: [503, 'SHOPIFY_THROTTLED'],
  rate_limited: [503, 'SHOPIFY_RATE_LIMITED'],
  access_denied: [502, 'SHOPIFY_ACCESS_DENIED'],
  graphql: [502, 'SHOPIFY_GRAPHQL_ERROR'],
  http: [502, 'SHOPIFY_HTTP_ERROR'],
  unavailable: [502, 'SHOPIFY_UNAVAILABLE'],
  invalid_response: [502, 'SHOPIFY_INVALID_RESPONSE'],
};

/**
 * A failed Admin API call. It is an `AppError`, so a route that lets it through answers with the
 * envelope (409 SHOPIFY_REAUTH_REQUIRED, 503 SHOPIFY_THROTTLED with Retry-After, 502 otherwise).
 * Callers branch on `kind`; `retryAfterSeconds` is set for throttling and 429s.
 */
export class ShopifyAdminError extends AppError {
  readonly kind: AdminErrorKind;
  readonly shop: string;
  readonly httpStatus?: number;
  readonly retryAfterSeconds?: number;
  readonly cost?: QueryCost;
  readonly graphqlErrors?: { message: string; code?: string }[];
  /** Partial data that came with GraphQL errors, if any. */
  readonly data?: unknown;

  constructor(
    kind: AdminErrorKind,
    shop: string,
    message: string,
    extra: {
      httpStatus?: number;
      retryAfterSeconds?: number;
      cost?: QueryCost;
      graphqlErrors?: { message: string; code?: string }[];
      data?: unknown;
      cause?: unknown;
    } = {},
  ) {
    const [status, code] = STATUS[kind];
    super(status, code, message, {
      details: {
        shop,
        ...(extra.httpStatus ? { httpStatus: extra.httpStatus } : {}),
        ...(extra.graphqlErrors ? { errors: extra.graphqlErrors } : {}),
        ...(extra.retryAfterSeconds !== undefined ? { retryAfterSeconds: extra.retryAfterSeconds } : {}),
      },
      headers:
        extra.retryAfterSeconds !== undefined
          ? { 'retry-after': String(Math.max(1, Math.ceil(extra.retryAfterSeconds))) }
          : undefined,
      cause: extra.cause,
    });
    this.name = 'ShopifyAdminError';
    this.kind = kind;
    this.shop = shop;
    this.httpStatus = extra.httpStatus;
    this.retryAfterSeconds = extra.retryAfterSeconds;
    this.cost = extra.cost;
    this.graphqlErrors = extra.graphqlErrors;
    this.data = extra.data;
  }
}

/** One shop's Admin GraphQL API. */
export type AdminClient = {
  shop: string;
  apiVersion: string;
  /** Runs a query or mutation; resolves with `data` and `extensions.cost`, throws `ShopifyAdminError`. */
  request<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    options?: { signal?: AbortSignal; timeoutMs?: number },
  ): Promise<AdminResponse<T>>;
};

/** Options of `createAdminClient`. */
export type AdminClientOptions = {
  shop: string;
  apiVersion: string;
  adminUrlTemplate: string;
  tokens: TokenSource;
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
  fetch?: typeof fetch;
};

/** `Retry-After` is seconds and may carry a fraction ("2.0"); Shopify never sends a date here. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value.trim());
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
}

type GraphqlBody = {
  data?: unknown;
  errors?: unknown;
  extensions?: { cost?: QueryCost; [key: string]: unknown };
};

function summarizeErrors(errors: unknown): { message: string; code?: string }[] {
  if (!Array.isArray(errors)) {
    return [{ message: typeof errors === 'string' ? errors : JSON.stringify(errors).slice(0, 500) }];
  }
  return errors.slice(0, 20).map((e) => {
    const err = (e ?? {}) as { message?: unknown; extensions?: { code?: unknown } };
    return {
      message: typeof err.message === 'string' ? err.message.slice(0, 500) : 'GraphQL error',
      ...(typeof err.extensions?.code === 'string' ? { code: err.extensions.code } : {}),
    };
  });
}

/** Builds a client; the token is fetched (and decrypted) per request, never cached here. */
export function createAdminClient(options: AdminClientOptions): AdminClient {
  const { shop, apiVersion, tokens } = options;
  const url = `${adminBaseUrl(options.adminUrlTemplate, shop)}/admin/api/${apiVersion}/graphql.json`;
  const doFetch = options.fetch ?? fetch;

  async function send(token: string, body: string, signal: AbortSignal): Promise<Response> {
    try {
      return await doFetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          'x-shopify-access-token': token,
        },
        body,
        signal,
        redirect: 'error',
      });
    } catch (error) {
      throw new ShopifyAdminError(
        'unavailable',
        shop,
        `Shopify Admin API unreachable (${(error as Error).name})`,
        {
          cause: error,
        },
      );
    }
  }

  return {
    shop,
    apiVersion,
    async request<T>(
      query: string,
      variables?: Record<string, unknown>,
      requestOptions: { signal?: AbortSignal; timeoutMs?: number } = {},
    ): Promise<AdminResponse<T>> {
      const body = JSON.stringify(variables ? { query, variables } : { query });
      const timeout = AbortSignal.timeout(requestOptions.timeoutMs ?? options.timeoutMs ?? 30_000);
      const signal = requestOptions.signal ? AbortSignal.any([requestOptions.signal, timeout]) : timeout;

      let current = await tokens.get();
      let response = await send(current.token, body, signal);
      if (response.status === 401) {
        await response.body?.cancel();
        // One refresh per 401, then one retry: a second 401 means the grant itself is gone.
        if (await tokens.onUnauthorized(current.version)) {
          current = await tokens.get();
          response = await send(current.token, body, signal);
        }
        if (response.status === 401) {
          await response.body?.cancel();
          throw new ShopifyAdminError(
            'reauth_required',
            shop,
            'Shopify rejected the access token; the merchant must open the app again to re-authorise it',
            { httpStatus: 401 },
          );
        }
      }

      if (response.status === 429) {
        await response.body?.cancel();
        throw new ShopifyAdminError('rate_limited', shop, 'Shopify rate limit (HTTP 429)', {
          httpStatus: 429,
          retryAfterSeconds: parseRetryAfter(response.headers.get('retry-after')) ?? 1,
        });
      }
      const text = await response.text();
      let parsed: GraphqlBody | undefined;
      try {
        parsed = JSON.parse(text) as GraphqlBody;
      } catch {
        parsed = undefined;
      }
      if (response.status >= 500) {
        throw new ShopifyAdminError('unavailable', shop, `Shopify Admin API answered ${response.status}`, {
          httpStatus: response.status,
          retryAfterSeconds: parseRetryAfter(response.headers.get('retry-after')),
        });
      }
      if (!response.ok) {
        throw new ShopifyAdminError('http', shop, `Shopify Admin API answered ${response.status}`, {
          httpStatus: response.status,
          graphqlErrors: parsed?.errors ? summarizeErrors(parsed.errors) : undefined,
        });
      }
      if (!parsed || typeof parsed !== 'object') {
        throw new ShopifyAdminError(
          'invalid_response',
          shop,
          'Shopify Admin API answered with something that is not JSON',
          {
            httpStatus: response.status,
          },
        );
      }
      const cost = parsed.extensions?.cost;
      if (parsed.errors) {
        const graphqlErrors = summarizeErrors(parsed.errors);
        const codes = new Set(graphqlErrors.map((e) => e.code));
        if (codes.has('THROTTLED')) {
          // Wait until the bucket holds the requested cost again (Shopify's documented arithmetic).
          const t = cost?.throttleStatus;
          const missing = t ? Math.max(0, (cost?.requestedQueryCost ?? 0) - t.currentlyAvailable) : 0;
          const retryAfterSeconds = t && t.restoreRate > 0 ? missing / t.restoreRate : 1;
          throw new ShopifyAdminError('throttled', shop, 'Shopify throttled the query (THROTTLED)', {
            cost,
            graphqlErrors,
            retryAfterSeconds,
          });
        }
        const kind = codes.has('ACCESS_DENIED') ? 'access_denied' : 'graphql';
        throw new ShopifyAdminError(
          kind,
          shop,
          `Shopify GraphQL error: ${graphqlErrors[0]?.message ?? 'unknown'}`,
          {
            cost,
            graphqlErrors,
            data: parsed.data ?? undefined,
          },
        );
      }
      if (parsed.data === undefined || parsed.data === null) {
        throw new ShopifyAdminError('invalid_response', shop, 'Shopify Admin API answered without data');
      }
      return { data: parsed.data as T, extensions: parsed.extensions };
    },
  };
}
