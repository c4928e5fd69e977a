import { z } from 'zod';

/**
 * Shopify's documented rule for the `shop` parameter: a `*.myshopify.com` host made of letters,
 * digits and hyphens, starting with a letter or digit. Lower-cased before use.
 * https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/authorization-code-grant
 */
const SHOP_DOMAIN = /^[a-z0-9][a-z0-9-]{0,62}\.myshopify\.com$/;

/** The normalised shop domain, or undefined when it is not a valid `*.myshopify.com` host. */
export function normalizeShopDomain(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const shop = value.trim().toLowerCase();
  return SHOP_DOMAIN.test(shop) ? shop : undefined;
}

/** A shop domain field (path parameter or body): validated and lower-cased. */
export const shopDomainSchema = z
  .string()
  .max(255)
  .transform((v, ctx) => {
    const shop = normalizeShopDomain(v);
    if (!shop) {
      ctx.addIssue({ code: 'custom', message: 'must be a *.myshopify.com domain' });
      return z.NEVER;
    }
    return shop;
  })
  .meta({ example: 'my-store.myshopify.com' });

/** Connection states (see tables.ts). */
export const connectionStatus = z.enum(['active', 'needs_reauth', 'uninstalled', 'redacted']);
export type ConnectionStatus = z.infer<typeof connectionStatus>;

/** How the token was obtained. */
export const connectionSource = z.enum(['oauth', 'token_exchange', 'manual']);
export type ConnectionSource = z.infer<typeof connectionSource>;

/** A connection as the API shows it: never a token. */
export const connectionView = z.object({
  shop: z.string(),
  shopName: z.string().nullable(),
  tenantId: z.uuid(),
  status: connectionStatus,
  source: connectionSource,
  scopes: z.array(z.string()),
  /** Null for non-expiring tokens. */
  expiresAt: z.iso.datetime().nullable(),
  lastRefreshedAt: z.iso.datetime().nullable(),
  installedAt: z.iso.datetime(),
  uninstalledAt: z.iso.datetime().nullable(),
  redactAt: z.iso.datetime().nullable(),
  /** `ok` | `expiring` (refresh due) | `needs_reauth` | `disconnected`. */
  health: z.enum(['ok', 'expiring', 'needs_reauth', 'disconnected']),
  lastError: z.string().nullable(),
});
export type ConnectionView = z.infer<typeof connectionView>;

/** `GET /api/v1/shopify/status`. */
export const statusResponse = z.object({ shops: z.array(connectionView) });

/** `GET /api/v1/shops/:shop/token`: the one response that carries a token. */
export const tokenResponse = z.object({
  shop: z.string(),
  accessToken: z.string(),
  scopes: z.array(z.string()),
  expiresAt: z.iso.datetime().nullable(),
  apiVersion: z.string(),
  graphqlUrl: z.string(),
});

/** `PUT /api/v1/tenants/:tenant/shopify/connection`: a custom/private app token (seed 001 set-token). */
export const manualTokenBody = z.object({
  shop: shopDomainSchema,
  accessToken: z
    .string()
    .min(8)
    .max(512)
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'),
});

/** Result of a disconnect. */
export const disconnectResponse = z.object({
  shop: z.string(),
  status: connectionStatus,
  revokedAtShopify: z
    .boolean()
    .describe(
      'True when Shopify confirmed the uninstall (appUninstall), which revokes its tokens. False for manual tokens, or when Shopify failed or refused: the tokens are erased locally either way',
    ),
  redactAt: z.iso.datetime().nullable(),
});

/** `POST /shopify/token-exchange` result (the token itself stays on the server). */
export const tokenExchangeResponse = z.object({
  shop: z.string(),
  tenantId: z.uuid(),
  status: connectionStatus,
  reinstalled: z.boolean(),
});

/** `GET /api/v1/shopify/oauth-config`: what the OAuth setup looks like, secrets masked. */
export const oauthConfigResponse = z.object({
  configured: z.boolean(),
  apiKey: z.string().nullable(),
  apiSecret: z.object({ set: z.boolean(), fingerprint: z.string().nullable() }),
  previousApiSecret: z.object({ set: z.boolean(), fingerprint: z.string().nullable() }),
  scopes: z.array(z.string()),
  apiVersion: z.string(),
  adminUrlTemplate: z.string(),
  publicUrl: z.string(),
  installUrl: z.string(),
  redirectUri: z.string(),
  tokenExchangeUrl: z.string(),
  expiringOfflineTokens: z.boolean(),
  encryptionKeys: z.array(z.object({ id: z.string(), current: z.boolean() })),
});
