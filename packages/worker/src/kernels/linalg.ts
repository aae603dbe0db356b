import {
  allocChunk,
  type Chunk,
  type CholeskyParams,
  type DetParams,
  type Dtype,
  type TriangularSolveParams,
} from '@tessera/protocol';
import { dense } from './dense.js';
import type { FloatMatrix } from './native.js';

/**
 * The ops of chunked linear algebra (protocol's ops/linalg.ts) on the blocks one task holds. The
 * factorisations are dense()'s: LAPACK where it was built, else the fall back.
 */

function matrix(fn: string, c: Chunk | undefined): { m: number; n: number; a: FloatMatrix } {
  if (!c || c.shape.length !== 2 || !(c.data instanceof Float64Array || c.data instanceof Float32Array)) {
    throw new Error(`${fn}: takes 2-d float32 or float64 blocks`);
  }
  return { m: c.shape[0]!, n: c.shape[1]!, a: c.data };
}

/** Copy a rows x cols matrix into out (row length w) at row r0. */
function put(out: FloatMatrix, w: number, r0: number, src: ArrayLike<number>, rows: number, cols: number): void {
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[(r0 + i) * w + j] = src[i * cols + j]!;
}

export function qr(inputs: readonly Chunk[], shape: readonly number[], dtype: Dtype): Chunk {
  const { m, n, a } = matrix('qr', inputs[0]);
  const k = Math.min(m, n);
  const { q, r } = dense().qr(m, n, a);
  const out = allocChunk(dtype, shape);
  const o = out.data as FloatMatrix;
  put(o, n, 0, q, m, k);
  put(o, n, m, r, k, n);
  return out;
}

export function svd(inputs: readonly Chunk[], shape: readonly number[], dtype: Dtype): Chunk {
  const { m, n, a } = matrix('svd', inputs[0]);
  const k = Math.min(m, n);
  const { u, s, vt } = dense().svd(m, n, a);
  const out = allocChunk(dtype, shape);
  const o = out.data as FloatMatrix;
  put(o, n, 0, u, m, k);
  put(o, n, m, s, 1, k);
  put(o, n, m + 1, vt, k, n);
  return out;
}

export function cholesky(p: CholeskyParams, inputs: readonly Chunk[], shape: readonly number[], dtype: Dtype): Chunk {
  const { m, n, a } = matrix('cholesky', inputs[0]);
  const out = allocChunk(dtype, shape);
  const data = out.data as FloatMatrix;
  if (p.kind === 'diagonal') {
    const l = dense().cholesky(n, a);
    if (typeof l === 'number') throw new Error(`cholesky: the matrix is not positive definite (leading minor ${l} of a diagonal block fails)`);
    data.set(l);
    return out;
  }
  data.set(a);
  if (p.kind === 'update') {
    const lj = matrix('cholesky', inputs[1]);
    dense().subtractProduct(m, n, lj.n, lj.a, matrix('cholesky', inputs[2]).a, data, true);
    return out;
  }
  if (p.kind === 'gram') {
    const lj = matrix('cholesky', inputs[1]);
    dense().subtractGram(n, lj.n, lj.a, data);
    return out;
  }
  // X L_ii^T = S: a right-side solve with the lower factor transposed.
  dense().trsm(false, true, true, false, m, n, matrix('cholesky', inputs[1]).a, data);
  return out;
}

export function triangularSolve(p: TriangularSolveParams, inputs: readonly Chunk[], shape: readonly number[], dtype: Dtype): Chunk {
  const { n, a } = matrix('triangular-solve', inputs[0]);
  const b = matrix('triangular-solve', inputs[1]);
  const s = b.a.slice();
  for (let k = 0; k < p.terms; k++) {
    const aik = matrix('triangular-solve', inputs[2 + k]);
    dense().subtractProduct(n, b.n, aik.n, aik.a, matrix('triangular-solve', inputs[2 + p.terms + k]).a, s);
  }
  dense().trsm(true, p.lower, false, p.unitDiagonal, n, b.n, a, s);
  const out = allocChunk(dtype, shape);
  (out.data as FloatMatrix).set(s);
  return out;
}

export function solve(inputs: readonly Chunk[], shape: readonly number[], dtype: Dtype): Chunk {
  const { n, a } = matrix('solve', inputs[0]);
  const b = matrix('solve', inputs[1]);
  const x = dense().solve(n, b.n, a, b.a);
  if (!x) throw new Error('solve: the matrix is singular');
  const out = allocChunk(dtype, shape);
  (out.data as FloatMatrix).set(x);
  return out;
}

export function lu(inputs: readonly Chunk[], shape: readonly number[], dtype: Dtype): Chunk {
  const { m, n, a } = matrix('lu', inputs[0]);
  const k = Math.min(m, n);
  const w = Math.max(m, n);
  const f = dense().lu(m, n, a);
  const out = allocChunk(dtype, shape);
  const o = out.data as FloatMatrix;
  // scipy's p: A = p L U, so p[perm[i], i] = 1 (row i of PA is row perm[i] of A).
  for (let i = 0; i < m; i++) o[f.perm[i]! * w + i] = 1;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < Math.min(i, k); j++) o[(m + i) * w + j] = f.lu[i * n + j]!;
    if (i < k) o[(m + i) * w + i] = 1;
  }
  for (let i = 0; i < k; i++) for (let j = i; j < n; j++) o[(2 * m + i) * w + j] = f.lu[i * n + j]!;
  return out;
}

/** det from the LU factors, as numpy (a product of U's diagonal and the permutation's sign); slogdet as sign and log|det|. */
export function det(p: DetParams, inputs: readonly Chunk[], shape: readonly number[], dtype: Dtype): Chunk {
  const { n, a } = matrix('det', inputs[0]);
  const f = dense().lu(n, n, a);
  let sign = 1;
  const seen = new Uint8Array(n);
  // The permutation's sign: (-1) to the number of even-length cycles.
  for (let i = 0; i < n; i++) {
    if (seen[i]) continue;
    let len = 0;
    for (let j = i; !seen[j]; j = f.perm[j]!) {
      seen[j] = 1;
      len++;
    }
    if (len % 2 === 0) sign = -sign;
  }
  const out = allocChunk(dtype, shape);
  const o = out.data as FloatMatrix;
  if (!p.log) {
    let d = sign;
    for (let i = 0; i < n; i++) d *= f.lu[i * n + i]!;
    o[0] = d;
    return out;
  }
  let logAbs = 0;
  for (let i = 0; i < n; i++) {
    const u = f.lu[i * n + i]!;
    if (u === 0) {
      o[0] = 0;
      o[1] = -Infinity;
      return out;
    }
    if (u < 0) sign = -sign;
    logAbs += Math.log(Math.abs(u));
  }
  o[0] = sign;
  o[1] = logAbs;
  return out;
}
