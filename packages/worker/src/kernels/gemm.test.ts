import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { castScalar, REAL_DTYPES, isFloat, isWideData, promoteTypes, typedArrayCtor, type Chunk, type Dtype } from '@tessera/protocol';
import { executeTask } from './index.js';
import { gemmEngine, gemmEngines, useGemmEngine } from './gemm.js';
import { GEMM_KC, GEMM_MC, GEMM_NC, gemmScratch } from './wasm.js';
import { flat, forEachIndex } from './reference.test-util.js';

let seed = 7;
function make(dtype: Dtype, shape: number[]): Chunk {
  const data = new (typedArrayCtor(dtype))(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const r = seed / 4294967296;
    const v = dtype.startsWith('uint') ? Math.floor(r * 256) : !isFloat(dtype) ? Math.floor(r * 200) - 100 : r * 4 - 2;
    if (isWideData(data)) data[i] = BigInt(v);
    else data[i] = v;
  }
  return { dtype, shape, data };
}

/** numpy.tensordot by definition: sum over the contracted multi-index, float64 accumulation. */
function ref(pairs: [Chunk, Chunk][], axesA: number[], axesB: number[], dtype: Dtype): { shape: number[]; data: number[] } {
  const [a0, b0] = pairs[0]!;
  const freeA = a0.shape.map((_, i) => i).filter((i) => !axesA.includes(i));
  const freeB = b0.shape.map((_, i) => i).filter((i) => !axesB.includes(i));
  const shape = [...freeA.map((i) => a0.shape[i]!), ...freeB.map((i) => b0.shape[i]!)];
  const kshape = axesA.map((i) => a0.shape[i]!);
  const data: number[] = [];
  forEachIndex(shape, (o) => {
    let s = 0;
    for (const [a, b] of pairs) {
      forEachIndex(kshape, (k) => {
        const ia = new Array<number>(a.shape.length),
          ib = new Array<number>(b.shape.length);
        freeA.forEach((ax, i) => (ia[ax] = o[i]!));
        freeB.forEach((ax, i) => (ib[ax] = o[freeA.length + i]!));
        axesA.forEach((ax, i) => (ia[ax] = k[i]!));
        axesB.forEach((ax, i) => (ib[ax] = k[i]!));
        s += Number(a.data[flat(a.shape, ia)]!) * Number(b.data[flat(b.shape, ib)]!);
      });
    }
    data.push(castScalar(dtype, s));
  });
  if (shape.some((d) => d === 0)) return { shape, data: [] };
  if (shape.length === 0 && data.length === 0) data.push(0);
  return { shape, data };
}

let n = 0;
function run(pairs: [Chunk, Chunk][], axesA: number[], axesB: number[], shape: number[], dtype: Dtype): Chunk {
  return executeTask(
    { key: `tensordot-0123456789abcdef:${n++}`, op: 'tensordot', params: { axesA, axesB, pairs: pairs.length }, shape, dtype },
    [...pairs.map((p) => p[0]), ...pairs.map((p) => p[1])],
  );
}

function check(pairs: [Chunk, Chunk][], axesA: number[], axesB: number[]): void {
  const dtype = promoteTypes(pairs[0]![0].dtype, pairs[0]![1].dtype);
  const want = ref(pairs, axesA, axesB, dtype);
  const out = run(pairs, axesA, axesB, want.shape, dtype);
  expect(out.shape).toEqual(want.shape);
  expect(out.data.length).toBe(want.data.length);
  const tol = dtype === 'float64' ? 1e-12 : dtype === 'float32' ? 1e-6 : 0;
  for (let i = 0; i < want.data.length; i++) {
    const g = Number(out.data[i]!),
      w = want.data[i]!;
    if (Math.abs(g - w) > tol * Math.max(1, Math.abs(w))) expect.fail(`element ${i}: got ${g}, want ${w}`);
  }
}

/** Every GEMM built here is checked (blas.test.ts and native.test.ts check that they were built). */
const initial = gemmEngine();
const engines = gemmEngines();

/** A 2-D operand stored as rows x cols or transposed (then contracted over its other axis). */
function matrix(dtype: Dtype, rows: number, cols: number, transposed: boolean): { chunk: Chunk; at: (i: number, j: number) => number } {
  const chunk = make(dtype, transposed ? [cols, rows] : [rows, cols]);
  const at = transposed ? (i: number, j: number) => Number(chunk.data[j * rows + i]!) : (i: number, j: number) => Number(chunk.data[i * cols + j]!);
  return { chunk, at };
}

/**
 * sum over pairs of A_p (M x K_p) times B_p (K_p x N), operands random in dtype and layout, checked
 * against a plain triple loop. Floats: within a bound on float64 summation error (a packing or
 * tile bug is off by whole products); integers: exact, then wrapped.
 */
