import { fmtShape, InvalidArgumentError, ShapeError } from '@tessera/protocol';
import { type ChunkedArray, type ChunkedScalar, makeArray } from './array.js';
import { chunksEqual } from './chunks.js';
import { eye } from './creation-grid.js';
import { astype, gt, mul, sub } from './elementwise.js';
import { matmul, tensordot } from './linalg.js';
import { cut, factored, floatMatrix, gathered, qr, svd } from './linalg-qr.js';
import { max, sum } from './reductions.js';
import { rechunk, slice } from './slicing.js';
import { concatenate, reshape, transpose } from './structure.js';
import { square } from './ufuncs.js';

/**
 * Factorisations and solves of square matrices. Cholesky and triangular solves are blocked
 * algorithms over square blocks (each block a task, LAPACK inside); the general solve, inverse,
 * LU and determinants gather the matrix into one block (LAPACK's getrf with partial pivoting),
 * because a tiled LU that pivots only inside blocks (Dask's) is unstable on some inputs.
 */

/** A square matrix in square blocks: its columns rechunked to its rows' chunks where they differ. */
function squareBlocks(fn: string, a0: ChunkedArray): ChunkedArray {
  const a = floatMatrix(fn, a0);
  if (a.shape[0] !== a.shape[1]) throw new ShapeError(`${fn}: the matrix must be square, got ${fmtShape(a.shape)}`);
  return chunksEqual([a.chunks[0]!], [a.chunks[1]!]) ? a : rechunk(a, [[...a.chunks[0]!], [...a.chunks[0]!]]);
}

export interface CholeskyOptions {
  /** Give the upper factor U = L^T (numpy 2's `upper`); default the lower one. */
  upper?: boolean;
}

/**
 * numpy.linalg.cholesky: the lower factor L of a = L L^T, from a's lower triangle, by the
 * right-looking blocked algorithm: once block column k is known (L_kk the factor of its updated
 * diagonal block, L_jk = S_jk L_kk^-T below it) every block jl of the trailing lower triangle is
 * updated on its own, S_jl - L_jk L_lk^T (a syrk on the diagonal, half the work). Updates of different blocks run in parallel and the
 * next diagonal block waits only for its own chain, not for a sum over all earlier columns. A
 * matrix that is not positive definite fails the task that finds it.
 */
export function cholesky(a0: ChunkedArray, opts: CholeskyOptions = {}): ChunkedArray {
  const a = squareBlocks('linalg.cholesky', a0);
  const sizes = a.chunks[0]!;
  const nb = sizes.length;
  // The key of block jl (j >= l) as it stands, updated by the block columns done so far.
  let current = (j: number, l: number): string => a.key([j, l]);
  const inputs: ChunkedArray[] = [a];
  const factors: string[][] = Array.from({ length: nb }, () => []);
  for (let k = 0; k < nb; k++) {
    const c = sizes[k]!;
    const at = current;
    const d = makeArray({
      label: 'cholesky-diag',
      op: 'cholesky',
      shape: [c, c],
      dtype: a.dtype,
      chunks: [[c], [c]],
      inputs: [...inputs],
      token: { k },
      block: () => ({ params: { kind: 'diagonal' }, deps: [at(k, k)] }),
    });
    factors[k]![k] = d.key([0, 0]);
    inputs.push(d);
    const rest = sizes.slice(k + 1);
    if (rest.length === 0) break;
    const panel = makeArray({
      label: 'cholesky-panel',
      op: 'cholesky',
      shape: [rest.reduce((s, v) => s + v, 0), c],
      dtype: a.dtype,
      chunks: [rest, [c]],
      inputs: [...inputs],
      token: { k },
      block: ([jj]) => ({ params: { kind: 'panel' }, deps: [at(k + 1 + jj!, k), d.key([0, 0])] }),
    });
    inputs.push(panel);
    for (let j = k + 1; j < nb; j++) factors[j]![k] = panel.key([j - k - 1, 0]);
    const below = (j: number): string => panel.key([j - k - 1, 0]);
    // The trailing matrix after column k; only its lower blocks are ever asked for (the graph is
    // built back from the outputs), the upper ones are a's to keep every block a valid task.
    const trailing = makeArray({
      label: 'cholesky-update',
      op: 'cholesky',
      shape: [rest.reduce((s, v) => s + v, 0), rest.reduce((s, v) => s + v, 0)],
      dtype: a.dtype,
      chunks: [rest, rest],
      inputs: [...inputs],
      token: { k },
      block: ([jj, ll]) => {
        const [j, l] = [k + 1 + jj!, k + 1 + ll!];
        if (l > j) return { params: { kind: 'update' }, deps: [a.key([j, l]), a.key([j, k]), a.key([l, k])] };
        if (l === j) return { params: { kind: 'gram' }, deps: [at(j, j), below(j)] };
        return { params: { kind: 'update' }, deps: [at(j, l), below(j), below(l)] };
      },
    });
    inputs.push(trailing);
    current = (j, l) => trailing.key([j - k - 1, l - k - 1]);
  }
  const l = makeArray({
    label: 'cholesky',
    op: 'assemble',
    shape: a.shape,
    dtype: a.dtype,
    chunks: [sizes, sizes],
    inputs,
    token: {},
    block: ([j, i]) => {
      const [r, c] = [sizes[j!]!, sizes[i!]!];
      if (j! < i!) return { params: { pieces: [] }, deps: [] };
      return { params: { pieces: [{ input: 0, src: [{ start: 0, step: 1, count: r }, { start: 0, step: 1, count: c }], dst: [0, 0] }] }, deps: [factors[j!]![i!]!] };
    },
  });
  return opts.upper ? transpose(l) : l;
}

