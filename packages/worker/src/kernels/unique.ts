import { allocChunk, uniqueTakesAux, type Chunk, type ChunkData, type Dtype, type UniqueParams } from '@tessera/protocol';

/**
 * numpy.unique's pieces, one tree node at a time: the sorted distinct values of a raw block, or
 * of the union of lower nodes' distinct values (a merge), with each value's first flat index and
 * its number of occurrences. numpy's order (NaN after every number, every NaN one value, -0
 * equal to 0: the value kept has the sign of the first zero in flat order, as numpy's stable
 * sort keeps it).
 */

/** An element as a chunk holds it: a number, or a bigint for int64 / uint64. */
type V = number | bigint;
type Elements = { [i: number]: V; length: number };

/** One value in numpy.unique's sense (equal_nan: every NaN is the same one). */
const same = (a: V, b: V): boolean => a === b || (a !== a && b !== b);
/** a sorts before b: numpy's order, NaN last. */
const before = (a: V, b: V): boolean => a < b || (b !== b && a === a);

function newLike(d: ChunkData, n: number): ChunkData {
  return new (d.constructor as new (n: number) => ChunkData)(n);
}

/** The position of v among the first n sorted distinct values (where it is, if it is there). */
function find(sorted: Elements, n: number, v: V): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(sorted[mid]!, v)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The sorted distinct values of `data` (a copy, sorted by the typed array's own sort, which is
 * numpy's order for numbers: NaN last): the first n elements of `values`; `runs[k]`, when asked
 * for, the occurrences of the kth.
 */
function distinct(data: ChunkData, withRuns: boolean): { values: ChunkData; n: number; runs: Float64Array | undefined } {
  const s = newLike(data, data.length);
  (s as unknown as { set(a: ChunkData): void }).set(data);
  s.sort();
  const e = s as Elements;
  const runs = withRuns ? new Float64Array(data.length) : undefined;
  let n = 0;
  for (let i = 0; i < e.length; i++) {
    const v = e[i]!;
    if (n > 0 && same(e[n - 1]!, v)) {
      if (runs) runs[n - 1]!++;
      continue;
    }
    e[n] = v;
    if (runs) runs[n] = 1;
    n++;
  }
  return { values: s, n, runs };
}

/** A float zero among the distinct values takes the sign of `zero()` (the first zero in flat order). */
function keepFirstZero(values: ChunkData, n: number, zero: () => number | undefined): void {
  if (!(values instanceof Float64Array || values instanceof Float32Array)) return;
  const z = find(values, n, 0);
  if (z >= n || values[z] !== 0) return;
  const first = zero();
  if (first !== undefined) values[z] = first;
}

function declared(n: number, shape: readonly number[], what: string): void {
  if (shape[0] !== n) throw new Error(`unique: ${what} hold ${n} distinct values, the task declares ${shape[0]} (the data changed since they were counted)`);
}

function result(p: UniqueParams, d: { values: ChunkData; n: number }, shape: readonly number[], dtype: Dtype, aux: (out: BigInt64Array) => void): Chunk {
  if (p.out === 'size') {
    const out = allocChunk('int64', [1]);
    (out.data as BigInt64Array)[0] = BigInt(d.n);
    return out;
  }
  declared(d.n, shape, p.merge ? 'the merged blocks' : 'the blocks');
  const out = allocChunk(dtype, [d.n]);
  if (p.out === 'values') (out.data as unknown as { set(a: ChunkData): void }).set(d.values.subarray(0, d.n));
  else aux(out.data as BigInt64Array);
  return out;
}

/** The blocks' elements end to end (the block itself when there is one). */
function concat(blocks: readonly ChunkData[]): ChunkData {
  if (blocks.length === 1) return blocks[0]!;
  const all = newLike(blocks[0]!, blocks.reduce((s, b) => s + b.length, 0));
  let at = 0;
  for (const b of blocks) {
    (all as unknown as { set(a: ChunkData, o: number): void }).set(b, at);
    at += b.length;
  }
  return all;
}

/**
 * numpy.unique of raw blocks (any shapes, each C order; several are consecutive in flat order):
 * their distinct values, first flat indices (from `offset`), counts or number.
 */
function uniqueBlocks(p: UniqueParams, inputs: readonly Chunk[], shape: readonly number[], dtype: Dtype): Chunk {
  const data = concat(inputs.map((c) => c.data));
  const d = distinct(data, p.out === 'counts');
  const src = data as Elements;
  if (p.out === 'values') {
    keepFirstZero(d.values, d.n, () => {
      for (let i = 0; i < src.length; i++) if (src[i] === 0) return src[i] as number;
      return undefined;
    });
  }
  return result(p, d, shape, dtype, (out) => {
    if (p.out === 'counts') {
      for (let k = 0; k < d.n; k++) out[k] = BigInt(d.runs![k]!);
      return;
    }
    const first = new Float64Array(d.n).fill(-1);
    let left = d.n;
    for (let i = 0; i < src.length && left > 0; i++) {
      const k = find(d.values as Elements, d.n, src[i]!);
      if (first[k]! < 0) {
        first[k] = i;
        left--;
      }
    }
    const offset = p.offset ?? 0;
    for (let k = 0; k < d.n; k++) out[k] = BigInt(offset + first[k]!);
  });
}

/**
 * The union of two sorted distinct runs, sorted and distinct, in one pass: a value both hold is
 * taken from `a` (the earlier in flat order, so a zero keeps the first one's sign).
 */
function union(a: Elements, na: number, b: Elements, nb: number, out: Elements): number {
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < na && j < nb) {
    const x = a[i]!;
    const y = b[j]!;
    if (same(x, y)) {
      out[k++] = x;
      i++;
      j++;
    } else if (before(x, y)) {
      out[k++] = x;
      i++;
    } else {
      out[k++] = y;
      j++;
    }
  }
  while (i < na) out[k++] = a[i++]!;
  while (j < nb) out[k++] = b[j++]!;
  return k;
}

