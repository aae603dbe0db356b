import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Chunk, TaskSpec } from '@tessera/protocol';
import { InProcessExecutor } from './executor.js';

const root = mkdtempSync(join(tmpdir(), 'tessera-exec-cache-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// An assemble task reading rows 2..4 and columns 10..14 of a 10×100 input, as submitted and as
// run on the region fetched from a peer (the cluster's workers narrow such inputs).
const submitted: TaskSpec = {
  key: 'rechunk-0123456789abcdef:0',
  op: 'assemble',
  params: { pieces: [{ input: 0, src: [{ start: 2, step: 1, count: 3 }, { start: 10, step: 1, count: 5 }], dst: [0, 0] }] },
  deps: ['random-0123456789abcdef:0'],
  shape: [3, 5],
  dtype: 'float64',
  nbytes: 120,
  priority: 0,
  cache: true,
};
const narrowed: TaskSpec = { ...submitted, params: { pieces: [{ input: 0, src: [{ start: 0, step: 1, count: 3 }, { start: 0, step: 1, count: 5 }], dst: [0, 0] }] } };
const whole: Chunk = { dtype: 'float64', shape: [10, 100], data: Float64Array.from({ length: 1000 }, (_, i) => i) };
const region: Chunk = { dtype: 'float64', shape: [3, 5], data: Float64Array.from({ length: 15 }, (_, i) => (2 + Math.floor(i / 5)) * 100 + 10 + (i % 5)) };

const open = (dir: string): Promise<InProcessExecutor> => InProcessExecutor.start({ threads: 1, kernels: [], gpu: false, cache: { dir: join(root, dir) } });

describe('the result cache in the executor', () => {
  it('a task run on a region of its input is stored as the task submitted: run on the whole input, it is a hit', async () => {
    const ex = await open('a');
    expect(await ex.fromCache(submitted, () => undefined)).toBeUndefined();
    // The caller looked it up: run with cacheAs stores without a second look.
    const first = await ex.run(narrowed, [region], () => undefined, undefined, submitted);
    await ex.close();
    expect(ex.cacheStats()).toMatchObject({ hits: 0, misses: 1, writes: 1 });
    expect(first.ok).toBe(true);

    const again = await open('a');
    const second = await again.run(submitted, [whole], () => undefined);
    await again.close();
    expect(second.ok && Array.from((second.chunk as Chunk).data as Float64Array)).toEqual(Array.from(region.data as Float64Array));
    expect(again.executed).toBe(0);
    expect(again.cacheStats()).toMatchObject({ hits: 1, misses: 0, writes: 0 });
  });

  it('a task not marked cache is neither looked up nor stored', async () => {
    const ex = await open('b');
    const plain: TaskSpec = { ...submitted };
    delete plain.cache;
    expect(await ex.fromCache(plain, () => undefined)).toBeUndefined();
    await ex.run(narrowed, [region], () => undefined, undefined, plain);
    await ex.close();
    expect(ex.cacheStats()).toMatchObject({ hits: 0, misses: 0, writes: 0 });
  });
});
