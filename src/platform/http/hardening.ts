import type { FastifyRequest } from 'fastify';
import { type AppError, unprocessable } from '../errors.ts';
import type { App } from './server.ts';

/*
 * Input hardening that holds for every route (issue 16), so no route has to remember it:
 * text PostgreSQL cannot store is refused once, here, before authentication, validation or SQL.
 */

/**
 * True when `value` can be stored as PostgreSQL text: no NUL (PostgreSQL refuses it: "invalid byte
 * sequence for encoding UTF8: 0x00") and well-formed UTF-16 (a lone surrogate has no UTF-8 form
 * and would be silently replaced by U+FFFD on the way to the database).
 */
export function isStorableText(value: string): boolean {
  return !value.includes('\u0000') && value.isWellFormed();
}

/** Where in a request a bad string was found. */
export type TextLocation = { in: 'params' | 'query' | 'body'; path: string };

const isWalkable = (value: unknown): value is Record<string, unknown> | unknown[] => {
  if (Array.isArray(value)) return true;
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  // Parsed JSON, query strings and route params (their prototypes are null-prototype objects);
  // Buffers (webhook bodies), streams and other class instances are not text.
  return proto === Object.prototype || proto === null || Object.getPrototypeOf(proto) === null;
};

/**
 * The path (`a.b.0`) of the first string in `value` (deep: object keys, values, array items) that
 * is not storable text, or undefined. Iterative, so a hostile deeply nested body cannot overflow
 * the stack.
 */
export function findUnstorableText(value: unknown): string | undefined {
  const stack: { value: unknown; path: string }[] = [{ value, path: '' }];
  while (stack.length > 0) {
    const item = stack.pop() as { value: unknown; path: string };
    if (typeof item.value === 'string') {
      if (!isStorableText(item.value)) return item.path;
      continue;
    }
    if (!isWalkable(item.value)) continue;
    const entries = Array.isArray(item.value)
      ? item.value.map((v, i) => [String(i), v] as const)
      : Object.entries(item.value);
    for (const [key, child] of entries) {
      const path = item.path ? `${item.path}.${key}` : key;
      if (!isStorableText(key)) return path;
      stack.push({ value: child, path });
    }
  }
  return undefined;
}

function invalidText(location: TextLocation): AppError {
  return unprocessable(
    'INVALID_TEXT',
    'Text must not contain NUL characters or unpaired UTF-16 surrogates',
    // The path names the field, never the value (it may be a secret).
    { in: location.in, path: location.path.replaceAll('\u0000', '\\0') },
  );
}

/** Checks the decoded path parameters and query string of a request; throws 422 INVALID_TEXT. */
export function checkRequestText(request: FastifyRequest): void {
  for (const part of ['params', 'query'] as const) {
    const path = findUnstorableText(request[part]);
    if (path !== undefined) throw invalidText({ in: part, path });
  }
}

/**
 * Installs the text checks on every route registered after it: path parameters and query values
 * in the first `onRequest` hook (before the access layer looks a tenant up by them), JSON bodies
 * (every string, deep, keys included) in `preValidation`, right after parsing.
 */
export function installTextGuard(app: App): void {
  app.addHook('onRequest', async (request) => checkRequestText(request));
  app.addHook('preValidation', async (request) => {
    const path = findUnstorableText(request.body);
    if (path !== undefined) throw invalidText({ in: 'body', path });
  });
}
