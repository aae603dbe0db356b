import { ShapeError, fmtShape, isFloat } from '@tessera/protocol';
import type { ChunkedArray, ChunkedScalar, FullReduceOptions, FullVarOptions, ReduceOptions, VarOptions } from './array.js';
import { astype, div, le, mul, ne, sub, where } from './elementwise.js';
import { argmax, argmin, max, mean, min, normalizeAxis, prod, sum, var_ } from './reductions.js';
import { reshape } from './structure.js';
import { all, isnan, logicalNot } from './ufuncs.js';

/**
 * numpy's NaN-ignoring reductions and the small ones around them, as numpy defines them: NaN
 * replaced by the reduction's identity, counts of what is not NaN, and NaN where a slice holds
 * nothing else. Integer arrays have no NaN: theirs are the plain reductions.
 */

type Opts = ReduceOptions | undefined;
const keep = (o: Opts): ReduceOptions => ({ ...(o ?? {}), keepdims: true });

function nanReducer(name: string, plain: (x: ChunkedArray, o: ReduceOptions) => ChunkedArray, fill: number, emptyIsNan: boolean) {
  function f(x: ChunkedArray, opts?: FullReduceOptions): ChunkedScalar;
  function f(x: ChunkedArray, opts: ReduceOptions): ChunkedArray;
  function f(x: ChunkedArray, opts?: ReduceOptions): ChunkedArray {
    const o = (opts ?? {}) as ReduceOptions;
    if (!isFloat(x.dtype)) return plain(x, o);
    const r = plain(where(isnan(x), fill, x), o);
    // numpy: an all-NaN slice gives NaN (with a RuntimeWarning), not the fill.
    return emptyIsNan ? where(all(isnan(x), o), NaN, r) : r;
  }
  Object.defineProperty(f, 'name', { value: name });
  return f;
}

export const nansum = nanReducer('nansum', sum, 0, false);
export const nanprod = nanReducer('nanprod', prod, 1, false);
export const nanmin = nanReducer('nanmin', min, Infinity, true);
export const nanmax = nanReducer('nanmax', max, -Infinity, true);

/** The number of non-NaN elements, in x's float dtype. */
function counted(x: ChunkedArray, o: ReduceOptions): ChunkedArray {
  return astype(sum(logicalNot(isnan(x)), o), x.dtype);
}

export function nanmean(x: ChunkedArray, opts?: FullReduceOptions): ChunkedScalar;
export function nanmean(x: ChunkedArray, opts: ReduceOptions): ChunkedArray;
export function nanmean(x: ChunkedArray, opts?: ReduceOptions): ChunkedArray {
  const o = (opts ?? {}) as ReduceOptions;
  if (!isFloat(x.dtype)) return mean(x, o);
  return div(nansum(x, o), counted(x, o));
}

/** Variance of the non-NaN elements: two passes (their mean, then the squared deviations), as numpy's. */
export function nanvar(x: ChunkedArray, opts?: FullVarOptions): ChunkedScalar;
export function nanvar(x: ChunkedArray, opts: VarOptions): ChunkedArray;
export function nanvar(x: ChunkedArray, opts?: VarOptions): ChunkedArray {
  const { ddof = 0, ...o } = (opts ?? {}) as VarOptions;
  if (!isFloat(x.dtype)) return var_(x, { ...o, ddof });
  const nan = isnan(x);
  const m = nanmean(x, keep(o));
  const d = where(nan, 0, sub(x, m));
  const dof = sub(counted(x, o), ddof);
  // numpy: no degrees of freedom left gives NaN.
  return where(le(dof, 0), NaN, div(sum(mul(d, d), o), dof));
}

export function nanstd(x: ChunkedArray, opts?: FullVarOptions): ChunkedScalar;
export function nanstd(x: ChunkedArray, opts: VarOptions): ChunkedArray;
export function nanstd(x: ChunkedArray, opts?: VarOptions): ChunkedArray {
  return nanvar(x, opts as VarOptions).sqrt();
}

/** Index of the smallest non-NaN element (of an all-NaN slice: 0, where numpy raises). */
export const nanargmin = (x: ChunkedArray, opts?: { axis?: number }): ChunkedArray =>
  argmin(isFloat(x.dtype) ? where(isnan(x), Infinity, x) : x, opts ?? {});
export const nanargmax = (x: ChunkedArray, opts?: { axis?: number }): ChunkedArray =>
  argmax(isFloat(x.dtype) ? where(isnan(x), -Infinity, x) : x, opts ?? {});

/** The number of non-zero elements (NaN counts), as int64 (numpy's intp). */
export function countNonzero(x: ChunkedArray, opts?: FullReduceOptions): ChunkedScalar;
export function countNonzero(x: ChunkedArray, opts: ReduceOptions): ChunkedArray;
export function countNonzero(x: ChunkedArray, opts?: ReduceOptions): ChunkedArray {
  return astype(sum(ne(x, 0), (opts ?? {}) as ReduceOptions), 'int64');
}

/** Peak to peak: max - min (in x's dtype, wrapping for unsigned integers as numpy does). */
export function ptp(x: ChunkedArray, opts?: FullReduceOptions): ChunkedScalar;
export function ptp(x: ChunkedArray, opts: ReduceOptions): ChunkedArray;
export function ptp(x: ChunkedArray, opts?: ReduceOptions): ChunkedArray {
  const o = (opts ?? {}) as ReduceOptions;
  return sub(max(x, o), min(x, o));
}

export interface AverageOptions extends ReduceOptions {
  /** Weights: x's shape, or 1-D along a single `axis`. */
  weights?: ChunkedArray;
}

/** numpy.average: the mean, or sum(x * w) / sum(w) with weights. */
export function average(x: ChunkedArray, opts?: AverageOptions & { axis?: undefined; keepdims?: false }): ChunkedScalar;
export function average(x: ChunkedArray, opts: AverageOptions): ChunkedArray;
export function average(x: ChunkedArray, opts: AverageOptions = {}): ChunkedArray {
  const { weights, ...o } = opts;
  if (!weights) return mean(x, o);
  let w = weights;
  if (w.ndim !== x.ndim || w.shape.some((d, i) => d !== x.shape[i])) {
    if (w.ndim !== 1 || typeof o.axis !== 'number') {
      throw new ShapeError(`average: weights of shape ${fmtShape(w.shape)} differ from x's ${fmtShape(x.shape)}; 1-D weights need a single axis`);
    }
    const ax = normalizeAxis('average', o.axis, x.ndim);
    if (w.shape[0] !== x.shape[ax]) throw new ShapeError(`average: ${w.shape[0]} weights for axis ${ax} of size ${x.shape[ax]}`);
    w = reshape(w, x.shape.map((d, i) => (i === ax ? d : 1)));
  }
  if (!isFloat(x.dtype) && !isFloat(w.dtype)) {
    x = astype(x, 'float64');
  }
  return div(sum(mul(x, w), o), sum(w, o));
}
