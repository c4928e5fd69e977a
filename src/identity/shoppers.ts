import type { Config } from '../platform/config.ts';
import type { TenantRef } from '../platform/http/auth.ts';
import {
  type AccountDeps,
  confirmPasswordReset,
  login,
  me,
  register,
  requestPasswordReset,
  resendVerification,
  verify,
} from './shopper-accounts.ts';
import { logoutShopper, refreshShopper, shopperCookies } from './shopper-tokens.ts';

export type { Shopper } from './shopper-rows.ts';
export { refreshCookieName, type ShopperTokens, shopperCsrfCookieName } from './shopper-tokens.ts';

/**
 * Storefront accounts (seeds 002 and 004): sign-up with an e-mailed 6-digit code, login once
 * verified, short-lived access JWTs with rotating refresh tokens (reuse revokes the family),
 * logout, and password reset by code. Every query runs inside `withTenant`, so row-level security
 * keeps one storefront's shoppers away from another's. Split by seam: shopper-accounts.ts,
 * shopper-tokens.ts, shopper-codes.ts (codes, mail, throttling), shopper-rows.ts (rows, audit).
 */
export function createShoppers(deps: AccountDeps & { config: Config }) {
  type Input<F extends (d: AccountDeps, t: TenantRef, i: never, ip: string) => unknown> = Parameters<F>[2];
  return {
    register: (tenant: TenantRef, input: Input<typeof register>, ip: string) =>
      register(deps, tenant, input, ip),
    verify: (tenant: TenantRef, input: Input<typeof verify>, ip: string) => verify(deps, tenant, input, ip),
    resendVerification: (tenant: TenantRef, input: Input<typeof resendVerification>, ip: string) =>
      resendVerification(deps, tenant, input, ip),
    login: (tenant: TenantRef, input: Input<typeof login>, ip: string) => login(deps, tenant, input, ip),
    refresh: (tenant: TenantRef, token: string | undefined, csrf: string | undefined, ip: string) =>
      refreshShopper(deps, tenant, token, csrf, ip),
    logout: (tenant: TenantRef, token: string | undefined, csrf: string | undefined, ip: string) =>
      logoutShopper(deps, tenant, token, csrf, ip),
    me: (tenant: TenantRef, shopperId: string) => me(deps, tenant, shopperId),
    requestPasswordReset: (tenant: TenantRef, input: Input<typeof requestPasswordReset>, ip: string) =>
      requestPasswordReset(deps, tenant, input, ip),
    confirmPasswordReset: (tenant: TenantRef, input: Input<typeof confirmPasswordReset>, ip: string) =>
      confirmPasswordReset(deps, tenant, input, ip),
    ...shopperCookies(deps.config.NODE_ENV === 'production'),
  };
}

/** The shoppers service. */
export type Shoppers = ReturnType<typeof createShoppers>;
