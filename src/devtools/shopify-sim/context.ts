/** What every resolver gets: the simulator, the shop and the calling token. */
import { GraphQLError } from 'graphql';
import type { BulkState } from './bulk.ts';
import { hasScope } from './oauth.ts';
import type { ShopState } from './shops.ts';
import type { SimState, TokenRec } from './state.ts';
import type { WebhookEngine } from './webhooks.ts';

/** Resolver context for one Admin API request. */
export type Ctx = {
  sim: SimState;
  engine: WebhookEngine;
  bulk: BulkState;
  shop: ShopState;
  token: TokenRec;
  apiVersion: string;
  /** Bulk export runs the same resolvers without scope-free shortcuts; no difference today. */
  inBulk: boolean;
};

/** Throws Shopify's ACCESS_DENIED error unless the token carries the scope. */
export function requireScope(ctx: Ctx, scope: string, field: string): void {
  if (hasScope(ctx.token.scopes, scope)) return;
  throw new GraphQLError(`Access denied for ${field} field. Required access: \`${scope}\` access scope.`, {
    extensions: {
      code: 'ACCESS_DENIED',
      documentation: 'https://shopify.dev/api/usage/access-scopes',
      requiredAccess: `\`${scope}\` access scope.`,
    },
  });
}
