import type { Dense } from './dense.js';
import type { FloatMatrix } from './native.js';

// The pure-TypeScript dense factorisations (dense.ts's `Dense`), for where the OpenBLAS addon is
// not built. Everything is computed in float64 whatever the input's type and rounded once into an
// array of the input's type at the end, so float32 results are as good as float32 can hold.

const EPS = Number.EPSILON;
/** One-sided Jacobi converges quadratically (a handful of sweeps); this many means it never will. */
const MAX_SWEEPS = 60;

/** x as an array of `like`'s type (float32 rounds once, here). */
const store = (like: FloatMatrix, x: Float64Array): FloatMatrix => (like instanceof Float32Array ? Float32Array.from(x) : x);

/** (rows x cols) -> (cols x rows), row-major. */
function transpose(a: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j]!;
  return t;
}

/** (m x k) (k x n), row-major. */
function matmul(a: Float64Array, b: Float64Array, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p]!;
      for (let j = 0; j < n; j++) c[i * n + j]! += aip * b[p * n + j]!;
    }
  return c;
}

/** The 2-norm of x[off .. off + len), scaled by its largest entry so that it neither overflows nor underflows. */
function norm2(x: Float64Array, off = 0, len = x.length): number {
  let big = 0;
  for (let i = off; i < off + len; i++) big = Math.max(big, Math.abs(x[i]!));
  if (big === 0 || !Number.isFinite(big)) return big;
  let ss = 0;
  for (let i = off; i < off + len; i++) ss += (x[i]! / big) ** 2;
  return big * Math.sqrt(ss);
}

function identity(rows: number, cols: number): Float64Array {
  const e = new Float64Array(rows * cols);
  for (let i = 0; i < Math.min(rows, cols); i++) e[i * cols + i] = 1;
  return e;
}

/** Rows j.. of columns c0..c1-1 of x (row-major, `cols` wide) := (I - 2 v v^T / v^T v) x. */
function reflect(v: Float64Array, x: Float64Array, cols: number, j: number, c0: number, c1: number): void {
  let vv = 0;
  for (const t of v) vv += t * t;
  for (let c = c0; c < c1; c++) {
    let d = 0;
    for (let i = 0; i < v.length; i++) d += v[i]! * x[(j + i) * cols + c]!;
    const f = (2 * d) / vv;
    for (let i = 0; i < v.length; i++) x[(j + i) * cols + c]! -= f * v[i]!;
  }
}

/**
 * Householder QR of w (m x n, overwritten with R on and above the diagonal, zeros below); gives the
 * reflectors, undefined where a column had nothing below its diagonal (LAPACK's tau = 0, which
 * keeps that R entry's sign as it is).
 */
function householder(m: number, n: number, w: Float64Array): (Float64Array | undefined)[] {
  const reflectors: (Float64Array | undefined)[] = [];
  for (let j = 0; j < Math.min(m, n); j++) {
    let scale = 0;
    let below = 0;
    for (let i = j; i < m; i++) scale = Math.max(scale, Math.abs(w[i * n + j]!));
    for (let i = j + 1; i < m; i++) below = Math.max(below, Math.abs(w[i * n + j]!));
    if (below === 0) {
      reflectors.push(undefined);
      continue;
    }
    // Scaled by the column's largest entry so that the norm neither overflows nor underflows.
    const v = new Float64Array(m - j);
    let ss = 0;
    for (let i = j; i < m; i++) ss += (v[i - j] = w[i * n + j]! / scale) ** 2;
    // beta of the opposite sign to alpha: no cancellation in alpha - beta (LAPACK's dlarfg).
    const alpha = v[0]!;
    const beta = alpha >= 0 ? -Math.sqrt(ss) : Math.sqrt(ss);
    v[0] = alpha - beta;
    reflect(v, w, n, j, j + 1, n);
    w[j * n + j] = beta * scale;
    for (let i = j + 1; i < m; i++) w[i * n + j] = 0;
    reflectors.push(v);
  }
  return reflectors;
}