/** The union of sorted distinct blocks (in flat order), merged pairwise, neighbours first: log2(m) linear passes. */
function unionAll(blocks: readonly ChunkData[]): { values: ChunkData; n: number } {
  let runs = blocks.map((b) => ({ values: b, n: b.length }));
  while (runs.length > 1) {
    const next: { values: ChunkData; n: number }[] = [];
    for (let r = 0; r < runs.length; r += 2) {
      const a = runs[r]!;
      const b = runs[r + 1];
      if (!b) {
        next.push(a);
        continue;
      }
      const out = newLike(a.values, a.n + b.n);
      next.push({ values: out, n: union(a.values as Elements, a.n, b.values as Elements, b.n, out as Elements) });
    }
    runs = next;
  }
  return runs[0]!;
}

/** numpy.unique of the union of m sorted distinct blocks (in flat order), with their first indices or counts merged. */
function uniqueMerge(p: UniqueParams, inputs: readonly Chunk[], shape: readonly number[], dtype: Dtype): Chunk {
  const aux = uniqueTakesAux(p);
  const m = aux ? inputs.length / 2 : inputs.length;
  if (m < 1 || !Number.isInteger(m)) throw new Error(`unique: bad inputs (${inputs.length}) for a merge of ${p.out}`);
  const blocks = inputs.slice(0, m).map((c) => c.data);
  const d = unionAll(blocks);
  const u = d.values as Elements;
  return result(p, d, shape, dtype, (out) => {
    const acc = new Float64Array(d.n).fill(p.out === 'index' ? Infinity : 0);
    blocks.forEach((b, j) => {
      const e = b as Elements;
      const a = inputs[m + j]!.data as BigInt64Array;
      let q = 0;
      for (let k = 0; k < e.length; k++) {
        // Both sorted the same way, the union holding every value of the block: a walk finds each.
        while (q < d.n && !same(u[q]!, e[k]!)) q++;
        if (q >= d.n) throw new Error(`unique: block ${j} of the merge is not sorted distinct values`);
        const v = Number(a[k]!);
        acc[q] = p.out === 'index' ? Math.min(acc[q]!, v) : acc[q]! + v;
      }
    });
    for (let k = 0; k < d.n; k++) out[k] = BigInt(acc[k]!);
  });
}

/** numpy.unique's pieces: a raw block's, or a merge of lower nodes' (UniqueParams says which inputs). */
export function unique(p: UniqueParams, inputs: readonly Chunk[], shape: readonly number[], dtype: Dtype): Chunk {
  if (inputs.length === 0) throw new Error('unique: takes at least 1 input');
  return p.merge ? uniqueMerge(p, inputs, shape, dtype) : uniqueBlocks(p, inputs, shape, dtype);
}
