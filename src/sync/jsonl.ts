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

/** Splits a byte stream into lines (UTF-8 safe across chunk boundaries). */
export async function* readLines(body: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let rest = '';
  for await (const chunk of body) {
    const text = rest + decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      if (nl > start) yield text.slice(start, nl);
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  rest += decoder.decode();
  if (rest.trim()) yield rest;
}

/**
 * Groups stitched records into batches of `batchSize` roots. A batch is yielded only when the next
 * root arrives (or the stream ends), so every root in it has all of its children.
 */
export async function* stitchedBatches(
  lines: AsyncIterable<string>,
  batchSize: number,
): AsyncGenerator<StitchedRecord[]> {
  let batch: StitchedRecord[] = [];
  let current: StitchedRecord | undefined;
  const handedOut = new Set<string>();
  for await (const line of lines) {
    const value = JSON.parse(line) as Record<string, unknown>;
    const parentId = value.__parentId;
    if (typeof parentId === 'string') {
      if (current && current.node.id === parentId) {
        delete value.__parentId;
        current.children.push(value);
        continue;
      }
      const owner = batch.find((r) => r.node.id === parentId);
      if (owner) {
        delete value.__parentId;
        owner.children.push(value);
        continue;
      }
      throw new Error(
        handedOut.has(parentId)
          ? `bulk JSONL: a child of ${parentId} came after its parent was written`
          : `bulk JSONL: a child names an unknown parent ${parentId}`,
      );
    }
    if (batch.length >= batchSize) {
      // Remember only the last batch's ids: enough to name the error above.
      handedOut.clear();
      for (const r of batch) handedOut.add(r.node.id as string);
      yield batch;
      batch = [];
    }
    current = { node: value, children: [] };
    batch.push(current);
  }
  if (batch.length > 0) yield batch;
}
