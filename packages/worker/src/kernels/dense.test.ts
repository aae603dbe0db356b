import { describe, expect, it } from 'vitest';
import { denseImplementations, type Dense } from './dense.js';
import type { FloatMatrix } from './native.js';

// Every Dense (LAPACK where the addon is built and not turned off, and the TypeScript fall back) is
// checked by reconstruction and by the properties its factors must have, in both float types, on
// odd, empty, rank-deficient and ill-conditioned shapes; then the two are compared where both exist.

type Dtype = 'float64' | 'float32';
const DTYPES: Dtype[] = ['float64', 'float32'];
const EPS: Record<Dtype, number> = { float64: 2 ** -52, float32: 2 ** -23 };
const cast = (dtype: Dtype, x: ArrayLike<number>): FloatMatrix => (dtype === 'float32' ? Float32Array.from(x) : Float64Array.from(x));
const typeOf = (dtype: Dtype) => (dtype === 'float32' ? Float32Array : Float64Array);
/** A few ulps of the dtype per row or column, relative to the size of what is compared. */
const tol = (dtype: Dtype, size: number, norm: number): number => 50 * Math.max(size, 1) * EPS[dtype] * norm;

/** mulberry32: a reproducible stream in [-1, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * 2 - 1;
  };
}
const random = (m: number, n: number, seed: number): Float64Array => Float64Array.from({ length: m * n }, rng(seed));

function matmul(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) c[i * n + j]! += a[i * k + p]! * b[p * n + j]!;
  return c;
}
const transpose = (a: ArrayLike<number>, m: number, n: number): Float64Array => Float64Array.from({ length: m * n }, (_, t) => a[(t % m) * n + Math.floor(t / m)]!);
const eye = (n: number): Float64Array => Float64Array.from({ length: n * n }, (_, t) => (t % (n + 1) === 0 ? 1 : 0));
const frob = (a: ArrayLike<number>): number => Math.sqrt(Array.from(a).reduce((s, v) => s + v * v, 0));
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/** m x k with orthonormal columns: Gram-Schmidt, twice, of a random matrix. */
function orthonormal(m: number, k: number, seed: number): Float64Array {
  const c = transpose(random(m, k, seed), m, k); // rows = columns
  for (let j = 0; j < k; j++) {
    for (let pass = 0; pass < 2; pass++)
      for (let p = 0; p < j; p++) {
        let d = 0;
        for (let i = 0; i < m; i++) d += c[p * m + i]! * c[j * m + i]!;
        for (let i = 0; i < m; i++) c[j * m + i]! -= d * c[p * m + i]!;
      }
    const nrm = frob(c.subarray(j * m, (j + 1) * m));
    for (let i = 0; i < m; i++) c[j * m + i]! /= nrm;
  }
  return transpose(c, k, m);
}
/** U diag(s) V^T with s = 1 .. 1e-12 spaced logarithmically: the singular values are known. */
const logspace = (k: number): Float64Array => Float64Array.from({ length: k }, (_, i) => 10 ** ((-12 * i) / Math.max(k - 1, 1)));
function illConditioned(m: number, n: number): Float64Array {
  const k = Math.min(m, n);
  const u = orthonormal(m, k, 11).map((v, t) => v * logspace(k)[t % k]!);
  return matmul(u, transpose(orthonormal(n, k, 12), n, k), m, k, n);
}
const hilbert = (n: number): Float64Array => Float64Array.from({ length: n * n }, (_, t) => 1 / (Math.floor(t / n) + (t % n) + 1));
/** Its last columns repeat its first: rank ceil(n / 2) (for m large enough). */
function duplicateColumns(m: number, n: number, seed: number): Float64Array {
  const a = random(m, n, seed);
  const h = Math.ceil(n / 2);
  for (let i = 0; i < m; i++) for (let j = h; j < n; j++) a[i * n + j] = a[i * n + j - h]!;
  return a;
}
const spd = (n: number, seed: number): Float64Array => {
  const g = random(n, n, seed);
  return matmul(g, transpose(g, n, n), n, n, n).map((v, t) => v + (t % (n + 1) === 0 ? n : 0));
};

