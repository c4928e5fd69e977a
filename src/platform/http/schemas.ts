import { z } from 'zod';
import { badRequest } from '../errors.ts';

/** The error envelope, for OpenAPI response declarations. */
export const errorEnvelopeSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
    requestId: z.string(),
  }),
});

/** `?limit=&cursor=` for every list endpoint; the limit is capped. */
export const paginationQuery = z.object({
  limit: z.coerce.number().int().min(1).max(250).default(50),
  cursor: z.string().max(512).optional(),
});

/*
 * Times. Everything a query string calls a time is `isoTimeQuery`: an ISO 8601 date-time with `Z`
 * or an offset, in the years 1000–9999 and offsets up to ±14:00 — all of which PostgreSQL stores.
 * `Date.parse` is no validator: it takes `-1`, `0` and `1.5`, which PostgreSQL then refuses (500).
 */
const ISO_PARTS = /^(\d{4})-\d{2}-\d{2}T[^Z+-]*(?:Z|[+-](\d{2}):(\d{2}))$/i;

function inStorableRange(value: string): boolean {
  const parts = ISO_PARTS.exec(value);
  if (!parts) return false;
  const year = Number(parts[1]);
  const offsetMinutes = parts[2] === undefined ? 0 : Number(parts[2]) * 60 + Number(parts[3]);
  return year >= 1000 && year <= 9999 && offsetMinutes <= 14 * 60;
}

/** An ISO 8601 date-time from a query (`2025-01-31T09:00:00Z`, `…+02:00`), kept as the string. */
export const isoTimeQuery = z.iso
  .datetime({ offset: true })
  .max(40)
  .refine(inStorableRange, 'must be an ISO 8601 date-time between the years 1000 and 9999')
  .meta({ example: '2025-01-31T09:00:00Z' });

/** A calendar date (`2025-01-31`) in the same years, as Shopify's search syntax allows. */
const isoDateQuery = z.iso.date().refine((value) => Number(value.slice(0, 4)) >= 1000);

/** True for an `isoTimeQuery` or a plain ISO date: what a text query may compare times with. */
export const isIsoDateOrTime = (value: string): boolean =>
  isoTimeQuery.safeParse(value).success || isoDateQuery.safeParse(value).success;

/** The same as a `Date`. */
export const isoTimeQueryDate = isoTimeQuery.transform((value) => new Date(value));

/*
 * Cursors. A cursor is base64url JSON this API wrote; decoding checks its shape with the list's
 * own schema, so a cursor that decodes but was never issued (`{"createdAt":"bad","id":"zz"}`) is a
 * 400 INVALID_CURSOR instead of reaching SQL as a bad timestamp or UUID.
 */

/** A PostgreSQL timestamp as `created_at::text` prints it (`2025-01-31 09:00:00.123456+00`). */
const PG_TIMESTAMP_TEXT =
  /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(?:Z|[+-](\d{2})(?::?(\d{2}))?)$/i;

function isRealTimestamp(value: string): boolean {
  const m = PG_TIMESTAMP_TEXT.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const date = new Date(Date.UTC(year, month - 1, day));
  return (
    year >= 1000 &&
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    hour < 24 &&
    minute < 60 &&
    second < 60 &&
    Number(m[8] ?? 0) <= 14 &&
    Number(m[9] ?? 0) < 60
  );
}

/** A timestamp inside a cursor (the text PostgreSQL printed, or an ISO string). */
export const cursorTimestamp = z.string().max(40).refine(isRealTimestamp);
/** A UUID inside a cursor. */
export const cursorUuid = z.uuid();
/** A bigint id inside a cursor (a positive safe integer). */
export const cursorId = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** `{ t, id }`: the cursor of lists ordered by a timestamp and a UUID (tenants, staff, keys, audit). */
export const timeIdCursor = z.object({ t: cursorTimestamp, id: cursorUuid });

/** Encodes an opaque keyset cursor (base64url JSON). */
export function encodeCursor(value: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

const invalidCursor = () => badRequest('INVALID_CURSOR', 'The cursor is not one this API issued');

/**
 * Decodes a cursor made by `encodeCursor` and checks it against `schema` (the shape that list
 * encodes); anything else — not base64url JSON, or JSON of another shape — is a 400 INVALID_CURSOR.
 */
export function decodeCursor<S extends z.ZodType<Record<string, unknown>>>(
  cursor: string | undefined,
  schema: S,
): z.output<S> | undefined {
  if (!cursor) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  // Strict: a cursor with keys its list does not write (another list's cursor) is not one of ours.
  const parsed = (schema instanceof z.ZodObject ? schema.strict() : schema).safeParse(value);
  if (!parsed.success) throw invalidCursor();
  return parsed.data as z.output<S>;
}

/**
 * Turns `limit + 1` fetched rows into one page: the extra row only says another page exists, and
 * the cursor points at the last row returned.
 */
export function toPage<Row, Item>(
  rows: Row[],
  limit: number,
  map: (row: Row) => Item,
  cursorOf: (row: Row) => Record<string, unknown>,
): { items: Item[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    items: page.map(map),
    nextCursor: rows.length > limit && last ? encodeCursor(cursorOf(last)) : null,
  };
}

/** OpenAPI error responses for the given statuses, all in the one envelope: `errorResponses(400, 404)`. */
export function errorResponses<S extends number>(...statuses: S[]): Record<S, typeof errorEnvelopeSchema> {
  return Object.fromEntries(statuses.map((status) => [status, errorEnvelopeSchema])) as Record<
    S,
    typeof errorEnvelopeSchema
  >;
}
