import { type Dtype, fmtShape, InvalidArgumentError, isFloat, ShapeError } from '@tessera/protocol';
import { type ChunkedArray, makeArray } from './array.js';
import { boundaries, type Chunks } from './chunks.js';
import { requireKnown } from './deferred.js';
import { astype } from './elementwise.js';
import { matmul, tensordot } from './linalg.js';
import { normal } from './random.js';
import { rechunk, slice } from './slicing.js';
import { concatenate, transpose } from './structure.js';

/**
 * QR and SVD as chunked algorithms: TSQR (Benson, Gleich and Demmel; Dask's tsqr) for arrays in
 * one block of columns, its transpose for arrays in one block of rows, and the randomised SVD of
 * Halko, Martinsson and Tropp (Dask's svd_compressed) for any chunking. Each block is factored
 * by LAPACK on the worker; only the small R factors (n x n per block) are gathered.
 */

const sumOf = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** numpy.linalg's dtype: float32 stays, everything else computes in float64. */
export function linalgDtype(fn: string, x: ChunkedArray): Dtype {
  if (!isFloat(x.dtype) && x.dtype !== 'bool' && !/^u?int/.test(x.dtype)) throw new InvalidArgumentError(`${fn}: cannot work on ${x.dtype}`);
  return x.dtype === 'float32' ? 'float32' : 'float64';
}

/** A 2-d array of known chunks in numpy.linalg's float dtype. */
export function floatMatrix(fn: string, x: ChunkedArray): ChunkedArray {
  requireKnown(fn, x);
  if (x.ndim !== 2) throw new ShapeError(`${fn}: takes a 2-d array, got shape ${fmtShape(x.shape)} (stacks of matrices are not supported)`);
  const dtype = linalgDtype(fn, x);
  return x.dtype === dtype ? x : astype(x, dtype);
}

/** One assemble piece: rows [r0, r0 + rows) and columns [c0, c0 + cols) of input `input`, put at (dr, dc). */
export function piece(input: number, r0: number, rows: number, c0: number, cols: number, dr = 0, dc = 0) {
  return { input, src: [{ start: r0, step: 1, count: rows }, { start: c0, step: 1, count: cols }], dst: [dr, dc] };
}

/** The rows [r0, r0 + rows) and columns [c0, c0 + cols) of a single-block 2-d array, as one block. */
export function cut(label: string, x: ChunkedArray, r0: number, rows: number, c0: number, cols: number): ChunkedArray {
  const params = { pieces: [piece(0, r0, rows, c0, cols)] };
  return makeArray({ label, op: 'assemble', shape: [rows, cols], dtype: x.dtype, chunks: [[rows], [cols]], inputs: [x], token: params, block: () => ({ params, deps: [x.key([0, 0])] }) });
}

/** The whole array in one block. */
export function gathered(x: ChunkedArray): ChunkedArray {
  return x.chunks.every((c) => c.length <= 1) ? x : rechunk(x, x.shape.map((d) => [d]));
}

/** The one-block stacked result of a factorisation op on a one-block matrix (protocol's ops/linalg.ts). */
export function factored(label: string, op: 'qr' | 'svd' | 'lu', x: ChunkedArray, shape: [number, number]): ChunkedArray {
  return makeArray({ label, op, shape, dtype: x.dtype, chunks: [[shape[0]], [shape[1]]], inputs: [x], token: {}, block: () => ({ params: {}, deps: [x.key([0, 0])] }) });
}

