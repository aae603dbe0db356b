import { z } from 'zod';
import type { Dtype } from '../dtype.js';
import { fmtShape, shapeEquals } from '../shape.js';

/**
 * Ops that order values: sorting a lane, the k largest or smallest of lanes (a tree over the
 * blocks along the axis), counting the elements of a sorted block below values (searchsorted),
 * and histogram counts. Their order is numpy's sort order: NaN after every number, -0 equal to 0.
 */

const nonneg = z.number().int().nonnegative();

interface Meta {
  shape: readonly number[];
  dtype: Dtype;
}

/** Sort each lane along `axis` (the block holds it whole): the values, or their indices (`arg`, int64). Stable. */
export const SortParams = z.object({ axis: nonneg, arg: z.boolean() }).strict();
export type SortParams = z.infer<typeof SortParams>;

/**
 * The |k| largest (k > 0, largest first) or smallest (k < 0, smallest first) of each lane along
 * `axis`, over the blocks given as inputs (concatenated along `axis`), ties by the lower index:
 * the values, or with `arg` their indices into the whole axis (int64). An index is `offsets[j]`
 * plus the position in value block j where `offsets` is given; for `arg` without offsets the
 * inputs are the value blocks followed by as many int64 index blocks of the same shapes (a merge
 * of earlier results).
 */
export const TopkParams = z
  .object({
    axis: nonneg,
    k: z.number().int().refine((k) => k !== 0, 'k must not be 0'),
    arg: z.boolean(),
    offsets: z.array(nonneg).optional(),
  })
  .strict();
export type TopkParams = z.infer<typeof TopkParams>;

/**
 * How many elements of a sorted 1-d block (input 0) come before each value of input 1: those
 * below it (`left`) or not above it (`right`); int64 of input 1's shape. Summed over the blocks
 * of a sorted array, this is numpy.searchsorted.
 */
export const SearchCountParams = z.object({ side: z.enum(['left', 'right']) }).strict();
export type SearchCountParams = z.infer<typeof SearchCountParams>;

/**
 * Counts of a block's values (input 0) in the bins between ascending `edges` ([e_i, e_i+1), the
 * last one closed), or the sums of the weights (input 1, same shape) there: int64, or float64 with
 * weights. NaN and values outside the edges are not counted.
 */
export const HistogramParams = z
  .object({ edges: z.array(z.number()).min(2) })
  .strict()
  .refine((p) => p.edges.every((e, i) => i === 0 || e >= p.edges[i - 1]!), 'edges must increase monotonically');
export type HistogramParams = z.infer<typeof HistogramParams>;

/**
 * numpy.histogramdd's counts of one block: inputs the D coordinate blocks (one shape), then the
 * weights (`weighted`); edges per dimension, each increasing; a point falls in [e_b, e_b+1) along
 * each (the last bin closed), NaN and points outside left out. float64 [bins_1, .., bins_D].
 */
export const HistogramddParams = z
  .object({ edges: z.array(z.array(z.number()).min(2)).min(1), weighted: z.boolean() })
  .strict()
  .refine((p) => p.edges.every((e) => e.every((v, i) => i === 0 || v >= e[i - 1]!)), 'edges must increase monotonically');
export type HistogramddParams = z.infer<typeof HistogramddParams>;

/**
 * Counts of each value 0 .. length - 1 of a 1-d integer block (input 0), or the sums of the
 * weights (input 1, same shape) there: int64, or float64 with weights. A negative value, or one
 * not below `length`, fails the task with a message that says so.
 */
export const BincountParams = z.object({ length: nonneg }).strict();
export type BincountParams = z.infer<typeof BincountParams>;

/** Whether a topk task's inputs end with index blocks: indices asked for, and no offsets to make them from. */
export function topkTakesIndices(p: TopkParams): boolean {
  return p.arg && !p.offsets;
}

function expect(cond: boolean, msg: () => string): string | undefined {
  return cond ? undefined : msg();
}

