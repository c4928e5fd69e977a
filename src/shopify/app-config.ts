import { createHash } from 'node:crypto';
import type { Config } from '../platform/config.ts';
import type { Vault } from '../platform/crypto/vault.ts';
import { redirectUri, type ShopifyApp } from './oauth.ts';
import { shopifySecrets } from './signing.ts';

/** The app's OAuth settings from configuration; undefined until key and secret are both set. */
export function shopifyAppFromConfig(config: Config): ShopifyApp | undefined {
  if (!config.SHOPIFY_API_KEY || !config.SHOPIFY_API_SECRET) return undefined;
  return {
    apiKey: config.SHOPIFY_API_KEY,
    secrets: shopifySecrets(config),
    scopes: config.SHOPIFY_SCOPES,
    apiVersion: config.SHOPIFY_API_VERSION,
    adminUrlTemplate: config.SHOPIFY_ADMIN_URL_TEMPLATE,
    publicUrl: config.STOREOPS_PUBLIC_URL,
  };
}

/** Secret-free fingerprint so operators can compare deployments' secrets. */
const fingerprint = (secret: string | undefined) =>
  secret ? `sha256:${createHash('sha256').update(secret).digest('hex').slice(0, 12)}` : null;

/** The OAuth setup with every secret masked (operators' debug endpoint). */
export function oauthConfigView(config: Config, vault: Vault) {
  const publicUrl = config.STOREOPS_PUBLIC_URL;
  return {
    configured: Boolean(config.SHOPIFY_API_KEY && config.SHOPIFY_API_SECRET),
    apiKey: config.SHOPIFY_API_KEY ?? null,
    apiSecret: {
      set: Boolean(config.SHOPIFY_API_SECRET),
      fingerprint: fingerprint(config.SHOPIFY_API_SECRET),
    },
    previousApiSecret: {
      set: Boolean(config.SHOPIFY_API_SECRET_PREVIOUS),
      fingerprint: fingerprint(config.SHOPIFY_API_SECRET_PREVIOUS),
    },
    scopes: [...config.SHOPIFY_SCOPES],
    apiVersion: config.SHOPIFY_API_VERSION,
    adminUrlTemplate: config.SHOPIFY_ADMIN_URL_TEMPLATE,
    publicUrl,
    installUrl: `${publicUrl}/shopify/install?shop={shop}`,
    redirectUri: redirectUri({ publicUrl }),
    tokenExchangeUrl: `${publicUrl}/shopify/token-exchange`,
    expiringOfflineTokens: true,
    encryptionKeys: vault.keyIds.map((id) => ({ id, current: id === vault.currentKeyId })),
  };
}
