import type { FastifyReply, FastifyRequest } from 'fastify';
import { type AppError, isAppError } from '../platform/errors.ts';

/**
 * The install and callback are browser flows: a merchant who hits an error there should see a page,
 * not JSON. API clients (and tests) that do not ask for HTML still get the one error envelope.
 */

const escapeHtml = (value: string) =>
  value.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

/** True when the client prefers an HTML page (a browser navigation). */
export function wantsHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  const html = accept.indexOf('text/html');
  const json = accept.indexOf('application/json');
  return html >= 0 && (json < 0 || html < json);
}

/** Sends an AppError as an HTML page with the same status, code and request id. */
export function sendErrorPage(
  request: FastifyRequest,
  reply: FastifyReply,
  error: AppError,
  retry?: { shop: string },
): FastifyReply {
  const retryLink = retry
    ? `<p><a href="/shopify/install?shop=${encodeURIComponent(retry.shop)}">Start the installation again</a></p>`
    : '';
  const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>StoreOps: Shopify connection failed</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1f2933}
code{background:#f0f4f8;padding:.1rem .3rem;border-radius:3px}</style></head>
<body><h1>The Shopify connection could not be completed</h1>
<p>${escapeHtml(error.message)}</p>
<p>Error <code>${escapeHtml(error.code)}</code> · request <code>${escapeHtml(String(request.id))}</code></p>
${retryLink}</body></html>`;
  for (const [name, value] of Object.entries(error.headers ?? {})) reply.header(name, value);
  return reply.status(error.status).type('text/html; charset=utf-8').send(body);
}

/** Runs a browser-flow handler; AppErrors become a page for browsers and the envelope otherwise. */
export async function browserFlow(
  request: FastifyRequest,
  reply: FastifyReply,
  run: () => Promise<FastifyReply>,
  retryShop?: () => string | undefined,
): Promise<FastifyReply> {
  try {
    return await run();
  } catch (error) {
    if (isAppError(error) && wantsHtml(request)) {
      request.log.info({ code: error.code, status: error.status }, 'shopify browser flow failed');
      const shop = retryShop?.();
      return sendErrorPage(request, reply, error, shop ? { shop } : undefined);
    }
    throw error;
  }
}
