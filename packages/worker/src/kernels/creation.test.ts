import { describe, expect, it } from 'vitest';
import { REAL_DTYPES, itemsize, type Chunk, type Dtype } from '@tessera/protocol';
import { executeTask, uniformAt } from './index.js';
import { fromNumbers } from './reference.test-util.js';

let n = 0;
const task = (op: string, params: Record<string, unknown>, shape: number[], dtype: Dtype) => ({ key: `${op}-0123456789abcdef:${n++}`, op, params, shape, dtype });

describe('full, arange, from-bytes', () => {
  for (const [dt, Ctor] of [['complex128', Float64Array], ['complex64', Float32Array]] as const) {
    it(`full and from-bytes ${dt}: (re, im) pairs, the imaginary halves 0 for a real value`, () => {
      const out = executeTask(task('full', { value: 2.5 }, [2, 2], dt), []);
      expect(out.data).toEqual(Ctor.from([2.5, 0, 2.5, 0, 2.5, 0, 2.5, 0]));
      const src = Ctor.from([1, -1, 2, 0.5, 3, 7]);
      const back = executeTask(task('from-bytes', { bytes: new Uint8Array(src.buffer.slice(0)) }, [3], dt), []);
      expect(back.data).toEqual(src);
      expect(() => executeTask(task('from-bytes', { bytes: new Uint8Array(src.buffer.slice(8)) }, [3], dt), [])).toThrow(/bytes/);
    });
  }
  for (const dt of REAL_DTYPES) {
    it(`full ${dt}`, () => {
      for (const value of [0, 2.7, -1, 300, NaN]) {
        for (const shape of [[7, 5], [1], [], [0, 4]]) {
          const out = executeTask(task('full', { value }, shape, dt), []);
          expect(out.data.buffer).toBeInstanceOf(SharedArrayBuffer);
          const want = fromNumbers(dt, new Array<number>(out.data.length).fill(value));
          expect(out.data).toEqual(want);
        }
      }
    });
    if (dt !== 'bool') it(`arange ${dt}`, () => {
      const out = executeTask(task('arange', { start: -3, step: 0.75 }, [11], dt), []);
      const want: number[] = [];
      for (let i = 0; i < 11; i++) want.push(-3 + i * 0.75);
      expect([...out.data]).toEqual([...fromNumbers(dt, want)]);
      expect(executeTask(task('arange', { start: 5, step: 1 }, [0], dt), []).data.length).toBe(0);
    });
    it(`from-bytes ${dt}`, () => {
      const src = fromNumbers(dt, [1, 2, 250, 7, 0, 9]);
      const bytes = new Uint8Array(src.buffer.slice(0));
      const out = executeTask(task('from-bytes', { bytes }, [2, 3], dt), []);
      expect(out.data.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(out.data).toEqual(src);
      expect(() => executeTask(task('from-bytes', { bytes: bytes.subarray(1) }, [2, 3], dt), [])).toThrow(/bytes/);
      expect(itemsize(dt) * 6).toBe(bytes.byteLength);
    });
  }
});

/** One random chunk at an offset of a full array. */
function rand(dist: 'uniform' | 'normal', seed: number, offset: number[], shape: number[], fullShape: number[], dtype: Dtype = 'float64', a = 0, b = 1): Chunk & { data: Float64Array | Float32Array } {
  return executeTask(task('random', { dist, seed, a, b, offset, fullShape }, shape, dtype), []) as Chunk & { data: Float64Array | Float32Array };
}

describe('random', () => {
  it('values depend on (seed, global index) only, not on the chunking', () => {
    for (const dist of ['uniform', 'normal'] as const) {
      const whole = rand(dist, 42, [0, 0], [13, 11], [13, 11]);
      // another chunking: 4 uneven blocks
      for (const [r0, r1, c0, c1] of [[0, 5, 0, 4], [0, 5, 4, 11], [5, 13, 0, 7], [5, 13, 7, 11]] as const) {
        const part = rand(dist, 42, [r0, c0], [r1 - r0, c1 - c0], [13, 11]);
        for (let i = r0; i < r1; i++) for (let j = c0; j < c1; j++) {
          expect(part.data[(i - r0) * (c1 - c0) + (j - c0)]).toBe(whole.data[i * 11 + j]);
        }
      }
      expect(rand(dist, 43, [0, 0], [13, 11], [13, 11]).data).not.toEqual(whole.data);
    }
    // element 0 of uniform is uniformAt(seed, stream 0, index)
    expect(rand('uniform', 5, [3], [1], [10]).data[0]).toBe(uniformAt(5, 0, 3));
  });

  it('indices past 2^32 (and rows crossing it) still match the per-index definition', () => {
    const full = [3, 2 ** 31 + 5];
    const off = [1, 2 ** 31 - 3];
    const c = rand('uniform', 9, off, [2, 8], full);
    for (let i = 0; i < 2; i++) for (let j = 0; j < 8; j++) {
      const g = (off[0]! + i) * full[1]! + off[1]! + j;
      expect(c.data[i * 8 + j]).toBe(uniformAt(9, 0, g));
    }
  });

  it('uniform: range, mean and variance of 1e6 values; float32 is fround of float64', () => {
    const x = rand('uniform', 1, [0], [1_000_000], [1_000_000], 'float64', -2, 3);
    let s = 0, s2 = 0, lo = Infinity, hi = -Infinity;
    for (const v of x.data as Float64Array) { s += v; s2 += v * v; lo = Math.min(lo, v); hi = Math.max(hi, v); }
    const m = s / 1e6, v = s2 / 1e6 - m * m;
    expect(lo).toBeGreaterThanOrEqual(-2);
    expect(hi).toBeLessThan(3);
    expect(Math.abs(m - 0.5)).toBeLessThan(0.01); // sd of the mean: 5/sqrt(12e6) = 0.0014
    expect(Math.abs(v - 25 / 12)).toBeLessThan(0.01);
    const f = rand('uniform', 1, [0], [1000], [1_000_000], 'float32', -2, 3);
    for (let i = 0; i < 1000; i++) expect(f.data[i]).toBe(Math.fround(x.data[i]!));
  });

  it('normal: mean and standard deviation of 1e6 values, tails', () => {
    const x = rand('normal', 2, [0, 0], [1000, 1000], [1000, 1000], 'float64', 10, 2);
    let s = 0, s2 = 0, out3 = 0;
    for (const v of x.data as Float64Array) { s += v; s2 += v * v; if (Math.abs(v - 10) > 6) out3++; }
    const m = s / 1e6, sd = Math.sqrt(s2 / 1e6 - m * m);
    expect(Math.abs(m - 10)).toBeLessThan(0.01); // sd of the mean: 0.002
    expect(Math.abs(sd - 2)).toBeLessThan(0.01);
    expect(out3 / 1e6).toBeGreaterThan(0.0015); // P(|z| > 3) = 0.0027
    expect(out3 / 1e6).toBeLessThan(0.004);
  });

  it('neighbouring indices and seeds are not correlated', () => {
    const x = rand('uniform', 3, [0], [200_000], [200_000]).data;
    const y = rand('uniform', 4, [0], [200_000], [200_000]).data;
    let cxx = 0, cxy = 0;
    for (let i = 0; i + 1 < x.length; i++) { cxx += (x[i]! - 0.5) * (x[i + 1]! - 0.5); cxy += (x[i]! - 0.5) * (y[i]! - 0.5); }
    expect(Math.abs(cxx / x.length) * 12).toBeLessThan(0.01);
    expect(Math.abs(cxy / x.length) * 12).toBeLessThan(0.01);
  });
});
