/**
 * Shopify's search syntax for the `query:` argument: implicit AND, OR, NOT / leading `-`,
 * parentheses, `field:value` with `:>`, `:>=`, `:<`, `:<=`, quoted values and `*` prefix wildcards.
 * https://shopify.dev/docs/api/usage/search-syntax
 */

/** A parsed search query. */
export type SearchNode =
  | { type: 'and'; items: SearchNode[] }
  | { type: 'or'; items: SearchNode[] }
  | { type: 'not'; item: SearchNode }
  | { type: 'term'; field: string | null; op: ':' | '>' | '>=' | '<' | '<='; value: string };

type Token = { kind: 'word'; text: string } | { kind: '(' } | { kind: ')' };

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const ch = input[i];
    if (ch === ' ' || ch === '\t' || ch === '\n') {
      i++;
      continue;
    }
    if (ch === '(' || ch === ')') {
      tokens.push({ kind: ch });
      i++;
      continue;
    }
    let text = '';
    while (i < input.length && !' \t\n()'.includes(input[i])) {
      const c = input[i];
      if (c === '"' || c === "'") {
        // A quoted run keeps its spaces and parentheses; the quotes themselves are dropped.
        const end = input.indexOf(c, i + 1);
        const stop = end === -1 ? input.length : end;
        text += input.slice(i + 1, stop);
        i = stop + 1;
        continue;
      }
      if (c === '\\' && i + 1 < input.length) {
        text += input[i + 1];
        i += 2;
        continue;
      }
      text += c;
      i++;
    }
    tokens.push({ kind: 'word', text });
  }
  return tokens;
}

function parseTerm(text: string): SearchNode {
  const colon = text.indexOf(':');
  if (colon <= 0) return { type: 'term', field: null, op: ':', value: text };
  const field = text.slice(0, colon).toLowerCase();
  let rest = text.slice(colon + 1);
  let op: ':' | '>' | '>=' | '<' | '<=' = ':';
  for (const candidate of ['>=', '<=', '>', '<'] as const) {
    if (rest.startsWith(candidate)) {
      op = candidate;
      rest = rest.slice(candidate.length);
      break;
    }
  }
  return { type: 'term', field, op, value: rest };
}

/** Parses a search string; an empty or blank query gives null (match everything). */
export function parseSearch(input: string | null | undefined): SearchNode | null {
  if (!input?.trim()) return null;
  const tokens = tokenize(input);
  let pos = 0;
  const parseOr = (): SearchNode => {
    const items = [parseAnd()];
    while (pos < tokens.length) {
      const t = tokens[pos];
      if (t.kind === 'word' && t.text === 'OR') {
        pos++;
        items.push(parseAnd());
      } else break;
    }
    return items.length === 1 ? items[0] : { type: 'or', items };
  };
  const parseAnd = (): SearchNode => {
    const items: SearchNode[] = [];
    while (pos < tokens.length) {
      const t = tokens[pos];
      if (t.kind === ')') break;
      if (t.kind === 'word' && t.text === 'OR') break;
      if (t.kind === 'word' && t.text === 'AND') {
        pos++;
        continue;
      }
      items.push(parseUnary());
    }
    return items.length === 1 ? items[0] : { type: 'and', items };
  };
  const parseUnary = (): SearchNode => {
    const t = tokens[pos];
    if (t.kind === 'word' && t.text === 'NOT') {
      pos++;
      return { type: 'not', item: parseUnary() };
    }
    if (t.kind === '(') {
      pos++;
      const inner = parseOr();
      if (tokens[pos]?.kind === ')') pos++;
      return inner;
    }
    pos++;
    if (t.kind !== 'word') return { type: 'and', items: [] };
    if (t.text.startsWith('-') && t.text.length > 1) return { type: 'not', item: parseTerm(t.text.slice(1)) };
    return parseTerm(t.text);
  };
  const node = parseOr();
  return node;
}

/** What a field lookup can return for a record. */
export type FieldValue = string | number | boolean | null | readonly string[];

/** Per-kind field accessors; `default` lists the fields a bare word searches. */
export type FieldMap<R> = {
  fields: Record<string, (rec: R) => FieldValue>;
  dateFields: ReadonlySet<string>;
  defaults: readonly string[];
};

/** Parses a search date: ISO date or datetime; a missing zone means the shop's zone (UTC). */
export function parseSearchDate(value: string): number | null {
  const v = value.trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return Date.parse(`${v}T00:00:00Z`);
  if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(v))
    return Date.parse(`${v.replace(' ', 'T')}Z`);
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? null : ms;
}

