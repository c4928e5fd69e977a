/** Edge formatting: Shopify's string shapes for money, ids and times. */

/** Global id, e.g. gid://shopify/Order/5000000001. */
export function gid(type: string, id: number): string {
  return `gid://shopify/${type}/${id}`;
}

/** Parses a gid into its type and numeric id, or null if it is not one. */
export function parseGid(value: string): { type: string; id: number } | null {
  const match = /^gid:\/\/shopify\/([A-Za-z]+)\/(\d+)(?:\?.*)?$/.exec(value);
  if (!match) return null;
  return { type: match[1], id: Number(match[2]) };
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** REST and Money-scalar form: always two decimals, e.g. "12.30". */
export function moneyString(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${pad2(abs % 100)}`;
}

/**
 * GraphQL Decimal form: Shopify serialises BigDecimal without trailing zeros but keeps one
 * decimal place, e.g. "12.3", "10.0", "12.99".
 */
export function decimalString(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  const units = Math.floor(abs / 100);
  const frac = abs % 100;
  if (frac === 0) return `${sign}${units}.0`;
  if (frac % 10 === 0) return `${sign}${units}.${frac / 10}`;
  return `${sign}${units}.${pad2(frac)}`;
}

/** Parses a decimal string ("12.3", "12.30", "12") into cents; null if malformed. */
export function parseMoney(value: string): number | null {
  const match = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(value.trim());
  if (!match) return null;
  const cents = Number(match[2]) * 100 + Number((match[3] ?? '0').padEnd(2, '0'));
  return match[1] ? -cents : cents;
}

const DAY_MS = 86_400_000;
/** 'YYYY-MM-DDT' by day number: a million-order export formats ~10 times per order. */
const DAY_PREFIX = new Map<number, string>();

/** GraphQL DateTime: ISO-8601 in UTC without milliseconds, e.g. 2024-03-01T12:00:00Z. */
export function isoTime(ms: number): string {
  const day = Math.floor(ms / DAY_MS);
  let prefix = DAY_PREFIX.get(day);
  if (prefix === undefined) {
    const iso = new Date(day * DAY_MS).toISOString();
    // Years outside 0000–9999 have another shape: leave them to Date.
    if (iso.length !== 24) return `${new Date(ms).toISOString().slice(0, 19)}Z`;
    prefix = iso.slice(0, 11);
    if (DAY_PREFIX.size < 100_000) DAY_PREFIX.set(day, prefix);
  }
  const seconds = Math.floor((ms - day * DAY_MS) / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return `${prefix}${pad2(h)}:${pad2(m)}:${pad2(seconds % 60)}Z`;
}

/** REST/webhook time: the shop's offset is always UTC here, e.g. 2024-03-01T12:00:00+00:00. */
export function restTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}+00:00`;
}
