import { DtypeError, InvalidArgumentError, quantileDtype } from '@tessera/protocol';
import { type ChunkedArray, makeArray } from './array.js';
import { normalizeAxis } from './reductions.js';
import { astype } from './elementwise.js';
import { ravel } from './shape-ops.js';
import { rechunk } from './slicing.js';
import { reshape } from './structure.js';
import { requireKnown } from './deferred.js';

export interface QuantileOptions {
  /** The axis (default: the flattened array). */
  axis?: number;
}

/**
 * Quantiles along an axis that one chunk holds whole (the array is rechunked for it first, as
 * Dask's percentile does): a `quantile` task per block of the other axes, numpy's 'linear'
 * method. An array of q gives q as the result's first axis; one q, none. Integers give float64.
 */
function quantiles(fn: string, x: ChunkedArray, qIn: number | readonly number[], skipNan: boolean, scale: number, opts: QuantileOptions): ChunkedArray {
  requireKnown(fn, x);
  const keepFloat32 = fn === 'median' || fn === 'nanmedian';
  // numpy interpolates with b - a, which bools refuse; median averages the middle two instead.
  if (x.dtype === 'bool' && !keepFloat32) throw new DtypeError(`${fn}: not supported for bool arrays (numpy: boolean subtract is not supported); use median, or astype a number first`);
  const scalar = typeof qIn === 'number';
  const q = (scalar ? [qIn] : [...qIn]).map((v) => v / scale);
  if (q.length === 0 || q.some((v) => !(v >= 0 && v <= 1))) {
    throw new InvalidArgumentError(`${fn}: q must be in [0, ${scale}], got ${JSON.stringify(qIn)}`);
  }
  if (opts.axis === undefined) return quantiles(fn, ravel(x), qIn, skipNan, scale, { axis: 0 });
  // numpy (1.24, Debian's): q is a float64 array, which promotes a float32 input; median keeps float32.
  if (!keepFloat32 && x.dtype === 'float32') x = astype(x, 'float64');
  const axis = normalizeAxis(fn, opts.axis, x.ndim);
  if (x.shape[axis] === 0) throw new InvalidArgumentError(`${fn}: cannot take quantiles of an empty axis`);
  const whole = x.chunks[axis]!.length === 1 ? x : rechunk(x, x.chunks.map((c, i) => (i === axis ? [x.shape[axis]!] : [...c])));
  const restChunks = whole.chunks.filter((_, i) => i !== axis);
  const out = makeArray({
    label: fn,
    op: 'quantile',
    shape: [q.length, ...x.shape.filter((_, i) => i !== axis)],
    dtype: quantileDtype(x.dtype),
    chunks: [[q.length], ...restChunks],
    inputs: [whole],
    token: { axis, q, skipNan },
    block: (index) => {
      const src = [...index.slice(1)];
      src.splice(axis, 0, 0);
      return { params: { axis, q, skipNan }, deps: [whole.key(src)] };
    },
  });
  return scalar ? reshape(out, out.shape.slice(1)) : out;
}

/** numpy.quantile: q in [0, 1]. */
export const quantile = (x: ChunkedArray, q: number | readonly number[], opts: QuantileOptions = {}): ChunkedArray => quantiles('quantile', x, q, false, 1, opts);
/** numpy.percentile: q in [0, 100]. */
export const percentile = (x: ChunkedArray, q: number | readonly number[], opts: QuantileOptions = {}): ChunkedArray =>
  quantiles('percentile', x, q, false, 100, opts);
export const median = (x: ChunkedArray, opts: QuantileOptions = {}): ChunkedArray => quantiles('median', x, 0.5, false, 1, opts);
/** The same, leaving NaN out (an all-NaN lane gives NaN). */
export const nanquantile = (x: ChunkedArray, q: number | readonly number[], opts: QuantileOptions = {}): ChunkedArray =>
  quantiles('nanquantile', x, q, true, 1, opts);
export const nanpercentile = (x: ChunkedArray, q: number | readonly number[], opts: QuantileOptions = {}): ChunkedArray =>
  quantiles('nanpercentile', x, q, true, 100, opts);
export const nanmedian = (x: ChunkedArray, opts: QuantileOptions = {}): ChunkedArray => quantiles('nanmedian', x, 0.5, true, 1, opts);
