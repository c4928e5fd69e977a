/**
 * A lazily generated collection: records [0, generated) come from the generator, and an overlay
 * map holds only what the control API created, changed (a full record) or deleted (null). This is
 * what keeps a 1,000,000-order shop far under 300 MB (issue 3).
 *
 * Ordering rests on one invariant: generated records have createdAt and updatedAt increasing with
 * their index, and every overlay record was written after generated history ended, so
 *  - ID and CREATED_AT order is index order;
 *  - UPDATED_AT order is "untouched generated records by index, then overlay records by updatedAt".
 */
import { createdAtOf, EPOCH_END, type GenContext, generate, updatedAtOf } from './generate.ts';
import type { Bounds } from './search.ts';
import type { AnyRec, Kind } from './types.ts';

/** A lazily generated collection of one kind of record for one shop. */
export type Collection<R extends AnyRec> = {
  kind: Kind;
  ctx: GenContext;
  /** How many records the generator provides (fixed for the shop's life). */
  generated: number;
  /** Next index for a record created through the control API. */
  nextIndex: number;
  overlay: Map<number, R | null>;
  /** Bumped by every write (caches derived from the records compare it). */
  version: number;
  /** Cached sorted views of the overlay, rebuilt after a write. */
  sortedIndexes: number[] | null;
  byUpdated: R[] | null;
};

/** Sort keys every collection supports. */
export type SortKey = 'ID' | 'CREATED_AT' | 'UPDATED_AT';

/** A position in a sort order: the index plus the sort value (updatedAt for UPDATED_AT). */
export type ScanKey = { index: number; value: number };

/** Creates a collection of `generated` records. */
export function createCollection<R extends AnyRec>(
  kind: Kind,
  ctx: GenContext,
  generated: number,
): Collection<R> {
  return {
    kind,
    ctx,
    generated,
    nextIndex: generated,
    overlay: new Map(),
    version: 0,
    sortedIndexes: null,
    byUpdated: null,
  };
}

/** The record at an index, or null if deleted or never existed. */
export function getRecord<R extends AnyRec>(c: Collection<R>, index: number): R | null {
  const o = c.overlay.get(index);
  if (o !== undefined) return o;
  if (index >= 0 && index < c.generated) return generate(c.ctx, c.kind, index) as R;
  return null;
}

/** Number of records that currently exist. */
export function liveCount(c: Collection<AnyRec>): number {
  let count = c.generated;
  for (const [index, rec] of c.overlay) {
    if (index < c.generated && rec === null) count--;
    if (index >= c.generated && rec !== null) count++;
  }
  return count;
}

/** Writes a record into the overlay (create or update). */
export function putRecord<R extends AnyRec>(c: Collection<R>, rec: R): void {
  c.overlay.set(rec.index, rec);
  if (rec.index >= c.nextIndex) c.nextIndex = rec.index + 1;
  c.version++;
  c.sortedIndexes = null;
  c.byUpdated = null;
}

/** Marks a record deleted. */
export function deleteRecord(c: Collection<AnyRec>, index: number): void {
  c.overlay.set(index, null);
  c.version++;
  c.sortedIndexes = null;
  c.byUpdated = null;
}

/** Time for an overlay write: never earlier than the end of generated history (keeps the invariant). */
export function overlayTime(now: number): number {
  return Math.max(now, EPOCH_END + 7 * 86_400_000);
}

function sortedIndexes(c: Collection<AnyRec>): number[] {
  if (!c.sortedIndexes) c.sortedIndexes = [...c.overlay.keys()].sort((a, b) => a - b);
  return c.sortedIndexes;
}

function byUpdated<R extends AnyRec>(c: Collection<R>): R[] {
  if (!c.byUpdated) {
    const live: R[] = [];
    for (const rec of c.overlay.values()) if (rec) live.push(rec);
    live.sort((a, b) => a.updatedAt - b.updatedAt || a.index - b.index);
    c.byUpdated = live;
  }
  return c.byUpdated;
}

/** First index in [lo, hi) with f(index) >= target (f non-decreasing). */
function lowerBound(lo: number, hi: number, f: (i: number) => number, target: number): number {
  let a = lo;
  let b = hi;
  while (a < b) {
    const mid = (a + b) >>> 1;
    if (f(mid) < target) a = mid + 1;
    else b = mid;
  }
  return a;
}

/** Index range [lo, hi) of generated records that can satisfy the time bounds. */
function generatedRange(c: Collection<AnyRec>, bounds: Bounds | undefined): [number, number] {
  let lo = 0;
  let hi = c.generated;
  if (!bounds) return [lo, hi];
  const created = (i: number) => createdAtOf(c.ctx, c.kind, i);
  const updated = (i: number) => updatedAtOf(c.ctx, c.kind, i);
  if (bounds.createdMin > -Infinity)
    lo = Math.max(lo, lowerBound(0, c.generated, created, bounds.createdMin));
  if (bounds.createdMax < Infinity)
    hi = Math.min(hi, lowerBound(0, c.generated, created, bounds.createdMax + 1));
  if (bounds.updatedMin > -Infinity)
    lo = Math.max(lo, lowerBound(0, c.generated, updated, bounds.updatedMin));
  if (bounds.updatedMax < Infinity)
    hi = Math.min(hi, lowerBound(0, c.generated, updated, bounds.updatedMax + 1));
  return [lo, Math.max(lo, hi)];
}

