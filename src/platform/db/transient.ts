/*
 * Riding out a database outage (issue 16): a PostgreSQL restart terminates every connection, and
 * for a few seconds new ones are refused. Work that is safe to repeat (keyed upserts, fenced
 * updates, reads) waits for the server instead of failing the whole job or batch.
 */

/** Socket errors of a connection that broke or could not be made. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs of a server that went away or is not ready: class 08 (connection exception),
 * admin_shutdown, crash_shutdown, cannot_connect_now (starting up / shutting down).
 */
const SERVER_CODES = new Set(['57P01', '57P02', '57P03']);

/** node-postgres's own messages for a connection that ended under it (they carry no code). */
const CLIENT_MESSAGES = [
  'Connection terminated',
  'connection error and is not queryable',
  'Client was closed and is not queryable',
  'timeout exceeded when trying to connect',
];

/**
 * True when `error` (or an error it wraps, as Drizzle does) says the connection broke or the server
 * is restarting: the same statement can succeed on a new connection once the server is back.
 * Errors about the statement itself (constraints, syntax, serialization) are not transient here.
 */
export function isTransientDatabaseError(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (
      typeof code === 'string' &&
      (NETWORK_CODES.has(code) || SERVER_CODES.has(code) || code.startsWith('08'))
    )
      return true;
    if (typeof message === 'string' && CLIENT_MESSAGES.some((m) => message.includes(m))) return true;
  }
  return false;
}

/**
 * Runs `fn`, and again after a transient database error (250 ms, doubling to 2 s between tries)
 * until `maxMs` have passed; any other error, or the last one, is thrown. Only for work that is
 * safe to repeat: a COMMIT cut off by the outage may have happened.
 */
export async function retryTransient<T>(
  fn: () => Promise<T>,
  options: { maxMs: number; signal?: AbortSignal; onRetry?: (error: unknown, attempt: number) => void },
): Promise<T> {
  const deadline = Date.now() + options.maxMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      const delay = Math.min(2_000, 250 * 2 ** (attempt - 1));
      if (!isTransientDatabaseError(error) || Date.now() + delay > deadline || options.signal?.aborted)
        throw error;
      options.onRetry?.(error, attempt);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        options.signal?.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
      options.signal?.throwIfAborted();
    }
  }
}
