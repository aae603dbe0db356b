import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Chunk, type TaskSpec } from '@tessera/protocol';
import { ResultCache, clearCache, entryId, listCache } from './result-cache.js';

const root = mkdtempSync(join(tmpdir(), 'tessera-cache-unit-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(root, `c${n++}`);

const spec = (key: string, over: Partial<TaskSpec> = {}): TaskSpec => ({
  key,
  op: 'elementwise',
  params: { v: 1 },
  deps: [],
  shape: [2, 3],
  dtype: 'float64',
  nbytes: 48,
  priority: 0,
  cache: true,
  ...over,
});
const f64 = (vals: number[], shape = [2, 3]): Chunk => ({ dtype: 'float64', shape, data: new Float64Array(vals) });
const files = (dir: string): string[] => readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.chunk'));

describe('ResultCache', () => {
  it('gives back what was stored, in every dtype, as a fresh shared chunk; other tasks miss', async () => {
    const c = await ResultCache.open({ dir: fresh() });
    const chunks: Chunk[] = [
      f64([1, NaN, -0, Infinity, 5, 6]),
      { dtype: 'int64', shape: [3], data: new BigInt64Array([-(2n ** 63n), 0n, 2n ** 62n]) },
      { dtype: 'bool', shape: [3], data: new Uint8Array([1, 0, 1]) },
      { dtype: 'complex64', shape: [2], data: new Float32Array([1, -1, 2.5, 0]) },
    ];
    for (const [i, ch] of chunks.entries()) await c.put(spec(`t-00000000000000aa:${i}`, { dtype: ch.dtype, shape: ch.shape }), ch);
    for (const [i, ch] of chunks.entries()) {
      const got = await c.get(spec(`t-00000000000000aa:${i}`, { dtype: ch.dtype, shape: ch.shape }));
      expect(got?.data.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(Buffer.from(got!.data.buffer).equals(Buffer.from(ch.data.buffer))).toBe(true);
      expect([got!.dtype, got!.shape]).toEqual([ch.dtype, ch.shape]);
    }
    expect(await c.get(spec('t-00000000000000aa:9'))).toBeUndefined();
    // The same key with other parameters is another entry (an old build's key scheme, say).
    expect(await c.get(spec('t-00000000000000aa:0', { params: { v: 2 } }))).toBeUndefined();
    expect(c.stats()).toMatchObject({ hits: 4, misses: 2, writes: 4, corrupt: 0, entries: 4 });
  });

  it('an entry is the task, not its place in a graph: priority and size estimate do not matter, NaN and Infinity differ', () => {
    const a = spec('t-00000000000000bb:0');
    expect(entryId({ ...a, priority: 7, nbytes: 1 } as TaskSpec)).toBe(entryId(a));
    expect(entryId(spec('t-00000000000000bb:0', { params: { v: NaN } }))).not.toBe(entryId(spec('t-00000000000000bb:0', { params: { v: Infinity } })));
  });

  it('a damaged entry (a byte flipped, a truncated file, a foreign file) is deleted and missed, never returned', async () => {
    const dir = fresh();
    const c = await ResultCache.open({ dir });
    const damage: ((b: Buffer) => Buffer)[] = [
      (b) => ((b[b.length - 3] = b[b.length - 3]! ^ 0x40), b),
      (b) => b.subarray(0, b.length - 8),
      () => Buffer.from('not a cache entry'),
    ];
    for (const [i, hurt] of damage.entries()) {
      const s = spec(`t-00000000000000cc:${i}`);
      await c.put(s, f64([1, 2, 3, 4, 5, 6]));
      const file = join(dir, files(dir).find((f) => f.includes(entryId(s)))!);
      writeFileSync(file, hurt(readFileSync(file)));
      expect(await c.get(s)).toBeUndefined();
      expect(files(dir).some((f) => f.includes(entryId(s)))).toBe(false);
    }
    expect(c.stats()).toMatchObject({ hits: 0, corrupt: 3, misses: 3, entries: 0 });
  });

  it('keeps maxBytes of entries, the least recently used out first, and counts a folder it reopens', async () => {
    const dir = fresh();
    const big = f64(Array.from({ length: 1000 }, (_, i) => i), [1000]);
    const one = (i: number) => spec(`t-00000000000000dd:${i}`, { shape: [1000] });
    const c = await ResultCache.open({ dir, maxBytes: 3 * 8500 });
    await c.put(one(0), big);
    await c.put(one(1), big);
    await c.put(one(2), big);
    await new Promise((r) => setTimeout(r, 20));
    expect(await c.get(one(0))).toBeDefined(); // 0 is now the most recently used
    await c.put(one(3), big); // over the limit: 1 goes
    expect(c.stats()).toMatchObject({ evicted: 1, entries: 3 });
    expect(await c.get(one(1))).toBeUndefined();
    expect(await c.get(one(0))).toBeDefined();
    const again = await ResultCache.open({ dir, maxBytes: 3 * 8500 });
    expect(again.stats()).toMatchObject({ entries: 3, bytes: c.stats().bytes });
    const listed = await listCache(dir);
    expect(listed.map((e) => e.key).sort()).toEqual(['t-00000000000000dd:0', 't-00000000000000dd:2', 't-00000000000000dd:3']);
    expect(listed[0]).toMatchObject({ op: 'elementwise', dtype: 'float64', shape: [1000] });
    expect(await clearCache(dir)).toBe(3);
    expect(await listCache(dir)).toEqual([]);
  });
});