interface Case {
  name: string;
  m: number;
  n: number;
  a: Float64Array;
  fullRank?: boolean;
}
const shapes: [number, number][] = [[1, 1], [7, 3], [3, 7], [50, 13], [13, 50], [40, 40]];
const CASES: Case[] = [
  ...shapes.map(([m, n], i): Case => ({ name: `random ${m}x${n}`, m, n, a: random(m, n, 100 + i), fullRank: true })),
  { name: 'empty 5x0', m: 5, n: 0, a: new Float64Array(0) },
  { name: 'empty 0x4', m: 0, n: 4, a: new Float64Array(0) },
  { name: 'zero 4x3', m: 4, n: 3, a: new Float64Array(12) },
  { name: 'duplicate columns 9x6', m: 9, n: 6, a: duplicateColumns(9, 6, 7) },
  { name: 'duplicate rows 6x9', m: 6, n: 9, a: transpose(duplicateColumns(9, 6, 8), 9, 6) },
  { name: 'duplicate columns 40x40', m: 40, n: 40, a: duplicateColumns(40, 40, 9) },
  { name: 'U diag(1..1e-12) V^T 20x12', m: 20, n: 12, a: illConditioned(20, 12) },
  { name: 'U diag(1..1e-12) V^T 12x20', m: 12, n: 20, a: illConditioned(12, 20) },
  { name: 'Hilbert 10x10', m: 10, n: 10, a: hilbert(10) },
];

/** Calls f on a copy-checked input: the input must come back unmodified. */
function untouched<T>(x: FloatMatrix, f: () => T): T {
  const before = x.slice();
  const out = f();
  expect(x).toEqual(before);
  return out;
}

function checkQr(d: Dense, dtype: Dtype, { m, n, a: a64 }: Case): FloatMatrix {
  const a = cast(dtype, a64);
  const A = Float64Array.from(a);
  const k = Math.min(m, n);
  const { q, r } = untouched(a, () => d.qr(m, n, a));
  expect(q).toBeInstanceOf(typeOf(dtype));
  expect(r).toBeInstanceOf(typeOf(dtype));
  expect([q.length, r.length]).toEqual([m * k, k * n]);
  for (let i = 0; i < k; i++) for (let j = 0; j < i; j++) expect(r[i * n + j]).toBe(0);
  expect(maxDiff(matmul(q, r, m, k, n), A)).toBeLessThanOrEqual(tol(dtype, Math.max(m, n), frob(A)));
  expect(maxDiff(matmul(transpose(q, m, k), q, k, m, k), eye(k))).toBeLessThanOrEqual(tol(dtype, m, 1));
  return r;
}

function checkSvd(d: Dense, dtype: Dtype, { m, n, a: a64 }: Case): FloatMatrix {
  const a = cast(dtype, a64);
  const A = Float64Array.from(a);
  const k = Math.min(m, n);
  const { u, s, vt } = untouched(a, () => d.svd(m, n, a));
  for (const x of [u, s, vt]) expect(x).toBeInstanceOf(typeOf(dtype));
  expect([u.length, s.length, vt.length]).toEqual([m * k, k, k * n]);
  for (let i = 0; i < k; i++) expect(s[i]).toBeGreaterThanOrEqual(i + 1 < k ? s[i + 1]! : 0);
  const us = Float64Array.from(u, (v, t) => v * s[t % k]!);
  expect(maxDiff(matmul(us, vt, m, k, n), A)).toBeLessThanOrEqual(tol(dtype, Math.max(m, n), frob(A)));
  expect(maxDiff(matmul(transpose(u, m, k), u, k, m, k), eye(k))).toBeLessThanOrEqual(tol(dtype, m, 1));
  expect(maxDiff(matmul(vt, transpose(vt, k, n), k, n, k), eye(k))).toBeLessThanOrEqual(tol(dtype, n, 1));
  return s;
}