function checkMatmul(M: number, N: number, Ks: number[], dtypes: [Dtype, Dtype], tA: boolean, tB: boolean): void {
  const dtype = promoteTypes(...dtypes);
  const ops = Ks.map((K) => ({ K, a: matrix(dtypes[0], M, K, tA), b: matrix(dtypes[1], K, N, tB) }));
  const out = run(
    ops.map((o) => [o.a.chunk, o.b.chunk]),
    [tA ? 0 : 1],
    [tB ? 1 : 0],
    [M, N],
    dtype,
  );
  const sumK = Ks.reduce((x, y) => x + y, 0);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0,
        mag = 0;
      for (const { K, a, b } of ops) {
        for (let k = 0; k < K; k++) {
          const t = a.at(i, k) * b.at(k, j);
          s += t;
          mag += Math.abs(t);
        }
      }
      const got = Number(out.data[i * N + j]!);
      const what = `${M}x${N} K=[${Ks.join(',')}] ${dtypes.join('*')} tA=${tA} tB=${tB} at (${i}, ${j})`;
      if (!isFloat(dtype)) expect(got, what).toBe(castScalar(dtype, s));
      else {
        const want = dtype === 'float32' ? Math.fround(s) : s;
        // OpenBLAS's sgemm accumulates float32 operands in float32 (numpy's matmul does too).
        const sgemm = gemmEngine() === 'blas' && dtypes[0] === 'float32' && dtypes[1] === 'float32';
        const tol = 2 * sumK * (sgemm ? 2 ** -24 : 2 ** -53) * mag + (dtype === 'float32' ? 2 ** -23 * Math.abs(want) : 0);
        if (!(Math.abs(got - want) <= tol)) expect.fail(`${what}: got ${got}, want ${want}`);
      }
    }
  }
}