/** TSQR of a matrix in one block of columns: Q in a's row blocks (m x k), R one block (k x n), k = min(m, n). */
function tsqr(a: ChunkedArray): { q: ChunkedArray; r: ChunkedArray } {
  const [m, n] = a.shape as [number, number];
  const rows = a.chunks[0]!;
  const ks = rows.map((r) => Math.min(r, n));
  const K = sumOf(ks);
  const k = Math.min(m, n);
  const at = boundaries(ks);
  // Each block factored on its own: its stack holds Q_i (r_i x k_i, zero to the right) above R_i.
  const blocks = makeArray({
    label: 'qr-blocks',
    op: 'qr',
    shape: [m + K, n],
    dtype: a.dtype,
    chunks: [rows.map((r, i) => r + ks[i]!), [n]],
    inputs: [a],
    token: {},
    block: ([i]) => ({ params: {}, deps: [a.key([i!, 0])] }),
  });
  // Each R_i cut out on its own (so that a block's stack is freed once its parts are taken), then
  // stacked (K x n) and factored again: Q2 (K x k) above R.
  const ri = makeArray({
    label: 'qr-ri',
    op: 'assemble',
    shape: [K, n],
    dtype: a.dtype,
    chunks: [ks, [n]],
    inputs: [blocks],
    token: {},
    block: ([i]) => ({ params: { pieces: [piece(0, rows[i!]!, ks[i!]!, 0, n)] }, deps: [blocks.key([i!, 0])] }),
  });
  const stackParams = { pieces: ks.map((kk, i) => piece(i, 0, kk, 0, n, at[i]!, 0)) };
  const rs = makeArray({
    label: 'qr-rstack',
    op: 'assemble',
    shape: [K, n],
    dtype: a.dtype,
    chunks: [[K], [n]],
    inputs: [ri],
    token: stackParams,
    block: () => ({ params: stackParams, deps: ks.map((_, i) => ri.key([i, 0])) }),
  });
  const top = factored('qr-merge', 'qr', rs, [K + k, n]);
  const r = cut('qr-r', top, K, k, 0, n);
  // Q_i = Q_i^(1) Q2[rows of block i]: Q_i^(1) is padded with zero columns to n, so Q2's rows are padded to n too.
  const q1 = makeArray({
    label: 'qr-q1',
    op: 'assemble',
    shape: [m, n],
    dtype: a.dtype,
    chunks: [rows, [n]],
    inputs: [blocks],
    token: {},
    block: ([i]) => ({ params: { pieces: [piece(0, 0, rows[i!]!, 0, n)] }, deps: [blocks.key([i!, 0])] }),
  });
  const q2 = makeArray({
    label: 'qr-q2',
    op: 'assemble',
    shape: [rows.length * n, k],
    dtype: a.dtype,
    chunks: [rows.map(() => n), [k]],
    inputs: [top],
    token: {},
    block: ([i]) => ({ params: { pieces: [piece(0, at[i!]!, ks[i!]!, 0, k)] }, deps: [top.key([0, 0])] }),
  });
  const params = { axesA: [1], axesB: [0], pairs: 1 };
  const q = makeArray({
    label: 'qr-q',
    op: 'tensordot',
    shape: [m, k],
    dtype: a.dtype,
    chunks: [rows, [k]],
    inputs: [q1, q2],
    token: params,
    block: ([i]) => ({ params, deps: [q1.key([i!, 0]), q2.key([i!, 0])] }),
  });
  return { q, r };
}

function chunkingError(fn: string, x: ChunkedArray): ShapeError {
  return new ShapeError(
    `${fn}: a ${fmtShape(x.shape)} array in chunks ${JSON.stringify(x.chunks.map((c) => c.length))} blocks per axis: it must be in one block of columns ` +
      `(tall-and-skinny, rechunk(a, [rows, [${x.shape[1]}]])) or one block of rows (short-and-fat), as Dask's`,
  );
}

/** Columns [c0, c0 + n) as an array of their own (chunks as x's). */
const columns = (x: ChunkedArray, c0: number, n: number): ChunkedArray => slice(x, null, { start: c0, stop: c0 + n });

/**
 * numpy.linalg.qr (mode 'reduced'): Q (m x k) with orthonormal columns and upper triangular R
 * (k x n), k = min(m, n). Tall-and-skinny arrays (one block of columns) go through TSQR: every
 * row block factored where it is, then the stacked small R factors, then each Q block
 * multiplied back where it is. Short-and-fat ones (one block of rows) factor their first block
 * of columns (made at least m wide) and give R's other columns as Q^T A. Memory: R alone (and
 * the singular values) holds a few blocks per thread and the small factors; Q's blocks wait for
 * the merged R, so computing Q holds Q's size. Signs are LAPACK's per
 * block, so Q and R may differ from numpy's by the signs of columns of Q and rows of R.
 */
export function qr(a0: ChunkedArray): [ChunkedArray, ChunkedArray] {
  const a = floatMatrix('linalg.qr', a0);
  const [m, n] = a.shape as [number, number];
  if (a.chunks[1]!.length === 1) {
    const { q, r } = tsqr(a);
    return [q, r];
  }
  if (a.chunks[0]!.length !== 1) throw chunkingError('linalg.qr', a);
  const k = Math.min(m, n);
  const first = a.chunks[1]![0]!;
  const w = Math.max(first, k);
  const b = first >= k ? a : rechunk(a, [[m], [w, ...Array.from({ length: Math.ceil((n - w) / w) }, (_, i) => Math.min(w, n - w - i * w))].filter((c) => c > 0)]);
  const { q, r: r0 } = tsqr(columns(b, 0, w));
  if (w === n) return [q, r0];
  return [q, concatenate([r0, tensordot(q, columns(b, w, n - w), { axes: [[0], [0]] })], { axis: 1 })];
}

export interface SvdOptions {
  /** numpy's full_matrices: only false (the thin SVD, as Dask's) is chunked. */
  fullMatrices?: false;
}