export interface SolveTriangularOptions {
  /** Use a's lower triangle (default false: the upper, as scipy's solve_triangular). */
  lower?: boolean;
  /** Take a's diagonal as ones. */
  unitDiagonal?: boolean;
}

/** b as a 2-d matrix with a's row blocks (a 1-d b is a column), and how to give the result back. */
function rhs(fn: string, a: ChunkedArray, b0: ChunkedArray): { b: ChunkedArray; back: (x: ChunkedArray) => ChunkedArray } {
  const b1 = floatMatrix(fn, b0.ndim === 1 ? reshape(b0, [b0.shape[0]!, 1]) : b0);
  if (b1.shape[0] !== a.shape[0]) throw new ShapeError(`${fn}: a ${fmtShape(a.shape)} and b ${fmtShape(b0.shape)} do not fit: b needs ${a.shape[0]} rows`);
  const b2 = b1.dtype === a.dtype ? b1 : astype(b1, 'float64');
  const b = chunksEqual([b2.chunks[0]!], [a.chunks[0]!]) ? b2 : rechunk(b2, [[...a.chunks[0]!], [...b2.chunks[1]!]]);
  return { b, back: (x) => (b0.ndim === 1 ? reshape(x, [x.shape[0]!]) : x) };
}

/**
 * scipy.linalg.solve_triangular (dask.array.linalg.solve_triangular): x with a x = b for a
 * triangular a in square blocks, by blocked substitution: block row i of x is
 * A_ii^-1 (B_i - sum_k A_ik X_k) over the rows k already solved (top down for lower, bottom up
 * for upper), each block a task.
 */
export function solveTriangular(a0: ChunkedArray, b0: ChunkedArray, opts: SolveTriangularOptions = {}): ChunkedArray {
  const fn = 'linalg.solveTriangular';
  let a = squareBlocks(fn, a0);
  const { b, back } = rhs(fn, a, b0);
  if (a.dtype !== b.dtype) a = astype(a, 'float64');
  const lower = opts.lower ?? false;
  const unitDiagonal = opts.unitDiagonal ?? false;
  const sizes = a.chunks[0]!;
  const nb = sizes.length;
  const rows: ChunkedArray[] = new Array<ChunkedArray>(nb);
  const order = Array.from({ length: nb }, (_, i) => (lower ? i : nb - 1 - i));
  order.forEach((i, step) => {
    const done = order.slice(0, step);
    const params = { lower, unitDiagonal, terms: done.length };
    rows[i] = makeArray({
      label: 'solve-triangular',
      op: 'triangular-solve',
      shape: [sizes[i]!, b.shape[1]!],
      dtype: b.dtype,
      chunks: [[sizes[i]!], [...b.chunks[1]!]],
      inputs: [a, b, ...done.map((k) => rows[k]!)],
      token: { i, lower, unitDiagonal },
      block: ([, j]) => ({ params, deps: [a.key([i, i]), b.key([i, j!]), ...done.map((k) => a.key([i, k])), ...done.map((k) => rows[k]!.key([0, j!]))] }),
    });
  });
  return back(nb === 1 ? rows[0]! : concatenate(rows, { axis: 0 }));
}

export interface SolveOptions {
  /** 'pos': a is symmetric positive definite: a chunked Cholesky and two triangular solves (scipy's assume_a='pos'); default 'gen': LU of a gathered a. */
  assumeA?: 'gen' | 'pos';
}

/**
 * numpy.linalg.solve: x with a x = b (b a vector or a matrix). The general case gathers a into
 * one block and solves each column block of b by LAPACK's gesv; with assumeA 'pos' everything
 * stays in a's blocks (Cholesky, then L y = b and L^T x = y).
 */
