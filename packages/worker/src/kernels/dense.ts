import { blasKernels, type BlasKernels, type FloatMatrix } from './native.js';
import { fallbackDense } from './dense-fallback.js';

/**
 * The small dense factorisations that chunked linear algebra is built of, on one row-major
 * matrix held by one task. LAPACK (OpenBLAS's, through native/lapack.cc) where the addon was
 * built; otherwise the fall back in dense-fallback.ts (Householder QR, one-sided Jacobi SVD,
 * Cholesky, LU with partial pivoting), which is slower but exact to a few ulps of the same sizes.
 * Results are of the input's type (float64 or float32); inputs are never modified.
 */
export interface Dense {
  readonly name: 'lapack' | 'fallback';
  /** Thin QR: A (m x n) = Q (m x k) R (k x n), k = min(m, n), Q with orthonormal columns, R upper triangular. */
  qr(m: number, n: number, a: FloatMatrix): { q: FloatMatrix; r: FloatMatrix };
  /** Thin SVD: A = U diag(s) Vt, U m x k, s descending and >= 0, Vt k x n, k = min(m, n). */
  svd(m: number, n: number, a: FloatMatrix): { u: FloatMatrix; s: FloatMatrix; vt: FloatMatrix };
  /** The lower Cholesky factor of A's lower triangle (zeros above the diagonal), or the 1-based order of the first leading minor that is not positive definite. */
  cholesky(n: number, a: FloatMatrix): FloatMatrix | number;
  /** PA = LU with partial pivoting: `lu` holds L (unit diagonal, below) and U; row i of PA is row perm[i] of A; `singular` is the first zero pivot (0-based) or -1. */
  lu(m: number, n: number, a: FloatMatrix): { lu: FloatMatrix; perm: Int32Array; singular: number };
  /** In place: B (m x n) becomes op(A)^-1 B (left, A m x m) or B op(A)^-1 (right, A n x n), A triangular (only that triangle read). */
  trsm(left: boolean, lower: boolean, transpose: boolean, unitDiagonal: boolean, m: number, n: number, a: FloatMatrix, b: FloatMatrix): void;
  /** X = A^-1 B, A n x n, B n x nrhs; undefined where A is singular. */
  solve(n: number, nrhs: number, a: FloatMatrix, b: FloatMatrix): FloatMatrix | undefined;
  /** C (m x n) -= A B, A m x k, B k x n, or (bTransposed) C -= A B^T with B n x k (all of C's type). */
  subtractProduct(m: number, n: number, k: number, a: FloatMatrix, b: FloatMatrix, c: FloatMatrix, bTransposed?: boolean): void;
  /** C - A A^T (C n x n, A n x k) in C's lower triangle, in place; C's upper triangle is left as it was. */
  subtractGram(n: number, k: number, a: FloatMatrix, c: FloatMatrix): void;
}

const like = (a: FloatMatrix, n: number): FloatMatrix => (a instanceof Float32Array ? new Float32Array(n) : new Float64Array(n));
const copy = (a: FloatMatrix): FloatMatrix => a.slice();

function lapackDense(b: BlasKernels): Dense {
  const check = (routine: string, info: number): number => {
    if (info < 0) throw new Error(`${routine}: LAPACK refused argument ${-info}`);
    return info;
  };
  return {
    name: 'lapack',
    qr(m, n, a) {
      const k = Math.min(m, n);
      const f = copy(a);
      const tau = like(a, k);
      check('geqrf', b.geqrf(m, n, f, tau));
      const r = like(a, k * n);
      for (let i = 0; i < k; i++) for (let j = i; j < n; j++) r[i * n + j] = f[i * n + j]!;
      // orgqr forms Q's k columns from the reflectors in the first k columns.
      const q = k === n ? f : like(a, m * k);
      if (k !== n) for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) q[i * k + j] = f[i * n + j]!;
      check('orgqr', b.orgqr(m, k, k, q, tau));
      return { q, r };
    },
    svd(m, n, a) {
      const k = Math.min(m, n);
      const s = like(a, k);
      const u = like(a, m * k);
      const vt = like(a, k * n);
      const info = check('gesdd', b.gesdd(m, n, copy(a), s, u, vt, true));
      if (info > 0) throw new Error(`svd: LAPACK's gesdd did not converge (info ${info})`);
      return { u, s, vt };
    },
    cholesky(n, a) {
      const l = copy(a);
      const info = check('potrf', b.potrf(true, n, l));
      if (info > 0) return info;
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) l[i * n + j] = 0;
      return l;
    },
    lu(m, n, a) {
      const f = copy(a);
      const ipiv = new Int32Array(Math.min(m, n));
      const info = check('getrf', b.getrf(m, n, f, ipiv));
      // LAPACK's pivots are swaps applied in order (1-based); the permutation is their product.
      const perm = Int32Array.from({ length: m }, (_, i) => i);
      for (let i = 0; i < ipiv.length; i++) {
        const p = ipiv[i]! - 1;
        const t = perm[i]!;
        perm[i] = perm[p]!;
        perm[p] = t;
      }
      return { lu: f, perm, singular: info > 0 ? info - 1 : -1 };
    },
    trsm(left, lower, transpose, unitDiagonal, m, n, a, bm) {
      check('trsm', b.trsm(left, lower, transpose, unitDiagonal, m, n, 1, a, bm));
    },
    solve(n, nrhs, a, bm) {
      const x = copy(bm);
      const info = check('gesv', b.gesv(n, nrhs, copy(a), new Int32Array(n), x));
      return info > 0 ? undefined : x;
    },
    subtractProduct(m, n, k, a, bm, c, bTransposed = false) {
      if (m === 0 || n === 0 || k === 0) return;
      // gemm only adds: C = -(-C + A B), two passes over C rather than a copy of A; B^T as strides.
      for (let i = 0; i < c.length; i++) c[i] = -c[i]!;
      b.gemm(m, n, k, a, 0, k, 1, bm, 0, bTransposed ? 1 : n, bTransposed ? k : 1, c, 0, n);
      for (let i = 0; i < c.length; i++) c[i] = -c[i]!;
    },
    subtractGram(n, k, a, c) {
      check('syrk', b.syrk(n, k, a, c));
    },
  };
}

let chosen: Dense | undefined;

/** LAPACK where it was built and not turned off (TESSERA_BLAS=0), else the fall back. */
export function dense(): Dense {
  if (!chosen) {
    const b = blasKernels();
    chosen = b ? lapackDense(b) : fallbackDense;
  }
  return chosen;
}

/** Every implementation that is there (for tests that compare them). */
export function denseImplementations(): Dense[] {
  const b = blasKernels();
  return b ? [lapackDense(b), fallbackDense] : [fallbackDense];
}
