import fc from 'fast-check';

// Reads the running server's OpenAPI document into operations the fuzzer (and the CSRF and SSRF
// walks) can drive, and builds a schema-valid example for any JSON schema in it, so a mutation
// changes one thing and the rest of the request gets past validation.

/** A JSON schema node as @fastify/swagger writes it (Zod → JSON Schema). */
export type JsonSchema = Record<string, any>;

/** One parameter of an operation. */
export type Param = {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  schema: JsonSchema;
};

/** One operation (method + path) of the document. */
export type Operation = {
  /** `POST /api/v1/tenants/{tenant}/users` */
  key: string;
  method: string;
  path: string;
  /** `x-storeops-access` (undefined: the route authenticates itself, e.g. webhooks). */
  access:
    | { public?: true; operator?: boolean; staff?: 'any' | 'owner'; apiKey?: string[]; shopper?: boolean }
    | undefined;
  params: Param[];
  /** The JSON body schema, if the operation takes one. */
  body?: JsonSchema;
  /** Content types the document lists for the body. */
  contentTypes: string[];
};

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** Every operation of the document, in document order. */
export function operationsOf(doc: any): Operation[] {
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries<any>(doc.paths ?? {})) {
    for (const [method, op] of Object.entries<any>(item)) {
      if (!METHODS.includes(method)) continue;
      const content = op.requestBody?.content ?? {};
      operations.push({
        key: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        access: op['x-storeops-access'],
        params: [...(item.parameters ?? []), ...(op.parameters ?? [])].map((p: any) => ({
          name: p.name,
          in: p.in,
          required: p.required === true,
          schema: resolve(doc, p.schema ?? {}),
        })),
        body: content['application/json']?.schema
          ? resolve(doc, content['application/json'].schema)
          : undefined,
        contentTypes: Object.keys(content),
      });
    }
  }
  return operations;
}

/** Inlines `$ref`s (the document rarely has any; Zod schemas are written inline). */
function resolve(doc: any, schema: JsonSchema, depth = 0): JsonSchema {
  if (depth > 20 || !schema || typeof schema !== 'object') return schema;
  if (typeof schema.$ref === 'string' && schema.$ref.startsWith('#/')) {
    const target = schema.$ref
      .slice(2)
      .split('/')
      .reduce((node: any, part: string) => node?.[part], doc);
    return resolve(doc, target ?? {}, depth + 1);
  }
  if (Array.isArray(schema)) return schema.map((s) => resolve(doc, s, depth + 1)) as unknown as JsonSchema;
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(schema))
    out[k] = typeof v === 'object' ? resolve(doc, v, depth + 1) : v;
  return out;
}

/** The schema without its `null` alternative (`anyOf: [X, null]` → X). */
export function nonNull(schema: JsonSchema): JsonSchema {
  const options = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(options)) {
    const real = options.filter((o: JsonSchema) => o.type !== 'null');
    if (real.length > 0) return nonNull(real[0]);
  }
  return schema;
}

/** The JSON type a schema wants (`string`, `integer`, `object`…), if it says. */
export function typeOf(schema: JsonSchema): string | undefined {
  const s = nonNull(schema);
  if (Array.isArray(s.type)) return s.type.find((t: string) => t !== 'null');
  if (s.type) return s.type;
  if (s.properties) return 'object';
  if (s.enum) return typeof s.enum[0];
  return undefined;
}

/** Values the example builder uses for well-known names (real ids of the fuzzed tenant). */
export type Hints = Record<string, unknown>;

/** A string matching `pattern` and the length bounds, or undefined when none is found. */
function matching(pattern: string, min: number, max: number, seed: number): string | undefined {
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch {
    return undefined;
  }
  const samples = fc.sample(fc.stringMatching(re, { size: 'small', maxLength: max }), { seed, numRuns: 40 });
  return samples.find((s) => s.length >= min && s.length <= max) ?? samples.find((s) => s.length >= min);
}

function stringExample(schema: JsonSchema, name: string | undefined, hints: Hints): string {
  const min = schema.minLength ?? 0;
  const max = schema.maxLength ?? 64;
  if (name && typeof hints[name] === 'string') return hints[name] as string;
  switch (schema.format) {
    case 'uuid':
      return '00000000-0000-4000-8000-000000000000';
    case 'email':
      return 'fuzz.example@example.test';
    case 'date-time':
      return new Date().toISOString();
    case 'date':
      return new Date().toISOString().slice(0, 10);
    case 'uri':
    case 'url':
      return 'http://127.0.0.1:9/fuzz';
  }
  if (schema.pattern) {
    const found = matching(schema.pattern, min, max, (name ?? '').length + 7);
    if (found !== undefined) return found;
  }
  if (name && /password/i.test(name)) return 'Fuzz-Pass-2931-Qz';
  const base = 'fuzz';
  return base.padEnd(Math.max(min, Math.min(base.length, max)), 'x').slice(0, Math.max(max, min));
}

/** A value valid for `schema` (as far as a schema can say), using `hints` for named fields. */
export function exampleFor(schema: JsonSchema, name?: string, hints: Hints = {}, depth = 0): unknown {
  if (name && name in hints && typeof hints[name] !== 'string') return hints[name];
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  if (schema.default !== undefined && typeof schema.default !== 'object') return schema.default;
  const s = nonNull(schema);
  if (s !== schema) return exampleFor(s, name, hints, depth);
  if (Array.isArray(s.allOf) && s.allOf.length > 0) return exampleFor(s.allOf[0], name, hints, depth);
  switch (typeOf(s)) {
    case 'string':
      return stringExample(s, name, hints);
    case 'integer':
    case 'number': {
      const min = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : 1);
      return Math.min(min, s.maximum ?? min);
    }
    case 'boolean':
      return false;
    case 'array': {
      const count = Math.max(s.minItems ?? 0, 1);
      if (depth > 4 || !s.items) return [];
      return Array.from({ length: Math.min(count, 3) }, () =>
        exampleFor(s.items, undefined, hints, depth + 1),
      );
    }
    case 'object': {
      const out: Record<string, unknown> = {};
      if (depth > 5) return out;
      for (const key of s.required ?? []) {
        const prop = s.properties?.[key];
        if (prop) out[key] = exampleFor(prop, key, hints, depth + 1);
      }
      return out;
    }
    default:
      return 'fuzz';
  }
}

/** Every property path of an object schema (one level into arrays of objects), with its schema. */
export function fieldsOf(
  schema: JsonSchema | undefined,
  prefix: string[] = [],
  depth = 0,
): { path: string[]; schema: JsonSchema; required: boolean }[] {
  const s = schema ? nonNull(schema) : undefined;
  if (!s || typeOf(s) !== 'object' || !s.properties || depth > 3) return [];
  const required = new Set<string>(s.required ?? []);
  const out: { path: string[]; schema: JsonSchema; required: boolean }[] = [];
  for (const [name, prop] of Object.entries<JsonSchema>(s.properties)) {
    const path = [...prefix, name];
    out.push({ path, schema: prop, required: required.has(name) });
    const inner = nonNull(prop);
    if (typeOf(inner) === 'object') out.push(...fieldsOf(inner, path, depth + 1));
    if (typeOf(inner) === 'array' && inner.items && typeOf(inner.items) === 'object')
      out.push(...fieldsOf(inner.items, [...path, '0'], depth + 1));
  }
  return out;
}
