import { z } from 'zod';
import type { Dtype } from '../dtype.js';
import { fmtShape, shapeEquals } from '../shape.js';

/**
 * The dense kernels of chunked linear algebra: each factors or solves with the matrices one task
 * holds (LAPACK on the worker where it was built). Inputs and outputs are float32 or float64 (the
 * client casts other dtypes first, as numpy.linalg does), all of one dtype per task. Where a
 * factorisation has several results they are stacked in one chunk, whose parts later tasks cut
 * out (an assemble), so that one factorisation serves all of them.
 */

const nonneg = z.number().int().nonnegative();

interface Meta {
  shape: readonly number[];
  dtype: Dtype;
}

/**
 * Thin QR of a 2-d block A (m x n), k = min(m, n): rows 0..m hold Q (m x k, in columns 0..k; the
 * rest zero), rows m..m+k hold R (k x n). Output (m + k) x n.
 */
export const QrParams = z.object({}).strict();
export type QrParams = z.infer<typeof QrParams>;

/**
 * Thin SVD of a 2-d block A (m x n), k = min(m, n): rows 0..m hold U (m x k, columns 0..k), row m
 * the singular values (columns 0..k, descending), rows m+1..m+1+k hold Vt (k x n). Output
 * (m + 1 + k) x n.
 */
export const SvdParams = z.object({}).strict();
export type SvdParams = z.infer<typeof SvdParams>;

/**
 * One task of the right-looking blocked Cholesky factorisation L L^T = A (A in square blocks).
 * `diagonal`: input S_ii (block ii after every earlier update), the result its Cholesky factor
 * L_ii. `panel`: inputs S_ji and L_ii (j > i), the result L_ji = S_ji L_ii^-T. `update`: inputs
 * S_jl, L_jk and L_lk (j > l), the result S_jl - L_jk L_lk^T (block jl after block column k is
 * known). `gram`: inputs S_jj and L_jk, the result's lower triangle S_jj - L_jk L_jk^T (half the
 * work; only the lower triangle of a diagonal block is ever read).
 */
export const CholeskyParams = z.object({ kind: z.enum(['diagonal', 'panel', 'update', 'gram']) }).strict();
export type CholeskyParams = z.infer<typeof CholeskyParams>;

/**
 * A block row of X in A X = B, A triangular in square blocks (blocked substitution): inputs A_ii,
 * B_i, then A_ik and X_k for the t = `terms` blocks k already solved; the result
 * A_ii^-1 (B_i - sum_k A_ik X_k). `lower` names the triangle of A_ii that is read.
 */
export const TriangularSolveParams = z.object({ lower: z.boolean(), unitDiagonal: z.boolean(), terms: nonneg }).strict();
export type TriangularSolveParams = z.infer<typeof TriangularSolveParams>;

/** X = A^-1 B for a square block A (n x n) and a block B (n x c): LU with partial pivoting; a singular A fails the task. */
export const SolveParams = z.object({}).strict();
export type SolveParams = z.infer<typeof SolveParams>;

/**
 * PA = LU of a 2-d block A (m x n), k = min(m, n), w = max(m, n): rows 0..m hold the permutation
 * matrix P^T (m x m: scipy's p, with A = p L U), rows m..2m hold L (m x k, unit diagonal), rows
 * 2m..2m+k hold U (k x n). Output (2m + k) x w.
 */
export const LuParams = z.object({}).strict();
export type LuParams = z.infer<typeof LuParams>;

/** The determinant of a square block through its LU factors: shape [] (det), or [2] (`log`: sign and log|det|, numpy.linalg.slogdet). */
export const DetParams = z.object({ log: z.boolean() }).strict();
export type DetParams = z.infer<typeof DetParams>;

const isFloatDtype = (d: Dtype): boolean => d === 'float64' || d === 'float32';

/** The inputs are 2-d, of one float dtype, and the output of that dtype: an error or undefined. */
function floatMatrices(deps: readonly Meta[], out: Meta, count: number | undefined): string | undefined {
  if (count !== undefined && deps.length !== count) return `takes ${count} input${count === 1 ? '' : 's'}, got ${deps.length}`;
  const first = deps[0];
  if (!first) return 'takes at least 1 input';
  if (!isFloatDtype(first.dtype)) return `works on float32 or float64 matrices, got ${first.dtype}`;
  for (const [i, d] of deps.entries()) {
    if (d.shape.length !== 2) return `input ${i} must be 2-d, got ${fmtShape(d.shape)}`;
    if (d.dtype !== first.dtype) return `input ${i} is ${d.dtype}, input 0 ${first.dtype}: one dtype per task`;
  }
  if (out.dtype !== first.dtype) return `gives ${first.dtype}, declared ${out.dtype}`;
  return undefined;
}

