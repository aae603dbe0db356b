import { InvalidArgumentError, type Dtype } from '@tessera/protocol';
import type { ChunkedArray } from './array.js';
import type { AxisChunks, ChunksSpec } from './chunks.js';
import { arange, full, zeros, ones, type CreationOptions } from './creation.js';
import { add, astype, eq, ge, mul, sub, where } from './elementwise.js';
import { broadcastTo } from './shape-ops.js';
import { reshape, stack } from './structure.js';
import { logicalNot } from './ufuncs.js';

/**
 * numpy's other creation functions, built from arange, full and elementwise programs (so their
 * blocks are generated inside whatever task reads them, never held): linspace, eye, tri and the
 * triangles, the *Like family, meshgrid and indices.
 */

export interface LinspaceOptions extends CreationOptions {
  /** Include `stop` as the last value (default true). */
  endpoint?: boolean;
}

/** `num` evenly spaced values from start to stop: start + i * step, the last exactly `stop` (numpy's algorithm). */
export function linspace(start: number, stop: number, num = 50, opts: LinspaceOptions = {}): ChunkedArray {
  if (!Number.isInteger(num) || num < 0) throw new InvalidArgumentError(`linspace: num must be a non-negative integer, got ${num}`);
  if (!Number.isFinite(start) || !Number.isFinite(stop)) throw new InvalidArgumentError(`linspace: start and stop must be finite, got ${start}, ${stop}`);
  const { endpoint = true, dtype = 'float64', chunks } = opts;
  const c: { chunks?: ChunksSpec } = chunks === undefined ? {} : { chunks };
  const div = endpoint ? num - 1 : num;
  let y: ChunkedArray;
  if (div <= 0) y = full([num], start, { ...c, dtype: 'float64' });
  else {
    const i = arange(0, num, c);
    y = add(mul(i, (stop - start) / div), start);
    if (endpoint) y = where(eq(i, num - 1), stop, y);
  }
  return dtype === 'float64' ? y : astype(y, dtype);
}

interface Grid {
  rows: ChunkedArray;
  cols: ChunkedArray;
}

/** Row and column indices of an n × m grid, as an (n, 1) and a (1, m) array. */
function grid(n: number, m: number, chunks: ChunksSpec | undefined): Grid {
  // A 2-D chunks spec: one size for both axes, or one entry (a size or a list of sizes) per axis.
  const [cr, cc]: (AxisChunks | undefined)[] = typeof chunks === 'object' ? [chunks[0], chunks[1] ?? chunks[0]] : [chunks, chunks];
  const axis = (c: AxisChunks | undefined): CreationOptions => (c === undefined ? {} : { chunks: [c] });
  return { rows: reshape(arange(0, n, axis(cr)), [n, 1]), cols: reshape(arange(0, m, axis(cc)), [1, m]) };
}

