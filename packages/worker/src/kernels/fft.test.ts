import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import * as core from './fft-core.js';
import { fftKernel, type FftKernel } from './fft-kernel.js';
import { fftwKernels, fftwUnavailable } from './native.js';

// Where pkg-config finds FFTW (as .ci/run installs it), or TESSERA_NATIVE_REQUIRED=1 says the native
// build must not fall back, the addon must have been built and loaded.
const installed = spawnSync('pkg-config', ['--exists', 'fftw3', 'fftw3f']).status === 0;
const required = process.env.TESSERA_NATIVE_REQUIRED === '1';
const off = process.env.TESSERA_NATIVE === '0' || process.env.TESSERA_FFTW === '0';
const addon = fileURLToPath(new URL('../../build/Release/tessera_fftw.node', import.meta.url));

let seed = 11;
// Values a float32 holds exactly, so both precisions transform the very input numpy does.
const rnd = (): number => Math.fround(((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1);

interface Case {
  n: number;
  outer: number;
  inner: number;
  /** Complex input, interleaved; its first outer*n*inner values are the real input of rfft, its first 2*outer*bins*inner the half spectrum of irfft. */
  x: Float64Array;
}
interface Want {
  fft: Float64Array;
  ifft: Float64Array;
  rfft: Float64Array;
  irfft: Float64Array;
}

const lengths = [1, 2, 3, 5, 7, 8, 12, 16, 17, 31, 64, 97, 100, 128, 243, 1000, 1024, 4097];
const cases: Case[] = [];
for (const n of lengths)
  for (const [outer, inner] of [[1, 1], [1, 3], [2, 1], [2, 3]] as const) cases.push({ n, outer, inner, x: Float64Array.from({ length: 2 * outer * n * inner }, rnd) });
// Wide lanes: FFTW copies them through scratch 8 or 16 at a time, fft-core 16 at a time (17: a last block of 1).
for (const n of [8, 12, 97, 1000, 4097]) cases.push({ n, outer: 2, inner: 17, x: Float64Array.from({ length: 2 * 2 * n * 17 }, rnd) });
const bins = (n: number): number => Math.floor(n / 2) + 1;

/** numpy's answers for every case, from one python run: unnormalised inverses (ifft·n, irfft·n). */
function numpy(): Want[] {
  const script = `
import sys, json, base64, numpy as np
out = []
for c in json.load(sys.stdin):
    n, o, i = c['n'], c['outer'], c['inner']
    x = np.frombuffer(base64.b64decode(c['x']), dtype='<f8')
    z = (x[0::2] + 1j * x[1::2]).reshape(o, n, i)
    h = n // 2 + 1
    half = (x[0::2][:o * h * i] + 1j * x[1::2][:o * h * i]).reshape(o, h, i)
    for r in (np.fft.fft(z, axis=1), np.fft.ifft(z, axis=1) * n, np.fft.rfft(x[:o * n * i].reshape(o, n, i), axis=1)):
        out.append(np.stack([r.real, r.imag], -1).ravel())
    out.append(np.fft.irfft(half, n=n, axis=1).ravel() * n)
sys.stdout.write(base64.b64encode(np.concatenate(out).astype('<f8').tobytes()).decode())`;
  const input = JSON.stringify(cases.map((c) => ({ n: c.n, outer: c.outer, inner: c.inner, x: Buffer.from(c.x.buffer).toString('base64') })));
  const r = spawnSync('/usr/bin/python3', ['-c', script], { input, maxBuffer: 1 << 28, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`numpy: ${r.stderr}`);
  const all = new Float64Array(Buffer.from(r.stdout, 'base64').buffer.slice(0));
  let at = 0;
  const take = (len: number): Float64Array => all.subarray(at, (at += len));
  return cases.map(({ n, outer, inner }) => ({
    fft: take(2 * outer * n * inner),
    ifft: take(2 * outer * n * inner),
    rfft: take(2 * outer * bins(n) * inner),
    irfft: take(outer * n * inner),
  }));
}
const want = numpy();

/** max |got - want| / max |want|. */
function relErr(got: ArrayLike<number>, exp: ArrayLike<number>): number {
  expect(got.length).toBe(exp.length);
  let d = 0, m = 0;
  for (let i = 0; i < exp.length; i++) {
    d = Math.max(d, Math.abs(got[i]! - exp[i]!));
    m = Math.max(m, Math.abs(exp[i]!));
  }
  return m === 0 ? d : d / m;
}

// numpy's own error is ~1e-16 · log2 n; float32 rounds every value (fftw_f also computes in float32).
const tolerance = (n: number, f32: boolean): number => (f32 ? 6e-8 : 1e-15) * (4 + 2 * Math.log2(n));

type Impl = Pick<FftKernel, 'fftAxis' | 'rfftAxis' | 'irfftAxis'>;
const impls: [string, Impl][] = [['typescript', core]];
const fftw = fftwKernels();
if (fftw) impls.push(['fftw', fftw]);

describe('FFTW addon', () => {
  it('is built where FFTW is installed (or TESSERA_NATIVE_REQUIRED=1), loaded, and chosen by fftKernel', () => {
    if (off) {
      expect(fftwUnavailable()).toMatch(/turned off/);
      return expect(fftKernel().name).toBe('typescript');
    }
    if (!installed && !required) return expect(fftwUnavailable()).toMatch(/not built/);
    expect(fftwUnavailable()).toBeUndefined();
    expect(fftw!.version).toMatch(/^fftw-3/);
    expect(fftKernel().name).toBe('fftw');
  });
});

for (const [name, k] of impls) {
  describe(`${name} FFT`, () => {
    for (const f32 of [false, true]) {
      const Ctor = f32 ? Float32Array : Float64Array;
      const label = f32 ? 'float32' : 'float64';

      it(`fftAxis forward and inverse match numpy (${label}, n 1..4097, inner 1, 3, 17)`, () => {
        cases.forEach((c, i) => {
          const fwd = Ctor.from(c.x), inv = Ctor.from(c.x);
          k.fftAxis(fwd, c.outer, c.n, c.inner, false);
          k.fftAxis(inv, c.outer, c.n, c.inner, true);
          const tol = tolerance(c.n, f32), at = `n ${c.n} outer ${c.outer} inner ${c.inner}`;
          expect(relErr(fwd, want[i]!.fft), at).toBeLessThan(tol);
          expect(relErr(inv, want[i]!.ifft), at).toBeLessThan(tol);
        });
      });

      it(`rfftAxis and irfftAxis match numpy for even and odd n, and irfft keeps its input (${label})`, () => {
        cases.forEach((c, i) => {
          const real = Ctor.from(c.x.subarray(0, c.outer * c.n * c.inner)), spec = new Ctor(2 * c.outer * bins(c.n) * c.inner);
          k.rfftAxis(real, spec, c.outer, c.n, c.inner);
          const half = Ctor.from(c.x.subarray(0, 2 * c.outer * bins(c.n) * c.inner)), kept = half.slice(), back = new Ctor(c.outer * c.n * c.inner);
          k.irfftAxis(half, back, c.outer, c.n, c.inner);
          const tol = tolerance(c.n, f32), at = `n ${c.n} outer ${c.outer} inner ${c.inner}`;
          expect(relErr(spec, want[i]!.rfft), at).toBeLessThan(tol);
          expect(relErr(back, want[i]!.irfft), at).toBeLessThan(tol);
          expect(half.every((v, j) => v === kept[j]), at).toBe(true);
        });
      });
    }

    it('runs on views at any offset (alignment) and leaves the rest of the array alone', () => {
      for (const Ctor of [Float64Array, Float32Array]) {
        const n = 64, inner = 3, x = Ctor.from(Float64Array.from({ length: 2 * n * inner }, rnd)), ref = Ctor.from(x);
        k.fftAxis(ref, 1, n, inner, false);
        for (const offset of [1, 2, 3]) {
          // Chunks live in SharedArrayBuffers: the addon reads those in place too.
          const sab = new SharedArrayBuffer((x.length + offset + 1) * Ctor.BYTES_PER_ELEMENT);
          const big = (Ctor === Float64Array ? new Float64Array(sab) : new Float32Array(sab)).fill(7);
          const view = big.subarray(offset, offset + x.length);
          view.set(x);
          k.fftAxis(view, 1, n, inner, false);
          expect(relErr(view, ref)).toBeLessThan(1e-6);
          expect([big[0], big[big.length - 1]]).toEqual([7, 7]);
        }
      }
    });

    it('does nothing for an empty outer or inner, and refuses short arrays and n < 1', () => {
      const x = new Float64Array(4).fill(1);
      k.fftAxis(x, 0, 2, 1, false);
      k.fftAxis(x, 1, 2, 0, false);
      expect([...x]).toEqual([1, 1, 1, 1]);
      expect(() => k.fftAxis(x, 1, 3, 1, false)).toThrow(/short|holds|needs/);
      expect(() => k.fftAxis(x, 1, 0, 1, false)).toThrow(/n must/);
      expect(() => k.rfftAxis(new Float64Array(4), new Float64Array(4), 1, 4, 1)).toThrow(/short|holds|needs/);
      expect(() => k.irfftAxis(new Float64Array(4), new Float64Array(3), 1, 4, 1)).toThrow(/short|holds|needs/);
    });
  });
}

describe.runIf(fftw)('FFTW and fft-core', () => {
  it('agree on 4096 points, in rows and in wide strided lanes, both ways', () => {
    for (const [outer, n, inner] of [[3, 4096, 1], [1, 4096, 20], [2, 4096, 5]] as const) {
      const x = Float64Array.from({ length: 2 * outer * n * inner }, rnd);
      for (const inverse of [false, true]) {
        const a = x.slice(), b = x.slice();
        fftw!.fftAxis(a, outer, n, inner, inverse);
        core.fftAxis(b, outer, n, inner, inverse);
        expect(relErr(a, b)).toBeLessThan(1e-14);
      }
      const real = x.subarray(0, outer * n * inner), a = new Float64Array(2 * outer * bins(n) * inner), b = a.slice();
      fftw!.rfftAxis(real, a, outer, n, inner);
      core.rfftAxis(real, b, outer, n, inner);
      expect(relErr(a, b)).toBeLessThan(1e-14);
    }
  });

  it('refuses mixed array types and overlapping input and output', () => {
    expect(() => fftw!.rfftAxis(new Float64Array(8), new Float32Array(10), 1, 8, 1)).toThrow(/both Float64Array or both Float32Array/);
    const buf = new Float64Array(32);
    expect(() => fftw!.rfftAxis(buf.subarray(0, 8), buf.subarray(4, 14), 1, 8, 1)).toThrow(/overlap/);
  });

  it('plans and runs from several worker threads at once (one planner lock per process)', async () => {
    // Each thread plans many shapes (cache misses and evictions) while the others run theirs.
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const m = require(workerData.addon);
      const out = [];
      for (let r = 0; r < 40; r++) {
        const n = 3 + ((r * 7 + workerData.id * 13) % 90), inner = 1 + (r % 3) * 9, x = new Float64Array(2 * n * inner);
        for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.7 + r);
        m.fftAxis(x, 1, n, inner, r % 2 === 1);
        out.push({ n, inner, r, x });
      }
      parentPort.postMessage(out);`;
    const runs = await Promise.all(
      [0, 1, 2, 3].map(
        (id) =>
          new Promise<{ n: number; inner: number; r: number; x: Float64Array }[]>((resolve, reject) => {
            const w = new Worker(code, { eval: true, workerData: { addon, id } });
            w.once('message', (m: { n: number; inner: number; r: number; x: Float64Array }[]) => void w.terminate().then(() => resolve(m)));
            w.once('error', reject);
          }),
      ),
    );
    for (const { n, inner, r, x } of runs.flat()) {
      const y = Float64Array.from({ length: 2 * n * inner }, (_, i) => Math.sin(i * 0.7 + r));
      core.fftAxis(y, 1, n, inner, r % 2 === 1);
      expect(relErr(x, y)).toBeLessThan(1e-13);
    }
  });
});
