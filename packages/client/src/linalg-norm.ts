import { fmtShape, InvalidArgumentError, ShapeError } from '@tessera/protocol';
import type { ChunkedArray } from './array.js';
import { abs, astype, ne, pow, sqrt } from './elementwise.js';
import { floatMatrix, linalgDtype, svd } from './linalg-qr.js';
import { max, min, normalizeAxes, sum } from './reductions.js';
import { rechunk } from './slicing.js';
import { expandDims, ravel } from './shape-ops.js';
import { square } from './ufuncs.js';

export type NormOrder = number | 'fro' | 'nuc';

export interface NormOptions {
  /** numpy's ord: for vectors any p (Infinity, -Infinity, 0 included); for matrices 'fro', 'nuc', 1, -1, 2, -2, Infinity, -Infinity. */
  ord?: NormOrder;
  /** One axis (vector norms) or two (matrix norms); default every axis (a vector or matrix by ndim). */
  axis?: number | readonly [number, number];
  keepdims?: boolean;
}

/** Vector norms along one axis, by reductions. */
function vectorNorm(x: ChunkedArray, ord: NormOrder | undefined, axis: number): ChunkedArray {
  const o = { axis };
  if (ord === undefined || ord === 2) return sqrt(sum(square(abs(x)), o));
  if (ord === Infinity) return max(abs(x), o);
  if (ord === -Infinity) return min(abs(x), o);
  if (ord === 0) return astype(sum(ne(x, 0), o), x.dtype);
  if (ord === 1) return sum(abs(x), o);
  if (typeof ord !== 'number') throw new InvalidArgumentError(`linalg.norm: ord ${JSON.stringify(ord)} is a matrix norm; a vector norm takes a number`);
  return pow(sum(pow(abs(x), ord), o), 1 / ord);
}

/** The singular values of a 2-d array, rechunked to one block of its shorter axis where needed. */
function singularValues(x: ChunkedArray): ChunkedArray {
  let a = floatMatrix('linalg.norm', x);
  if (a.chunks[0]!.length > 1 && a.chunks[1]!.length > 1) {
    a = a.shape[0]! >= a.shape[1]! ? rechunk(a, [[...a.chunks[0]!], [a.shape[1]!]]) : rechunk(a, [[a.shape[0]!], [...a.chunks[1]!]]);
  }
  return svd(a)[1];
}

function matrixNorm(x: ChunkedArray, ord: NormOrder | undefined, [r, c]: [number, number]): ChunkedArray {
  if (ord === undefined || ord === 'fro') return sqrt(sum(square(abs(x)), { axis: [r, c] }));
  if (ord === 'nuc' || ord === 2 || ord === -2) {
    if (x.ndim !== 2) throw new ShapeError(`linalg.norm: ord ${ord} needs an SVD, which is chunked for 2-d arrays only, got ${fmtShape(x.shape)}`);
    const s = singularValues(x);
    return ord === 'nuc' ? sum(s) : ord === 2 ? max(s) : min(s);
  }
  // 1: the largest column sum of |x|; inf: the largest row sum.
  const byColumns = ord === 1 || ord === -1;
  if (!byColumns && ord !== Infinity && ord !== -Infinity) throw new InvalidArgumentError(`linalg.norm: ord ${JSON.stringify(ord)} is not a matrix norm ('fro', 'nuc', 1, -1, 2, -2, Infinity, -Infinity)`);
  const sums = sum(abs(x), { axis: byColumns ? r : c });
  const other = byColumns ? (c > r ? c - 1 : c) : r > c ? r - 1 : r;
  return ord === 1 || ord === Infinity ? max(sums, { axis: other }) : min(sums, { axis: other });
}

/**
 * numpy.linalg.norm: vector norms (one axis, or a 1-d array) and matrix norms (two axes, or a
 * 2-d array), as reductions over the chunks; 2, -2 and 'nuc' go through the chunked SVD. Without
 * ord or axis, the 2-norm of the flattened array. Integers compute in float64.
 */
export function norm(x0: ChunkedArray, opts: NormOptions = {}): ChunkedArray {
  const x = x0.dtype === linalgDtype('linalg.norm', x0) ? x0 : astype(x0, linalgDtype('linalg.norm', x0));
  const { ord, keepdims } = opts;
  let out: ChunkedArray;
  let axes: number[];
  if (opts.axis === undefined && ord === undefined) {
    axes = x.shape.map((_, i) => i);
    out = sqrt(sum(square(abs(ravel(x)))));
  } else {
    axes = opts.axis === undefined ? x.shape.map((_, i) => i) : normalizeAxes('linalg.norm', opts.axis as number | readonly number[], x.ndim);
    if (axes.length === 1) out = vectorNorm(x, ord, axes[0]!);
    else if (axes.length === 2) {
      if (axes[0] === axes[1]) throw new InvalidArgumentError('linalg.norm: the two axes of a matrix norm must differ');
      out = matrixNorm(x, ord, axes as [number, number]);
    } else throw new ShapeError(`linalg.norm: a ${x.ndim}-d array needs axis for a vector or matrix norm`);
  }
  if (!keepdims) return out;
  return expandDims(out, [...axes].sort((a, b) => a - b));
}
