// numpy is the oracle for unique (axis=None: the flattened array; numpy 1.24's NaN handling, all
// NaNs one value, last; the inverse flattened): every dtype, 1-d, 2-d and 3-d inputs in odd
// chunkings (one chunk, many chunks, trees of several levels), empty arrays, NaN and signed zeros,
// each flag alone and all together, on the local engine and a cluster. numpy is asked with
// return_index always: its stable sort then keeps the first zero's sign, as ours does.
import { describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';
import type { Dtype } from '@tessera/protocol';
import { engineClient } from './cluster.test-util.js';
import { DTYPES, expectMatch, numpyAnswers, values, wireArray, type NumpyCall, typedFrom, type WireArray } from './numpy-oracle.test-util.js';

interface Case {
  label: string;
  np: NumpyCall;
  /** Which of numpy's arrays ours are, in order. */
  pick: number[];
  build: () => ta.ChunkedArray | ta.ChunkedArray[];
}

interface Input {
  ours: ta.ChunkedArray;
  theirs: WireArray;
  data: number[];
}

function input(dtype: Dtype, shape: number[], chunks: number[] | number[][], salt = 0): Input {
  const n = shape.reduce((a, b) => a * b, 1);
  const base = values(dtype, salt);
  // Repeats of every value (NaN and both zeros among them for floats), in no sorted order.
  const data = Array.from({ length: n }, (_, i) => base[(i * 7 + salt) % base.length]!);
  return { ours: ta.fromArray(typedFrom(dtype, data), { shape, chunks, dtype }), theirs: wireArray(dtype, data, shape), data };
}

type Flags = { returnIndex?: boolean; returnInverse?: boolean; returnCounts?: boolean };
const NONE: Flags = {};
const EACH: Flags[] = [{ returnIndex: true }, { returnInverse: true }, { returnCounts: true }];
const ALL: Flags = { returnIndex: true, returnInverse: true, returnCounts: true };

function uniqueCase(label: string, x: Input, flags: Flags, splitEvery?: number): Case {
  const kwargs = { return_index: true, return_inverse: !!flags.returnInverse, return_counts: !!flags.returnCounts };
  // numpy's list: values, index, then inverse and counts where asked.
  const pick = [0, ...(flags.returnIndex ? [1] : [])];
  if (flags.returnInverse) pick.push(2);
  if (flags.returnCounts) pick.push(flags.returnInverse ? 3 : 2);
  const opts = { ...flags, ...(splitEvery ? { splitEvery } : {}) };
  const shown = Object.keys(flags).join('+') || 'values';
  return {
    label: `unique(${label}, ${shown}${splitEvery ? `, splitEvery ${splitEvery}` : ''})`,
    np: { fn: 'unique', args: [x.theirs], kwargs },
    pick,
    build: () => ta.unique(x.ours, opts),
  };
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const dtype of DTYPES) {
    const x = input(dtype, [7, 5], [3, 2]);
    for (const flags of [NONE, ...EACH, ALL]) out.push(uniqueCase(`${dtype} (7, 5) in (3, 2)`, x, flags));
    // 12 blocks two at a time: a tree of four levels.
    out.push(uniqueCase(`${dtype} (7, 5) in (3, 2)`, x, ALL, 2));
    const t = input(dtype, [4, 6, 5], [3, 4, 2], 1);
    for (const flags of [NONE, ALL]) out.push(uniqueCase(`${dtype} (4, 6, 5) in (3, 4, 2)`, t, flags, 3));
    const long = input(dtype, [100], [7], 2);
    for (const flags of [NONE, ...EACH, ALL]) out.push(uniqueCase(`${dtype} (100) in 7`, long, flags, 2));
    out.push(uniqueCase(`${dtype} (100) in 7`, long, ALL));
    const one = input(dtype, [7, 5], [7, 5], 3);
    for (const flags of [NONE, ALL]) out.push(uniqueCase(`${dtype} one chunk`, one, flags));
    const tiny = input(dtype, [9], [1], 4);
    out.push(uniqueCase(`${dtype} (9) in 1`, tiny, { returnCounts: true }, 3));
    const empty = input(dtype, [0, 3], [2, 2]);
    for (const flags of [NONE, ALL]) out.push(uniqueCase(`${dtype} empty`, empty, flags));
  }
  for (const dtype of ['float64', 'float32'] as const) {
    // Only NaNs: one value counted three times; zeros of both signs, the first one's kept.
    const nan = { ours: ta.fromArray(typedFrom(dtype, [NaN, NaN, NaN]), { chunks: [2], dtype }), theirs: wireArray(dtype, [NaN, NaN, NaN], [3]), data: [] };
    out.push(uniqueCase(`${dtype} all NaN`, nan, ALL));
    const z = [-0, 1, 0, -0, NaN, 0];
    const zs = { ours: ta.fromArray(typedFrom(dtype, z), { chunks: [1], dtype }), theirs: wireArray(dtype, z, [z.length]), data: z };
    out.push(uniqueCase(`${dtype} signed zeros`, zs, ALL, 2));
    out.push(uniqueCase(`${dtype} signed zeros`, zs, NONE, 4));
  }
  {
    // A 0-d array is one value; an array of unknown chunk sizes (a mask's result) is counted first.
    const s = { ours: ta.full([], 2.5), theirs: wireArray('float64', [2.5], []), data: [] };
    out.push(uniqueCase('float64 0-d', s, ALL));
    const x = input('int16', [7, 5], [3, 2], 5);
    const kept = x.data.filter((v) => v > 0);
    const masked = { ours: ta.compress(ta.ravel(ta.gt(x.ours, 0)), x.ours), theirs: wireArray('int16', kept, [kept.length]), data: kept };
    for (const flags of [NONE, ALL]) out.push(uniqueCase('int16 x[x > 0]', masked, flags, 2));
  }
  return out;
}