/** Thin QR in float64: Q (m x k) from the reflectors applied to I's first k columns, last first. */
function qr64(m: number, n: number, a: Float64Array): { q: Float64Array; r: Float64Array } {
  const k = Math.min(m, n);
  const w = a.slice();
  const reflectors = householder(m, n, w);
  const q = identity(m, k);
  for (let j = k - 1; j >= 0; j--) {
    const v = reflectors[j];
    if (v) reflect(v, q, k, j, j, k);
  }
  const r = new Float64Array(k * n);
  for (let i = 0; i < k; i++) for (let j = i; j < n; j++) r[i * n + j] = w[i * n + j]!;
  return { q, r };
}

/** Rows p and q of x (`len` wide) := c p - s q, s p + c q. */
function rotate(x: Float64Array, len: number, p: number, q: number, c: number, s: number): void {
  for (let i = 0; i < len; i++) {
    const xp = x[p * len + i]!;
    const xq = x[q * len + i]!;
    x[p * len + i] = c * xp - s * xq;
    x[q * len + i] = s * xp + c * xq;
  }
}

/**
 * One-sided (Hestenes) Jacobi on the `count` rows of x (each `len` long): rotates pairs until every
 * two are orthogonal to within tol relative to their norms, and gives the rotations' product V
 * (row j = the j-th right singular vector). Rows no longer than `tiny` are left alone: they are
 * null directions, completed afterwards, and rotating rounding noise might never settle.
 */
function jacobi(count: number, len: number, x: Float64Array, tiny: number): Float64Array {
  const v = identity(count, count);
  const tol = Math.max(len, 8) * EPS;
  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    let rotated = false;
    for (let p = 0; p < count - 1; p++)
      for (let q = p + 1; q < count; q++) {
        let a = 0;
        let b = 0;
        let g = 0;
        for (let i = 0; i < len; i++) {
          const xp = x[p * len + i]!;
          const xq = x[q * len + i]!;
          a += xp * xp;
          b += xq * xq;
          g += xp * xq;
        }
        // Written so that NaN skips (NaN in, NaN out) rather than rotating until the sweep limit.
        if (!(Math.abs(g) > tol * Math.sqrt(a) * Math.sqrt(b)) || a <= tiny * tiny || b <= tiny * tiny) continue;
        // The rotation that zeroes the pair's inner product, the smaller of its two angles.
        const zeta = (b - a) / (2 * g);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.hypot(1, zeta));
        const c = 1 / Math.hypot(1, t);
        rotate(x, len, p, q, c, c * t);
        rotate(v, count, p, q, c, c * t);
        rotated = true;
      }
    if (!rotated) return v;
  }
  throw new Error(`svd: one-sided Jacobi did not converge in ${MAX_SWEEPS} sweeps (${count} x ${len})`);
}

/**
 * Replaces the rows of `rows` (count x len) marked null with unit vectors orthogonal to all the
 * others (which are orthonormal): Gram-Schmidt, twice for orthogonality to rounding, of the unit
 * vector e_i least covered by the rows so far (its residual is at least sqrt((len - rows) / len)).
 */
function complete(rows: Float64Array, count: number, len: number, isNull: boolean[]): void {
  const done: number[] = [];
  for (let j = 0; j < count; j++) if (!isNull[j]) done.push(j);
  for (let j = 0; j < count; j++) {
    if (!isNull[j]) continue;
    let best = 0;
    let least = Infinity;
    for (let i = 0; i < len; i++) {
      let cover = 0;
      for (const d of done) cover += rows[d * len + i]! ** 2;
      if (cover < least) [least, best] = [cover, i];
    }
    const r = new Float64Array(len);
    r[best] = 1;
    for (let pass = 0; pass < 2; pass++)
      for (const d of done) {
        let dot = 0;
        for (let i = 0; i < len; i++) dot += rows[d * len + i]! * r[i]!;
        for (let i = 0; i < len; i++) r[i]! -= dot * rows[d * len + i]!;
      }
    const norm = norm2(r);
    for (let i = 0; i < len; i++) rows[j * len + i] = r[i]! / norm;
    done.push(j);
  }
}

