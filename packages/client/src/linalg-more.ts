import { InvalidArgumentError, ShapeError, fmtShape } from '@tessera/protocol';
import type { ChunkedArray } from './array.js';
import { eq, mul, sub, where } from './elementwise.js';
import { arange, zeros } from './creation.js';
import { sum } from './reductions.js';
import { moveaxis, ravel } from './shape-ops.js';
import { slice } from './slicing.js';
import { concatenate, reshape } from './structure.js';
import { matmul, tensordot } from './linalg.js';

/**
 * numpy's products and diagonals beyond matmul and tensordot, built on them (so contractions run
 * on the GEMM kernels), on broadcasting multiplies, and on strided slices for diagonals (exact:
 * the elements move, nothing is added up).
 */

/** numpy.dot: scalars multiply, vectors give their inner product, matrices their product, N-D the sum over a's last and b's second-to-last axis. */
export function dot(a: ChunkedArray, b: ChunkedArray): ChunkedArray {
  if (a.ndim === 0 || b.ndim === 0) return mul(a, b);
  if (a.ndim === 2 && b.ndim === 2) return matmul(a, b);
  if (b.ndim === 1) return tensordot(a, b, { axes: [[a.ndim - 1], [0]] });
  return tensordot(a, b, { axes: [[a.ndim - 1], [b.ndim - 2]] });
}

/** numpy.inner: the sum over the last axes of both. */
export function inner(a: ChunkedArray, b: ChunkedArray): ChunkedArray {
  if (a.ndim === 0 || b.ndim === 0) return mul(a, b);
  return tensordot(a, b, { axes: [[a.ndim - 1], [b.ndim - 1]] });
}

/** numpy.vdot: the dot product of the flattened arrays. */
export function vdot(a: ChunkedArray, b: ChunkedArray): ChunkedArray {
  if (a.size !== b.size) throw new ShapeError(`vdot: sizes differ: ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  return tensordot(ravel(a), ravel(b), { axes: 1 });
}

/** numpy.outer: every element of a (flattened) times every element of b: shape (a.size, b.size). */
export function outer(a: ChunkedArray, b: ChunkedArray): ChunkedArray {
  return mul(reshape(a, [a.size, 1]), reshape(b, [1, b.size]));
}

/** numpy.kron: the Kronecker product (blocks of b scaled by the elements of a). */
export function kron(a: ChunkedArray, b: ChunkedArray): ChunkedArray {
  const nd = Math.max(a.ndim, b.ndim);
  const sa = [...new Array<number>(nd - a.ndim).fill(1), ...a.shape];
  const sb = [...new Array<number>(nd - b.ndim).fill(1), ...b.shape];
  const ia = sa.flatMap((d) => [d, 1]);
  const ib = sb.flatMap((d) => [1, d]);
  return reshape(mul(reshape(a, ia), reshape(b, ib)), sa.map((d, i) => d * sb[i]!));
}

/** numpy.diagonal: the elements (i, i + offset) of axes axis1 and axis2, as the last axis of the result. */
export function diagonal(x: ChunkedArray, offset = 0, axis1 = 0, axis2 = 1): ChunkedArray {
  if (x.ndim < 2) throw new ShapeError(`diagonal: needs at least 2 dimensions, got shape ${fmtShape(x.shape)}`);
  if (!Number.isInteger(offset)) throw new InvalidArgumentError(`diagonal: offset must be an integer, got ${offset}`);
  const y = moveaxis(x, [axis1, axis2], [-2, -1]);
  const [n, m] = y.shape.slice(-2) as [number, number];
  const batch = y.shape.slice(0, -2);
  const len = Math.max(0, offset >= 0 ? Math.min(n, m - offset) : Math.min(m, n + offset));
  // In C order (i, j) is element i * m + j: the diagonal is a strided run of the flattened pair.
  const flat = reshape(y, [...batch, n * m]);
  const start = offset >= 0 ? offset : -offset * m;
  const run = len === 0 ? { start: 0, stop: 0 } : { start, stop: start + (len - 1) * (m + 1) + 1, step: m + 1 };
  return slice(flat, ...batch.map(() => null), run);
}

/** numpy.trace: the sum of the diagonal. */
export function trace(x: ChunkedArray, offset = 0, axis1 = 0, axis2 = 1): ChunkedArray {
  return sum(diagonal(x, offset, axis1, axis2), { axis: -1 });
}

/** numpy.diag: a 1-D array's square matrix with it on the k-th diagonal; a 2-D array's k-th diagonal. */
export function diag(v: ChunkedArray, k = 0): ChunkedArray {
  if (v.ndim === 2) return diagonal(v, k);
  if (v.ndim !== 1) throw new ShapeError(`diag: input must be 1-D or 2-D, got shape ${fmtShape(v.shape)}`);
  if (!Number.isInteger(k)) throw new InvalidArgumentError(`diag: k must be an integer, got ${k}`);
  const n = v.shape[0]! + Math.abs(k);
  const padded = k === 0 ? v : concatenate([v, zeros([Math.abs(k)], { dtype: v.dtype })]);
  // Element (i, i + k) is v[i] (k >= 0), element (j - k, j) is v[j] (k < 0): v runs down the rows or along the columns.
  const along = k >= 0 ? reshape(padded, [n, 1]) : reshape(padded, [1, n]);
  const rows = reshape(arange(0, n), [n, 1]);
  const cols = reshape(arange(0, n), [1, n]);
  return where(eq(sub(cols, rows), k), along, v.dtype === 'bool' ? false : 0);
}
