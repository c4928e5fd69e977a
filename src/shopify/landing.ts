import { z } from 'zod';
import { badRequest } from '../platform/errors.ts';
import type { App } from '../platform/http/server.ts';
import { normalizeShopDomain } from './api.ts';

const escapeHtml = (value: string) =>
  value.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

const page = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1f2933}
code{background:#f0f4f8;padding:.1rem .3rem;border-radius:3px}</style></head>
<body>${body}</body></html>`;

/**
 * `GET /app?shop=` — where a merchant lands after installing (and where Shopify opens the app). It
 * is public, so it states only what the merchant already knows (the shop they just installed on,
 * and whether StoreOps holds it) and points to the next steps; the connection's details are behind
 * the authenticated API. A shop StoreOps does not hold (never installed, uninstalled, redacted) is
 * told so, with the install link — never "connected".
 */
export function registerLandingPage(
  app: App,
  deps: { resolveShop(shop: string): Promise<{ status: string } | undefined> },
): void {
  app.get(
    '/app',
    {
      config: { access: 'public' },
      schema: {
        tags: ['shopify'],
        summary: 'Landing page after install (HTML)',
        querystring: z.object({ shop: z.string().max(255), host: z.string().max(512).optional() }),
      },
    },
    async (request, reply) => {
      const shop = normalizeShopDomain(request.query.shop);
      if (!shop) throw badRequest('INVALID_SHOP_DOMAIN', 'shop must be a *.myshopify.com domain');
      const safeShop = escapeHtml(shop);
      const held = await deps.resolveShop(shop);
      const install = `/shopify/install?shop=${encodeURIComponent(shop)}`;
      reply.type('text/html; charset=utf-8');
      if (!held || held.status === 'uninstalled' || held.status === 'redacted') {
        return reply.send(
          page(
            `StoreOps: not installed on ${safeShop}`,
            `<h1>StoreOps is not installed on ${safeShop}</h1>
<p>This StoreOps server holds no connection to this shop. To connect it,
<a href="${install}">install the app</a>.</p>`,
          ),
        );
      }
      if (held.status === 'needs_reauth') {
        return reply.send(
          page(
            `StoreOps: reconnect ${safeShop}`,
            `<h1>StoreOps needs to be reconnected to ${safeShop}</h1>
<p>Shopify no longer accepts StoreOps's access to this shop. <a href="${install}">Reconnect the app</a>.</p>`,
          ),
        );
      }
      return reply.send(
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
    },
  );
}