export function solve(a0: ChunkedArray, b0: ChunkedArray, opts: SolveOptions = {}): ChunkedArray {
  const fn = 'linalg.solve';
  const kind = opts.assumeA ?? 'gen';
  if (kind !== 'gen' && kind !== 'pos') throw new InvalidArgumentError(`${fn}: assumeA must be 'gen' or 'pos', got ${JSON.stringify(kind)}`);
  if (kind === 'pos') {
    const l = cholesky(a0);
    return solveTriangular(transpose(l), solveTriangular(l, b0, { lower: true }), { lower: false });
  }
  let a = squareBlocks(fn, a0);
  const r = rhs(fn, a, b0);
  if (a.dtype !== r.b.dtype) a = astype(a, 'float64');
  const n = a.shape[0]!;
  const whole = gathered(a);
  const b = r.b.chunks[0]!.length === 1 ? r.b : rechunk(r.b, [[n], [...r.b.chunks[1]!]]);
  const x = makeArray({
    label: 'solve',
    op: 'solve',
    shape: b.shape,
    dtype: b.dtype,
    chunks: b.chunks,
    inputs: [whole, b],
    token: {},
    block: ([, j]) => ({ params: {}, deps: [whole.key([0, 0]), b.key([0, j!])] }),
  });
  return r.back(x);
}

/** numpy.linalg.inv: solve(a, I), with a's chunks. */
export function inv(a0: ChunkedArray): ChunkedArray {
  const a = squareBlocks('linalg.inv', a0);
  const n = a.shape[0]!;
  return rechunk(solve(a, eye(n, n, { chunks: [[n], [...a.chunks[1]!]], dtype: a.dtype })), a.chunks);
}

/**
 * scipy.linalg.lu (dask.array.linalg.lu): p, l, u with a = p l u, p a permutation, l unit lower
 * triangular (m x k), u upper triangular (k x n). Gathers a into one block (LAPACK's getrf).
 */
export function lu(a0: ChunkedArray): [ChunkedArray, ChunkedArray, ChunkedArray] {
  const a = gathered(floatMatrix('linalg.lu', a0));
  const [m, n] = a.shape as [number, number];
  const k = Math.min(m, n);
  const f = factored('lu-factors', 'lu', a, [2 * m + k, Math.max(m, n)]);
  return [cut('lu-p', f, 0, m, 0, m), cut('lu-l', f, m, m, 0, k), cut('lu-u', f, 2 * m, k, 0, n)];
}

function determinant(fn: string, a0: ChunkedArray, log: boolean): ChunkedArray {
  const a = gathered(squareBlocks(fn, a0));
  const shape = log ? [2] : [];
  return makeArray({ label: fn, op: 'det', shape, dtype: a.dtype, chunks: log ? [[2]] : [], inputs: [a], token: { log }, block: () => ({ params: { log }, deps: [a.key([0, 0])] }) });
}

/** numpy.linalg.det, through LU of the gathered matrix. */
export const det = (a: ChunkedArray): ChunkedScalar => determinant('linalg.det', a, false) as ChunkedScalar;

/** numpy.linalg.slogdet: [sign, log|det|] (sign 0 and -inf for a singular matrix). */
export function slogdet(a: ChunkedArray): [ChunkedScalar, ChunkedScalar] {
  const both = determinant('linalg.slogdet', a, true);
  return [slice(both, 0) as ChunkedScalar, slice(both, 1) as ChunkedScalar];
}

export interface LstsqOptions {
  /** Singular values below rcond * max(s) count as zero for the rank (default eps * max(m, n), numpy's). */
  rcond?: number;
}

/**
 * numpy.linalg.lstsq for a tall-and-skinny a (m >= n, rechunked to one block of columns):
 * x = R^-1 Q^T b through TSQR. Gives [x, residuals, rank, s]: residuals are the squared norms
 * of b - a x per column (always, as Dask's; numpy leaves them empty for a rank-deficient a), s
 * a's singular values (those of R). R must be of full rank for x to be finite.
 */
export function lstsq(a0: ChunkedArray, b0: ChunkedArray, opts: LstsqOptions = {}): [ChunkedArray, ChunkedArray, ChunkedScalar, ChunkedArray] {
  const fn = 'linalg.lstsq';
  let a = floatMatrix(fn, a0);
  const [m, n] = a.shape as [number, number];
  if (m < n) throw new ShapeError(`${fn}: a ${fmtShape(a.shape)} is wider than tall; only m >= n is chunked (TSQR)`);
  if (b0.ndim !== 1 && b0.ndim !== 2) throw new ShapeError(`${fn}: b must be 1-d or 2-d, got ${fmtShape(b0.shape)}`);
  if (a.chunks[1]!.length !== 1) a = rechunk(a, [[...a.chunks[0]!], [n]]);
  const [q, r] = qr(a);
  const { b, back } = rhs(fn, a, b0);
  const x = solveTriangular(r, tensordot(q, b, { axes: [[0], [0]] }), { lower: false });
  const resid = sum(square(sub(matmul(a, x), b)), { axis: 0 });
  const [, s] = svd(r);
  const eps = a.dtype === 'float32' ? 2 ** -23 : 2 ** -52;
  const tol = opts.rcond ?? eps * Math.max(m, n);
  const rank = sum(gt(s, mul(max(s), tol))) as ChunkedScalar;
  return [back(x), resid, rank, s];
}
