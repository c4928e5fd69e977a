import { authHeaders } from '../identity.ts';
import { BAD_HEADERS, ownObject, percentEncode, RAW_BODIES } from './arbitraries.ts';
import type { FuzzCase } from './cases.ts';
import { exampleFor, fieldsOf, type Operation, typeOf } from './openapi.ts';
import type { RawRequest } from './raw-http.ts';
import type { FuzzPrincipal, FuzzWorld } from './world.ts';

// Turns a fuzz case into the bytes of one request: real ids in the path, schema examples for the
// rest, then the case's one mutation (and, for framing attacks, the headers and body on the wire).

/** A request ready for the wire, with what the checks need to know about it. */
export type BuiltRequest = RawRequest & {
  /** Text a response must not echo (the hostile part of a parser attack). */
  mustNotEcho?: string;
  /** Everything we sent, for "was this secret in the request?" */
  sentText: string;
};

/** The real id for a path parameter (`orders/{id}` before `id`), or a well-formed stand-in. */
export function idFor(world: Pick<FuzzWorld, 'ids'>, path: string, name: string): string {
  const segments = path.split('/');
  const at = segments.indexOf(`{${name}}`);
  const scoped = at > 0 ? world.ids[`${segments[at - 1]}/{${name}}`] : undefined;
  return scoped ?? world.ids[name] ?? '00000000-0000-4000-8000-000000000000';
}

function setAt(target: any, path: string[], value: unknown, remove = false): void {
  let node = target;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i];
    if (node[key] === null || typeof node[key] !== 'object')
      node[key] = /^\d+$/.test(path[i + 1]) ? [{}] : {};
    node = node[key];
  }
  const last = path[path.length - 1];
  if (remove) delete node[last];
  else Object.defineProperty(node, last, { value, enumerable: true, writable: true, configurable: true });
}

/** Replaces every string of the body, in order, by the hostile ones (cycled). */
function hostileStrings(value: unknown, strings: string[], counter = { i: 0 }): unknown {
  if (typeof value === 'string') return strings[counter.i++ % strings.length];
  if (Array.isArray(value)) return value.map((v) => hostileStrings(v, strings, counter));
  if (value && typeof value === 'object')
    return ownObject(Object.entries(value).map(([k, v]) => [k, hostileStrings(v, strings, counter)]));
  return value;
}

function chunked(body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
}