/**
 * Thin SVD of a tall b (p x q, p >= q) in float64: U (p x q), s (q, descending), V by rows (q x q).
 * A QR first makes the Jacobi work on q x q, which is cheaper and as accurate (LAPACK's dgejsv).
 */
function svdTall(p: number, q: number, b: Float64Array): { u: Float64Array; s: Float64Array; v: Float64Array } {
  if (p > q) {
    const { q: qf, r } = qr64(p, q, b);
    const inner = svdTall(q, q, r);
    return { u: matmul(qf, inner.u, p, q, q), s: inner.s, v: inner.v };
  }
  const x = transpose(b, p, q); // row j = column j of b, rotated into s_j u_j
  // Below this a singular value is rounding noise of the others, its direction meaningless.
  const tiny = norm2(x) * EPS * Math.max(p, q);
  const v = jacobi(q, p, x, tiny);
  const norms = Array.from({ length: q }, (_, j) => norm2(x, j * p, p));
  const order = norms.map((_, j) => j).sort((i, j) => norms[j]! - norms[i]!);
  const s = Float64Array.from(order, (j) => norms[j]!);
  const left = new Float64Array(q * p);
  const vs = new Float64Array(q * q);
  const isNull = order.map((j) => norms[j]! <= tiny);
  order.forEach((j, k) => {
    if (!isNull[k]) for (let i = 0; i < p; i++) left[k * p + i] = x[j * p + i]! / norms[j]!;
    vs.set(v.subarray(j * q, (j + 1) * q), k * q);
  });
  complete(left, q, p, isNull);
  return { u: transpose(left, q, p), s, v: vs };
}

/** PA = LU in place on f (m x n), getrf's way: the first largest |pivot|, going on past a zero one. */
function lu64(m: number, n: number, f: Float64Array): { perm: Int32Array; singular: number } {
  const perm = Int32Array.from({ length: m }, (_, i) => i);
  let singular = -1;
  for (let j = 0; j < Math.min(m, n); j++) {
    let p = j;
    for (let i = j + 1; i < m; i++) if (Math.abs(f[i * n + j]!) > Math.abs(f[p * n + j]!)) p = i;
    if (p !== j) {
      for (let c = 0; c < n; c++) [f[j * n + c], f[p * n + c]] = [f[p * n + c]!, f[j * n + c]!];
      [perm[j], perm[p]] = [perm[p]!, perm[j]!];
    }
    const pivot = f[j * n + j]!;
    // A zero pivot means the column is zero from here down: nothing to eliminate.
    if (pivot === 0) {
      if (singular < 0) singular = j;
      continue;
    }
    for (let i = j + 1; i < m; i++) {
      const l = (f[i * n + j] = f[i * n + j]! / pivot);
      for (let c = j + 1; c < n; c++) f[i * n + c]! -= l * f[j * n + c]!;
    }
  }
  return { perm, singular };
}

/**
 * Solves T y = x in place on x[off + i * stride] (size of them), T triangular with
 * T(i, j) = a[i * size + j] or, when t, a[j * size + i]; only T's triangle is read.
 */
function substitute(a: ArrayLike<number>, size: number, t: boolean, lower: boolean, unit: boolean, x: Float64Array, off: number, stride: number): void {
  const at = (i: number, j: number): number => (t ? a[j * size + i]! : a[i * size + j]!);
  for (let step = 0; step < size; step++) {
    const i = lower ? step : size - 1 - step;
    let y = x[off + i * stride]!;
    if (lower) for (let j = 0; j < i; j++) y -= at(i, j) * x[off + j * stride]!;
    else for (let j = i + 1; j < size; j++) y -= at(i, j) * x[off + j * stride]!;
    x[off + i * stride] = unit ? y : y / at(i, i);
  }
}

