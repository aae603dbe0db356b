// numpy (and scipy, for lu and solve_triangular) is the oracle for ta.linalg: QR and SVD by TSQR
// (row blocks narrower than the matrix among them) and on short-and-fat arrays, the randomised
// SVD, blocked Cholesky and triangular solves, solve, inv, lu, det, slogdet, lstsq and norms, on
// float64, float32 and int32 inputs, odd shapes and chunkings, an ill-conditioned matrix, on the
// local engine, a cluster, and a cluster whose workers run the fall back instead of LAPACK.
import { describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';
import type { Dtype } from '@tessera/protocol';
import { engineClient } from './cluster.test-util.js';
import { numpyAnswers, typedFrom, unwire, wireArray, type NumpyCall, type WireArray } from './numpy-oracle.test-util.js';

type Mat = { shape: number[]; data: number[] };
/** Puts our results and numpy's in one form where they are unique only up to signs. */
type Canon = (xs: Mat[]) => Mat[];

interface Case {
  label: string;
  np: NumpyCall;
  build: () => ta.ChunkedArray[];
  canon?: Canon;
  /** Which of numpy's results to compare (default all). */
  pick?: (xs: Mat[]) => Mat[];
  dtype: Dtype;
}

let seed = 7;
const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;

function input(dtype: Dtype, shape: [number, number] | [number], chunks: number[] | number[][], data?: number[]) {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = data ?? Array.from({ length: n }, () => (dtype === 'int32' ? Math.round(rnd() * 9) : rnd()));
  const cast = dtype === 'float32' ? d.map(Math.fround) : d;
  return { ours: ta.fromArray(typedFrom(dtype, cast), { shape, chunks, dtype }), theirs: wireArray(dtype, cast, shape), data: cast };
}

/** B B^T + n I: symmetric positive definite (integers for int32). */
function spd(n: number, dtype: Dtype): number[] {
  const b = Array.from({ length: n * n }, () => Math.round(rnd() * 4));
  return Array.from({ length: n * n }, (_, t) => {
    const [i, j] = [Math.floor(t / n), t % n];
    let s = i === j ? n : 0;
    for (let k = 0; k < n; k++) s += b[i * n + k]! * b[j * n + k]!;
    return dtype === 'float32' ? Math.fround(s) : s;
  });
}

const at = (x: Mat, i: number, j: number): number => x.data[i * x.shape[1]! + j]!;

/** Q's columns and R's rows signed so that R's diagonal is >= 0. */
const qrCanon: Canon = ([q, r]) => {
  const k = q!.shape[1]!;
  const n = r!.shape[1]!;
  const s = Array.from({ length: k }, (_, i) => (at(r!, i, i) < 0 ? -1 : 1));
  return [
    { shape: q!.shape, data: q!.data.map((v, t) => v * s[t % k]!) },
    { shape: r!.shape, data: r!.data.map((v, t) => v * s[Math.floor(t / n)]!) },
  ];
};

/** U's columns signed so that each one's largest entry is positive, Vt's rows with them. */
const svdCanon: Canon = ([u, s, vt]) => {
  const [m, k] = u!.shape as [number, number];
  const n = vt!.shape[1]!;
  const sg = Array.from({ length: k }, (_, j) => {
    let best = 0;
    for (let i = 0; i < m; i++) if (Math.abs(at(u!, i, j)) > Math.abs(best)) best = at(u!, i, j);
    return best < 0 ? -1 : 1;
  });
  return [{ shape: u!.shape, data: u!.data.map((v, t) => v * sg[t % k]!) }, s!, { shape: vt!.shape, data: vt!.data.map((v, t) => v * sg[Math.floor(t / n)]!) }];
};

/** numpy's ord: infinities as 0-d float arrays (JSON has no infinity). */
const npOrd = (ord: number | string): unknown => (typeof ord === 'number' && !Number.isFinite(ord) ? wireArray('float64', [ord], []) : ord);

function cases(): Case[] {
  const out: Case[] = [];
  for (const dtype of ['float64', 'float32', 'int32'] as Dtype[]) {
    const add = (label: string, np: NumpyCall, build: () => ta.ChunkedArray[], more: Partial<Case> = {}) => out.push({ label: `${label} (${dtype})`, np, build, dtype, ...more });
    // Row blocks of 4 and 2 rows are narrower than the 5 columns: their Q and R are 4 x 4 and 2 x 5.
    const tall = input(dtype, [23, 5], [[4, 9, 2, 8], [5]]);
    const wide = input(dtype, [4, 17], [[4], [3, 7, 7]]);
    add('qr tall', { fn: 'linalg.qr', args: [tall.theirs] }, () => ta.linalg.qr(tall.ours), { canon: qrCanon });
    add('qr short-and-fat', { fn: 'linalg.qr', args: [wide.theirs] }, () => ta.linalg.qr(wide.ours), { canon: qrCanon });
    add('svd tall', { fn: 'linalg.svd', args: [tall.theirs], kwargs: { full_matrices: false } }, () => ta.linalg.svd(tall.ours), { canon: svdCanon });
    const wide2 = input(dtype, [5, 19], [5, 6]);
    add('svd short-and-fat', { fn: 'linalg.svd', args: [wide2.theirs], kwargs: { full_matrices: false } }, () => ta.linalg.svd(wide2.ours), { canon: svdCanon });

    const n = 13;
    const a = input(dtype, [n, n], [4, 4], spd(n, dtype));
    const a2 = input(dtype, [n, n], [[5, 8], [13]], a.data);
    add('cholesky', { fn: 'linalg.cholesky', args: [a.theirs] }, () => [ta.linalg.cholesky(a.ours)]);
    add('cholesky of other column chunks', { fn: 'linalg.cholesky', args: [a2.theirs] }, () => [ta.linalg.cholesky(a2.ours)]);
    const b = input(dtype, [n, 3], [[6, 7], [2, 1]]);
    const v = input(dtype, [n], [[5, 8]]);
    for (const lower of [true, false]) {
      add(`solveTriangular lower ${lower}`, { fn: 'scipy.linalg.solve_triangular', args: [a.theirs, b.theirs], kwargs: { lower } }, () => [ta.linalg.solveTriangular(a.ours, b.ours, { lower })]);
      add(`solveTriangular vector, unit diagonal, lower ${lower}`, { fn: 'scipy.linalg.solve_triangular', args: [a.theirs, v.theirs], kwargs: { lower, unit_diagonal: true } }, () => [
        ta.linalg.solveTriangular(a.ours, v.ours, { lower, unitDiagonal: true }),
      ]);
    }
    add('solve', { fn: 'linalg.solve', args: [a.theirs, b.theirs] }, () => [ta.linalg.solve(a.ours, b.ours)]);
    add('solve vector', { fn: 'linalg.solve', args: [a.theirs, v.theirs] }, () => [ta.linalg.solve(a.ours, v.ours)]);
    add('solve assumeA pos', { fn: 'linalg.solve', args: [a.theirs, b.theirs] }, () => [ta.linalg.solve(a.ours, b.ours, { assumeA: 'pos' })]);
    add('inv', { fn: 'linalg.inv', args: [a.theirs] }, () => [ta.linalg.inv(a.ours)]);
    const g = input(dtype, [7, 7], [3, 3]);
    add('det', { fn: 'linalg.det', args: [g.theirs] }, () => [ta.linalg.det(g.ours)]);
    add('slogdet', { fn: 'linalg.slogdet', args: [g.theirs] }, () => ta.linalg.slogdet(g.ours));
    add('lu square', { fn: 'scipy.linalg.lu', args: [g.theirs] }, () => ta.linalg.lu(g.ours));
    add('lu wide', { fn: 'scipy.linalg.lu', args: [wide.theirs] }, () => ta.linalg.lu(wide.ours));
    add('lu tall', { fn: 'scipy.linalg.lu', args: [tall.theirs] }, () => ta.linalg.lu(tall.ours));

    const y = input(dtype, [23], [[4, 9, 2, 8]]);
    const ys = input(dtype, [23, 2], [[10, 13], [1, 1]]);
    add('lstsq', { fn: 'linalg.lstsq', args: [tall.theirs, y.theirs], kwargs: { rcond: null } }, () => ta.linalg.lstsq(tall.ours, y.ours));
    add('lstsq of two columns', { fn: 'linalg.lstsq', args: [tall.theirs, ys.theirs], kwargs: { rcond: null } }, () => ta.linalg.lstsq(tall.ours, ys.ours));

    const x = input(dtype, [9, 7], [4, 3]);
    for (const ord of [undefined, 'fro', 'nuc', 1, -1, 2, -2, Infinity, -Infinity] as const) {
      const kw = ord === undefined ? {} : { ord: npOrd(ord) };
      add(`norm matrix ord ${ord}`, { fn: 'linalg.norm', args: [x.theirs], kwargs: kw }, () => [ta.linalg.norm(x.ours, ord === undefined ? {} : { ord })]);
    }
    for (const ord of [undefined, 0, 1, 2, 3, 0.5, Infinity, -Infinity] as const) {
      const kw = { axis: 1, ...(ord !== undefined && { ord: npOrd(ord) }) };
      add(`norm vectors ord ${ord}`, { fn: 'linalg.norm', args: [x.theirs], kwargs: kw }, () => [ta.linalg.norm(x.ours, { axis: 1, ...(ord !== undefined && { ord }) })]);
    }
    add('norm keepdims', { fn: 'linalg.norm', args: [x.theirs], kwargs: { axis: 0, keepdims: true } }, () => [ta.linalg.norm(x.ours, { axis: 0, keepdims: true })]);
  }
  // An ill-conditioned tall matrix (Hilbert, 30 x 8: condition number ~1e10): R and the singular values.
  const hilbert = Array.from({ length: 240 }, (_, t) => 1 / (Math.floor(t / 8) + (t % 8) + 1));
  const h = input('float64', [30, 8], [[7, 7, 7, 9], [8]], hilbert);
  out.push({ label: 'qr of a Hilbert matrix: |R|', np: { fn: 'linalg.qr', args: [h.theirs], kwargs: { mode: 'r' } }, build: () => [ta.linalg.qr(h.ours)[1]], dtype: 'float64', canon: ([r]) => [{ shape: r!.shape, data: r!.data.map(Math.abs) }] });
  out.push({ label: 'svd of a Hilbert matrix: S', np: { fn: 'linalg.svd', args: [h.theirs], kwargs: { compute_uv: false } }, build: () => [ta.linalg.svd(h.ours)[1]], dtype: 'float64' });
  // A rank-5 matrix in 3 x 3 blocks: the randomised SVD finds its singular values.
  const f1 = Array.from({ length: 60 * 5 }, rnd);
  const f2 = Array.from({ length: 5 * 40 }, rnd);
  const low = Array.from({ length: 60 * 40 }, (_, t) => {
    let s = 0;
    for (let k = 0; k < 5; k++) s += f1[Math.floor(t / 40) * 5 + k]! * f2[k * 40 + (t % 40)]!;
    return s;
  });
  const lr = input('float64', [60, 40], [20, 14], low);
  out.push({
    label: 'svdCompressed of a rank-5 matrix: S',
    np: { fn: 'linalg.svd', args: [lr.theirs], kwargs: { compute_uv: false } },
    build: () => [ta.linalg.svdCompressed(lr.ours, 5, { nPowerIter: 1, seed: 3 })[1]],
    dtype: 'float64',
    pick: ([s]) => [{ shape: [5], data: s!.data.slice(0, 5) }],
  });
  return out;
}

const toMat = (x: ta.NDArray | number): Mat => (typeof x === 'number' ? { shape: [], data: [x] } : { shape: x.shape, data: Array.from(x.data as ArrayLike<number>, Number) });
const fromWire = (w: WireArray): Mat => ({ shape: w.shape, data: w.data.map(unwire) });

/** Normwise: every element within tol of numpy's, relative to the largest of numpy's. */
function close(label: string, got: Mat, want: Mat, tol: number): void {
  expect(got.shape, `${label}: shape`).toEqual(want.shape);
  const scale = Math.max(1e-300, ...want.data.map((v) => (Number.isFinite(v) ? Math.abs(v) : 0)));
  want.data.forEach((w, i) => {
    const g = got.data[i]!;
    const ok = Number.isFinite(w) ? Math.abs(g - w) <= tol * scale : Object.is(g, w);
    if (!ok) expect.fail(`${label}: element ${i}: got ${g}, numpy ${w} (tolerance ${tol * scale})`);
  });
}

const CASES = cases();
const numpy = numpyAnswers(CASES.map((c) => c.np));

describe.each([
  ['local', {}],
  ['cluster', {}],
  ['cluster', { TESSERA_BLAS: '0' }],
] as const)('numpy linear algebra on the %s engine %j', (engine, env) => {
  const e = engineClient(engine, Object.keys(env).length ? { env } : {});

  it(`${CASES.length} cases match numpy and scipy`, { timeout: 240_000 }, async () => {
    const built = CASES.map((c) => c.build());
    const got = (await e.client.compute(built.flat())) as (ta.NDArray | number)[];
    let k = 0;
    CASES.forEach((c, i) => {
      const want = numpy.answers[i]!;
      if ('error' in want) expect.fail(`${c.label}: numpy refused: ${want.error}`);
      let theirs = ('list' in want ? want.list : [want]).map(fromWire);
      let ours = built[i]!.map((_, j) => toMat(got[k + j]!));
      k += built[i]!.length;
      if (c.pick) theirs = c.pick(theirs);
      if (c.canon) [theirs, ours] = [c.canon(theirs), c.canon(ours)];
      expect(ours.length, `${c.label}: number of results`).toBe(theirs.length);
      const tol = c.dtype === 'float32' ? 2e-4 : 1e-9;
      theirs.forEach((w, j) => close(`${c.label}[${j}]`, ours[j]!, w, tol));
    });
  });

  it('says what was wrong: a matrix that is not positive definite, a chunking QR cannot take', async () => {
    const indefinite = ta.fromArray(new Float64Array([1, 2, 2, 1]), { shape: [2, 2] });
    await expect(e.client.compute(ta.linalg.cholesky(indefinite))).rejects.toThrow(/not positive definite/);
    const singular = ta.fromArray(new Float64Array([1, 2, 2, 4]), { shape: [2, 2] });
    await expect(e.client.compute(ta.linalg.solve(singular, ta.ones([2])))).rejects.toThrow(/singular/);
    expect(() => ta.linalg.qr(ta.ones([10, 10], { chunks: [5, 5] }))).toThrow(/one block of columns/);
    expect(() => ta.linalg.cholesky(ta.ones([3, 4]))).toThrow(/must be square/);
    expect(() => ta.linalg.svdCompressed(ta.ones([10, 4]), 5)).toThrow(/k must be an integer in \[1, 4\]/);
  });
});
