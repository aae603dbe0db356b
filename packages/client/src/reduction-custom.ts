import { InvalidArgumentError, ShapeError, fmtShape, type Dtype } from '@tessera/protocol';
import { ChunkedArray } from './array.js';
import { checkDtype } from './elementwise.js';
import { checkKernel, kernelArray, mapBlocks } from './map-blocks.js';
import { normalizeAxes, normalizeAxis } from './reductions.js';
import { rechunk } from './slicing.js';
import { reshape } from './structure.js';

export interface ReductionOptions {
  /** Registered kernel run on every block: its partial, with the reduced axes of length 1. */
  chunk: string;
  /** Registered kernel that merges partials joined along the reduced axes (default: aggregate). */
  combine?: string;
  /** Registered kernel that gives the result from the last partials joined along the reduced axes. */
  aggregate: string;
  /** The axes to reduce (default all). */
  axis?: number | readonly number[];
  keepdims?: boolean;
  /** The result's dtype (default x's). */
  dtype?: Dtype;
  /** The partials' dtype (default the result's). */
  intermediateDtype?: Dtype;
  /** How many partials one combine joins, over all reduced axes together (default 16, as dask's). */
  splitEvery?: number;
  /** JSON-like parameters for the kernels (they also get `axis`, the reduced axes, and `keepdims: true`). */
  params?: Record<string, unknown>;
}

/**
 * dask.array.reduction with registered kernels: `chunk` on every block, then a tree of
 * `combine` over groups of partials (each group joined along the reduced axes into one block),
 * then `aggregate` on the last group. Every kernel keeps the reduced axes (length 1 in its
 * output); without keepdims they are dropped from the result afterwards.
 */
export function reduction(x: ChunkedArray, opts: ReductionOptions): ChunkedArray {
  const fn = 'reduction';
  if (opts === null || typeof opts !== 'object' || typeof opts.chunk !== 'string' || typeof opts.aggregate !== 'string') {
    throw new InvalidArgumentError(`${fn}: give { chunk, aggregate } (registered kernels' names)`);
  }
  const axes = opts.axis === undefined ? x.shape.map((_, i) => i) : normalizeAxes(fn, opts.axis, x.ndim);
  const splitEvery = opts.splitEvery ?? 16;
  if (!Number.isInteger(splitEvery) || splitEvery < 2) throw new InvalidArgumentError(`${fn}: splitEvery must be an integer >= 2, got ${splitEvery}`);
  // The group size along each reduced axis, so that a group joins at most splitEvery partials.
  const per = Math.max(2, Math.floor(splitEvery ** (1 / Math.max(1, axes.length)) + 1e-9));
  const dtype = opts.dtype ?? x.dtype;
  const inter = opts.intermediateDtype ?? dtype;
  const params = { ...opts.params, axis: axes, keepdims: true };
  const reduced = (chunks: readonly (readonly number[])[]) => chunks.map((c, ax) => (axes.includes(ax) ? c.map(() => 1) : [...c]));
  let p = mapBlocks(opts.chunk, x, { dtype: inter, params, chunks: reduced(x.chunks) });
  const combine = opts.combine ?? opts.aggregate;
  while (axes.some((ax) => p.chunks[ax]!.length > per)) {
    const grouped = p.chunks.map((c, ax) => (axes.includes(ax) ? Array.from({ length: Math.ceil(c.length / per) }, (_, g) => Math.min(per, c.length - g * per)) : [...c]));
    const joined = rechunk(p, grouped);
    p = mapBlocks(combine, joined, { dtype: inter, params, chunks: reduced(joined.chunks) });
  }
  const last = rechunk(p, p.chunks.map((c, ax) => (axes.includes(ax) ? [c.length] : [...c])));
  const out = mapBlocks(opts.aggregate, last, { dtype, params, chunks: reduced(last.chunks) });
  return opts.keepdims ? out : reshape(out, out.shape.filter((_, ax) => !axes.includes(ax)));
}

/**
 * numpy.apply_over_axes: fn(x, axis) over the axes in turn, each result keeping the array's
 * rank (a result one axis short gets it back as length 1, as numpy's). fn builds arrays (ta.sum
 * with keepdims, say): it runs here, on the expression, not on the workers.
 */
export function applyOverAxes(fn: (x: ChunkedArray, axis: number) => ChunkedArray, x: ChunkedArray, axes: number | readonly number[]): ChunkedArray {
  if (typeof fn !== 'function') throw new InvalidArgumentError('applyOverAxes: fn must be a function (x, axis) => array');
  let y = x;
  for (const a of typeof axes === 'number' ? [axes] : axes) {
    const axis = normalizeAxis('applyOverAxes', a, x.ndim);
    const r = fn(y, axis);
    if (!(r instanceof ChunkedArray)) throw new InvalidArgumentError('applyOverAxes: fn must return an array');
    if (r.ndim === y.ndim) y = r;
    else if (r.ndim === y.ndim - 1) y = reshape(r, [...r.shape.slice(0, axis), 1, ...r.shape.slice(axis)]);
    else throw new ShapeError(`applyOverAxes: fn gave shape ${fmtShape(r.shape)} for an input of shape ${fmtShape(y.shape)}: it must keep the rank or drop the one axis`);
  }
  return y;
}

export interface ApplyAlongAxisOptions {
  /** The shape of the kernel's result for one lane (default [length of the axis]; [] for a number). */
  shape?: readonly number[];
  /** Output dtype (default x's). */
  dtype?: Dtype;
  params?: Record<string, unknown>;
}

/**
 * numpy.apply_along_axis (dask.array.apply_along_axis) with a registered kernel: the axis is
 * gathered into one block per block of the other axes (as dask's), and the kernel runs on every
 * 1-d lane of it, its result (of `shape`) taking the axis's place.
 */
export function applyAlongAxis(kernel: string, axis: number, x: ChunkedArray, opts: ApplyAlongAxisOptions = {}): ChunkedArray {
  const fn = `applyAlongAxis(${String(kernel)})`;
  const { params } = checkKernel('applyAlongAxis', kernel, opts.params ?? {});
  const ax = normalizeAxis(fn, axis, x.ndim);
  const lane = [...(opts.shape ?? [x.shape[ax]!])];
  if (!lane.every((d) => Number.isInteger(d) && d >= 0)) throw new InvalidArgumentError(`${fn}: shape must list non-negative integers, got ${JSON.stringify(opts.shape)}`);
  const whole = x.chunks[ax]!.length === 1 ? x : rechunk(x, x.chunks.map((c, i) => (i === ax ? [x.shape[ax]!] : [...c])));
  const chunks = [...whole.chunks.slice(0, ax).map((c) => [...c]), ...lane.map((d) => [d]), ...whole.chunks.slice(ax + 1).map((c) => [...c])];
  const dtype = checkDtype(fn, opts.dtype ?? x.dtype);
  const along = { axis: ax, out: lane };
  return kernelArray({
    kernel,
    params,
    chunks,
    dtype,
    inputs: [whole],
    token: along,
    block: (index) => {
      const at = [...index.slice(0, ax), 0, ...index.slice(ax + lane.length)];
      return { deps: [whole.key(at)], blockIndex: at, along };
    },
  });
}
