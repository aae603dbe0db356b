import { fmtShape, InvalidArgumentError, promoteTypes, promoteWithScalar, ShapeError } from '@tessera/protocol';
import { type ChunkedArray, makeArray } from './array.js';
import { boundaries } from './chunks.js';
import { fromArray, full } from './creation.js';
import { requireKnown } from './deferred.js';
import { add, astype, gt, sub } from './elementwise.js';
import { isnan, logicalAnd, logicalNot } from './ufuncs.js';
import { normalizeAxis } from './reductions.js';
import { ravel } from './shape-ops.js';
import { rechunk } from './slicing.js';

/**
 * Sorting and selection, numpy's order throughout (NaN after every number): sort and argsort
 * along an axis one chunk holds whole, topk / argtopk as a tree over the blocks (Dask's), and
 * searchsorted, isin and digitize as per-block counts summed (histogram and bincount: counting.ts).
 */

export interface SortOptions {
  /** The axis to sort along (default -1, the last); null sorts the flattened array (numpy's None). */
  axis?: number | null;
}

/** The array with `axis` in one chunk (the other axes keep their chunks): a block holds whole lanes. */
function wholeAlong(x: ChunkedArray, axis: number): ChunkedArray {
  return x.chunks[axis]!.length === 1 ? x : rechunk(x, x.chunks.map((c, i) => (i === axis ? [x.shape[axis]!] : [...c])));
}

function sorted(fn: string, x: ChunkedArray, arg: boolean, opts: SortOptions): ChunkedArray {
  requireKnown(fn, x);
  if (opts.axis === null) return sorted(fn, ravel(x), arg, { axis: 0 });
  const axis = normalizeAxis(fn, opts.axis ?? -1, x.ndim);
  const whole = wholeAlong(x, axis);
  const params = { axis, arg };
  return makeArray({
    label: fn,
    op: 'sort',
    shape: x.shape,
    dtype: arg ? 'int64' : x.dtype,
    chunks: whole.chunks,
    inputs: [whole],
    token: params,
    block: (index) => ({ params, deps: [whole.key(index)] }),
  });
}

/**
 * numpy.sort: each lane along `axis` sorted, NaN last. The axis is gathered into one chunk per
 * block of the other axes (a block then holds the whole axis: chunk the other axes finer for a
 * long one). The sort is stable (numpy's kind='stable'), so -0 and 0 keep their input order.
 */
export const sort = (x: ChunkedArray, opts: SortOptions = {}): ChunkedArray => sorted('sort', x, false, opts);
/** numpy.argsort (kind='stable'): the int64 indices that sort each lane, ties in index order. */
export const argsort = (x: ChunkedArray, opts: SortOptions = {}): ChunkedArray => sorted('argsort', x, true, opts);

/** The kth positions (one or several, negative from the end) checked against the axis, as numpy's. */
function checkKth(fn: string, x: ChunkedArray, kth: number | readonly number[], axis: number | null | undefined): void {
  const n = axis === null ? x.size : x.shape[normalizeAxis(fn, axis ?? -1, x.ndim)]!;
  for (const k of typeof kth === 'number' ? [kth] : kth) {
    if (!Number.isInteger(k)) throw new InvalidArgumentError(`${fn}: kth must be integers, got ${k}`);
    if (k >= n || k < -n) throw new InvalidArgumentError(`${fn}: kth(=${k}) out of bounds (${n})`);
  }
}

/**
 * numpy.partition: each lane along `axis` with its kth element where a sort puts it, smaller ones
 * before and larger after, in an order numpy leaves unspecified. Here the lanes are sorted
 * (stable), which is such an order (introselect would do less work; the gathered axis is the
 * same). Dask has no partition.
 */
export function partition(x: ChunkedArray, kth: number | readonly number[], opts: SortOptions = {}): ChunkedArray {
  checkKth('partition', x, kth, opts.axis);
  return sorted('partition', x, false, opts);
}
/** numpy.argpartition: the int64 indices that partition each lane (here: that sort it, stable). */
export function argpartition(x: ChunkedArray, kth: number | readonly number[], opts: SortOptions = {}): ChunkedArray {
  checkKth('argpartition', x, kth, opts.axis);
  return sorted('argpartition', x, true, opts);
}

export interface TopkOptions {
  /** The axis to select along (default -1). */
  axis?: number;
  /** Blocks merged per task of the tree (default 8). */
  splitEvery?: number;
}