export const fallbackDense: Dense = {
  name: 'fallback',

  qr(m, n, a) {
    const { q, r } = qr64(m, n, Float64Array.from(a));
    return { q: store(a, q), r: store(a, r) };
  },

  svd(m, n, a) {
    const k = Math.min(m, n);
    if (k === 0) return { u: store(a, new Float64Array(0)), s: store(a, new Float64Array(0)), vt: store(a, new Float64Array(0)) };
    // Scaled by a power of two (exact) to keep Jacobi's sums of squares far from overflow and underflow.
    let big = 0;
    for (const t of a) big = Math.max(big, Math.abs(t));
    const e = big > 0 && Number.isFinite(big) ? Math.max(-1000, Math.min(1000, Math.ceil(Math.log2(big)))) : 0;
    const down = 2 ** -e;
    const scaled = Float64Array.from(a, (t) => t * down);
    // Jacobi on the tall one of A and A^T: A^T = U' S V'^T makes A = V' S U'^T.
    const tall = m >= n ? svdTall(m, n, scaled) : svdTall(n, m, transpose(scaled, m, n));
    const s = store(a, tall.s.map((t) => t * 2 ** e));
    if (m >= n) return { u: store(a, tall.u), s, vt: store(a, tall.v) };
    return { u: store(a, transpose(tall.v, m, m)), s, vt: store(a, transpose(tall.u, n, m)) };
  },

  cholesky(n, a) {
    const l = new Float64Array(n * n);
    for (let j = 0; j < n; j++) {
      let d = a[j * n + j]!;
      for (let p = 0; p < j; p++) d -= l[j * n + p]! ** 2;
      // potrf's info: the order of the first leading minor that is not positive definite (NaN too).
      if (!(d > 0)) return j + 1;
      const ljj = Math.sqrt(d);
      l[j * n + j] = ljj;
      for (let i = j + 1; i < n; i++) {
        let t = a[i * n + j]!;
        for (let p = 0; p < j; p++) t -= l[i * n + p]! * l[j * n + p]!;
        l[i * n + j] = t / ljj;
      }
    }
    return store(a, l);
  },

  lu(m, n, a) {
    const f = Float64Array.from(a);
    const { perm, singular } = lu64(m, n, f);
    return { lu: store(a, f), perm, singular };
  },

  trsm(left, lower, transpose, unitDiagonal, m, n, a, b) {
    const x = Float64Array.from(b);
    // B op(A)^-1 is op(A)^-T applied to each row of B: the same substitution, transposed once more.
    const t = left ? transpose : !transpose;
    const lowerT = lower !== t;
    if (left) for (let c = 0; c < n; c++) substitute(a, m, t, lowerT, unitDiagonal, x, c, n);
    else for (let r = 0; r < m; r++) substitute(a, n, t, lowerT, unitDiagonal, x, r * n, 1);
    b.set(x);
  },

  solve(n, nrhs, a, b) {
    const f = Float64Array.from(a);
    const { perm, singular } = lu64(n, n, f);
    if (singular >= 0) return undefined;
    const x = new Float64Array(n * nrhs);
    for (let i = 0; i < n; i++) for (let c = 0; c < nrhs; c++) x[i * nrhs + c] = b[perm[i]! * nrhs + c]!;
    for (let c = 0; c < nrhs; c++) {
      substitute(f, n, false, true, true, x, c, nrhs);
      substitute(f, n, false, false, false, x, c, nrhs);
    }
    return store(b, x);
  },

  subtractProduct(m, n, k, a, b, c, bTransposed = false) {
    // Each row of A B summed in float64, then taken from C once; B^T read through strides.
    const [rs, cs] = bTransposed ? [1, k] : [n, 1];
    const row = new Float64Array(n);
    for (let i = 0; i < m; i++) {
      row.fill(0);
      for (let p = 0; p < k; p++) {
        const aip = a[i * k + p]!;
        for (let j = 0; j < n; j++) row[j]! += aip * b[p * rs + j * cs]!;
      }
      for (let j = 0; j < n; j++) c[i * n + j] = c[i * n + j]! - row[j]!;
    }
  },

  subtractGram(n, k, a, c) {
    // Row i of the lower triangle: columns 0..i of A_i A^T, summed in float64.
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let t = 0;
        for (let p = 0; p < k; p++) t += a[i * k + p]! * a[j * k + p]!;
        c[i * n + j] = c[i * n + j]! - t;
      }
    }
  },
};
