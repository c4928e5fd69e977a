import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';
import type { Config } from '../config.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';

/*
 * The edges of HTTP that no route sees (issue 16): the security headers every answer carries, and
 * the answers Fastify and Node give before routing (bad URLs, over-long parameters, requests the
 * HTTP parser refuses) — all in the one error envelope, none echoing what the client sent.
 */

/** Longest path parameter (a 255-character product handle or shop domain fits); longer is 414. */
export const MAX_PARAM_LENGTH = 256;

/**
 * The security headers (helmet's, for `options`), computed once. They are the same for every
 * answer, so one `reply.headers()` per request replaces a middleware run, and the raw answers to
 * malformed requests (written straight to the socket) carry exactly the same set.
 */
export function computeSecurityHeaders(options: HelmetOptions): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  let failure: unknown;
  // helmet is connect middleware: it only sets headers, synchronously, then calls next.
  helmet(options)({} as never, response as never, (error?: unknown) => {
    failure = error;
  });
  if (failure) throw failure;
  return Object.freeze(headers);
}

/** The AppError for an error Fastify raises before a route is found (`frameworkErrors`). */
export function frameworkError(error: FastifyError): AppError {
  switch (error.code) {
    case 'FST_ERR_BAD_URL':
      // Fastify's own message quotes the path; ours does not.
      return new AppError(400, 'BAD_URL', 'The URL is not valid (bad percent-encoding)');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new AppError(
        414,
        'URI_TOO_LONG',
        `A path segment is longer than ${MAX_PARAM_LENGTH} characters`,
      );
    default:
      return new AppError(400, 'BAD_REQUEST', 'The request could not be routed');
  }
}

/** Status, code and message for an error of Node's HTTP parser (the server's `clientError`). */
function clientErrorAnswer(error: NodeJS.ErrnoException): { status: number; code: string; message: string } {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, code: 'HEADERS_TOO_LARGE', message: 'The request headers are too large' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, code: 'REQUEST_TIMEOUT', message: 'The request took too long to arrive' };
    default:
      return {
        status: 400,
        code: 'MALFORMED_REQUEST',
        message: 'The request is not valid HTTP (framing, header syntax or characters)',
      };
  }
}

/** An HTTP/1.1 response with the error envelope, as bytes for a socket. */
export function rawErrorResponse(
  answer: { status: number; code: string; message: string },
  headers: Readonly<Record<string, string>>,
  requestId = randomUUID(),
): string {
  const body = JSON.stringify({
    error: { code: answer.code, message: answer.message, requestId },
  });
  const lines = [
    `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? 'Error'}`,
    'content-type: application/json; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
    `x-request-id: ${requestId}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/**
 * Answers what Node's HTTP parser refuses (the server's `clientError`: conflicting lengths,
 * Content-Length with Transfer-Encoding, control characters, 431, 408) with the envelope and the
 * security headers, then closes the connection. The request never reached Fastify, so there is
 * nothing to log but the kind of error (never the bytes: they may hold credentials).
 */
export function createClientErrorHandler(deps: {
  headers: Readonly<Record<string, string>>;
  logger: Logger;
}) {
  return function onClientError(error: NodeJS.ErrnoException, socket: Socket): void {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const answer = clientErrorAnswer(error);
    deps.logger.debug({ code: error.code, status: answer.status }, 'malformed request refused');
    // A response already under way on this socket (keep-alive) cannot be followed by another.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && !inFlight?.headersSent) {
      socket.end(rawErrorResponse(answer, deps.headers));
      // end() flushes and half-closes; a peer that never reads must not keep the socket alive.
      setTimeout(() => socket.destroy(), 1000).unref();
    } else {
      socket.destroy();
    }
  };
}

/**
 * Fastify's and Node's timeouts from the config (docs/security.md, "Slow clients"): the request
 * head within `HTTP_HEADERS_TIMEOUT_MS`, the whole request within `HTTP_REQUEST_TIMEOUT_MS` (408
 * in the envelope, via the client-error handler), idle keep-alive connections closed after
 * `HTTP_KEEP_ALIVE_TIMEOUT_MS`, and any connection silent both ways for `HTTP_IDLE_TIMEOUT_MS`.
 */
export function timeoutOptions(config: Config) {
  const shortest = Math.min(config.HTTP_HEADERS_TIMEOUT_MS, config.HTTP_REQUEST_TIMEOUT_MS);
  return {
    requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeout: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    connectionTimeout: config.HTTP_IDLE_TIMEOUT_MS,
    http: {
      // Without this Node answers a Host-less HTTP/1.1 request itself with a bare 400 (no envelope,
      // no security headers); routing then refuses or serves it like any other request.
      requireHostHeader: false,
      headersTimeout: config.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeout: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      // Node checks the two request timeouts on this interval (30 s by default, which would let a
      // slow client hold a socket up to 30 s past its deadline).
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(shortest / 4))),
    },
  };
}

/**
 * Caps the open connections of one client address: the one over the cap gets a 503
 * TOO_MANY_CONNECTIONS (envelope, security headers, Retry-After) and is closed at once. Counted
 * by the socket's address, before any request: behind a proxy that is the proxy's address, so
 * size the cap for it there (or set 0 and cap at the proxy).
 */
export function capConnectionsPerAddress(
  server: Server,
  options: { perAddress: number; headers: Readonly<Record<string, string>>; logger: Logger },
): void {
  if (options.perAddress <= 0) return;
  const open = new Map<string, number>();
  const refusal = () =>
    rawErrorResponse(
      {
        status: 503,
        code: 'TOO_MANY_CONNECTIONS',
        message: 'Too many open connections from this address; close some and retry',
      },
      { ...options.headers, 'retry-after': '1' },
    );
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    const count = (open.get(address) ?? 0) + 1;
    if (count > options.perAddress) {
      options.logger.debug({ connections: count - 1 }, 'connection refused: per-address cap');
      socket.end(refusal());
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    open.set(address, count);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
  });
}