function compare(actual: number, op: string, expected: number, dayWide: boolean): boolean {
  switch (op) {
    case '>':
      return actual > (dayWide ? expected + 86_399_999 : expected);
    case '>=':
      return actual >= expected;
    case '<':
      return actual < expected;
    case '<=':
      return actual <= (dayWide ? expected + 86_399_999 : expected);
    default:
      return dayWide ? actual >= expected && actual < expected + 86_400_000 : actual === expected;
  }
}

function matchText(actual: string, value: string): boolean {
  const a = actual.toLowerCase();
  const v = value.toLowerCase();
  if (v.endsWith('*')) {
    const prefix = v.slice(0, -1);
    return a.startsWith(prefix) || a.split(/[^a-z0-9]+/).some((w) => w.startsWith(prefix));
  }
  if (a === v) return true;
  // Shopify tokenises text fields, so `title:tee` matches "Classic Tee".
  return a.split(/[^a-z0-9_@.+-]+/).includes(v) || (v.includes(' ') && a.includes(v));
}

function matchValue(actual: FieldValue, op: string, value: string, isDate: boolean): boolean {
  if (actual === null) return value.toLowerCase() === 'null';
  if (Array.isArray(actual)) return actual.some((a) => matchValue(a, op, value, isDate));
  if (isDate && typeof actual === 'number') {
    const expected = parseSearchDate(value);
    if (expected === null) return false;
    return compare(actual, op, expected, /^\d{4}-\d{2}-\d{2}$/.test(value.trim()));
  }
  if (typeof actual === 'number') {
    const expected = Number(value);
    return Number.isFinite(expected) && compare(actual, op, expected, false);
  }
  if (typeof actual === 'boolean') return String(actual) === value.toLowerCase();
  if (op !== ':') return false;
  return matchText(actual as string, value);
}

/** Builds a predicate for a parsed query; unknown fields match nothing, as on Shopify. */
export function compileSearch<R>(node: SearchNode | null, map: FieldMap<R>): ((rec: R) => boolean) | null {
  if (!node) return null;
  const build = (n: SearchNode): ((rec: R) => boolean) => {
    if (n.type === 'and') {
      const parts = n.items.map(build);
      return (rec) => parts.every((p) => p(rec));
    }
    if (n.type === 'or') {
      const parts = n.items.map(build);
      return (rec) => parts.some((p) => p(rec));
    }
    if (n.type === 'not') {
      const inner = build(n.item);
      return (rec) => !inner(rec);
    }
    if (n.field === null) {
      const getters = map.defaults.map((f) => map.fields[f]);
      const value = n.value;
      return (rec) =>
        getters.some((g) => {
          const v = g(rec);
          if (v === null || typeof v === 'number' || typeof v === 'boolean') return false;
          const values = Array.isArray(v) ? v : [v as string];
          return values.some((text) => text.toLowerCase().includes(value.toLowerCase().replace(/\*$/, '')));
        });
    }
    const getter = map.fields[n.field];
    if (!getter) return () => false;
    const isDate = map.dateFields.has(n.field);
    const { op, value } = n;
    return (rec) => matchValue(getter(rec), op, value, isDate);
  };
  return build(node);
}

/** Inclusive time bounds implied by top-level AND terms; used only to narrow index ranges. */
export type Bounds = { createdMin: number; createdMax: number; updatedMin: number; updatedMax: number };

/** Extracts created_at/updated_at bounds from the query's top-level conjunction. */
export function extractBounds(node: SearchNode | null, createdFields: readonly string[]): Bounds {
  const bounds: Bounds = {
    createdMin: -Infinity,
    createdMax: Infinity,
    updatedMin: -Infinity,
    updatedMax: Infinity,
  };
  if (!node) return bounds;
  const terms = node.type === 'and' ? node.items : [node];
  for (const t of terms) {
    if (t.type !== 'term' || t.field === null) continue;
    const isCreated = createdFields.includes(t.field);
    if (!isCreated && t.field !== 'updated_at') continue;
    const ms = parseSearchDate(t.value);
    if (ms === null) continue;
    const dayWide = /^\d{4}-\d{2}-\d{2}$/.test(t.value.trim());
    let min = -Infinity;
    let max = Infinity;
    if (t.op === '>' || t.op === '>=') min = ms;
    else if (t.op === '<' || t.op === '<=') max = dayWide ? ms + 86_400_000 : ms;
    else if (t.op === ':') {
      min = ms;
      max = dayWide ? ms + 86_400_000 : ms;
    }
    if (isCreated) {
      bounds.createdMin = Math.max(bounds.createdMin, min);
      bounds.createdMax = Math.min(bounds.createdMax, max);
    } else {
      bounds.updatedMin = Math.max(bounds.updatedMin, min);
      bounds.updatedMax = Math.min(bounds.updatedMax, max);
    }
  }
  return bounds;
}
