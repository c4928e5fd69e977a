import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import { safeEqual } from '../crypto/tokens.ts';
import { unauthorized } from '../errors.ts';
import type { Metrics } from '../metrics.ts';

/*
 * Who may read `/metrics` (issue 16). They describe the traffic, the queues and the process, which
 * is reconnaissance for an attacker, so:
 * - `METRICS_TOKEN` set: `/metrics` on the public port wants `Authorization: Bearer <token>`;
 * - `METRICS_PORT` set: a listener of its own on `METRICS_HOST` (loopback by default) serves them,
 *   and the public port does not (unless a token is set too);
 * - neither: open on the public port in development and tests, absent in production.
 */

/** Where `/metrics` is served and what it asks for. */
export type MetricsAccess = { publicPort: boolean; token?: string; port?: number; host: string };

/** The metrics policy of a process, from its config. */
export function metricsAccess(config: Config): MetricsAccess {
  const publicPort =
    config.METRICS_TOKEN !== undefined ||
    (config.METRICS_PORT === undefined && config.NODE_ENV !== 'production');
  return { publicPort, token: config.METRICS_TOKEN, port: config.METRICS_PORT, host: config.METRICS_HOST };
}

/** True when `authorization` carries the metrics bearer token (constant-time). */
export function hasMetricsToken(authorization: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  return match !== null && safeEqual(match[1], token);
}

/** Throws 401 unless the request carries the token (when one is configured). */
export function checkMetricsToken(request: FastifyRequest, access: MetricsAccess): void {
  if (access.token !== undefined && !hasMetricsToken(request.headers.authorization, access.token)) {
    throw unauthorized('Metrics need Authorization: Bearer <METRICS_TOKEN>');
  }
}

/**
 * Starts the metrics listener (`METRICS_PORT`): GET /metrics only, the token too when one is set.
 * Resolves with its URL and a close function.
 */
export async function startMetricsListener(
  metrics: Metrics,
  access: MetricsAccess & { port: number },
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'x-content-type-options': 'nosniff' }).end(body);
    };
    if (req.method !== 'GET' || path !== '/metrics') return reply(404, 'text/plain', 'not found\n');
    if (access.token !== undefined && !hasMetricsToken(req.headers.authorization, access.token))
      return reply(401, 'text/plain', 'unauthorized\n');
    metrics.registry.metrics().then(
      (text) => reply(200, metrics.registry.contentType, text),
      () => reply(500, 'text/plain', 'metrics failed\n'),
    );
  });
  server.headersTimeout = 5_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(access.port, access.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = access.host.includes(':') ? `[${access.host}]` : access.host;
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
