import fc from 'fast-check';
import {
  anyJson,
  BAD_HEADERS,
  badCursor,
  badDate,
  badNumber,
  CONTENT_TYPES,
  hostileRaw,
  hostileString,
  percentEncode,
  RAW_BODIES,
  TRANSPORT,
  type TransportAttack,
} from './arbitraries.ts';
import type { BuiltRequest } from './build.ts';
import { fieldsOf, type Operation, type Param, typeOf } from './openapi.ts';
import type { FuzzPrincipal } from './world.ts';

export { buildRequest, type BuiltRequest, idFor } from './build.ts';

// One fuzz case = a principal + one mutation of a request that is otherwise as valid as the
// document lets us make it (real ids in the path, schema examples in the body). Cases are plain
// data drawn by fast-check, so a failure's example can be printed and replayed with the same seed.

/** What one case changes. */
export type Mutation =
  | { t: 'param'; name: string; raw: string }
  | { t: 'query'; name: string; raw: string }
  | { t: 'query-extra'; raw: string }
  | { t: 'field'; path: string[]; value: unknown }
  | { t: 'missing'; path: string[] }
  | { t: 'extra'; key: string; value: unknown }
  | { t: 'strings'; values: string[] }
  | { t: 'body'; value: unknown }
  | { t: 'raw-body'; index: number }
  | { t: 'content-type'; value: string | null }
  | { t: 'header'; index: number }
  | { t: 'transport'; attack: TransportAttack };

/** A principal (by index into world.principals) and a mutation. */
export type FuzzCase = { principal: number; mutation: Mutation };

const isDateName = (name: string) =>
  /(^|[a-z])(At|Min|Max)$|^(since|until|from|to|before|after|date)$/i.test(name);

function queryValue(param: Param): fc.Arbitrary<string> {
  const specific: fc.Arbitrary<string>[] = [];
  if (param.name === 'cursor') specific.push(badCursor);
  if (isDateName(param.name)) specific.push(badDate);
  const type = typeOf(param.schema);
  if (type === 'integer' || type === 'number' || param.name === 'limit') specific.push(badNumber);
  if (type === 'boolean' || param.name === 'live')
    specific.push(fc.constantFrom('yes', '2', 'TRUE ', '', 'null'));
  if (specific.length === 0) return hostileRaw;
  return fc.oneof(
    { weight: 3, arbitrary: fc.oneof(...specific).map(percentEncode) },
    { weight: 1, arbitrary: hostileRaw },
  );
}

const QUERY_EXTRAS: readonly string[] = [
  'limit=1&limit=2',
  'cursor=a&cursor=b',
  '__proto__[admin]=1',
  'constructor[prototype][admin]=1',
  'a[]=1&a[]=2',
  'a[b][c][d][e][f]=1',
  '=&&=&',
  `${'k'.repeat(2_000)}=1`,
  `x=${'v'.repeat(6_000)}`,
  '%zz=1',
  'x=%00',
  'x=%ED%A0%80',
  ';DROP=1',
  Array.from({ length: 500 }, (_, i) => `p${i}=1`).join('&'),
];

/** The arbitrary of cases for one operation. */
export function caseArbitrary(op: Operation, principals: FuzzPrincipal[]): fc.Arbitrary<FuzzCase> {
  const allowed = principals.map((p, i) => (mayCall(op, p) ? i : -1)).filter((i) => i >= 0);
  const all = principals.map((_, i) => i);
  const principal =
    allowed.length > 0
      ? fc.oneof(
          { weight: 3, arbitrary: fc.constantFrom(...allowed) },
          { weight: 1, arbitrary: fc.constantFrom(...all) },
        )
      : fc.constantFrom(...all);
  const pathParams = op.params.filter((p) => p.in === 'path');
  const queryParams = op.params.filter((p) => p.in === 'query');
  const fields = fieldsOf(op.body);
  const hasBody = op.method !== 'GET';
  const m: { weight: number; arbitrary: fc.Arbitrary<Mutation> }[] = [];
  if (pathParams.length > 0)
    m.push({
      weight: 3,
      arbitrary: fc
        .tuple(fc.constantFrom(...pathParams.map((p) => p.name)), hostileRaw)
        .map(([name, raw]) => ({ t: 'param', name, raw })),
    });
  if (queryParams.length > 0)
    m.push({
      weight: 3,
      arbitrary: fc
        .constantFrom(...queryParams)
        .chain((p) => queryValue(p).map((raw): Mutation => ({ t: 'query', name: p.name, raw }))),
    });
  m.push({
    weight: 1,
    arbitrary: fc.constantFrom(...QUERY_EXTRAS).map((raw): Mutation => ({ t: 'query-extra', raw })),
  });
  if (fields.length > 0) {
    m.push({
      weight: 4,
      arbitrary: fc
        .tuple(fc.constantFrom(...fields.map((f) => f.path)), anyJson)
        .map(([path, value]): Mutation => ({ t: 'field', path, value })),
    });
    const required = fields.filter((f) => f.required).map((f) => f.path);
    if (required.length > 0)
      m.push({
        weight: 1,
        arbitrary: fc.constantFrom(...required).map((path): Mutation => ({ t: 'missing', path })),
      });
    m.push({
      weight: 2,
      arbitrary: fc
        .array(hostileString, { minLength: 1, maxLength: 8 })
        .map((values): Mutation => ({ t: 'strings', values })),
    });
  }
  if (hasBody) {
    m.push({
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.constantFrom(
            '__proto__',
            'constructor',
            'prototype',
            'isAdmin',
            'tenantId',
            'id',
            'role',
            'x'.repeat(300),
          ),
          anyJson,
        )
        .map(([key, value]): Mutation => ({ t: 'extra', key, value })),
    });
    m.push({ weight: 1, arbitrary: anyJson.map((value): Mutation => ({ t: 'body', value })) });
    m.push({
      weight: 2,
      arbitrary: fc
        .integer({ min: 0, max: RAW_BODIES.length - 1 })
        .map((index): Mutation => ({ t: 'raw-body', index })),
    });
    m.push({
      weight: 1,
      arbitrary: fc.constantFrom(...CONTENT_TYPES).map((value): Mutation => ({ t: 'content-type', value })),
    });
  }
  m.push({
    weight: 2,
    arbitrary: fc
      .integer({ min: 0, max: BAD_HEADERS.length - 1 })
      .map((index): Mutation => ({ t: 'header', index })),
  });
  m.push({
    weight: 1,
    arbitrary: fc.constantFrom(...TRANSPORT).map((attack): Mutation => ({ t: 'transport', attack })),
  });
  return fc.record({ principal, mutation: fc.oneof(...m) });
}