export function checkSort(p: SortParams, deps: readonly Meta[], out: Meta): string | undefined {
  const x = deps[0];
  if (deps.length !== 1 || !x) return `takes 1 input, got ${deps.length}`;
  if (p.axis >= x.shape.length) return `axis ${p.axis} of a ${x.shape.length}-D input`;
  const dtype = p.arg ? 'int64' : x.dtype;
  return expect(shapeEquals(out.shape, x.shape) && out.dtype === dtype, () => `gives ${dtype}${fmtShape(x.shape)}, declared ${out.dtype}${fmtShape(out.shape)}`);
}

export function checkTopk(p: TopkParams, deps: readonly Meta[], out: Meta): string | undefined {
  const merged = topkTakesIndices(p);
  const m = merged ? deps.length / 2 : deps.length;
  if (m < 1 || !Number.isInteger(m)) return merged ? `takes value blocks and as many index blocks, got ${deps.length} inputs` : 'takes at least 1 input';
  if (p.offsets && p.offsets.length !== m) return `${p.offsets.length} offsets for ${m} blocks`;
  const first = deps[0]!;
  if (p.axis >= first.shape.length) return `axis ${p.axis} of a ${first.shape.length}-D input`;
  let along = 0;
  for (let j = 0; j < m; j++) {
    const v = deps[j]!;
    const same = v.dtype === first.dtype && v.shape.length === first.shape.length && v.shape.every((d, i) => i === p.axis || d === first.shape[i]);
    if (!same) return `block ${j} is ${v.dtype}${fmtShape(v.shape)}, not like block 0's ${first.dtype}${fmtShape(first.shape)} off axis ${p.axis}`;
    const ix = merged ? deps[m + j]! : undefined;
    if (ix && (ix.dtype !== 'int64' || !shapeEquals(ix.shape, v.shape))) return `index block ${j} is ${ix.dtype}${fmtShape(ix.shape)}, expected int64${fmtShape(v.shape)}`;
    along += v.shape[p.axis]!;
  }
  const want = first.shape.map((d, i) => (i === p.axis ? Math.min(Math.abs(p.k), along) : d));
  const dtype = p.arg ? 'int64' : first.dtype;
  return expect(shapeEquals(out.shape, want) && out.dtype === dtype, () => `gives ${dtype}${fmtShape(want)}, declared ${out.dtype}${fmtShape(out.shape)}`);
}

export function checkSearchCount(_p: SearchCountParams, deps: readonly Meta[], out: Meta): string | undefined {
  const [a, v] = deps;
  if (deps.length !== 2 || !a || !v) return `takes 2 inputs (a sorted block and the values), got ${deps.length}`;
  if (a.shape.length !== 1) return `the sorted block must be 1-d, got ${fmtShape(a.shape)}`;
  if (a.dtype !== v.dtype) return `the sorted block (${a.dtype}) and the values (${v.dtype}) must be of one dtype`;
  return expect(shapeEquals(out.shape, v.shape) && out.dtype === 'int64', () => `gives int64${fmtShape(v.shape)}, declared ${out.dtype}${fmtShape(out.shape)}`);
}

export function checkHistogram(p: HistogramParams, deps: readonly Meta[], out: Meta): string | undefined {
  const [x, w] = deps;
  if (!x || deps.length > 2) return `takes the values and optionally their weights, got ${deps.length} inputs`;
  if (w && !shapeEquals(w.shape, x.shape)) return `weights ${fmtShape(w.shape)} differ in shape from the values ${fmtShape(x.shape)}`;
  const dtype = w ? 'float64' : 'int64';
  const want = [p.edges.length - 1];
  return expect(shapeEquals(out.shape, want) && out.dtype === dtype, () => `gives ${dtype}${fmtShape(want)}, declared ${out.dtype}${fmtShape(out.shape)}`);
}

export function checkHistogramdd(p: HistogramddParams, deps: readonly Meta[], out: Meta): string | undefined {
  const d = p.edges.length;
  if (deps.length !== d + (p.weighted ? 1 : 0)) return `takes ${d} coordinate blocks${p.weighted ? ' and the weights' : ''}, got ${deps.length} inputs`;
  const x = deps[0]!;
  const other = deps.find((m) => !shapeEquals(m.shape, x.shape));
  if (other) return `inputs ${fmtShape(x.shape)} and ${fmtShape(other.shape)} differ in shape`;
  const want = p.edges.map((e) => e.length - 1);
  return expect(shapeEquals(out.shape, want) && out.dtype === 'float64', () => `gives float64${fmtShape(want)}, declared ${out.dtype}${fmtShape(out.shape)}`);
}

