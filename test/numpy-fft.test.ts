// numpy.fft and complex arrays against numpy: every transform (1-d, 2-d, n-d, real and inverse,
// cut and padded lengths, each norm) over odd lengths and chunkings (axes split over blocks, so
// the rechunk and the axis-by-axis path run), every real dtype and both complex ones; the
// frequencies and shifts; and the functions and arithmetic of complex arrays, through the local
// engine and a cluster (where the fall back FFT runs too, TESSERA_FFTW=0).
import { describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';
import { validateGraph, type Dtype } from '@tessera/protocol';
import { engineClient } from './cluster.test-util.js';
import { expectMatch, numpyAnswers, typedFrom, values, wire, wireArray, type NumpyCall, type WireArray } from './numpy-oracle.test-util.js';

interface Case {
  label: string;
  np: NumpyCall;
  build: () => ta.ChunkedArray;
  /** Our dtype where numpy 1.24's differs (it gives complex128 for float32 input; numpy 2 and Tessera keep complex64). */
  as?: Dtype;
  /** Tolerance relative to the answer's largest magnitude (FFT errors scale with it). */
  tol?: number;
}

const REAL: Dtype[] = ['float64', 'float32', 'int64', 'int32', 'uint8', 'bool'];

function real(dtype: Dtype, shape: number[], chunks: number[] | number[][], salt = 0) {
  const n = shape.reduce((a, b) => a * b, 1);
  const base = values(dtype, salt).filter((v) => Number.isFinite(v) && Math.abs(v) < 1e4);
  const data = Array.from({ length: n }, (_, i) => base[(i * 7 + salt) % base.length]!);
  return { ours: ta.fromArray(typedFrom(dtype, data), { shape, chunks, dtype }), theirs: wireArray(dtype, data, shape) };
}

function cplx(dtype: 'complex128' | 'complex64', shape: number[], chunks: number[] | number[][], salt = 0) {
  const n = shape.reduce((a, b) => a * b, 1);
  const f = dtype === 'complex64' ? Math.fround : (v: number) => v;
  const data = Array.from({ length: 2 * n }, (_, i) => f(Math.round(Math.sin(i * 1.7 + salt) * 1e6) / 1e5));
  const Ctor = dtype === 'complex64' ? Float32Array : Float64Array;
  return { ours: ta.fromArray(Ctor.from(data), { shape, chunks, dtype }), theirs: { dtype, shape, data: data.map(wire) } as WireArray };
}

const tolOf = (d: Dtype): number => (d === 'float32' || d === 'complex64' ? 3e-6 : 1e-13);
const cOf = (d: Dtype): Dtype => (d === 'float32' || d === 'complex64' ? 'complex64' : 'complex128');

function cases(): Case[] {
  const out: Case[] = [];
  const add = (label: string, np: NumpyCall, build: () => ta.ChunkedArray, more: Partial<Case> = {}) => out.push({ label, np, build, ...more });

  // 1-d transforms of every dtype, lengths that are prime, even and odd, the axis split over blocks.
  for (const dtype of [...REAL, 'complex128', 'complex64'] as Dtype[]) {
    const x = dtype.startsWith('complex') ? cplx(dtype as 'complex128', [4, 13], [[3, 1], [5, 8]]) : real(dtype, [4, 13], [[3, 1], [5, 8]]);
    const c = cOf(dtype), tol = tolOf(dtype);
    const re = !dtype.startsWith('complex');
    add(`fft (${dtype})`, { fn: 'fft.fft', args: [x.theirs] }, () => ta.fft.fft(x.ours), { as: c, tol });
    add(`ifft axis 0 (${dtype})`, { fn: 'fft.ifft', args: [x.theirs], kwargs: { axis: 0 } }, () => ta.fft.ifft(x.ours, { axis: 0 }), { as: c, tol });
    add(`fft n=20 padded, ortho (${dtype})`, { fn: 'fft.fft', args: [x.theirs], kwargs: { n: 20, norm: 'ortho' } }, () => ta.fft.fft(x.ours, { n: 20, norm: 'ortho' }), { as: c, tol });
    add(`ifft n=6 cut, forward (${dtype})`, { fn: 'fft.ifft', args: [x.theirs], kwargs: { n: 6, norm: 'forward' } }, () => ta.fft.ifft(x.ours, { n: 6, norm: 'forward' }), { as: c, tol });
    add(`fft2 (${dtype})`, { fn: 'fft.fft2', args: [x.theirs] }, () => ta.fft.fft2(x.ours), { as: c, tol });
    add(`ifftn s=[5, 16] (${dtype})`, { fn: 'fft.ifftn', args: [x.theirs], kwargs: { s: [5, 16] } }, () => ta.fft.ifftn(x.ours, { s: [5, 16] }), { as: c, tol });
    if (re && dtype !== 'bool') {
      add(`rfft (${dtype})`, { fn: 'fft.rfft', args: [x.theirs] }, () => ta.fft.rfft(x.ours), { as: c, tol });
      add(`rfft n=8 axis 0 (${dtype})`, { fn: 'fft.rfft', args: [x.theirs], kwargs: { n: 8, axis: 0 } }, () => ta.fft.rfft(x.ours, { n: 8, axis: 0 }), { as: c, tol });
      add(`rfft2 (${dtype})`, { fn: 'fft.rfft2', args: [x.theirs] }, () => ta.fft.rfft2(x.ours), { as: c, tol });
    }
    if (dtype !== 'bool') {
      const r = dtype === 'float32' || dtype === 'complex64' ? 'float32' : 'float64';
      add(`irfft (${dtype})`, { fn: 'fft.irfft', args: [x.theirs] }, () => ta.fft.irfft(x.ours), { as: r, tol });
      add(`irfft n=13 ortho (${dtype})`, { fn: 'fft.irfft', args: [x.theirs], kwargs: { n: 13, norm: 'ortho' } }, () => ta.fft.irfft(x.ours, { n: 13, norm: 'ortho' }), { as: r, tol });
      add(`irfft2 (${dtype})`, { fn: 'fft.irfft2', args: [x.theirs] }, () => ta.fft.irfft2(x.ours), { as: r, tol });
    }
  }

  // n-d: three axes over odd blocks, subsets of axes, s that cuts and pads; lengths of 1.
  for (const dtype of ['float64', 'complex128', 'complex64'] as Dtype[]) {
    const shape = [5, 6, 7];
    const chunks = [[2, 3], [4, 2], [3, 3, 1]];
    const x = dtype.startsWith('complex') ? cplx(dtype as 'complex128', shape, chunks, 2) : real(dtype, shape, chunks, 2);
    const c = cOf(dtype), tol = tolOf(dtype);
    add(`fftn (${dtype})`, { fn: 'fft.fftn', args: [x.theirs] }, () => ta.fft.fftn(x.ours), { as: c, tol });
    add(`fftn axes [0, 2] (${dtype})`, { fn: 'fft.fftn', args: [x.theirs], kwargs: { axes: [0, 2] } }, () => ta.fft.fftn(x.ours, { axes: [0, 2] }), { as: c, tol });
    add(`ifftn s axes, ortho (${dtype})`, { fn: 'fft.ifftn', args: [x.theirs], kwargs: { s: [3, 9], axes: [2, 0], norm: 'ortho' } }, () => ta.fft.ifftn(x.ours, { s: [3, 9], axes: [2, 0], norm: 'ortho' }), { as: c, tol });
    add(`fft2 axes [0, 1] (${dtype})`, { fn: 'fft.fft2', args: [x.theirs], kwargs: { axes: [0, 1] } }, () => ta.fft.fft2(x.ours, { axes: [0, 1] }), { as: c, tol });
    add(`irfftn (${dtype})`, { fn: 'fft.irfftn', args: [x.theirs] }, () => ta.fft.irfftn(x.ours), { as: c === 'complex64' ? 'float32' : 'float64', tol });
    add(`irfftn s=[4, 11] (${dtype})`, { fn: 'fft.irfftn', args: [x.theirs], kwargs: { s: [4, 11] } }, () => ta.fft.irfftn(x.ours, { s: [4, 11] }), { as: c === 'complex64' ? 'float32' : 'float64', tol });
    if (dtype === 'float64') {
      add('rfftn', { fn: 'fft.rfftn', args: [x.theirs] }, () => ta.fft.rfftn(x.ours), { tol });
      add('rfftn axes [1, 0], s', { fn: 'fft.rfftn', args: [x.theirs], kwargs: { axes: [1, 0], s: [8, 3] } }, () => ta.fft.rfftn(x.ours, { axes: [1, 0], s: [8, 3] }), { tol });
    }
  }
  const one = real('float64', [1], [1]);
  add('fft of one point', { fn: 'fft.fft', args: [one.theirs] }, () => ta.fft.fft(one.ours), { tol: 1e-15 });
  add('irfft of one point to n=1', { fn: 'fft.irfft', args: [one.theirs], kwargs: { n: 1 } }, () => ta.fft.irfft(one.ours, { n: 1 }), { tol: 1e-15 });
  // Lengths past one block of the lanes, primes and powers of two (Bluestein and radix 2).
  for (const n of [97, 128, 243, 1000]) {
    const x = real('float64', [3, n], [2, Math.ceil(n / 3)], n);
    add(`fft n=${n}`, { fn: 'fft.fft', args: [x.theirs] }, () => ta.fft.fft(x.ours), { tol: 1e-12 });
    add(`irfft of rfft n=${n}`, { fn: 'fft.rfft', args: [x.theirs] }, () => ta.fft.rfft(x.ours), { tol: 1e-12 });
  }

  // Frequencies and shifts.
  for (const n of [1, 8, 9]) {
    add(`fftfreq ${n}`, { fn: 'fft.fftfreq', args: [n], kwargs: { d: 0.25 } }, () => ta.fft.fftfreq(n, { d: 0.25, chunks: 4 }));
    add(`rfftfreq ${n}`, { fn: 'fft.rfftfreq', args: [n] }, () => ta.fft.rfftfreq(n, { chunks: 2 }));
  }
  const s = cplx('complex128', [5, 8], [[2, 3], [3, 5]], 3);
  add('fftshift', { fn: 'fft.fftshift', args: [s.theirs] }, () => ta.fft.fftshift(s.ours));
  add('ifftshift axes 0', { fn: 'fft.ifftshift', args: [s.theirs], kwargs: { axes: 0 } }, () => ta.fft.ifftshift(s.ours, { axes: 0 }));
  const sr = real('int32', [7], [3]);
  add('fftshift int32', { fn: 'fft.fftshift', args: [sr.theirs] }, () => ta.fft.fftshift(sr.ours));

  // Complex arrays: their functions, arithmetic with complex, real and numbers, moves.
  for (const dtype of ['complex128', 'complex64'] as const) {
    const a = cplx(dtype, [4, 6], [[3, 1], [4, 2]], 4);
    const b = cplx('complex128', [6], [[5, 1]], 5);
    const r = real('float32', [4, 6], [2, 3], 6);
    const i8 = real('int16', [4, 1], [3, 1], 7);
    const tol = tolOf(dtype);
    for (const fn of ['real', 'imag', 'conj', 'abs', 'angle', 'negative', 'exp', 'log', 'sqrt', 'square', 'reciprocal', 'isnan', 'isfinite', 'sin', 'cos', 'tan', 'sinh', 'cosh', 'tanh']) {
      const ours: Record<string, (x: ta.ChunkedArray) => ta.ChunkedArray> = {
        real: (x) => x.real, imag: (x) => x.imag, conj: (x) => x.conj(), abs: ta.abs, angle: (x) => ta.angle(x), negative: ta.neg, exp: ta.exp, log: ta.log,
        sqrt: ta.sqrt, square: ta.square, reciprocal: ta.reciprocal, isnan: ta.isnan, isfinite: ta.isfinite,
        sin: ta.sin, cos: ta.cos, tan: ta.tan, sinh: ta.sinh, cosh: ta.cosh, tanh: ta.tanh,
      };
      add(`${fn} (${dtype})`, { fn, args: [a.theirs] }, () => ours[fn]!(a.ours), { tol });
    }
    // Past where cosh and sinh overflow, and zero parts: tanh's limits, signed zeros, not NaN.
    const far = [30, 1, -25, 2, 0, 0, 800, 0, -800, 0, 0, 800, 3, -0, 1e3, 0.5].map((v) => (dtype === 'complex64' ? Math.fround(v) : v));
    const big = { ours: ta.fromArray((dtype === 'complex64' ? Float32Array : Float64Array).from(far), { shape: [8], chunks: [[5, 3]], dtype }), theirs: { dtype, shape: [8], data: far.map(wire) } as WireArray };
    for (const [fn, f] of [['sin', ta.sin], ['cos', ta.cos], ['tan', ta.tan], ['sinh', ta.sinh], ['cosh', ta.cosh], ['tanh', ta.tanh]] as const)
      add(`${fn} far out (${dtype})`, { fn, args: [big.theirs] }, () => f(big.ours), { tol });
    for (const e of [0, 1, 2, 3, -3, 7, 2.5, -0.5]) add(`power complex, ${e} (${dtype})`, { fn: 'power', args: [a.theirs, e] }, () => ta.pow(a.ours, e), { tol });
    add(`power complex, complex (${dtype})`, { fn: 'power', args: [a.theirs, { ...b.theirs, data: b.theirs.data.map((v) => (typeof v === 'number' ? v / 8 : v)) }] }, () => ta.pow(a.ours, b.ours.div(8)), { tol });
    add(`power 2, complex (${dtype})`, { fn: 'power', args: [2, a.theirs] }, () => ta.pow(2, a.ours), { tol });
    add(`angle deg (${dtype})`, { fn: 'angle', args: [a.theirs], kwargs: { deg: true } }, () => ta.angle(a.ours, { deg: true }), { tol });
    for (const [fn, f] of [['add', ta.add], ['subtract', ta.sub], ['multiply', ta.mul], ['divide', ta.div], ['equal', ta.eq], ['not_equal', ta.ne]] as const) {
      add(`${fn} complex, complex128 broadcast (${dtype})`, { fn, args: [a.theirs, b.theirs] }, () => f(a.ours, b.ours), { tol });
      add(`${fn} complex, float32 (${dtype})`, { fn, args: [a.theirs, r.theirs] }, () => f(a.ours, r.ours), { tol });
      add(`${fn} int16 column, complex (${dtype})`, { fn, args: [i8.theirs, a.theirs] }, () => f(i8.ours, a.ours), { tol });
      add(`${fn} complex, 2.5 (${dtype})`, { fn, args: [a.theirs, 2.5] }, () => f(a.ours, 2.5), { tol });
      add(`${fn} -3, complex (${dtype})`, { fn, args: [-3, a.theirs] }, () => f(-3, a.ours), { tol });
    }
    add(`astype float32 (${dtype})`, { fn: 'astype', args: [a.theirs], kwargs: { dtype: 'float32' } }, () => a.ours.astype('float32'));
    add(`astype bool (${dtype})`, { fn: 'astype', args: [a.theirs], kwargs: { dtype: 'bool' } }, () => a.ours.astype('bool'));
    add(`astype other complex (${dtype})`, { fn: 'astype', args: [a.theirs], kwargs: { dtype: dtype === 'complex64' ? 'complex128' : 'complex64' } }, () => a.ours.astype(dtype === 'complex64' ? 'complex128' : 'complex64'));
    add(`float32 astype ${dtype}`, { fn: 'astype', args: [r.theirs], kwargs: { dtype } }, () => r.ours.astype(dtype));
    add(`transpose, slice, concatenate (${dtype})`, { fn: 'transpose', args: [a.theirs] }, () => ta.concatenate([a.ours.T.slice({ start: 0, stop: 2 }), a.ours.T.slice({ start: 2 })]));
    add(`getitem step -2 (${dtype})`, { fn: 'getitem', args: [a.theirs, [{ step: -2 }, { start: 1, stop: 5 }]] }, () => a.ours.slice({ step: -2 }, { start: 1, stop: 5 }));
    add(`reshape (${dtype})`, { fn: 'reshape', args: [a.theirs, [3, 8]] }, () => a.ours.reshape([3, 8]));
    const rel = { tol: dtype === 'complex64' ? 1e-5 : 1e-13 };
    add(`sum (${dtype})`, { fn: 'sum', args: [a.theirs] }, () => a.ours.sum(), rel);
    add(`sum axis 0 (${dtype})`, { fn: 'sum', args: [a.theirs], kwargs: { axis: 0 } }, () => a.ours.sum({ axis: 0 }), rel);
    add(`mean axis 1 keepdims (${dtype})`, { fn: 'mean', args: [a.theirs], kwargs: { axis: 1, keepdims: true } }, () => a.ours.mean({ axis: 1, keepdims: true }), rel);
    add(`var (${dtype})`, { fn: 'var', args: [a.theirs] }, () => a.ours.var(), rel);
    add(`std axis 0 (${dtype})`, { fn: 'std', args: [a.theirs], kwargs: { axis: 0 } }, () => a.ours.std({ axis: 0 }), rel);
    add(`tensordot complex, complex (${dtype})`, { fn: 'tensordot', args: [a.theirs, a.theirs], kwargs: { axes: [[1], [1]] } }, () => ta.tensordot(a.ours, a.ours, { axes: [[1], [1]] }), rel);
    add(`matmul complex, float32 (${dtype})`, { fn: 'matmul', args: [a.theirs, { ...r.theirs, shape: [6, 4] }] }, () => a.ours.matmul(r.ours.reshape([6, 4])), rel);
    add(`prod (${dtype})`, { fn: 'prod', args: [a.theirs] }, () => a.ours.prod(), rel);
    add(`prod axis 0 keepdims (${dtype})`, { fn: 'prod', args: [a.theirs], kwargs: { axis: 0, keepdims: true } }, () => a.ours.prod({ axis: 0, keepdims: true }), rel);
    add(`prod axis [1, 0] (${dtype})`, { fn: 'prod', args: [a.theirs], kwargs: { axis: [1, 0] } }, () => a.ours.prod({ axis: [1, 0] }), rel);
    add(`prod of an empty axis (${dtype})`, { fn: 'prod', args: [{ ...a.theirs, shape: [4, 0], data: [] }], kwargs: { axis: 1 } }, () => a.ours.slice(null, { start: 0, stop: 0 }).prod({ axis: 1 }), rel);
    add(`cumprod axis 1 (${dtype})`, { fn: 'cumprod', args: [a.theirs], kwargs: { axis: 1 } }, () => ta.cumprod(a.ours, { axis: 1 }), rel);
    add(`cumprod flat (${dtype})`, { fn: 'cumprod', args: [a.theirs] }, () => ta.cumprod(a.ours), rel);
    add(`sort axis 0 (${dtype})`, { fn: 'sort', args: [a.theirs], kwargs: { axis: 0, kind: 'stable' } }, () => ta.sort(a.ours, { axis: 0 }));
    add(`argsort flat (${dtype})`, { fn: 'argsort', args: [a.theirs], kwargs: { axis: null, kind: 'stable' } }, () => ta.argsort(a.ours, { axis: null }));
    // Ties of the real part, NaN in either part, -0 beside 0: numpy's order R+Rj, R+nanj, nan+Rj, nan+nanj.
    const odd = [[1, 2], [NaN, 0], [1, -1], [-0, 0], [1, NaN], [NaN, NaN], [0, 0], [NaN, -3], [-2, 5], [1, -1], [0, -0], [1, 2]].flat();
    const t = { ours: ta.fromArray((dtype === 'complex64' ? Float32Array : Float64Array).from(odd), { shape: [2, 6], chunks: [[1, 1], [4, 2]], dtype }), theirs: { dtype, shape: [2, 6], data: odd.map(wire) } as WireArray };
    add(`sort ties and NaN axis 1 (${dtype})`, { fn: 'sort', args: [t.theirs], kwargs: { axis: 1, kind: 'stable' } }, () => ta.sort(t.ours, { axis: 1 }));
    add(`sort ties and NaN flat (${dtype})`, { fn: 'sort', args: [t.theirs], kwargs: { axis: null, kind: 'stable' } }, () => ta.sort(t.ours, { axis: null }));
    add(`argsort ties and NaN (${dtype})`, { fn: 'argsort', args: [t.theirs], kwargs: { axis: 1, kind: 'stable' } }, () => ta.argsort(t.ours, { axis: 1 }));
    add(`cumsum axis 1 (${dtype})`, { fn: 'cumsum', args: [a.theirs], kwargs: { axis: 1 } }, () => ta.cumsum(a.ours, { axis: 1 }), rel);
    add(`where complex, 2 (${dtype})`, { fn: 'where', args: [{ ...r.theirs, dtype: 'bool', data: r.theirs.data.map((v) => (typeof v === 'number' && v > 0 ? 1 : 0)) }, a.theirs, 2] }, () => ta.where(ta.gt(r.ours, 0), a.ours, 2), rel);
    add(`tensordot float32, complex (${dtype})`, { fn: 'tensordot', args: [r.theirs, a.theirs], kwargs: { axes: [[0], [0]] } }, () => ta.tensordot(r.ours, a.ours, { axes: [[0], [0]] }), rel);
  }
  const re = real('float64', [3, 4], [2, 3], 8), im = real('float64', [4], [[3, 1]], 9);
  add('complex(re, im)', { fn: 'add', args: [re.theirs, { dtype: 'complex128', shape: [4], data: im.theirs.data.flatMap((v) => [0, v]) }] }, () => ta.complex(re.ours, im.ours));
  add('zeros complex64', { fn: 'zeros', args: [[3, 2]], kwargs: { dtype: 'complex64' } }, () => ta.zeros([3, 2], { dtype: 'complex64', chunks: 2 }));
  add('full complex128', { fn: 'full', args: [[3], 2.5], kwargs: { dtype: 'complex128' } }, () => ta.full([3], 2.5, { dtype: 'complex128', chunks: 2 }));
  // A spectral filter's round trip, as users chain it: rfft, a product with a real window of ones, irfft.
  const sig = real('float64', [2, 64], [1, 20], 10);
  add('irfft(rfft(x) * ones) is x', { fn: 'asarray', args: [sig.theirs] }, () => ta.fft.irfft(ta.mul(ta.fft.rfft(sig.ours), ta.ones([33], { chunks: 10 })), { n: 64 }), { tol: 1e-14 });
  return out;
}

const CASES = cases();
const numpy = numpyAnswers(CASES.map((c) => c.np));

function maxAbs(w: WireArray): number {
  let m = 0;
  for (const v of w.data) if (typeof v === 'number') m = Math.max(m, Math.abs(v));
  return m;
}

describe.each([
  ['local engine', 'local', undefined],
  ['cluster', 'cluster', undefined],
  ['cluster on the TypeScript FFT', 'cluster', { TESSERA_FFTW: '0' }],
] as const)('numpy.fft and complex arrays on the %s', (_label, engine, env) => {
  const e = engineClient(engine, env ? { env } : {});

  it(`${CASES.length} cases match numpy`, { timeout: 240_000 }, async () => {
    const built = CASES.map((c) => c.build());
    const got = (await e.client.compute(built)) as ta.NDArray[];
    CASES.forEach((c, i) => {
      const want = numpy.answers[i]!;
      if ('error' in want) expect.fail(`${c.label}: numpy refused: ${want.error}`);
      if ('list' in want) expect.fail(`${c.label}: numpy gave a list`);
      const w = want as WireArray;
      const abs = c.tol !== undefined ? c.tol * Math.max(1, maxAbs(w)) : undefined;
      expectMatch(c.label, got[i]!, w, { ...(c.as && { as: c.as }), ...(c.tol !== undefined && { rel: c.tol, abs }) });
    });
  });
});

describe('fft and complex arrays refuse what numpy refuses, and what Tessera lacks, by name', () => {
  const x = ta.ones([4, 6], { chunks: 2 });
  const z = ta.fft.fft(x);
  it('names the bad argument', () => {
    expect(() => ta.fft.fft(x, { n: 0 })).toThrow(/fft: invalid number of data points \(0\)/);
    expect(() => ta.fft.irfft(ta.ones([1]))).toThrow(/irfft: invalid number of data points \(0\)/);
    expect(() => ta.fft.fft(x, { norm: 'none' as ta.fft.FftOptions['norm'] })).toThrow(/norm must be "backward", "ortho" or "forward", got "none"/);
    expect(() => ta.fft.fft(x, { axis: 2 })).toThrow(/axis 2 is out of bounds/);
    expect(() => ta.fft.fft(ta.ones([]))).toThrow(/at least one dimension/);
    expect(() => ta.fft.fftn(x, { s: [3], axes: [0, 1] })).toThrow(/s and axes have different lengths/);
    expect(() => ta.fft.rfft(z)).toThrow(/rfft takes real input, got complex128/);
    expect(() => ta.fft.rfft(ta.ones([3], { dtype: 'bool' }))).toThrow(/rfft takes numbers, got bool/);
    expect(() => ta.fft.fftfreq(0)).toThrow(/n must be a positive integer/);
    expect(() => ta.fft.rfftfreq(4, { d: 0 })).toThrow(/d must be a finite non-zero number/);
    expect(() => ta.angle(z, { deg: 1 as unknown as boolean })).toThrow(/deg must be a boolean/);
    expect(() => ta.complex(z, x)).toThrow(/real and imaginary parts that are real/);
  });
  it('refuses ops that do not take complex arrays when the graph is built, naming them', () => {
    expect(() => z.max()).toThrow(/max does not take complex128 \(complex arrays have sum, prod, mean, var and std\)/);
    expect(() => ta.arcsin(z)).toThrow(/arcsin does not take complex operands/);
    expect(() => z.min({ axis: 0 })).toThrow(/min does not take complex128/);
    expect(() => ta.topk(z, 2)).toThrow(/does not take complex128/);
  });
  it('refuses a submitted graph whose task gives complex from an op that cannot', () => {
    const g = ta.toGraph([x.add(1)]);
    const t = g.tasks[g.tasks.length - 1]!;
    const bad = { ...g, tasks: g.tasks.map((u) => (u === t ? { ...u, dtype: 'complex128', nbytes: u.nbytes * 2 } : u)) };
    expect(() => validateGraph(bad)).toThrow(/elementwise does not take complex128/);
  });
});