/** Builds the bytes of one case. */
export function buildRequest(
  world: Pick<FuzzWorld, 'ids' | 'hints'>,
  op: Operation,
  principal: FuzzPrincipal,
  c: FuzzCase,
): BuiltRequest {
  const mutation = c.mutation;
  const pathValues: Record<string, string> = {};
  for (const p of op.params.filter((p) => p.in === 'path'))
    pathValues[p.name] = percentEncode(idFor(world, op.path, p.name));
  const query: string[] = [];
  for (const p of op.params.filter((p) => p.in === 'query' && p.required))
    query.push(`${p.name}=${percentEncode(String(exampleFor(p.schema, p.name, world.hints)))}`);

  let body: unknown = op.body ? exampleFor(op.body, undefined, world.hints) : undefined;
  let raw: Buffer | undefined;
  let contentType: string | null = op.body || op.method !== 'GET' ? 'application/json' : null;
  const extraHeaders: [string, string][] = [];
  let auth = Object.entries(authHeaders(principal.credentials));
  let mustNotEcho: string | undefined;
  let omitHost = false;

  switch (mutation.t) {
    case 'param':
      pathValues[mutation.name] = mutation.raw;
      break;
    case 'query': {
      const at = query.findIndex((q) => q.startsWith(`${mutation.name}=`));
      if (at >= 0) query.splice(at, 1);
      query.push(`${mutation.name}=${mutation.raw}`);
      break;
    }
    case 'query-extra':
      query.push(mutation.raw);
      break;
    case 'field':
      body = body && typeof body === 'object' ? body : {};
      setAt(body, mutation.path, mutation.value);
      break;
    case 'missing':
      if (body && typeof body === 'object') setAt(body, mutation.path, undefined, true);
      break;
    case 'extra':
      body = body && typeof body === 'object' && !Array.isArray(body) ? body : {};
      setAt(body, [mutation.key], mutation.value);
      break;
    case 'strings': {
      // Fill the optional string fields too, so every text input meets hostile content.
      const full: Record<string, unknown> =
        body && typeof body === 'object' ? (body as Record<string, unknown>) : {};
      for (const f of fieldsOf(op.body)) {
        if (f.path.length === 1 && typeOf(f.schema) === 'string' && !(f.path[0] in full))
          full[f.path[0]] = 'x';
      }
      body = hostileStrings(full, mutation.values);
      break;
    }
    case 'body':
      body = mutation.value;
      break;
    case 'raw-body':
      raw = RAW_BODIES[mutation.index];
      break;
    case 'content-type':
      contentType = mutation.value;
      break;
    case 'header':
      for (const [name, value] of BAD_HEADERS[mutation.index]) {
        if (/^(authorization|x-api-key|cookie)$/i.test(name))
          auth = auth.filter(([n]) => !/^(authorization|x-api-key|cookie)$/i.test(n));
        extraHeaders.push([name, value]);
      }
      break;
    case 'transport':
      break;
  }

  if (raw === undefined)
    raw =
      body === undefined
        ? op.method === 'GET'
          ? undefined
          : Buffer.alloc(0)
        : Buffer.from(JSON.stringify(body));
  const headers: [string, string][] = [...auth, ...extraHeaders];
  if (contentType !== null && (raw?.length ?? 0) > 0) headers.push(['Content-Type', contentType]);
  let frame = true;

  if (mutation.t === 'transport') {
    const firstParam = op.params.find((p) => p.in === 'path')?.name;
    switch (mutation.attack) {
      case 'duplicate-content-length': {
        const n = raw?.length ?? 0;
        headers.push(['Content-Length', String(n)], ['Content-Length', String(n + 1)]);
        break;
      }
      case 'content-length-and-chunked':
        headers.push(['Content-Length', String(raw?.length ?? 0)], ['Transfer-Encoding', 'chunked']);
        raw = chunked(raw ?? Buffer.alloc(0));
        break;
      case 'control-char-in-header':
        headers.push(['X-Fuzz', 'a\u0001b\u007f']);
        break;
      case 'huge-header':
        headers.push(['X-Fuzz', 'h'.repeat(20_000)]);
        break;
      case 'long-parameter': {
        const long = 'L'.repeat(5_000);
        mustNotEcho = long.slice(0, 200);
        if (firstParam) pathValues[firstParam] = long;
        else query.push(`long=${long}`);
        break;
      }
      case 'bad-percent-in-path':
        mustNotEcho = 'fuzz%zz';
        if (firstParam) pathValues[firstParam] = 'fuzz%zz';
        else query.push('bad=fuzz%zz');
        break;
      case 'duplicate-host':
        headers.push(['Host', '127.0.0.1'], ['Host', 'evil.example']);
        break;
      case 'no-host':
        omitHost = true;
        break;
      case 'duplicate-content-type':
        headers.push(['Content-Type', 'application/json'], ['Content-Type', 'text/plain']);
        break;
      case 'duplicate-authorization':
        headers.push(['Authorization', 'Bearer forged'], ['Authorization', 'Basic Zm9vOmJhcg==']);
        break;
    }
    if (mutation.attack === 'duplicate-content-length' || mutation.attack === 'content-length-and-chunked')
      frame = false;
  }

  const path = op.path.replace(/\{([^}]+)\}/g, (_m, name: string) => pathValues[name] ?? 'x');
  const target = query.length > 0 ? `${path}?${query.join('&')}` : path;
  const sentText = `${target}\n${raw?.toString('utf8') ?? ''}`;
  return { method: op.method, target, headers, body: raw, frame, omitHost, mustNotEcho, sentText };
}