export function checkBincount(p: BincountParams, deps: readonly Meta[], out: Meta): string | undefined {
  const [x, w] = deps;
  if (!x || deps.length > 2) return `takes the values and optionally their weights, got ${deps.length} inputs`;
  if (x.shape.length !== 1 || x.dtype.startsWith('float') || x.dtype === 'uint64') return `counts a 1-d block of integers (not uint64), got ${x.dtype}${fmtShape(x.shape)}`;
  if (w && !shapeEquals(w.shape, x.shape)) return `weights ${fmtShape(w.shape)} differ in shape from the values ${fmtShape(x.shape)}`;
  const dtype = w ? 'float64' : 'int64';
  return expect(shapeEquals(out.shape, [p.length]) && out.dtype === dtype, () => `gives ${dtype}${fmtShape([p.length])}, declared ${out.dtype}${fmtShape(out.shape)}`);
}

/**
 * numpy.unique's pieces (sorted distinct values, NaN one value after every number, -0 equal to 0).
 * Not `merge`: the inputs are raw blocks (any shapes, each C order, consecutive in flat order when
 * several); `offset` is the flat index of the first one's first element (needed for `index`).
 * `merge`: the inputs are m sorted distinct 1-d blocks of one dtype
 * (consecutive nodes of a lower level of the tree, in flat order), followed for `index` / `counts`
 * by m int64 blocks of the same lengths (their first indices / counts). `out` picks what the task
 * gives: the distinct values (the input's dtype, a zero's sign that of the first one), the first
 * flat index of each (int64), the number of times each occurs (int64), or their number (`size`,
 * int64[1]). The declared length is data-dependent (the client counted it with `size` first):
 * the kernel fails the task when the data disagree.
 */
export const UniqueParams = z
  .object({ out: z.enum(['values', 'index', 'counts', 'size']), merge: z.boolean(), offset: nonneg.optional() })
  .strict()
  .refine((p) => p.merge || p.out !== 'index' || p.offset !== undefined, 'the index of a raw block needs its offset');
export type UniqueParams = z.infer<typeof UniqueParams>;

/** Whether a unique task's inputs end with int64 index or count blocks (a merge giving index or counts). */
export function uniqueTakesAux(p: UniqueParams): boolean {
  return p.merge && (p.out === 'index' || p.out === 'counts');
}

export function checkUnique(p: UniqueParams, deps: readonly Meta[], out: Meta): string | undefined {
  const aux = uniqueTakesAux(p);
  const m = aux ? deps.length / 2 : deps.length;
  if (m < 1 || !Number.isInteger(m)) return aux ? `takes value blocks and as many int64 blocks, got ${deps.length} inputs` : 'takes at least 1 input';
  const first = deps[0]!;
  let total = 0;
  let longest = 0;
  for (let j = 0; j < m; j++) {
    const v = deps[j]!;
    if (v.dtype !== first.dtype) return `block ${j} is ${v.dtype}, block 0 ${first.dtype}`;
    if (p.merge && v.shape.length !== 1) return `merges 1-d blocks of distinct values, block ${j} is ${fmtShape(v.shape)}`;
    const n = v.shape.reduce((a, b) => a * b, 1);
    const a = aux ? deps[m + j]! : undefined;
    if (a && (a.dtype !== 'int64' || !shapeEquals(a.shape, v.shape))) return `${p.out} block ${j} is ${a.dtype}${fmtShape(a.shape)}, expected int64${fmtShape(v.shape)}`;
    total += n;
    longest = Math.max(longest, p.merge ? n : Math.min(n, 1));
  }
  const dtype = p.out === 'values' ? first.dtype : 'int64';
  if (out.dtype !== dtype) return `gives ${dtype}, declared ${out.dtype}`;
  if (p.out === 'size') return expect(shapeEquals(out.shape, [1]), () => `gives int64[1], declared ${fmtShape(out.shape)}`);
  const len = out.shape[0]!;
  return expect(
    out.shape.length === 1 && len <= total && len >= longest,
    () => `gives a 1-d array of between ${longest} and ${total} distinct values, declared ${fmtShape(out.shape)}`,
  );
}