const CASES = cases();
const numpy = numpyAnswers(CASES.map((c) => c.np));

describe.each(['local', 'cluster'] as const)('numpy unique on the %s engine', (engine) => {
  const e = engineClient(engine);

  it(`${CASES.length} cases match numpy`, { timeout: 240_000 }, async () => {
    const built = CASES.map((c) => c.build());
    const got = (await e.client.compute(built.flat())) as ta.NDArray[];
    let k = 0;
    CASES.forEach((c, i) => {
      const want = numpy.answers[i]!;
      if ('error' in want) expect.fail(`${c.label}: numpy refused: ${want.error}`);
      const list: WireArray[] = 'list' in want ? want.list : [want];
      const wants = c.pick.map((j) => list[j]!);
      const b = built[i]!;
      expect(Array.isArray(b) ? b.length : 1, `${c.label}: number of arrays`).toBe(wants.length);
      expect(Array.isArray(b), `${c.label}: a list with a flag, an array without`).toBe(c.pick.length > 1);
      wants.forEach((w, j) => expectMatch(wants.length > 1 ? `${c.label}[${j}]` : c.label, got[k + j]!, w));
      k += wants.length;
    });
  });
});

describe('unique: shapes found when computed, a tree of merges', () => {
  const data = Float64Array.from({ length: 60 }, (_, i) => (i * 7) % 13);
  const x = ta.fromArray(data, { shape: [6, 10], chunks: [2, 3] });

  it('gives unknown lengths until computed (x-sized inverse), which computeChunkSizes and elementwise functions take', async () => {
    const client = await ta.Client.connect({ threads: 2 });
    try {
      const [u, idx, inv, counts] = ta.unique(x, { returnIndex: true, returnInverse: true, returnCounts: true, splitEvery: 2 });
      expect(u!.shape[0]).toBeNaN();
      expect(idx!.shape[0]).toBeNaN();
      expect(inv!.shape).toEqual([60]);
      expect(counts!.dtype).toBe('int64');
      const known = await client.computeChunkSizes(u!);
      expect(known.shape).toEqual([13]);
      expect(known.chunks).toEqual([[13]]);
      expect(await client.compute(ta.sum(counts!))).toBe(60);
      const plus = (await client.compute(ta.add(u!, 1))).data as Float64Array;
      expect([...plus]).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
      // u[inverse] is x, flattened.
      const [vals, inverse] = (await client.compute([u!, inv!])) as ta.NDArray[];
      expect(Array.from(inverse!.data as BigInt64Array, (j) => (vals!.data as Float64Array)[Number(j)])).toEqual([...data]);
    } finally {
      await client.close();
    }
  });

  it('merges at most splitEvery nodes per task; only the lowest level reads x', async () => {
    const client = await ta.Client.connect({ threads: 2 });
    try {
      const outs = ta.unique(x, { returnIndex: true, returnCounts: true, splitEvery: 3 });
      const known = await Promise.all(outs.map((a) => client.computeChunkSizes(a)));
      const tasks = ta.buildGraph(known).tasks.filter((t) => t.op === 'unique');
      const merges = tasks.filter((t) => (t.params as { merge: boolean }).merge);
      const raw = tasks.filter((t) => !(t.params as { merge: boolean }).merge);
      // The raw blocks are ravel(x)'s, one task each; every merge above them takes at most 3 nodes (and their indices or counts).
      expect(raw.length).toBeGreaterThan(1);
      expect(raw.every((t) => t.deps.length === 1)).toBe(true);
      expect(merges.length).toBeGreaterThan(0);
      for (const t of merges) expect(t.deps.length).toBeLessThanOrEqual((t.params as { out: string }).out === 'values' ? 3 : 6);
      for (const k of known) expect(k.chunks[0]!.length).toBe(1);
    } finally {
      await client.close();
    }
  });
});

describe('unique refuses what numpy refuses', () => {
  const x = ta.ones([4, 3], { chunks: [2, 2] });
  it('names the bad argument', () => {
    expect(() => ta.unique(x, { returnIndex: 1 as unknown as boolean })).toThrow(ta.InvalidArgumentError);
    expect(() => ta.unique(x, { returnInverse: 'yes' as unknown as boolean })).toThrow(/unique: returnInverse must be a boolean, got "yes"/);
    expect(() => ta.unique(x, { returnCounts: null as unknown as boolean })).toThrow(/returnCounts must be a boolean, got null/);
    expect(() => ta.unique(x, { return_counts: true } as ta.UniqueOptions)).toThrow(/unknown option "return_counts"; known: returnIndex, returnInverse, returnCounts, splitEvery/);
    expect(() => ta.unique(x, { splitEvery: 1 })).toThrow(/splitEvery must be an integer >= 2, got 1/);
    expect(() => ta.unique([1, 2] as unknown as ta.ChunkedArray)).toThrow(/unique: x must be an array/);
    expect(() => ta.unique(x, 'all' as unknown as ta.UniqueOptions)).toThrow(/options must be an object/);
  });
});