function checkSize(fn: string, ...ns: number[]): void {
  for (const n of ns) if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${fn}: sizes must be non-negative integers, got ${n}`);
}

/** Ones on the k-th diagonal, zeros elsewhere (numpy.eye). */
export function eye(n: number, m = n, opts: CreationOptions & { k?: number } = {}): ChunkedArray {
  checkSize('eye', n, m);
  const { rows, cols } = grid(n, m, opts.chunks);
  return astype(eq(sub(cols, rows), opts.k ?? 0), opts.dtype ?? 'float64');
}

export const identity = (n: number, opts: CreationOptions = {}): ChunkedArray => eye(n, n, opts);

/** Ones at and below the k-th diagonal (numpy.tri). */
export function tri(n: number, m = n, opts: CreationOptions & { k?: number } = {}): ChunkedArray {
  checkSize('tri', n, m);
  const { rows, cols } = grid(n, m, opts.chunks);
  return astype(ge(add(rows, opts.k ?? 0), cols), opts.dtype ?? 'float64');
}

/** The mask of element (i, j) of the last two axes being at or below the k-th diagonal. */
function lower(x: ChunkedArray, k: number, fn: string): ChunkedArray {
  if (x.ndim < 2) throw new InvalidArgumentError(`${fn}: needs at least 2 dimensions, got ${x.ndim}`);
  const [n, m] = x.shape.slice(-2) as [number, number];
  const [cn, cm] = x.chunks.slice(-2) as [number[], number[]];
  const { rows, cols } = grid(n, m, [cn, cm]);
  return ge(add(rows, k), cols);
}

/** x with the elements above the k-th diagonal zeroed (numpy.tril). */
export function tril(x: ChunkedArray, k = 0): ChunkedArray {
  return where(lower(x, k, 'tril'), x, x.dtype === 'bool' ? false : 0);
}

/** x with the elements below the k-th diagonal zeroed (numpy.triu). */
export function triu(x: ChunkedArray, k = 0): ChunkedArray {
  return where(logicalNot(lower(x, k - 1, 'triu')), x, x.dtype === 'bool' ? false : 0);
}

const likeOpts = (x: ChunkedArray, dtype: Dtype | undefined): CreationOptions => ({ dtype: dtype ?? x.dtype, chunks: x.chunks });
export const zerosLike = (x: ChunkedArray, opts: { dtype?: Dtype } = {}): ChunkedArray => zeros(x.shape, likeOpts(x, opts.dtype));
export const onesLike = (x: ChunkedArray, opts: { dtype?: Dtype } = {}): ChunkedArray => ones(x.shape, likeOpts(x, opts.dtype));
export const fullLike = (x: ChunkedArray, value: number, opts: { dtype?: Dtype } = {}): ChunkedArray =>
  full(x.shape, value, likeOpts(x, opts.dtype));
/** numpy's empty has undefined contents; here they are zeros (as cheap: generated in the task that reads them). */
export const empty = (shape: readonly number[] | number, opts: CreationOptions = {}): ChunkedArray => zeros(shape, opts);
export const emptyLike = zerosLike;

/** Coordinate arrays from coordinate vectors (numpy.meshgrid): 'xy' (default) swaps the first two axes of the result. */
export function meshgrid(xs: readonly ChunkedArray[], opts: { indexing?: 'xy' | 'ij' } = {}): ChunkedArray[] {
  const indexing = opts.indexing ?? 'xy';
  if (indexing !== 'xy' && indexing !== 'ij') throw new InvalidArgumentError(`meshgrid: indexing must be 'xy' or 'ij', got ${String(indexing)}`);
  for (const x of xs) if (x.ndim !== 1) throw new InvalidArgumentError(`meshgrid: coordinate vectors must be 1-D, got ${x.ndim}-D`);
  const shape = xs.map((x) => x.shape[0]!);
  const axisOf = (k: number): number => (indexing === 'xy' && xs.length >= 2 && k < 2 ? 1 - k : k);
  if (indexing === 'xy' && xs.length >= 2) [shape[0], shape[1]] = [shape[1]!, shape[0]!];
  return xs.map((x, k) => {
    const at = shape.map(() => 1);
    at[axisOf(k)] = x.shape[0]!;
    return broadcastTo(reshape(x, at), shape);
  });
}

/** The index grid of an array of shape `dims` (numpy.indices): shape (ndim, ...dims), int32. */
export function indices(dims: readonly number[], opts: CreationOptions = {}): ChunkedArray {
  checkSize('indices', ...dims);
  const c = opts.chunks === undefined ? {} : { chunks: opts.chunks };
  const grids = dims.map((d, k) => {
    const at = dims.map(() => 1);
    at[k] = d;
    return broadcastTo(reshape(arange(0, d, c), at), dims);
  });
  const out = stack(grids, { axis: 0 });
  return opts.dtype && opts.dtype !== out.dtype ? astype(out, opts.dtype) : out;
}