function checkLu(d: Dense, dtype: Dtype, { m, n, a: a64 }: Case): { perm: Int32Array; singular: number } {
  const a = cast(dtype, a64);
  const A = Float64Array.from(a);
  const k = Math.min(m, n);
  const { lu, perm, singular } = untouched(a, () => d.lu(m, n, a));
  expect(lu).toBeInstanceOf(typeOf(dtype));
  expect(lu.length).toBe(m * n);
  expect([...perm].sort((x, y) => x - y)).toEqual(Array.from({ length: m }, (_, i) => i));
  const l = Float64Array.from({ length: m * k }, (_, t) => {
    const [i, j] = [Math.floor(t / k), t % k];
    return i === j ? 1 : i > j ? lu[i * n + j]! : 0;
  });
  const upper = Float64Array.from({ length: k * n }, (_, t) => (t % n >= Math.floor(t / n) ? lu[t]! : 0));
  for (const v of l) expect(Math.abs(v)).toBeLessThanOrEqual(1);
  const pa = Float64Array.from({ length: m * n }, (_, t) => A[perm[Math.floor(t / n)]! * n + (t % n)]!);
  expect(maxDiff(matmul(l, upper, m, k, n), pa)).toBeLessThanOrEqual(tol(dtype, Math.max(m, n), frob(A)));
  return { perm, singular };
}

const IMPLEMENTATIONS = denseImplementations();

