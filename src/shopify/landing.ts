import { z } from 'zod';
import { badRequest } from '../platform/errors.ts';
import type { App } from '../platform/http/server.ts';
import { normalizeShopDomain } from './api.ts';

const escapeHtml = (value: string) =>
  value.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

const STYLE = `<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1f2933}
code{background:#f0f4f8;padding:.1rem .3rem;border-radius:3px}</style>`;

const page = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
${STYLE}</head>
<body>${body}</body></html>`;

/** What the landing page needs of the Shopify module: the connection state of a shop. */
export type LandingDeps = {
  resolveShop(
    shop: string,
  ): Promise<{ status: 'active' | 'needs_reauth' | 'uninstalled' | 'redacted' } | undefined>;
};

/**
 * `GET /app?shop=` — where a merchant lands after installing (and where Shopify opens the app). It
 * is public, so it states only whether StoreOps holds a working connection to the shop, and points
 * to the next step: the API once installed, the install flow when not (or no longer) installed,
 * reconnecting when the token needs re-authorization. The connection's details are behind the
 * authenticated API.
 */
export function registerLandingPage(app: App, deps: LandingDeps): void {
  app.get(
    '/app',
    {
      config: { access: 'public' },
      schema: {
        tags: ['shopify'],
        summary:
          'Landing page after install (HTML): connected, needs reconnecting (409), or not installed (404)',
        querystring: z.object({ shop: z.string().max(255), host: z.string().max(512).optional() }),
      },
    },
    async (request, reply) => {
      const shop = normalizeShopDomain(request.query.shop);
      if (!shop) throw badRequest('INVALID_SHOP_DOMAIN', 'shop must be a *.myshopify.com domain');
      const safeShop = escapeHtml(shop);
      const install = `<a href="/shopify/install?shop=${encodeURIComponent(shop)}">`;
      const connection = await deps.resolveShop(shop);
      const html = reply.type('text/html; charset=utf-8');
      if (connection?.status === 'active') {
        return html.send(
          page(
            `StoreOps: connected to ${safeShop}`,
            `<h1>StoreOps is connected to ${safeShop}</h1>
<p>The app is installed. StoreOps is registering its webhooks and copying your products, customers
and orders in the background.</p>
<ul>
<li>Sign in as an operator or store owner and check progress at <code>GET /api/v1/tenants/&lt;tenant&gt;/sync</code>.</li>
<li>The whole API is described at <a href="/docs">/docs</a>.</li>
</ul>`,
          ),
        );
      }
      if (connection?.status === 'needs_reauth') {
        return html.status(409).send(
          page(
            `StoreOps: reconnect ${safeShop}`,
            `<h1>StoreOps needs to be reconnected to ${safeShop}</h1>
<p>Shopify no longer accepts the connection's token. ${install}Reconnect the app</a> to resume.</p>`,
          ),
        );
      }
      return html.status(404).send(
        page(
          `StoreOps: not installed on ${safeShop}`,
          `<h1>StoreOps is not installed on ${safeShop}</h1>
<p>This server holds no connection to that shop. ${install}Install StoreOps on ${safeShop}</a>.</p>`,
        ),
      );
    },
  );
}