/** Options for a scan. `after` is exclusive and is in the scan's own direction. */
export type ScanOptions<R> = {
  sortKey: SortKey;
  descending: boolean;
  after?: ScanKey;
  predicate?: ((rec: R) => boolean) | null;
  bounds?: Bounds;
};

/** The key of a record in a sort order. */
export function keyOf(rec: AnyRec, sortKey: SortKey): ScanKey {
  return { index: rec.index, value: sortKey === 'UPDATED_AT' ? rec.updatedAt : rec.index };
}

function* scanById<R extends AnyRec>(c: Collection<R>, opts: ScanOptions<R>): Generator<R> {
  const [lo, hi] = generatedRange(c, opts.bounds);
  const keys = sortedIndexes(c);
  const pred = opts.predicate;
  if (!opts.descending) {
    const start = opts.after ? opts.after.index + 1 : 0;
    let g = Math.max(lo, start);
    let k = lowerBound(0, keys.length, (i) => keys[i], start);
    while (g < hi || k < keys.length) {
      const nextKey = k < keys.length ? keys[k] : Infinity;
      if (g < hi && g < nextKey) {
        const rec = generate(c.ctx, c.kind, g) as R;
        g++;
        if (!pred || pred(rec)) yield rec;
      } else {
        if (g === nextKey) g++;
        k++;
        const rec = c.overlay.get(nextKey);
        if (rec && (!pred || pred(rec))) yield rec;
      }
    }
    return;
  }
  const start = opts.after ? opts.after.index - 1 : c.nextIndex - 1;
  let g = Math.min(hi - 1, start);
  let k = lowerBound(0, keys.length, (i) => keys[i], start + 1) - 1;
  while (g >= lo || k >= 0) {
    const nextKey = k >= 0 ? keys[k] : -Infinity;
    if (g >= lo && g > nextKey) {
      const rec = generate(c.ctx, c.kind, g) as R;
      g--;
      if (!pred || pred(rec)) yield rec;
    } else {
      if (g === nextKey) g--;
      k--;
      const rec = c.overlay.get(nextKey);
      if (rec && (!pred || pred(rec))) yield rec;
    }
  }
}

function after(a: ScanKey, b: ScanKey): boolean {
  return a.value > b.value || (a.value === b.value && a.index > b.index);
}

function* scanByUpdated<R extends AnyRec>(c: Collection<R>, opts: ScanOptions<R>): Generator<R> {
  const [lo, hi] = generatedRange(c, opts.bounds);
  const pred = opts.predicate;
  const touched = c.overlay;
  const overlayRecs = byUpdated(c);
  const updated = (i: number) => updatedAtOf(c.ctx, c.kind, i);
  const cursor = opts.after;
  if (!opts.descending) {
    let g = lo;
    if (cursor) {
      // Generated keys are (updatedAt, index) increasing in index: binary search the resume point.
      g = Math.max(lo, lowerBound(0, c.generated, updated, cursor.value));
      while (g < hi && !after({ index: g, value: updated(g) }, cursor)) g++;
    }
    for (; g < hi; g++) {
      if (touched.has(g)) continue;
      const rec = generate(c.ctx, c.kind, g) as R;
      if (!pred || pred(rec)) yield rec;
    }
    for (const rec of overlayRecs) {
      if (cursor && !after(keyOf(rec, 'UPDATED_AT'), cursor)) continue;
      if (!pred || pred(rec)) yield rec;
    }
    return;
  }
  for (let i = overlayRecs.length - 1; i >= 0; i--) {
    const rec = overlayRecs[i];
    if (cursor && !after(cursor, keyOf(rec, 'UPDATED_AT'))) continue;
    if (!pred || pred(rec)) yield rec;
  }
  let g = hi - 1;
  if (cursor) {
    g = Math.min(hi - 1, lowerBound(0, c.generated, updated, cursor.value + 1) - 1);
    while (g >= lo && !after(cursor, { index: g, value: updated(g) })) g--;
  }
  for (; g >= lo; g--) {
    if (touched.has(g)) continue;
    const rec = generate(c.ctx, c.kind, g) as R;
    if (!pred || pred(rec)) yield rec;
  }
}

/** Lazily yields records in sort order, skipping deleted ones and those failing the predicate. */
export function scan<R extends AnyRec>(c: Collection<R>, opts: ScanOptions<R>): Generator<R> {
  return opts.sortKey === 'UPDATED_AT' ? scanByUpdated(c, opts) : scanById(c, opts);
}

/** Counts matching records up to `limit` (null = no limit); precision says whether it was capped. */
export function countRecords<R extends AnyRec>(
  c: Collection<R>,
  predicate: ((rec: R) => boolean) | null,
  bounds: Bounds | undefined,
  limit: number | null,
): { count: number; precision: 'EXACT' | 'AT_LEAST' } {
  const unfiltered =
    !predicate &&
    (!bounds ||
      (bounds.createdMin === -Infinity &&
        bounds.createdMax === Infinity &&
        bounds.updatedMin === -Infinity &&
        bounds.updatedMax === Infinity));
  if (unfiltered) {
    const total = liveCount(c);
    if (limit !== null && total > limit) return { count: limit, precision: 'AT_LEAST' };
    return { count: total, precision: 'EXACT' };
  }
  let count = 0;
  for (const _ of scan(c, { sortKey: 'ID', descending: false, predicate, bounds })) {
    count++;
    // One past the limit proves there are more; exactly `limit` matches is still exact.
    if (limit !== null && count > limit) return { count: limit, precision: 'AT_LEAST' };
  }
  return { count, precision: 'EXACT' };
}