describe.each(IMPLEMENTATIONS.map((d) => [d.name, d] as const))('%s dense kernels', (_, d) => {
  describe.each(DTYPES)('%s', (dtype) => {
    it.each(CASES.map((c) => [c.name, c] as const))('qr of %s: QR = A, Q^T Q = I, R upper', (_n, c) => {
      checkQr(d, dtype, c);
    });

    it.each(CASES.map((c) => [c.name, c] as const))('svd of %s: U diag(s) Vt = A, orthonormal U and Vt, s descending', (_n, c) => {
      checkSvd(d, dtype, c);
    });

    it('svd finds the known singular values of U diag(logspace) V^T and the rank of duplicated columns', () => {
      for (const c of CASES.filter((c) => c.name.startsWith('U diag'))) {
        const s = checkSvd(d, dtype, c);
        expect(maxDiff(s, logspace(12))).toBeLessThanOrEqual(tol(dtype, 20, 1));
      }
      const s = checkSvd(d, dtype, CASES.find((c) => c.name === 'duplicate columns 9x6')!);
      expect(s[2]).toBeGreaterThan(0.1);
      for (const v of s.subarray(3)) expect(v).toBeLessThanOrEqual(tol(dtype, 9, s[0]!));
    });

    it('cholesky: L L^T = A reading only the lower triangle, zeros above', () => {
      const mats: [number, Float64Array][] = [1, 3, 13, 40].map((n, i) => [n, spd(n, 200 + i)]);
      // Hilbert(10) (condition 1.6e13) is positive definite in float64 only.
      if (dtype === 'float64') mats.push([10, hilbert(10)]);
      for (const [n, a64] of mats) {
        const a = cast(dtype, a64.map((v, t) => (t % n > Math.floor(t / n) ? NaN : v)));
        const l = untouched(a, () => d.cholesky(n, a));
        if (typeof l === 'number') throw new Error(`cholesky of an SPD ${n}x${n} failed at minor ${l}`);
        expect(l).toBeInstanceOf(typeOf(dtype));
        for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) expect(l[i * n + j]).toBe(0);
        const A = Float64Array.from(cast(dtype, a64));
        expect(maxDiff(matmul(l, transpose(l, n, n), n, n, n), A)).toBeLessThanOrEqual(tol(dtype, n, frob(A)));
      }
    });

    it('cholesky gives the order of the first leading minor that is not positive definite', () => {
      expect(d.cholesky(2, cast(dtype, [1, 2, 2, 1]))).toBe(2);
      expect(d.cholesky(1, cast(dtype, [-1]))).toBe(1);
      expect(d.cholesky(1, cast(dtype, [0]))).toBe(1);
      expect(d.cholesky(3, cast(dtype, [4, 0, 0, 1, 1, 0, 0, 0, -1]))).toBe(3);
    });

    it.each(CASES.map((c) => [c.name, c] as const))('lu of %s: PA = LU, |L| <= 1', (_n, c) => {
      const { singular } = checkLu(d, dtype, c);
      if (c.fullRank) expect(singular).toBe(-1);
      if (c.name.startsWith('zero')) expect(singular).toBe(0);
    });

    it('lu reports the first exactly zero pivot, goes on past it, and takes the first of tied pivots', () => {
      expect(checkLu(d, dtype, { name: '', m: 2, n: 2, a: Float64Array.of(1, 2, 2, 4) })).toEqual({ perm: Int32Array.of(1, 0), singular: 1 });
      expect(checkLu(d, dtype, { name: '', m: 2, n: 2, a: Float64Array.of(0, 0, 0, 1) }).singular).toBe(0);
      expect(checkLu(d, dtype, { name: '', m: 3, n: 2, a: Float64Array.of(0, 1, 0, 5, 0, 2) }).singular).toBe(0);
      expect(checkLu(d, dtype, { name: '', m: 2, n: 2, a: Float64Array.of(1, 5, -1, 3) })).toEqual({ perm: Int32Array.of(0, 1), singular: -1 });
    });

    it('trsm solves all 16 flag combinations, reading only the named triangle', () => {
      const [m, n] = [6, 4];
      for (let flags = 0; flags < 16; flags++) {
        const [left, lower, trans, unit] = [1, 2, 4, 8].map((bit) => (flags & bit) !== 0) as [boolean, boolean, boolean, boolean];
        const size = left ? m : n;
        const g = rng(300 + flags);
        // The other triangle (and a unit diagonal) is NaN: reading it would show.
        const a64 = Float64Array.from({ length: size * size }, (_v, t) => {
          const [i, j] = [Math.floor(t / size), t % size];
          if (i === j) return unit ? NaN : 2 + g();
          return (lower ? i > j : i < j) ? g() / 2 : NaN;
        });
        // op(A) as it is meant: the triangle, transposed or not, with ones on a unit diagonal.
        const op = Float64Array.from({ length: size * size }, (_v, t) => {
          const [i, j] = trans ? [t % size, Math.floor(t / size)] : [Math.floor(t / size), t % size];
          return i === j ? (unit ? 1 : a64[t]!) : (lower ? i > j : i < j) ? a64[i * size + j]! : 0;
        });
        const a = cast(dtype, a64);
        const b0 = cast(dtype, random(m, n, 400 + flags));
        const x = b0.slice();
        untouched(a, () => d.trsm(left, lower, trans, unit, m, n, a, x));
        expect(x).toBeInstanceOf(typeOf(dtype));
        const back = left ? matmul(cast(dtype, op), x, m, m, n) : matmul(x, cast(dtype, op), m, n, n);
        expect(maxDiff(back, b0), `flags ${[left, lower, trans, unit]}`).toBeLessThanOrEqual(tol(dtype, size, frob(op) * frob(x)));
      }
      const empty = cast(dtype, []);
      d.trsm(true, true, false, false, 0, 3, empty, empty);
    });

    it('solve: A X = B, inputs untouched; undefined for a singular A', () => {
      for (const [n, nrhs] of [[1, 1], [7, 3], [40, 1], [13, 20]] as const) {
        const a = cast(dtype, random(n, n, 500 + n));
        const b = cast(dtype, random(n, nrhs, 600 + n));
        const x = untouched(a, () => untouched(b, () => d.solve(n, nrhs, a, b)));
        if (!x) throw new Error(`solve of a random ${n}x${n} found it singular`);
        expect(x).toBeInstanceOf(typeOf(dtype));
        // Backward error: small relative to |A| |X|, whatever A's condition.
        expect(maxDiff(matmul(a, x, n, n, nrhs), b)).toBeLessThanOrEqual(tol(dtype, n, frob(a) * frob(x)));
      }
      expect(d.solve(2, 1, cast(dtype, [1, 2, 2, 4]), cast(dtype, [1, 1]))).toBeUndefined();
      expect(d.solve(3, 2, cast(dtype, new Float64Array(9)), cast(dtype, new Float64Array(6)))).toBeUndefined();
    });

    it('subtractProduct: C -= A B', () => {
      for (const [m, n, k] of [[1, 1, 1], [7, 3, 5], [13, 50, 4], [40, 40, 40], [3, 4, 0], [0, 4, 3]] as const) {
        const a = cast(dtype, random(m, k, 700 + m));
        const b = cast(dtype, random(k, n, 800 + n));
        const c = cast(dtype, random(m, n, 900 + k));
        const want = matmul(a, b, m, k, n).map((v, t) => c[t]! - v);
        untouched(a, () => untouched(b, () => d.subtractProduct(m, n, k, a, b, c)));
        expect(c).toBeInstanceOf(typeOf(dtype));
        expect(maxDiff(c, want)).toBeLessThanOrEqual(tol(dtype, k, frob(a) * frob(b) + frob(want)));
        // The same with B given transposed (n x k).
        const bt = cast(dtype, Float64Array.from({ length: n * k }, (_, t) => b[(t % k) * n + Math.floor(t / k)]!));
        const c2 = cast(dtype, random(m, n, 900 + k));
        untouched(a, () => untouched(bt, () => d.subtractProduct(m, n, k, a, bt, c2, true)));
        expect(maxDiff(c2, want)).toBeLessThanOrEqual(tol(dtype, k, frob(a) * frob(b) + frob(want)));
      }
    });

    it('subtractGram: the lower triangle of C - A A^T, the upper left alone', () => {
      for (const [n, k] of [[1, 1], [7, 3], [13, 50], [40, 40], [3, 0], [0, 4]] as const) {
        const a = cast(dtype, random(n, k, 1000 + n));
        const c = cast(dtype, random(n, n, 1100 + k));
        const before = Float64Array.from(c);
        const gram = matmul(a, transpose(a, n, k), n, k, n);
        untouched(a, () => d.subtractGram(n, k, a, c));
        expect(c).toBeInstanceOf(typeOf(dtype));
        const lower = (x: ArrayLike<number>) => Array.from(x).filter((_, t) => t % n <= Math.floor(t / n));
        const upper = (x: ArrayLike<number>) => Array.from(x).filter((_, t) => t % n > Math.floor(t / n));
        const want = before.map((v, t) => v - gram[t]!);
        expect(maxDiff(lower(c), lower(want))).toBeLessThanOrEqual(tol(dtype, k, frob(a) ** 2 + frob(want)));
        expect(upper(c)).toEqual(upper(before));
      }
    });
  });
});

describe.skipIf(IMPLEMENTATIONS.length < 2)('LAPACK and the fall back agree', () => {
  const [lapack, fallback] = IMPLEMENTATIONS as [Dense, Dense];
  describe.each(DTYPES)('%s', (dtype) => {
    it.each(CASES.map((c) => [c.name, c] as const))('singular values of %s', (_n, c) => {
      const s = checkSvd(lapack, dtype, c);
      expect(maxDiff(s, checkSvd(fallback, dtype, c))).toBeLessThanOrEqual(tol(dtype, Math.max(c.m, c.n), frob(c.a)));
    });

    it.each(CASES.filter((c) => c.fullRank).map((c) => [c.name, c] as const))('|R| of %s (R up to the signs of its rows)', (_n, c) => {
      const r = checkQr(lapack, dtype, c).map(Math.abs);
      expect(maxDiff(r, checkQr(fallback, dtype, c).map(Math.abs))).toBeLessThanOrEqual(tol(dtype, Math.max(c.m, c.n), frob(c.a)));
    });
  });
});
