import { cumulateDtype, isComplex, isFloat } from '@tessera/protocol';
import { type ChunkedArray, makeArray } from './array.js';
import { boundaries } from './chunks.js';
import { add, mul, where } from './elementwise.js';
import { normalizeAxes, normalizeAxis } from './reductions.js';
import { ravel, squeeze } from './shape-ops.js';
import { ones } from './creation.js';
import { slice } from './slicing.js';
import { concatenate } from './structure.js';
import { isnan } from './ufuncs.js';
import { requireKnown } from './deferred.js';
import * as cx from './complex.js';

/** The running sum or product within each block along `axis`: a `cumulate` task per block. */
function scan(kind: 'sum' | 'prod', fn: string, x: ChunkedArray, axis: number): ChunkedArray {
  return makeArray({
    label: fn,
    op: 'cumulate',
    shape: x.shape,
    dtype: cumulateDtype(x.dtype),
    chunks: x.chunks,
    inputs: [x],
    token: { kind, axis },
    block: (index) => ({ params: { kind, axis }, deps: [x.key(index)] }),
  });
}

/**
 * Running sums and products along an axis, across chunks, as Dask computes them: a `cumulate`
 * task per block (the scan within it), then each block along the axis adds (or multiplies by) the
 * carry of the blocks before it, a chain of one small slice per block. No block is ever gathered
 * with another. Integer inputs give float64 (their sums do here); without `axis`, the flattened array.
 */
function cumulative(kind: 'sum' | 'prod', fn: string, x: ChunkedArray, opts: { axis?: number } = {}): ChunkedArray {
  requireKnown(fn, x);
  if (opts.axis === undefined) return cumulative(kind, fn, ravel(x), { axis: 0 });
  const axis = normalizeAxis(fn, opts.axis, x.ndim);
  const local = scan(kind, fn, x, axis);
  const blocks = x.chunks[axis]!;
  if (blocks.length <= 1) return local;
  const at = boundaries(blocks);
  const along = (start: number, stop: number): ChunkedArray => slice(local, ...x.shape.map((_, i) => (i === axis ? { start, stop } : null)));
  // Integer products stay integers (float64 here): 0 times a negative is 0, not -0.
  const combine = kind === 'sum' ? add : isFloat(x.dtype) || isComplex(x.dtype) ? mul : (a: ChunkedArray, b: ChunkedArray) => add(mul(a, b), 0);
  const parts = [along(0, at[1]!)];
  let carry: ChunkedArray | undefined;
  for (let b = 1; b < blocks.length; b++) {
    // The running value at the end of block b - 1, over everything before it (empty blocks, as
    // a mask leaves them, carry nothing).
    if (blocks[b - 1]! > 0) {
      const last = along(at[b]! - 1, at[b]!);
      carry = carry ? combine(carry, last) : last;
    }
    const part = along(at[b]!, at[b + 1]!);
    parts.push(carry ? combine(part, carry) : part);
  }
  return concatenate(parts, { axis });
}

export const cumsum = (x: ChunkedArray, opts?: { axis?: number }): ChunkedArray =>
  // A complex running sum is those of its parts.
  isComplex(x.dtype) ? cx.complexOp('make', [cumsum(cx.real(x), opts), cumsum(cx.imag(x), opts)]) : cumulative('sum', 'cumsum', x, opts);
export const cumprod = (x: ChunkedArray, opts?: { axis?: number }): ChunkedArray => cumulative('prod', 'cumprod', x, opts);
/** cumsum with NaN counted as 0 (numpy.nancumsum). */
export const nancumsum = (x: ChunkedArray, opts?: { axis?: number }): ChunkedArray =>
  cumsum(isFloat(x.dtype) ? where(isnan(x), 0, x) : x, opts);
/** cumprod with NaN counted as 1 (numpy.nancumprod). */
export const nancumprod = (x: ChunkedArray, opts?: { axis?: number }): ChunkedArray =>
  cumprod(isFloat(x.dtype) ? where(isnan(x), 1, x) : x, opts);

/**
 * numpy.prod of a complex array (the reduction kernels are real): each block's running product
 * along the axis, its last row taken, and those rows multiplied pairwise in a tree. Axes one after
 * another; an empty axis gives 1, as numpy's.
 */
export function complexProd(x: ChunkedArray, opts: { axis?: number | readonly number[] | undefined; keepdims?: boolean | undefined } = {}): ChunkedArray {
  requireKnown('prod', x);
  const axes = normalizeAxes('prod', opts.axis, x.ndim);
  let y = x;
  for (const axis of axes) {
    const rows: ChunkedArray[] = [];
    const at = boundaries(y.chunks[axis]!);
    const local = scan('prod', 'prod', y, axis);
    for (let b = 0; b + 1 < at.length; b++)
      if (at[b + 1]! > at[b]!) rows.push(slice(local, ...y.shape.map((_, i) => (i === axis ? { start: at[b + 1]! - 1, stop: at[b + 1]! } : null))));
    while (rows.length > 1) {
      const next: ChunkedArray[] = [];
      for (let i = 0; i < rows.length; i += 2) next.push(i + 1 < rows.length ? mul(rows[i]!, rows[i + 1]!) : rows[i]!);
      rows.splice(0, rows.length, ...next);
    }
    y = rows[0] ?? ones(y.shape.map((n, i) => (i === axis ? 1 : n)), { dtype: y.dtype, chunks: y.chunks.map((c, i) => (i === axis ? [1] : c)) });
  }
  return opts.keepdims ? y : squeeze(y, axes);
}
