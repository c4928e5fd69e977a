/*
 * Streams a bulk operation's JSONL result and stitches nested connection lines (`__parentId`) to
 * their parent (issue 7). Lines are parsed one at a time from the HTTP body; nothing but the
 * current batch is held, so a million-order file costs the same memory as a thousand-order one.
 * Shopify writes each nested line after its parent
 * (https://shopify.dev/docs/api/usage/bulk-operations/queries#the-jsonl-data-format); a child whose
 * parent was already handed out is reported as an error instead of being silently dropped.
 */

/** One root object (`node`) with the lines that named it as `__parentId`. */
export type StitchedRecord = { node: Record<string, unknown>; children: Record<string, unknown>[] };

/**
 * Splits a byte stream into lines (UTF-8 safe across chunk boundaries), handed over a chunk's worth
 * at a time: one await per chunk rather than per line (three million lines in a big backfill).
 */
export async function* readLines(body: AsyncIterable<Uint8Array>): AsyncGenerator<string[]> {
  const decoder = new TextDecoder();
  let rest = '';
  for await (const chunk of body) {
    const text = rest + decoder.decode(chunk, { stream: true });
    const lines: string[] = [];
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      if (nl > start) lines.push(text.slice(start, nl));
      start = nl + 1;
    }
    rest = text.slice(start);
    if (lines.length > 0) yield lines;
  }
  rest += decoder.decode();
  if (rest.trim()) yield [rest];
}

/** How many roots stay open for late children before they are completed (a reorder window). */
const OPEN_WINDOW = 64;

/**
 * Groups stitched records into batches of `batchSize` results of `complete`. A root is completed
 * (handed to `complete`, which maps it; null drops it) once 64 newer roots have arrived or the
 * stream ends, so every root has all of its children (Shopify writes them right after their
 * parent), and the parsed JSON dies young instead of waiting for its whole batch: holding a
 * thousand parsed orders until the batch was full made garbage collection a third of the sync
 * process's time.
 */
export async function* stitchedBatches<T = StitchedRecord>(
  lines: AsyncIterable<string[]>,
  batchSize: number,
  complete: (record: StitchedRecord) => T | null = (record) => record as T,
): AsyncGenerator<T[]> {
  let batch: T[] = [];
  const open = new Map<string, StitchedRecord>();
  let current: StitchedRecord | undefined;
  // Ids of recently completed roots: enough to name the error below.
  const completed = new Set<string>();
  const finish = (record: StitchedRecord) => {
    const id = record.node.id as string;
    open.delete(id);
    completed.add(id);
    if (completed.size > batchSize + OPEN_WINDOW) completed.delete(completed.values().next().value as string);
    const result = complete(record);
    if (result !== null) batch.push(result);
  };
  for await (const chunk of lines) {
    for (const line of chunk) {
      const value = JSON.parse(line) as Record<string, unknown>;
      const parentId = value.__parentId;
      if (typeof parentId === 'string') {
        const owner = current && current.node.id === parentId ? current : open.get(parentId);
        if (owner) {
          delete value.__parentId;
          owner.children.push(value);
          continue;
        }
        throw new Error(
          completed.has(parentId)
            ? `bulk JSONL: a child of ${parentId} came after its parent was written`
            : `bulk JSONL: a child names an unknown parent ${parentId}`,
        );
      }
      if (open.size >= OPEN_WINDOW) finish(open.values().next().value as StitchedRecord);
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
      current = { node: value, children: [] };
      open.set(value.id as string, current);
    }
  }
  for (const record of [...open.values()]) finish(record);
  while (batch.length > 0) {
    yield batch.splice(0, batchSize);
  }
}