function declared(out: Meta, want: readonly number[]): string | undefined {
  return shapeEquals(out.shape, want) ? undefined : `gives ${out.dtype}${fmtShape(want)}, declared ${out.dtype}${fmtShape(out.shape)}`;
}

const dims = (m: Meta): [number, number] => [m.shape[0]!, m.shape[1]!];

export function checkQr(_p: QrParams, deps: readonly Meta[], out: Meta): string | undefined {
  const bad = floatMatrices(deps, out, 1);
  if (bad) return bad;
  const [m, n] = dims(deps[0]!);
  return declared(out, [m + Math.min(m, n), n]);
}

export function checkSvd(_p: SvdParams, deps: readonly Meta[], out: Meta): string | undefined {
  const bad = floatMatrices(deps, out, 1);
  if (bad) return bad;
  const [m, n] = dims(deps[0]!);
  return declared(out, [m + 1 + Math.min(m, n), n]);
}

export function checkCholesky(p: CholeskyParams, deps: readonly Meta[], out: Meta): string | undefined {
  const bad = floatMatrices(deps, out, { diagonal: 1, panel: 2, update: 3, gram: 2 }[p.kind]);
  if (bad) return bad;
  const [r, c] = dims(deps[0]!);
  if ((p.kind === 'diagonal' || p.kind === 'gram') && r !== c) return `a diagonal block must be square, got ${fmtShape(deps[0]!.shape)}`;
  if (p.kind === 'panel' && !shapeEquals(deps[1]!.shape, [c, c])) return `the panel's diagonal factor must be ${fmtShape([c, c])}, got ${fmtShape(deps[1]!.shape)}`;
  if (p.kind === 'update' || p.kind === 'gram') {
    const [lj, ll] = [deps[1]!, deps[p.kind === 'gram' ? 1 : 2]!];
    if (lj.shape[0] !== r || ll.shape[0] !== c || lj.shape[1] !== ll.shape[1]) {
      return `blocks ${fmtShape(lj.shape)} and ${fmtShape(ll.shape)} do not update a ${fmtShape([r, c])} block`;
    }
  }
  return declared(out, [r, c]);
}

export function checkTriangularSolve(p: TriangularSolveParams, deps: readonly Meta[], out: Meta): string | undefined {
  const bad = floatMatrices(deps, out, 2 + 2 * p.terms);
  if (bad) return bad;
  const [n, n2] = dims(deps[0]!);
  const [bn, c] = dims(deps[1]!);
  if (n !== n2 || bn !== n) return `A_ii ${fmtShape(deps[0]!.shape)} must be square and as tall as B_i ${fmtShape(deps[1]!.shape)}`;
  for (let k = 0; k < p.terms; k++) {
    const a = deps[2 + k]!;
    const x = deps[2 + p.terms + k]!;
    if (a.shape[0] !== n || a.shape[1] !== x.shape[0] || x.shape[1] !== c) return `term ${k}: A ${fmtShape(a.shape)} and X ${fmtShape(x.shape)} do not fit`;
  }
  return declared(out, [n, c]);
}

export function checkSolve(_p: SolveParams, deps: readonly Meta[], out: Meta): string | undefined {
  const bad = floatMatrices(deps, out, 2);
  if (bad) return bad;
  const [n, n2] = dims(deps[0]!);
  const [bn, c] = dims(deps[1]!);
  if (n !== n2) return `A must be square, got ${fmtShape(deps[0]!.shape)}`;
  if (bn !== n) return `B ${fmtShape(deps[1]!.shape)} must have ${n} rows`;
  return declared(out, [n, c]);
}

export function checkLu(_p: LuParams, deps: readonly Meta[], out: Meta): string | undefined {
  const bad = floatMatrices(deps, out, 1);
  if (bad) return bad;
  const [m, n] = dims(deps[0]!);
  return declared(out, [2 * m + Math.min(m, n), Math.max(m, n)]);
}

export function checkDet(p: DetParams, deps: readonly Meta[], out: Meta): string | undefined {
  const bad = floatMatrices(deps, out, 1);
  if (bad) return bad;
  const [m, n] = dims(deps[0]!);
  if (m !== n) return `the determinant is of a square matrix, got ${fmtShape(deps[0]!.shape)}`;
  return declared(out, p.log ? [2] : []);
}