/** U, S, Vt of a matrix in one block of columns: TSQR, then the small SVD of R. */
function tallSvd(a: ChunkedArray): [ChunkedArray, ChunkedArray, ChunkedArray] {
  const { q, r } = tsqr(a);
  const [k, n] = r.shape as [number, number];
  const kk = Math.min(k, n);
  const f = factored('svd-r', 'svd', r, [k + 1 + kk, n]);
  const s2 = cut('svd-s2', f, k, 1, 0, kk);
  const sv = makeArray({ label: 'svd-s', op: 'reshape', shape: [kk], dtype: a.dtype, chunks: [[kk]], inputs: [s2], token: {}, block: () => ({ params: { shape: [kk] }, deps: [s2.key([0, 0])] }) });
  return [matmul(q, cut('svd-u', f, 0, k, 0, kk)), sv, cut('svd-vt', f, k + 1, kk, 0, n)];
}

/**
 * numpy.linalg.svd with full_matrices=False: U (m x k), S (k, descending), Vt (k x n),
 * k = min(m, n), for arrays in one block of columns (TSQR, then the SVD of R) or of rows (the
 * same on the transpose). Other chunkings: rechunk, or svdCompressed for the leading values.
 * Singular vectors are unique up to sign (and within repeated values), so they may differ from
 * numpy's by that.
 */
export function svd(a0: ChunkedArray, opts: SvdOptions = {}): [ChunkedArray, ChunkedArray, ChunkedArray] {
  if ((opts.fullMatrices as boolean | undefined) === true) throw new InvalidArgumentError('linalg.svd: fullMatrices: true is not a chunked algorithm; the thin SVD (false) is, as in Dask');
  const a = floatMatrix('linalg.svd', a0);
  if (a.chunks[1]!.length === 1) return tallSvd(a);
  if (a.chunks[0]!.length !== 1) throw chunkingError('linalg.svd', a);
  const [u, s, vt] = tallSvd(transpose(a));
  return [transpose(vt), s, transpose(u)];
}

export interface SvdCompressedOptions {
  /** Power iterations (default 0): each sharpens the spectrum at the cost of two passes over a. */
  nPowerIter?: number;
  /** Extra columns of the random projection (default 10). */
  nOversamples?: number;
  seed?: number;
}

/**
 * dask.array.linalg.svd_compressed: the k leading singular triplets by a randomised
 * projection (Halko et al. 2011): Q = orth(A Ω) for a Gaussian Ω of k + oversamples columns
 * (with power iterations re-orthonormalised by TSQR), then the SVD of the small Q^T A. Any
 * chunking of a; the passes over a are matrix products, nothing of a's size is gathered.
 */
export function svdCompressed(a0: ChunkedArray, k: number, opts: SvdCompressedOptions = {}): [ChunkedArray, ChunkedArray, ChunkedArray] {
  const a = floatMatrix('linalg.svdCompressed', a0);
  const [m, n] = a.shape as [number, number];
  const iters = opts.nPowerIter ?? 0;
  const over = opts.nOversamples ?? 10;
  if (!Number.isInteger(k) || k < 1 || k > Math.min(m, n)) throw new InvalidArgumentError(`linalg.svdCompressed: k must be an integer in [1, ${Math.min(m, n)}], got ${k}`);
  if (!Number.isInteger(iters) || iters < 0) throw new InvalidArgumentError(`linalg.svdCompressed: nPowerIter must be a non-negative integer, got ${iters}`);
  if (!Number.isInteger(over) || over < 0) throw new InvalidArgumentError(`linalg.svdCompressed: nOversamples must be a non-negative integer, got ${over}`);
  const l = Math.min(k + over, m, n);
  const omega = normal([n, l], { chunks: [a.chunks[1]!, [l]] as Chunks, dtype: a.dtype as 'float64' | 'float32', ...(opts.seed !== undefined && { seed: opts.seed }) });
  const inColumn = (x: ChunkedArray): ChunkedArray => (x.chunks[1]!.length === 1 ? x : rechunk(x, [[...x.chunks[0]!], [x.shape[1]!]]));
  let q = tsqr(inColumn(matmul(a, omega))).q;
  for (let i = 0; i < iters; i++) {
    const z = tsqr(inColumn(tensordot(a, q, { axes: [[0], [0]] }))).q;
    q = tsqr(inColumn(matmul(a, z))).q;
  }
  // B = Q^T A (l x n, in a's column blocks); its SVD through TSQR of B^T.
  const bt = inColumn(tensordot(a, q, { axes: [[0], [0]] }));
  const [v, s, ut] = tallSvd(bt);
  const u = matmul(q, transpose(ut));
  return [columns(u, 0, k), slice(s, { start: 0, stop: k }), slice(transpose(v), { start: 0, stop: k })];
}
