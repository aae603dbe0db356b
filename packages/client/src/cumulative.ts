import { cumulateDtype, isComplex, isFloat } from '@tessera/protocol';
import { type ChunkedArray, makeArray } from './array.js';
import { boundaries } from './chunks.js';
import { add, mul, where } from './elementwise.js';
import { normalizeAxis } from './reductions.js';
import { ravel } from './shape-ops.js';
import { slice } from './slicing.js';
import { concatenate } from './structure.js';
import { isnan } from './ufuncs.js';
import { requireKnown } from './deferred.js';
import * as cx from './complex.js';

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
  const local = makeArray({
    label: fn,
    op: 'cumulate',
    shape: x.shape,
    dtype: cumulateDtype(x.dtype),
    chunks: x.chunks,
    inputs: [x],
    token: { kind, axis },
    block: (index) => ({ params: { kind, axis }, deps: [x.key(index)] }),
  });
  const blocks = x.chunks[axis]!;
  if (blocks.length <= 1) return local;
  const at = boundaries(blocks);
  const along = (start: number, stop: number): ChunkedArray => slice(local, ...x.shape.map((_, i) => (i === axis ? { start, stop } : null)));
  // Integer products stay integers (float64 here): 0 times a negative is 0, not -0.
  const combine = kind === 'sum' ? add : isFloat(x.dtype) ? mul : (a: ChunkedArray, b: ChunkedArray) => add(mul(a, b), 0);
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
