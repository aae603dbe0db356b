import { InvalidArgumentError, ShapeError, fmtShape, promoteTypes, type Dtype } from '@tessera/protocol';
import { ChunkedArray, makeArray } from './array.js';
import { full, fromArray } from './creation.js';
import { astype, ne, sub } from './elementwise.js';
import { haloRanges, windows } from './overlap.js';
import { normalizeAxes, normalizeAxis } from './reductions.js';
import { rechunk, slice } from './slicing.js';
import { flip } from './shape-ops.js';
import { concatenate } from './structure.js';

export interface DiffOptions {
  n?: number;
  axis?: number;
  /** Values joined before / after the array along the axis first: a number or an array. */
  prepend?: ChunkedArray | number | boolean;
  append?: ChunkedArray | number | boolean;
}

/** A scalar as numpy.asanyarray makes it (int64, float64 or bool), spread over x's shape with one row along axis. */
function edge(x: ChunkedArray, v: ChunkedArray | number | boolean, axis: number): ChunkedArray {
  if (v instanceof ChunkedArray) return v;
  const dtype: Dtype = typeof v === 'boolean' ? 'bool' : Number.isInteger(v) ? 'int64' : 'float64';
  const shape = x.shape.map((d, i) => (i === axis ? 1 : d));
  return full(shape, typeof v === 'boolean' ? Number(v) : v, { dtype, chunks: x.chunks.map((c, i) => (i === axis ? [1] : [...c])) });
}

/**
 * numpy.diff: the n-th differences along an axis, x[1:] - x[:-1] n times (not-equal for bool), as
 * dask.array.diff builds them: slices and an elementwise op, whose chunks are unified.
 */
export function diff(x0: ChunkedArray, opts: DiffOptions = {}): ChunkedArray {
  const n = opts.n ?? 1;
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`diff: order must be a non-negative integer, got ${String(n)}`);
  if (x0.ndim === 0) throw new ShapeError('diff: requires an input of at least 1 dimension');
  const axis = normalizeAxis('diff', opts.axis ?? -1, x0.ndim);
  const parts = [...(opts.prepend !== undefined ? [edge(x0, opts.prepend, axis)] : []), x0, ...(opts.append !== undefined ? [edge(x0, opts.append, axis)] : [])];
  let x = parts.length > 1 ? concatenate(parts, { axis }) : x0;
  const at = (start: number | null, stop: number | null) => x.shape.map((_, i) => (i === axis ? { start, stop } : null));
  for (let k = 0; k < n; k++) {
    if (x.shape[axis] === 0) break;
    const [hi, lo] = [slice(x, ...at(1, null)), slice(x, ...at(null, -1))];
    x = x.dtype === 'bool' ? ne(hi, lo) : sub(hi, lo);
  }
  return x;
}

export interface GradientOptions {
  /** The axes (default all). */
  axis?: number | readonly number[];
  /** Accuracy of the one-sided differences at the ends: 1 (default) or 2. */
  edgeOrder?: 1 | 2;
}

/** A step for every axis, or each axis's step or coordinates (numpy's varargs). */
export type Spacing = number | ArrayLike<number>;

function coordSteps(fn: string, c: ArrayLike<number>, n: number, ax: number): number | number[] {
  if (c.length !== n) throw new ShapeError(`${fn}: ${c.length} coordinates for axis ${ax} of length ${n}`);
  const steps = Array.from({ length: n - 1 }, (_, i) => Number(c[i + 1]) - Number(c[i]));
  // numpy treats evenly spaced coordinates as their step.
  return steps.every((d) => d === steps[0]) ? steps[0]! : steps;
}

/**
 * numpy.gradient: second-order central differences inside, first- or second-order one-sided
 * ones at the ends, per axis; steps or coordinates (uneven too) as numpy's varargs. Chunked as
 * dask's: each block with a halo of edgeOrder rows of its neighbours along the axis, the kernel
 * on it, the halo dropped (the output keeps the input's chunks). One array for one axis,
 * else one per axis. Integers give float64.
 */
