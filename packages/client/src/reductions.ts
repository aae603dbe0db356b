import {
  DtypeError,
  InvalidArgumentError,
  isComplex,
  type ReductionKind,
  ShapeError,
  fmtShape,
  needsNonEmpty,
  partialComponents,
  reducedShape,
  reductionKindFor,
  reductionResultDtype,
} from '@tessera/protocol';
import {
  type ArgReduceOptions,
  type ChunkedArray,
  type ChunkedScalar,
  type FullArgReduceOptions,
  type FullReduceOptions,
  type FullVarOptions,
  type ReduceOptions,
  type VarOptions,
  makeArray,
} from './array.js';
import { type Chunks, boundaries, product } from './chunks.js';
import { deferCall, hasUnknownChunks } from './deferred.js';
import * as cx from './complex.js';
import { complexProd } from './cumulative.js';
import { add, sqrt } from './elementwise.js';

/** Normalise `axis` (negative allowed) to ascending unique axes; undefined means all. */
export function normalizeAxes(fn: string, axis: number | readonly number[] | undefined, ndim: number): number[] {
  if (axis === undefined || axis === null) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof axis === 'number' ? [axis] : [...axis];
  const out = list.map((a) => normalizeAxis(fn, a, ndim));
  const dup = out.find((a, i) => out.indexOf(a) !== i);
  if (dup !== undefined) throw new InvalidArgumentError(`${fn}: axis ${dup} is repeated in ${JSON.stringify(axis)}`);
  return out.sort((a, b) => a - b);
}

export function normalizeAxis(fn: string, axis: number, ndim: number): number {
  if (!Number.isInteger(axis) || axis < -ndim || axis >= ndim) {
    throw new InvalidArgumentError(`${fn}: axis ${axis} is out of bounds for an array of dimension ${ndim}`);
  }
  return axis < 0 ? axis + ndim : axis;
}

/**
 * Per-axis group sizes of one merge level: the product stays within `splitEvery`, and the axes
 * with the most partials left are grouped first, so the tree is balanced over the axes.
 */
export function mergeFactors(counts: readonly number[], splitEvery: number): number[] {
  const f = counts.map(() => 1);
  let prod = 1;
  for (;;) {
    let best = -1;
    let left = 1;
    counts.forEach((c, i) => {
      const l = Math.ceil(c / f[i]!);
      if (l > left) [best, left] = [i, l];
    });
    if (best < 0 || (prod / f[best]!) * (f[best]! + 1) > splitEvery) return f;
    prod = (prod / f[best]!) * (f[best]! + 1);
    f[best]!++;
  }
}

interface ReduceCall {
  axis?: number | readonly number[] | undefined;
  keepdims?: boolean | undefined;
  splitEvery?: number | undefined;
  ddof?: number | undefined;
}

/**
 * Tree reduction: one `reduce-partial` per block (reduced axes kept as size 1, plus a trailing
 * component axis), then levels of `reduce-merge` over groups of at most `splitEvery` partials
 * that share their non-reduced block index, the last one with `final`.
 */
export function reduction(asked: ReductionKind, x: ChunkedArray, opts: ReduceCall = {}): ChunkedArray {
  if (hasUnknownChunks(x)) {
    // An unknown axis that is reduced away (or kept as 1) is known in the result.
    const axes = normalizeAxes(asked, opts?.axis, x.ndim);
    return deferCall(asked, [x], ([y]) => reduction(asked, y as ChunkedArray, opts), () => {
      const kept = opts?.keepdims ? x.shape.map((_, i) => i) : x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
      return kept.flatMap((ax, k) => (Number.isNaN(x.shape[ax]!) && !axes.includes(ax) ? [k] : []));
    });
  }
  // Integer sums and products accumulate exactly in 64 bits, as numpy's int64 / uint64 do.
  const kind = reductionKindFor(asked, x.dtype);
  if (typeof opts !== 'object' || opts === null) throw new InvalidArgumentError(`${kind}: options must be an object, got ${String(opts)}`);
  const isArg = kind === 'argmin' || kind === 'argmax';
  if (isArg && opts.axis !== undefined && typeof opts.axis !== 'number') {
    throw new InvalidArgumentError(`${kind}: axis must be a single number or omitted (flat index), got ${JSON.stringify(opts.axis)}`);
  }
  const axes = normalizeAxes(kind, opts.axis, x.ndim);
  const keepdims = opts.keepdims ?? false;
  const splitEvery = opts.splitEvery ?? 4;
  if (!Number.isInteger(splitEvery) || splitEvery < 2) throw new InvalidArgumentError(`${kind}: splitEvery must be an integer >= 2, got ${splitEvery}`);
  const ddof = opts.ddof ?? 0;
  if (!Number.isInteger(ddof) || ddof < 0) throw new InvalidArgumentError(`${kind}: ddof must be a non-negative integer, got ${ddof}`);
  if (needsNonEmpty(kind)) {
    const empty = axes.find((a) => x.shape[a] === 0);
    if (empty !== undefined || (axes.length === 0 && x.size === 0)) {
      throw new ShapeError(`${kind}: cannot reduce an empty extent of shape ${fmtShape(x.shape)} (axis ${empty ?? 'all'}); ${kind} has no identity`);
    }
  }
  const reduced = new Set(axes);
  const comps = partialComponents(kind);
  const starts = x.chunks.map(boundaries);

  // Level 0: one partial per input block.
  const partialChunks: Chunks = [...x.chunks.map((c, ax) => (reduced.has(ax) ? c.map(() => 1) : c)), [comps]];
  let level = makeArray({
    label: `${kind}-partial`,
    op: 'reduce-partial',
    shape: partialChunks.map((c) => c.reduce((a, b) => a + b, 0)),
    dtype: 'float64',
    chunks: partialChunks,
    inputs: [x],
    token: { kind, axes },
    block: (index) => {
      const src = index.slice(0, -1);
      const params = isArg
        ? { kind, axes, offset: src.map((b, ax) => starts[ax]![b]!), fullShape: [...x.shape] }
        : { kind, axes };
      return { params, deps: [x.key(src)] };
    },
  });

  // Merge levels until one partial is left per non-reduced block index.
  for (;;) {
    const cur = level; // the closures below run at graph-build time, after `level` moved on
    const counts = cur.numblocks;
    const f = mergeFactors(axes.map((a) => counts[a]!), splitEvery);
    const groupOf = (index: readonly number[]): string[] => {
      const ranges = counts.map((n, ax) => {
        const k = axes.indexOf(ax);
        if (k < 0) return [index[ax]!];
        const lo = index[ax]! * f[k]!;
        return Array.from({ length: Math.min(n, lo + f[k]!) - lo }, (_, i) => lo + i);
      });
      return product(ranges).map((i) => cur.key(i));
    };
    const done = axes.every((a, k) => Math.ceil(counts[a]! / f[k]!) === 1);
    if (done) return finalLevel(kind, x, axes, keepdims, ddof, cur, groupOf);
    const chunks: Chunks = cur.chunks.map((c, ax) => {
      const k = axes.indexOf(ax);
      return k < 0 ? c : new Array<number>(Math.ceil(c.length / f[k]!)).fill(1);
    });
    level = makeArray({
      label: `${kind}-merge`,
      op: 'reduce-merge',
      shape: chunks.map((c) => c.reduce((a, b) => a + b, 0)),
      dtype: 'float64',
      chunks,
      inputs: [cur],
      token: { kind, axes, f },
      block: (index) => ({ params: { kind, axes }, deps: groupOf(index) }),
    });
  }
}

