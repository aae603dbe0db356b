import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { blasKernels, blasUnavailable, type BlasKernels, type FloatMatrix } from './native.js';

// Where pkg-config finds OpenBLAS and LAPACKE (as .ci/run installs them), the addon must have been built.
const installed = spawnSync('pkg-config', ['--exists', 'openblas', 'lapacke']).status === 0;
const off = process.env.TESSERA_NATIVE === '0' || process.env.TESSERA_BLAS === '0';

let seed = 3;
const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 4 - 2;
const random = (n: number): Float64Array => Float64Array.from({ length: n }, rnd);

/** Row-major (m x k) * (k x n). */
function matmul(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let q = 0; q < k; q++) for (let j = 0; j < n; j++) c[i * n + j]! += a[i * k + q]! * b[q * n + j]!;
  return c;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

const transpose = (a: ArrayLike<number>, m: number, n: number): Float64Array => Float64Array.from({ length: m * n }, (_, t) => a[(t % m) * n + Math.floor(t / m)]!);

describe('OpenBLAS addon', () => {
  it('is built where OpenBLAS and LAPACKE are installed, and loaded', () => {
    if (off) return expect(blasUnavailable()).toMatch(/turned off/);
    if (!installed) return expect(blasUnavailable()).toMatch(/not built/);
    expect(blasUnavailable()).toBeUndefined();
    expect(blasKernels()!.config).toMatch(/OpenBLAS/);
    expect(blasKernels()!.maxThreads).toBeGreaterThanOrEqual(1);
  });

  const blas = blasKernels();
  if (!blas) return;
  const b: BlasKernels = blas;

  it('gemm adds A*B into C for strided, transposed, single-row and copied views of every dtype', () => {
    for (const [M, N, K] of [[1, 1, 1], [7, 17, 5], [1, 9, 4], [6, 1, 3], [33, 65, 129]] as const) {
      const A64 = random(M * K), B64 = random(K * N);
      const want = matmul(A64, B64, M, K, N).map((v) => v + 1);
      // A row-major, column-major, and with a row stride of 2K (every other row of a bigger array); B as given.
      const layouts: [Float64Array | Float32Array | Int32Array, number, number][] = [
        [A64, K, 1],
        [transpose(A64, M, K), 1, M],
        [Float64Array.from({ length: 2 * M * K }, (_, t) => (t % (2 * K) < K ? A64[Math.floor(t / (2 * K)) * K + (t % (2 * K))]! : NaN)), 2 * K, 1],
        [Float64Array.from({ length: M * K * 2 }, (_, t) => (t % 2 === 0 ? A64[t / 2]! : NaN)), 2 * K, 2], // no unit stride: copied
      ];
      for (const [A, aRs, aCs] of layouts) {
        const C = new Float64Array(M * N).fill(1);
        b.gemm(M, N, K, A, 0, aRs, aCs, B64, 0, N, 1, C, 0, N);
        expect(maxDiff(C, want)).toBeLessThan(1e-12);
      }
      // Integer operands are converted to doubles (exact), float32 into a float32 C is sgemm.
      const Ai = Int32Array.from(A64, (v) => Math.round(v * 10)), Bi = Int32Array.from(B64, (v) => Math.round(v * 10));
      const Ci = new Float64Array(M * N);
      b.gemm(M, N, K, Ai, 0, K, 1, Bi, 0, N, 1, Ci, 0, N);
      expect([...Ci]).toEqual([...matmul(Ai, Bi, M, K, N)]);
      const A32 = Float32Array.from(A64), B32 = Float32Array.from(B64), C32 = new Float32Array(M * N);
      b.gemm(M, N, K, A32, 0, K, 1, B32, 0, 1 * N, 1, C32, 0, N);
      expect(maxDiff(C32, matmul(A32, B32, M, K, N))).toBeLessThan(K * 4 * 2 ** -20);
    }
  });

  it('gives the same answers with one thread and with the auto policy, from concurrent calls', async () => {
    const n = 300, A = random(n * n), B = random(n * n);
    const want = new Float64Array(n * n);
    b.setThreads(1, false);
    b.gemm(n, n, n, A, 0, n, 1, B, 0, n, 1, want, 0, n);
    b.setThreads(b.maxThreads, true);
    const got = await Promise.all(
      [0, 1, 2, 3].map(async () => {
        await Promise.resolve();
        const C = new Float64Array(n * n);
        b.gemm(n, n, n, A, 0, n, 1, B, 0, n, 1, C, 0, n);
        return C;
      }),
    );
    for (const C of got) expect(maxDiff(C, want)).toBeLessThan(1e-11);
    expect(() => b.setThreads(0, true)).toThrow(TypeError);
  });

  it('gemm rejects views past their arrays, mixed float32 C and wrong types with a TypeError', () => {
    const a = new Float64Array(6), c = new Float64Array(4);
    expect(() => b.gemm(2, 2, 4, a, 0, 3, 1, a, 0, 2, 1, c, 0, 2)).toThrow(/A's view reaches past/);
    expect(() => b.gemm(2, 2, 3, a, 0, 3, 1, a, 1, 2, 1, c, 0, 2)).toThrow(/B's view reaches past/);
    expect(() => b.gemm(2, 2, 3, a, 0, 3, 1, a, 0, 2, 1, c, 1, 2)).toThrow(/C's view reaches past/);
    expect(() => b.gemm(2, 2, 3, a, 0, 3, 1, a, 0, 2, 1, new Float32Array(4), 0, 2)).toThrow(/Float32Array C takes Float32Array A and B/);
    expect(() => b.gemm(2, 2, 3, new Int16Array(6) as never, 0, 3, 1, a, 0, 2, 1, c, 0, 2)).toThrow(TypeError);
  });

  for (const Ctor of [Float64Array, Float32Array]) {
    const tol = Ctor === Float64Array ? 1e-10 : 1e-3;
    const of = (x: ArrayLike<number>): FloatMatrix => Ctor.from(x);

    it(`${Ctor.name}: geqrf + orgqr give Q with orthonormal columns and an upper R, QR = A (tall, wide, square)`, () => {
      for (const [m, n] of [[9, 4], [4, 9], [5, 5], [1, 3]] as const) {
        const A = random(m * n), QR = of(A), k = Math.min(m, n), tau = new Ctor(k);
        expect(b.geqrf(m, n, QR, tau)).toBe(0);
        const R = Float64Array.from({ length: k * n }, (_, t) => (Math.floor(t / n) <= t % n ? QR[t]! : 0));
        // Q: m x k from the first k columns of the reflectors.
        const Q = of(Float64Array.from({ length: m * k }, (_, t) => QR[Math.floor(t / k) * n + (t % k)]!));
        expect(b.orgqr(m, k, k, Q, tau)).toBe(0);
        expect(maxDiff(matmul(Q, R, m, k, n), A)).toBeLessThan(tol);
        expect(maxDiff(matmul(transpose(Q, m, k), Q, k, m, k), Float64Array.from({ length: k * k }, (_, t) => (t % (k + 1) === 0 ? 1 : 0)))).toBeLessThan(tol);
      }
    });

    it(`${Ctor.name}: gesdd's thin SVD reconstructs A, singular values descending; without vectors the same values`, () => {
      for (const [m, n] of [[7, 3], [3, 7], [4, 4]] as const) {
        const A = random(m * n), r = Math.min(m, n);
        const S = new Ctor(r), U = new Ctor(m * r), VT = new Ctor(r * n);
        expect(b.gesdd(m, n, of(A), S, U, VT, true)).toBe(0);
        const US = Float64Array.from(U, (v, t) => v * S[t % r]!);
        expect(maxDiff(matmul(US, VT, m, r, n), A)).toBeLessThan(tol);
        for (let i = 1; i < r; i++) expect(S[i]!).toBeLessThanOrEqual(S[i - 1]!);
        const S2 = new Ctor(r);
        expect(b.gesdd(m, n, of(A), S2, new Ctor(0), new Ctor(0), false)).toBe(0);
        expect(maxDiff(S2, S)).toBeLessThan(tol);
      }
    });

    it(`${Ctor.name}: getrf's PA = LU, gesv solves, potrf's L L^T = A, trsm solves against a triangle`, () => {
      const n = 6, A = random(n * n);
      const LU = of(A), ipiv = new Int32Array(n);
      expect(b.getrf(n, n, LU, ipiv)).toBe(0);
      const L = Float64Array.from({ length: n * n }, (_, t) => (Math.floor(t / n) > t % n ? LU[t]! : Math.floor(t / n) === t % n ? 1 : 0));
      const U = Float64Array.from({ length: n * n }, (_, t) => (Math.floor(t / n) <= t % n ? LU[t]! : 0));
      const PA = Float64Array.from(A);
      for (let i = 0; i < n; i++) {
        const p = ipiv[i]! - 1; // LAPACK's pivots are 1-based row swaps, applied in order
        for (let j = 0; j < n; j++) [PA[i * n + j], PA[p * n + j]] = [PA[p * n + j]!, PA[i * n + j]!];
      }
      expect(maxDiff(matmul(L, U, n, n, n), PA)).toBeLessThan(tol);

      const X = random(n * 2), B = matmul(A, X, n, n, 2), sol = of(B);
      expect(b.gesv(n, 2, of(A), new Int32Array(n), sol)).toBe(0);
      expect(maxDiff(sol, X)).toBeLessThan(tol * 100);

      // A symmetric positive definite matrix: M M^T + n I.
      const SPD = matmul(A, transpose(A, n, n), n, n, n).map((v, t) => (t % (n + 1) === 0 ? v + n : v));
      const Lc = of(SPD);
      expect(b.potrf(true, n, Lc)).toBe(0);
      const Ll = Float64Array.from(Lc, (v, t) => (Math.floor(t / n) >= t % n ? v : 0));
      expect(maxDiff(matmul(Ll, transpose(Ll, n, n), n, n, n), SPD)).toBeLessThan(tol * 10);
      const Y = of(matmul(Ll, X, n, n, 2));
      b.trsm(true, true, false, false, n, 2, 1, of(Ll), Y);
      expect(maxDiff(Y, X)).toBeLessThan(tol * 10);
      // Not positive definite: info > 0 names the leading minor that failed.
      expect(b.potrf(true, 2, of([1, 2, 2, 1]))).toBe(2);
      // A singular matrix: getrf's info is the first zero pivot (1-based).
      expect(b.getrf(2, 2, of([1, 2, 2, 4]), new Int32Array(2))).toBe(2);
    });
  }

  it('LAPACK calls reject short arrays, mixed types and bad sizes with a TypeError', () => {
    expect(() => b.geqrf(3, 3, new Float64Array(8), new Float64Array(3))).toThrow(/geqrf was given an array shorter/);
    expect(() => b.geqrf(3, 3, new Float64Array(9), new Float32Array(3))).toThrow(/geqrf takes arrays of one type/);
    expect(() => b.getrf(2, 2, new Float64Array(4), new Float64Array(2) as never)).toThrow(/Int32Array/);
    expect(() => b.potrf(true, -1, new Float64Array(4))).toThrow(/sizes that are integers/);
    expect(() => b.orgqr(2, 3, 2, new Float64Array(6), new Float64Array(2))).toThrow(/m >= n >= k/);
    expect(() => b.trsm(true, true, false, false, 2, 2, 1, new Float64Array(3), new Float64Array(4))).toThrow(/trsm was given an array shorter/);
  });
});