/**
 * The systematic part of the fuzz, before the random cases: every path parameter with a NUL byte,
 * every query parameter with its most telling bad value (a well-formed cursor with wrong fields, a
 * numeric date, a fraction, a NUL), every top-level string field of the body with a NUL — each as
 * a principal the route lets in, so it reaches validation and the handler.
 */
export function sweepCases(op: Operation, principals: FuzzPrincipal[]): FuzzCase[] {
  const allowed = principals.map((p, i) => (mayCall(op, p) ? i : -1)).filter((i) => i >= 0);
  const pick = (n: number) => (allowed.length > 0 ? allowed[n % allowed.length] : 0);
  const cases: FuzzCase[] = [];
  for (const p of op.params.filter((p) => p.in === 'path'))
    cases.push({ principal: pick(cases.length), mutation: { t: 'param', name: p.name, raw: 'a%00b' } });
  for (const p of op.params.filter((p) => p.in === 'query')) {
    const type = typeOf(p.schema);
    const value =
      p.name === 'cursor'
        ? Buffer.from(JSON.stringify({ createdAt: 'bad', id: 'zz' })).toString('base64url')
        : isDateName(p.name)
          ? '-1'
          : type === 'integer' || type === 'number'
            ? '1.5'
            : 'a%00b';
    cases.push({ principal: pick(cases.length), mutation: { t: 'query', name: p.name, raw: value } });
    if (isDateName(p.name))
      cases.push({ principal: pick(cases.length), mutation: { t: 'query', name: p.name, raw: '1.5' } });
  }
  for (const f of fieldsOf(op.body).filter((f) => f.path.length === 1 && typeOf(f.schema) === 'string'))
    cases.push({
      principal: pick(cases.length),
      mutation: { t: 'field', path: f.path, value: 'nul\u0000inside' },
    });
  return cases;
}

/** True when the access declaration lets this kind of principal in (its tenant aside). */
export function mayCall(op: Operation, principal: FuzzPrincipal): boolean {
  const access = op.access;
  if (!access) return principal.kind === 'anonymous';
  if (access.public) return true;
  switch (principal.kind) {
    case 'operator':
      return access.operator === true;
    case 'owner':
      return access.staff !== undefined;
    case 'staff':
      return access.staff === 'any';
    case 'api_key':
      return access.apiKey?.every((s) => principal.scopes?.includes(s)) ?? false;
    case 'shopper':
      return access.shopper === true;
    default:
      return false;
  }
}

/** What part of the request a case attacks, to group 5xx by cause: `query cursor`, `body field name`… */
export function caseClass(c: FuzzCase): string {
  const m = c.mutation;
  switch (m.t) {
    case 'param':
      return `path parameter ${m.name}`;
    case 'query':
      return `query ${m.name}`;
    case 'field':
    case 'missing':
      return `body field ${m.path.join('.')}`;
    case 'raw-body':
      return `raw body #${m.index}`;
    case 'transport':
      return m.attack;
    default:
      return m.t;
  }
}

/** A one-line description of a case, for failure reports. */
export function describeCase(principal: FuzzPrincipal, request: BuiltRequest, c: FuzzCase): string {
  const m = c.mutation;
  const detail =
    m.t === 'transport'
      ? m.attack
      : m.t === 'raw-body'
        ? `raw body #${m.index}`
        : m.t === 'header'
          ? `headers ${BAD_HEADERS[m.index].map(([n, v]) => `${n}: ${v.slice(0, 40)}`).join('; ')}`
          : JSON.stringify(m).slice(0, 160);
  return `${request.method} ${request.target.slice(0, 160)} as ${principal.name} [${m.t}: ${detail}]`;
}