function finalLevel(
  kind: ReductionKind,
  x: ChunkedArray,
  axes: number[],
  keepdims: boolean,
  ddof: number,
  level: ChunkedArray,
  groupOf: (index: readonly number[]) => string[],
): ChunkedArray {
  const reduced = new Set(axes);
  const dtype = reductionResultDtype(kind, x.dtype);
  const chunks = x.chunks.flatMap((c, ax) => (!reduced.has(ax) ? [c] : keepdims ? [[1]] : []));
  const final = { dtype, keepdims, ddof: kind === 'var' || kind === 'std' ? ddof : 0 };
  return makeArray({
    label: kind,
    op: 'reduce-merge',
    shape: reducedShape(x.shape, axes, keepdims),
    dtype,
    chunks,
    inputs: [level],
    token: { kind, axes, final },
    block: (index) => {
      // Back to the level's grid: reduced axes are at block 0, the component axis too.
      let k = 0;
      const full = x.shape.map((_, ax) => {
        if (!reduced.has(ax)) return index[k++]!;
        if (keepdims) k++; // a kept reduced axis has the single block 0
        return 0;
      });
      return { params: { kind, axes, final }, deps: groupOf([...full, 0]) };
    },
  });
}

/** A reduction function typed so that a full reduction without keepdims is a scalar. */
export interface Reducer<O, F> {
  (x: ChunkedArray, opts?: F): ChunkedScalar;
  (x: ChunkedArray, opts: O): ChunkedArray;
}

const reducer = <O extends object, F>(kind: ReductionKind) =>
  ((x: ChunkedArray, opts?: O) => {
    if (isComplex(x.dtype)) return complexReduction(kind, x, opts as ReduceCall);
    return reduction(kind, x, opts as ReduceCall);
  }) as Reducer<O, F>;

/**
 * sum and mean of a complex array are those of its parts, put together; var and std are
 * numpy's (real: the variance of the real part plus that of the imaginary part); prod a tree of
 * complex products (complexProd). Others refuse.
 */
function complexReduction(kind: ReductionKind, x: ChunkedArray, opts: ReduceCall | undefined): ChunkedArray {
  const re = cx.real(x), im = cx.imag(x);
  if (kind === 'sum' || kind === 'mean') return cx.complexOp('make', [reduction(kind, re, opts), reduction(kind, im, opts)]);
  if (kind === 'var' || kind === 'std') {
    const v = add(reduction('var', re, opts), reduction('var', im, opts));
    return kind === 'var' ? v : sqrt(v);
  }
  if (kind === 'prod') return complexProd(x, opts);
  throw new DtypeError(`${kind} does not take ${x.dtype} (complex arrays have sum, prod, mean, var and std)`);
}

export const sum = reducer<ReduceOptions, FullReduceOptions>('sum');
export const prod = reducer<ReduceOptions, FullReduceOptions>('prod');
export const mean = reducer<ReduceOptions, FullReduceOptions>('mean');
export const min = reducer<ReduceOptions, FullReduceOptions>('min');
export const max = reducer<ReduceOptions, FullReduceOptions>('max');
/** Variance with `ddof` (default 0, like numpy). */
export const var_ = reducer<VarOptions, FullVarOptions>('var');
export const std = reducer<VarOptions, FullVarOptions>('std');
/** Index of the minimum along `axis`, or the flat index when axis is omitted. */
export const argmin = reducer<ArgReduceOptions, FullArgReduceOptions>('argmin');
export const argmax = reducer<ArgReduceOptions, FullArgReduceOptions>('argmax');
