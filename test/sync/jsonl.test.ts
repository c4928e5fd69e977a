import { describe, expect, it } from 'vitest';
import { readLines, stitchedBatches } from '../../src/sync/jsonl.ts';

/** JSONL lines in chunks of three, as readLines hands them over. */
async function* lines(items: unknown[]) {
  const all = items.map((item) => JSON.stringify(item));
  for (let i = 0; i < all.length; i += 3) yield all.slice(i, i + 3);
}
const gid = (n: number) => `gid://shopify/Order/${n}`;
const collect = async <T>(gen: AsyncGenerator<T[]>) => {
  const batches: T[][] = [];
  for await (const b of gen) batches.push(b);
  return batches;
};

describe('sync: bulk JSONL stitching', () => {
  it('hands each root over once with all its children, in batches', async () => {
    const input: unknown[] = [];
    for (let i = 1; i <= 5; i++) {
      input.push({ id: gid(i) });
      input.push({ id: `c${i}a`, __parentId: gid(i) }, { id: `c${i}b`, __parentId: gid(i) });
    }
    // A child that arrives after another root still finds its parent (within the open window).
    input.push({ id: 'late', __parentId: gid(4) });
    const batches = await collect(stitchedBatches(lines(input), 2));
    expect(batches.map((b) => b.length)).toEqual([2, 2, 1]);
    const all = batches.flat();
    expect(all.map((r) => r.node.id)).toEqual([1, 2, 3, 4, 5].map(gid));
    expect(all[3].children.map((c) => c.id)).toEqual(['c4a', 'c4b', 'late']);
    expect(all[0].children[0]).not.toHaveProperty('__parentId');
  });

  it('maps as records complete and drops what the mapper skips', async () => {
    const input = [1, 2, 3, 4].map((i) => ({ id: gid(i) }));
    const batches = await collect(
      stitchedBatches(lines(input), 10, (r) => (r.node.id === gid(2) ? null : String(r.node.id))),
    );
    expect(batches).toEqual([[gid(1), gid(3), gid(4)]]);
  });

  it('refuses children of unknown or already written parents', async () => {
    await expect(collect(stitchedBatches(lines([{ id: 'x', __parentId: gid(9) }]), 2))).rejects.toThrow(
      /unknown parent/,
    );
    const many = Array.from({ length: 70 }, (_, i) => ({ id: gid(i + 1) }));
    await expect(
      collect(stitchedBatches(lines([...many, { id: 'x', __parentId: gid(1) }]), 100)),
    ).rejects.toThrow(/came after its parent was written/);
  });

  it('splits a byte stream into lines across chunk and UTF-8 boundaries', async () => {
    const bytes = new TextEncoder().encode('{"a":"é"}\n\n{"b":2}\n{"c":3}');
    async function* chunks() {
      for (let i = 0; i < bytes.length; i += 5) yield bytes.subarray(i, i + 5);
    }
    const out: string[] = [];
    for await (const chunk of readLines(chunks())) out.push(...chunk);
    expect(out).toEqual(['{"a":"é"}', '{"b":2}', '{"c":3}']);
  });
});