for (const engine of engines) {
  describe(`tensordot (${engine} GEMM)`, () => {
    beforeAll(() => useGemmEngine(engine));
    afterAll(() => useGemmEngine(initial));

    it('matrix products at odd sizes crossing the 4x4 micro-tiles and the packing blocks', () => {
      for (const [m, k, nn] of [
        [7, 5, 3],
        [1, 1, 1],
        [1, 9, 1],
        [13, 300, 6],
        [130, 17, 129],
        [0, 4, 3],
        [3, 0, 2],
      ] as const) {
        check([[make('float64', [m, k]), make('float64', [k, nn])]], [1], [0]);
      }
    });

    for (const da of REAL_DTYPES) {
      for (const db of REAL_DTYPES) {
        it(`dtypes ${da} x ${db}`, () => {
          check([[make(da, [6, 9]), make(db, [9, 5])]], [1], [0]);
        });
      }
    }

    it('transposed operands, several and zero contracted axes, 3-D', () => {
      check([[make('float64', [9, 6]), make('float64', [9, 5])]], [0], [0]); // a.T @ b
      check([[make('float64', [6, 9]), make('float64', [5, 9])]], [1], [1]); // a @ b.T
      check([[make('int32', [3, 4, 5]), make('int32', [5, 4, 2])]], [1, 2], [1, 0]);
      check([[make('float32', [2, 3, 4]), make('float32', [4, 3])]], [2, 1], [0, 1]);
      check([[make('float64', [3, 2]), make('float64', [4])]], [], []); // outer product
      check([[make('float64', [3, 4, 2]), make('float64', [4, 5])]], [1], [0]); // non-collapsible A: copied
      check([[make('float64', [5]), make('float64', [5])]], [0], [0]); // dot -> 0-d
    });

    it('sums several pairs', () => {
      check(
        [
          [make('float64', [5, 7]), make('float64', [7, 4])],
          [make('float64', [5, 2]), make('float64', [2, 4])],
          [make('float64', [5, 1]), make('float64', [1, 4])],
        ],
        [1],
        [0],
      );
      check(
        [
          [make('int32', [3, 3]), make('uint8', [3, 2])],
          [make('int32', [3, 3]), make('uint8', [3, 2])],
        ],
        [1],
        [0],
      );
    });

    it('int32 results wrap', () => {
      const a: Chunk = { dtype: 'int32', shape: [1, 2], data: new Int32Array([2147483647, 2]) };
      const b: Chunk = { dtype: 'int32', shape: [2, 1], data: new Int32Array([1, 1]) };
      expect(run([[a, b]], [1], [0], [1, 1], 'int32').data[0]).toBe(-2147483647);
    });

    it('integer products past 2^53 are exact and wrap as numpy does (int32 past 2^26, int64 past 2^53)', () => {
      // A 3x4 @ 4x2 product of large values, against BigInt sums wrapped to the dtype.
      const av = [2147483647, -2147483648, 123456789, 987654321, 5, -7, 2 ** 30, 3, 1, 2, 3, 4];
      const bv = [2147483647, 1, -2147483648, 2, 99999, 3, 2 ** 29, -5];
      const want = (bits: number): bigint[] =>
        [0, 1, 2].flatMap((i) => [0, 1].map((j) => BigInt.asIntN(bits, [0, 1, 2, 3].reduce((s, q) => s + BigInt(av[i * 4 + q]!) * BigInt(bv[q * 2 + j]!), 0n))));
      const a: Chunk = { dtype: 'int32', shape: [3, 4], data: Int32Array.from(av) };
      const b: Chunk = { dtype: 'int32', shape: [4, 2], data: Int32Array.from(bv) };
      expect([...run([[a, b]], [1], [0], [3, 2], 'int32').data].map((v) => BigInt(v))).toEqual(want(32));
      const big = (v: number[], s: number[]): Chunk => ({ dtype: 'int64', shape: s, data: BigInt64Array.from(v, (x) => BigInt(x) * 3037000499n) });
      const wide = run([[big(av, [3, 4]), big(bv, [4, 2])]], [1], [0], [3, 2], 'int64');
      const want64 = [0, 1, 2].flatMap((i) => [0, 1].map((j) => BigInt.asIntN(64, [0, 1, 2, 3].reduce((s, q) => s + BigInt(av[i * 4 + q]!) * 3037000499n * BigInt(bv[q * 2 + j]!) * 3037000499n, 0n))));
      expect([...wide.data]).toEqual(want64);
    });
  });

  describe(`tensordot through the ${engine} GEMM`, () => {
    beforeAll(() => useGemmEngine(engine));
    afterAll(() => useGemmEngine(initial));

    it('covers sizes on both sides of the micro-tile and every blocking edge, in all four layouts', () => {
      const sizes: [number, number, number][] = [
        [GEMM_MC + 1, 5, GEMM_KC + 1], // M and K just past a block
        [GEMM_MC, GEMM_NC + 3, 9], // N past the B block, M exactly one block
        [3, 7, 2 * GEMM_KC + 5], // several K blocks, tails everywhere
        [2 * GEMM_MC - 1, 4, GEMM_KC], // M tail, N and K exact
        [1, 1, 700],
        // The native GEMM's blocking (native/gemm.cc: MC 144, KC 256, NC 2048; 6 x 16 or 6 x 8 tiles).
        [145, 17, 257],
        [7, 2049, 3],
        [289, 33, 9],
      ];
      for (const [M, N, K] of sizes) {
        for (const tA of [false, true]) for (const tB of [false, true]) checkMatmul(M, N, [K], ['float64', 'float64'], tA, tB);
      }
    });

    it('random shapes, dtypes, layouts and pair counts (empty dimensions included)', () => {
      let r = 12345;
      const rnd = (n: number): number => {
        r = (Math.imul(r, 1103515245) + 12345) >>> 0;
        return Math.floor((r / 2 ** 32) * n);
      };
      for (let t = 0; t < 40; t++) {
        const M = rnd(8) === 0 ? 0 : 1 + rnd(110),
          N = rnd(8) === 0 ? 0 : 1 + rnd(110);
        const Ks = Array.from({ length: 1 + rnd(3) }, () => (rnd(6) === 0 ? 0 : 1 + rnd(300)));
        checkMatmul(M, N, Ks, [REAL_DTYPES[rnd(REAL_DTYPES.length)]!, REAL_DTYPES[rnd(REAL_DTYPES.length)]!], rnd(2) === 1, rnd(2) === 1);
      }
    });

    it('sums int32 and uint8 exactly in float64 before wrapping, over several K blocks', () => {
      for (const d of [
        ['int32', 'int32'],
        ['uint8', 'uint8'],
        ['int32', 'uint8'],
        ['float32', 'int32'],
      ] as [Dtype, Dtype][]) {
        checkMatmul(9, 13, [GEMM_KC * 2 + 3, 17], d, false, true);
      }
    });

    it('leaves WebAssembly memory its size: the packing blocks are fixed and reused', () => {
      const bytes = gemmScratch.a.buffer.byteLength;
      checkMatmul(GEMM_MC + 7, GEMM_NC + 9, [GEMM_KC + 11], ['float64', 'float32'], true, false);
      expect(gemmScratch.a.buffer.byteLength).toBe(bytes);
      expect(gemmScratch.c.length).toBe(GEMM_MC * GEMM_NC); // not detached
    });
  });
}