export function gradient(f0: ChunkedArray, ...args: (Spacing | GradientOptions)[]): ChunkedArray | ChunkedArray[] {
  const last = args[args.length - 1];
  const isOpts = last !== undefined && typeof last === 'object' && !('length' in last);
  const opts = (isOpts ? last : {}) as GradientOptions;
  const spacing = (isOpts ? args.slice(0, -1) : args) as Spacing[];
  const axes = opts.axis === undefined ? f0.shape.map((_, i) => i) : normalizeAxes('gradient', opts.axis, f0.ndim);
  const edgeOrder = opts.edgeOrder ?? 1;
  if (edgeOrder !== 1 && edgeOrder !== 2) throw new InvalidArgumentError(`gradient: edgeOrder must be 1 or 2, got ${String(edgeOrder)}`);
  if (f0.dtype === 'bool') throw new InvalidArgumentError('gradient: bool arrays have no differences (numpy refuses to subtract booleans)');
  const scalar = spacing.length === 0 || (spacing.length === 1 && typeof spacing[0] === 'number');
  if (!scalar && spacing.length !== axes.length) {
    throw new InvalidArgumentError(`gradient: give no spacing, one step for every axis, or one step or coordinate list per axis (${axes.length}); got ${spacing.length}`);
  }
  const f = f0.dtype === 'float32' || f0.dtype === 'float64' ? f0 : astype(f0, 'float64');
  const out = axes.map((ax, k) => {
    const n = f.shape[ax]!;
    if (n < edgeOrder + 1) throw new ShapeError(`gradient: axis ${ax} of ${fmtShape(f.shape)} is too short: edgeOrder ${edgeOrder} needs at least ${edgeOrder + 1} elements`);
    const s = spacing.length === 0 ? 1 : scalar ? spacing[0]! : spacing[k]!;
    const step = typeof s === 'number' ? s : coordSteps('gradient', s, n, ax);
    // Block i along the axis with edgeOrder rows of its neighbours on each side (none past the ends).
    const ranges = haloRanges(f.chunks[ax]!, [edgeOrder, edgeOrder], 'none');
    const halo = windows('gradient-halo', f, f.chunks.map((c, i) => ({ ranges: i === ax ? ranges : haloRanges(c, [0, 0], 'none'), boundary: 'none' as const })), { ax, edgeOrder });
    let off = 0;
    const trims = f.chunks[ax]!.map((c, i) => {
      const [lo, hi] = ranges[i]!;
      const t: [number, number] = [off - lo, hi - off - c];
      off += c;
      return t;
    });
    return makeArray({
      label: 'gradient',
      op: 'gradient',
      shape: f.shape,
      dtype: f.dtype,
      chunks: f.chunks,
      inputs: [halo],
      token: { ax, edgeOrder, step },
      block: (index) => {
        const i = index[ax]!;
        const [lo, hi] = ranges[i]!;
        return { params: { axis: ax, edgeOrder, spacing: typeof step === 'number' ? step : step.slice(lo, hi - 1), trim: trims[i]! }, deps: [halo.key(index)] };
      },
    });
  });
  return out.length === 1 ? out[0]! : out;
}

export type CorrelateMode = 'valid' | 'same' | 'full';

const asArray = (fn: string, v: ChunkedArray | ArrayLike<number>): ChunkedArray => {
  const a = v instanceof ChunkedArray ? v : fromArray(ArrayBuffer.isView(v) ? (v as Float64Array) : Array.from(v, Number));
  if (a.ndim !== 1) throw new ShapeError(`${fn}: takes 1-d arrays, got ${fmtShape(a.shape)}`);
  if (a.shape[0] === 0) throw new InvalidArgumentError(`${fn}: an input is empty`);
  return a;
};

/** The correlation of a with v (v no longer than a): a's windows of v's length against v whole. */
function correlateLong(a: ChunkedArray, v: ChunkedArray, mode: CorrelateMode): ChunkedArray {
  const [m, k] = [a.shape[0]!, v.shape[0]!];
  const [left, right] = mode === 'valid' ? [0, 0] : mode === 'full' ? [k - 1, k - 1] : [Math.floor(k / 2), k - 1 - Math.floor(k / 2)];
  const len = m + left + right - k + 1;
  // a's block boundaries where they fall inside the output; the last block takes the rest.
  const chunks: number[] = [];
  let at = 0;
  for (const c of a.chunks[0]!) {
    if (at + c >= len) break;
    chunks.push(c);
    at += c;
  }
  chunks.push(len - at);
  let s = 0;
  const ranges = chunks.map((c): [number, number] => ((s += c), [s - c - left, s - left + k - 1]));
  const win = windows('correlate-window', a, [{ ranges, boundary: 0 }], { mode, k });
  const w = v.chunks[0]!.length === 1 ? v : rechunk(v, [k]);
  return makeArray({
    label: 'correlate',
    op: 'correlate',
    shape: [len],
    dtype: a.dtype,
    chunks: [chunks],
    inputs: [win, w],
    token: { mode },
    block: ([i]) => ({ params: { axis: 0 }, deps: [win.key([i!]), w.key([0])] }),
  });
}

function prepared(fn: string, a0: ChunkedArray | ArrayLike<number>, v0: ChunkedArray | ArrayLike<number>, mode: CorrelateMode): [ChunkedArray, ChunkedArray] {
  if (!['valid', 'same', 'full'].includes(mode)) throw new InvalidArgumentError(`${fn}: mode must be valid, same or full, got ${String(mode)}`);
  const [a, v] = [asArray(fn, a0), asArray(fn, v0)];
  const dtype = promoteTypes(a.dtype, v.dtype);
  return [a.dtype === dtype ? a : astype(a, dtype), v.dtype === dtype ? v : astype(v, dtype)];
}

/**
 * numpy.correlate of two 1-d arrays: c[k] = sum_n a[n + k] v[n], mode 'valid' (default), 'same'
 * or 'full'. The longer array stays chunked; the shorter is read whole by every task.
 */
export function correlate(a0: ChunkedArray | ArrayLike<number>, v0: ChunkedArray | ArrayLike<number>, mode: CorrelateMode = 'valid'): ChunkedArray {
  const [a, v] = prepared('correlate', a0, v0, mode);
  return v.shape[0]! > a.shape[0]! ? flip(correlateLong(v, a, mode)) : correlateLong(a, v, mode);
}

/** numpy.convolve of two 1-d arrays, mode 'full' (default), 'same' or 'valid'. */
export function convolve(a0: ChunkedArray | ArrayLike<number>, v0: ChunkedArray | ArrayLike<number>, mode: CorrelateMode = 'full'): ChunkedArray {
  const [a, v] = prepared('convolve', a0, v0, mode);
  const [long, short] = v.shape[0]! > a.shape[0]! ? [v, a] : [a, v];
  return correlateLong(long, flip(short), mode);
}
