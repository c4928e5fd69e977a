/**
 * Stripe's request encoding (https://docs.stripe.com/api — "accepts form-encoded request bodies"):
 * `application/x-www-form-urlencoded` with bracketed keys for hashes and lists, as stripe-node
 * writes them: `metadata[tenant_id]=…`, `expand[0]=latest_charge`, `payment_method_types[]=card`.
 * Parsed into plain objects of strings, then validated per endpoint with Zod; Zod's issues become
 * Stripe's `parameter_unknown` / `parameter_invalid_*` errors.
 */
import { z } from 'zod';
import { invalidParam, type StripeApiError, unknownParam } from './errors.ts';

export type FormValue = string | FormValue[] | { [key: string]: FormValue };
type FormObject = { [key: string]: FormValue };

const FORBIDDEN = new Set(['__proto__', 'prototype', 'constructor']);

/** `a[b][0]` → ['a', 'b', '0']; null for a malformed key. */
function splitKey(key: string): string[] | null {
  const open = key.indexOf('[');
  if (open === -1) return [key];
  const parts = [key.slice(0, open)];
  const rest = key.slice(open);
  const re = /\[([^[\]]*)\]/g;
  let consumed = 0;
  for (let m = re.exec(rest); m; m = re.exec(rest)) {
    if (m.index !== consumed) return null;
    parts.push(m[1]);
    consumed = m.index + m[0].length;
  }
  return consumed === rest.length && parts[0] !== '' ? parts : null;
}

/** Parses a form body into nested objects; list indices (`[0]`, `[]`) become arrays. */
export function parseForm(body: string): FormObject {
  const root: FormObject = {};
  for (const [rawKey, value] of new URLSearchParams(body)) {
    const parts = splitKey(rawKey);
    if (!parts || parts.some((p) => FORBIDDEN.has(p))) throw unknownParam(rawKey);
    let node: FormObject | FormValue[] = root;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      const last = i === parts.length - 1;
      const nextIsIndex = !last && /^\d*$/.test(parts[i + 1]);
      if (Array.isArray(node)) {
        const index = part === '' ? node.length : Number(part);
        if (last) node[index] = value;
        else {
          node[index] ??= nextIsIndex ? [] : {};
          node = node[index] as FormObject | FormValue[];
        }
        continue;
      }
      if (last) node[part] = value;
      else {
        const existing = node[part];
        if (existing === undefined || typeof existing === 'string') {
          node[part] = nextIsIndex ? [] : {};
        }
        node = node[part] as FormObject | FormValue[];
      }
    }
  }
  return root;
}

/** Stripe's name of a parameter path: `metadata[tenant_id]`. */
const paramName = (path: readonly PropertyKey[]) =>
  path.map((p, i) => (i === 0 ? String(p) : `[${String(p)}]`)).join('');

/** Validates parsed params; the first issue becomes Stripe's error (never saved by idempotency). */
export function validate<T extends z.ZodType>(schema: T, params: unknown): z.infer<T> {
  const parsed = schema.safeParse(params);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw toStripeError(issue);
}

function toStripeError(issue: z.core.$ZodIssue): StripeApiError {
  if (issue.code === 'unrecognized_keys') {
    return unknownParam(paramName([...issue.path, issue.keys[0]]));
  }
  const name = paramName(issue.path);
  if (issue.code === 'invalid_type' && issue.input === undefined) {
    return invalidParam(name, `Missing required param: ${name}.`, 'parameter_missing');
  }
  return invalidParam(name, `Invalid ${name}: ${issue.message}`, 'parameter_invalid_string');
}

/** A positive integer amount in minor units, as a form string. */
export const amount = z
  .string()
  .regex(/^\d{1,8}$/, 'must be an integer')
  .transform(Number)
  .pipe(z.number().int().min(1, 'must be at least 1').max(99_999_999, 'must be at most 99999999'));

export const bool = z.enum(['true', 'false']).transform((v) => v === 'true');

export const currency = z
  .string()
  .transform((v) => v.toLowerCase())
  .pipe(z.string().regex(/^[a-z]{3}$/, 'must be a three-letter ISO currency code'));

/**
 * Metadata (https://docs.stripe.com/api/metadata): up to 50 keys of ≤ 40 characters, values of
 * ≤ 500; an empty value unsets the key on update, and `metadata=` (empty string) clears it all.
 */
export const metadata = z.union([
  z.literal(''),
  z
    .record(z.string().min(1).max(40), z.string().max(500))
    .refine((m) => Object.keys(m).length <= 50, 'at most 50 keys'),
]);

/** `expand[]` is accepted and ignored (objects are returned unexpanded). */
export const expand = z.array(z.string()).optional();

export const text = (max = 1000) => z.string().max(max);