function groupsOf(n: number, size: number): number[][] {
  return Array.from({ length: Math.ceil(n / size) }, (_, g) => Array.from({ length: Math.min(size, n - g * size) }, (_, j) => g * size + j));
}

function selected(fn: 'topk' | 'argtopk', x: ChunkedArray, k: number, opts: TopkOptions): ChunkedArray {
  requireKnown(fn, x);
  if (!Number.isInteger(k) || k === 0) throw new InvalidArgumentError(`${fn}: k must be a non-zero integer, got ${k}`);
  const axis = normalizeAxis(fn, opts.axis ?? -1, x.ndim);
  const splitEvery = opts.splitEvery ?? 8;
  if (!Number.isInteger(splitEvery) || splitEvery < 2) throw new InvalidArgumentError(`${fn}: splitEvery must be an integer >= 2, got ${splitEvery}`);
  if (x.shape[axis] === 0) throw new ShapeError(`${fn}: cannot select from an empty axis ${axis} of shape ${fmtShape(x.shape)}`);
  const arg = fn === 'argtopk';
  const starts = boundaries(x.chunks[axis]!);
  let values = x;
  let indices: ChunkedArray | undefined;
  for (let level = 0; level === 0 || values.chunks[axis]!.length > 1; level++) {
    // Each block first on its own (the bulk of the work, spread over every thread), then the
    // k-sized partials merged splitEvery at a time, as Dask's chunk and aggregate steps.
    const groups = groupsOf(values.chunks[axis]!.length, level === 0 && values.chunks[axis]!.length > 1 ? 1 : splitEvery);
    const along = groups.map((g) => Math.min(Math.abs(k), g.reduce((s, b) => s + values.chunks[axis]![b]!, 0)));
    const chunks = values.chunks.map((c, i) => (i === axis ? along : [...c]));
    const shape = x.shape.map((d, i) => (i === axis ? along.reduce((a, b) => a + b, 0) : d));
    const [vals, idx] = [values, indices];
    const last = groups.length === 1;
    const level_ = level;
    const build = (wantArg: boolean): ChunkedArray =>
      makeArray({
        label: wantArg ? 'argtopk' : 'topk',
        op: 'topk',
        shape,
        dtype: wantArg ? 'int64' : x.dtype,
        chunks,
        inputs: wantArg && idx ? [vals, idx] : [vals],
        token: { k, axis, splitEvery, level: level_ },
        block: (index) => {
          const g = groups[index[axis]!]!;
          const at = (b: number) => index.map((v, i) => (i === axis ? b : v));
          const keys = g.map((b) => vals.key(at(b)));
          if (!wantArg) return { params: { axis, k, arg: false }, deps: keys };
          if (!idx) return { params: { axis, k, arg: true, offsets: g.map((b) => starts[b]!) }, deps: keys };
          return { params: { axis, k, arg: true }, deps: [...keys, ...g.map((b) => idx.key(at(b)))] };
        },
      });
    // The values go on to the next level; the indices, where asked for, follow them.
    if (!(arg && last)) values = build(false);
    if (arg) indices = build(true);
    if (last) break;
  }
  return arg ? indices! : values;
}

/**
 * dask.array.topk: the k largest values along `axis`, largest first (k < 0: the |k| smallest,
 * smallest first; NaN counts as the largest), as a tree over the blocks along the axis: any
 * chunking, no block bigger than `splitEvery` blocks' worth of k. k past the axis gives it all.
 */
export const topk = (x: ChunkedArray, k: number, opts: TopkOptions = {}): ChunkedArray => selected('topk', x, k, opts);
/** dask.array.argtopk: the int64 indices of topk's values along the axis (ties: the lower index first). */
export const argtopk = (x: ChunkedArray, k: number, opts: TopkOptions = {}): ChunkedArray => selected('argtopk', x, k, opts);

/** Parts of one shape summed in a tree of `add`s (integers stay exact). */
export function sumParts(parts: readonly ChunkedArray[]): ChunkedArray {
  let level = [...parts];
  while (level.length > 1) {
    const next: ChunkedArray[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? add(level[i]!, level[i + 1]!) : level[i]!);
    level = next;
  }
  return level[0]!;
}

export interface SearchsortedOptions {
  /** 'left' (default): the first place v could go; 'right': the last. */
  side?: 'left' | 'right';
}

/**
 * How many elements of each block of `blocks` (1-d, each block sorted on its own) come before
 * each value of v, summed over the blocks: v's shape, int64. Both are cast to their common dtype.
 */
