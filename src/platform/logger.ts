import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

// Anything that can carry a credential. pino's redaction runs on every log call, so paths are
// listed explicitly (wildcards one level deep) rather than scanning objects.
const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["x-shopify-access-token"]',
  'req.headers["x-shopify-hmac-sha256"]',
  'req.headers["shopify-hmac-sha256"]',
  'req.headers["stripe-signature"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.password',
  '*.newPassword',
  '*.token',
  '*.accessToken',
  '*.access_token',
  '*.refreshToken',
  '*.refresh_token',
  '*.apiKey',
  '*.secret',
  '*.hmac',
  'password',
  'token',
  'accessToken',
  'refreshToken',
  'secret',
];

/** Query parameters whose values are credentials or one-time codes (OAuth callback, session tokens). */
const SENSITIVE_QUERY_KEYS = new Set([
  'hmac',
  'code',
  'state',
  'token',
  'id_token',
  'session',
  'access_token',
  'refresh_token',
  'signature',
  'key',
]);

/** Strips credential values from a URL's query string before it is logged. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  for (const key of [...params.keys()]) {
    if (SENSITIVE_QUERY_KEYS.has(key.toLowerCase())) params.set(key, '[Redacted]');
  }
  return `${url.slice(0, q)}?${params.toString()}`;
}

/** JSON logger with secrets redacted; `destination` lets tests capture the lines. */
export function createLogger(options: {
  level: string;
  destination?: DestinationStream;
  name?: string;
}): Logger {
  return pino(
    {
      level: options.level,
      name: options.name,
      redact: { paths: REDACT_PATHS, censor: '[Redacted]' },
      serializers: {
        req(req: { method: string; url: string; id?: string; ip?: string }) {
          return { id: req.id, method: req.method, url: redactUrl(req.url), remoteAddress: req.ip };
        },
        res(res: { statusCode: number }) {
          return { statusCode: res.statusCode };
        },
        err: pino.stdSerializers.err,
      },
    },
    options.destination,
  );
}