function countsBefore(fn: string, blocks: ChunkedArray, v: ChunkedArray | number, side: 'left' | 'right'): ChunkedArray {
  const values = typeof v === 'number' ? full([], v, { dtype: promoteWithScalar(blocks.dtype, v) }) : v;
  requireKnown(fn, blocks, values);
  // numpy compares in the common dtype.
  const dtype = typeof v === 'number' ? values.dtype : promoteTypes(blocks.dtype, values.dtype);
  const a = blocks.dtype === dtype ? blocks : astype(blocks, dtype);
  const vs = values.dtype === dtype ? values : astype(values, dtype);
  if (a.shape[0] === 0) return full(vs.shape, 0, { dtype: 'int64', chunks: vs.chunks.map((c) => [...c]) });
  const parts = a.chunks[0]!.map((_, c) =>
    makeArray({
      label: 'search-count',
      op: 'search-count',
      shape: vs.shape,
      dtype: 'int64',
      chunks: vs.chunks,
      inputs: [a, vs],
      token: { side, block: c },
      block: (index) => ({ params: { side }, deps: [a.key([c]), vs.key(index)] }),
    }),
  );
  return sumParts(parts);
}

/**
 * numpy.searchsorted: where each value of v would go in the sorted 1-d array a to keep it sorted.
 * Each block of a counts the elements before v (a binary search), and the counts are summed, so
 * a may have any chunking; the result (int64) has v's shape and chunks.
 */
export function searchsorted(a: ChunkedArray, v: ChunkedArray | number, opts: SearchsortedOptions = {}): ChunkedArray {
  const side = opts.side ?? 'left';
  if (side !== 'left' && side !== 'right') throw new InvalidArgumentError(`searchsorted: side must be 'left' or 'right', got ${JSON.stringify(side)}`);
  if (a.ndim !== 1) throw new ShapeError(`searchsorted: a must be 1-d, got shape ${fmtShape(a.shape)}`);
  return countsBefore('searchsorted', a, v, side);
}

export interface IsinOptions {
  /** Give the opposite: true where the element is not among the test elements. */
  invert?: boolean;
}

/**
 * numpy.isin: whether each element is among `testElements` (any shape and chunking). Each block
 * of the flattened test elements is sorted on its own, and an element's count of equals in it is
 * the difference of its two binary searches, summed over the blocks: nothing is gathered. NaN is
 * never among them (NaN equals nothing, as in numpy); -0 equals 0.
 */
export function isin(element: ChunkedArray, testElements: ChunkedArray | readonly number[], opts: IsinOptions = {}): ChunkedArray {
  const t = Array.isArray(testElements) ? fromArray([...testElements]) : ravel(testElements as ChunkedArray);
  requireKnown('isin', element, t);
  const params = { axis: 0, arg: false };
  const blockSorted = makeArray({
    label: 'sort-blocks',
    op: 'sort',
    shape: t.shape,
    dtype: t.dtype,
    chunks: t.chunks,
    inputs: [t],
    token: params,
    block: (index) => ({ params, deps: [t.key(index)] }),
  });
  const equals = sub(countsBefore('isin', blockSorted, element, 'right'), countsBefore('isin', blockSorted, element, 'left'));
  let found = gt(equals, 0);
  if (element.dtype === 'float64' || element.dtype === 'float32') found = logicalAnd(found, logicalNot(isnan(element)));
  return opts.invert ? logicalNot(found) : found;
}

export interface DigitizeOptions {
  /** Whether a bin holds its right edge instead of its left (default false). */
  right?: boolean;
}

/** numpy.digitize: the index of the bin of each value, bins (edges, in memory) increasing or decreasing. */
export function digitize(x: ChunkedArray, bins: readonly number[], opts: DigitizeOptions = {}): ChunkedArray {
  if (!Array.isArray(bins) || bins.length === 0 || !bins.every((b) => typeof b === 'number')) {
    throw new InvalidArgumentError('digitize: bins must be a non-empty array of numbers');
  }
  const up = bins.every((b, i) => i === 0 || b >= bins[i - 1]!);
  const down = bins.every((b, i) => i === 0 || b <= bins[i - 1]!);
  if (!up && !down) throw new InvalidArgumentError('digitize: bins must be monotonically increasing or decreasing');
  // numpy's: the arguments are swapped, so the side is too; decreasing bins are reversed and the result inverted.
  const side = opts.right ? 'left' : 'right';
  if (up) return searchsorted(fromArray([...bins]), x, { side });
  return sub(bins.length, searchsorted(fromArray([...bins].reverse()), x, { side }));
}
