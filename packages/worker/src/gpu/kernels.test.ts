import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// lavapipe compiles shaders and runs kernels on the CPU cores other test files share: generous limits.
vi.setConfig({ testTimeout: 240_000, hookTimeout: 240_000 });
import {
  type Chunk,
  type Dtype,
  type ElementwiseParams,
  type Instruction,
} from '@tessera/protocol';
import type { GpuRunner } from './runner.js';
import { ULP, both, chunkOf, ew, expectClose, key, openTestRunner, randomChunk, values, type Tolerance } from './gpu.test-util.js';

/**
 * Every GPU kernel against the CPU kernel of the same task, on odd shapes (nothing a multiple of
 * a workgroup or a tile), on lavapipe in CI. Tolerances, per op, for float32 (the CPU computes
 * each instruction in float64 and rounds to float32 once):
 *   neg abs maximum minimum comparisons where astype, int32 and uint8 arithmetic: exact
 *   add sub mul: 1 ulp (a chain may be contracted into fma)      div sqrt: 3 ulp
 *   exp: 4e-6 relative (|x| <= 8)          log: 4e-7 absolute + 4e-7 relative
 *   sin cos: 2e-6 absolute (|x| <= 100, Cody-Waite reduction)  tanh: 4e-7 absolute + 1e-6 relative
 *   pow: 2e-6 relative per unit of |y log2 x| (exp2(y log2 x))
 *   random uniform: 2^-23 of (b - a) + 1 ulp; normal: 2e-5 absolute (float32 log and cos)
 *   sum/mean partials: 1e-5 of sum |x|; prod: 1e-5 relative; min/max/argmin/argmax: exact
 *   var (M2): 1e-4 relative;  matmul: 1e-5 of sum |a||b| per output; transpose: exact
 * Mixed precision (float16 storage, float32 accumulation): 2e-3 relative.
 */

let runner: GpuRunner;

beforeAll(async () => void (runner = await openTestRunner()));
afterAll(() => runner?.close());


const SHAPES: number[][] = [[37, 53], [3, 5, 7], [1], [], [1001]];

describe('gpu device', () => {
  it('reports the adapter and the limits it raised', () => {
    expect(runner.info.name.length).toBeGreaterThan(0);
    expect(runner.info.limits['maxStorageBufferBindingSize']).toBeGreaterThanOrEqual(2 ** 27);
    expect(runner.info.memoryLimit).toBeGreaterThan(0);
  });

  it('round-trips chunks of every GPU dtype (odd uint8 lengths are padded on the device)', async () => {
    for (const [dtype, shape] of [
      ['float32', [7, 3]],
      ['int32', [5]],
      ['uint8', [13]],
      ['uint8', [2, 3]],
    ] as [Dtype, number[]][]) {
      const c = randomChunk(dtype, shape, 3, dtype === 'uint8' ? 0 : -100, dtype === 'uint8' ? 256 : 100);
      const d = runner.upload(c);
      const [back] = await runner.readback([d]);
      runner.release(d);
      expect(back).toEqual(c);
    }
  });
});

describe('elementwise kernels', () => {
  const unary: [string, Tolerance, number, number][] = [
    ['neg', {}, -5, 5],
    ['abs', {}, -5, 5],
    ['sqrt', { rel: 3 * ULP }, 0, 100],
    ['exp', { rel: 4e-6 }, -8, 8],
    ['log', { abs: 4e-7, rel: 4e-7 }, 1e-3, 50],
    ['sin', { abs: 2e-6 }, -100, 100],
    ['cos', { abs: 2e-6 }, -100, 100],
    ['tanh', { abs: 4e-7, rel: 1e-6 }, -12, 12],
  ];
  for (const [op, tol, lo, hi] of unary) {
    it(`${op} float32 on odd shapes`, async () => {
      for (const shape of SHAPES) {
        const x = randomChunk('float32', shape, 11, lo, hi);
        const t = ew([{ op: op as Instruction['op'], args: [{ input: 0 }], dtype: 'float32' }], [{}], shape, 'float32');
        const { cpu, gpu } = await both(runner, t, [x]);
        expectClose(gpu, cpu, tol, `${op} [${shape}]`);
      }
    });
  }

  it('tanh near zero and far out, sin and cos of 0 and small values', async () => {
    const data = [0, -0, 1e-8, -1e-6, 1e-3, 0.06, 0.07, 0.5, 3, 10, 40, -40, 1e-30];
    const x = chunkOf('float32', [data.length], data);
    for (const [op, tol] of [
      ['tanh', { abs: 1e-9, rel: 1e-6 }],
      ['sin', { abs: 1e-7, rel: 1e-6 }],
      ['cos', { abs: 2e-7 }],
    ] as [string, Tolerance][]) {
      const { cpu, gpu } = await both(
        runner,
        ew([{ op: op as Instruction['op'], args: [{ input: 0 }], dtype: 'float32' }], [{}], [data.length], 'float32'),
        [x],
      );
      expectClose(gpu, cpu, tol, op);
    }
  });

  const binary: [string, Tolerance][] = [
    ['add', { rel: ULP }],
    ['sub', { rel: ULP, abs: 1e-6 }],
    ['mul', { rel: ULP }],
    ['div', { rel: 3 * ULP }],
    ['maximum', {}],
    ['minimum', {}],
  ];
  for (const [op, tol] of binary) {
    it(`${op} float32 with broadcasting, a transposed view and a constant`, async () => {
      const a = randomChunk('float32', [37, 53], 1);
      const row = randomChunk('float32', [1, 53], 2, 0.5, 3);
      const col = randomChunk('float32', [37, 1], 3, 0.5, 3);
      const sq = randomChunk('float32', [53, 37], 4, 0.5, 3);
      const cases: [Chunk[], ElementwiseParams['inputs'], Instruction['args']][] = [
        [
          [a, row],
          [{}, {}],
          [{ input: 0 }, { input: 1 }],
        ],
        [
          [col, a],
          [{}, {}],
          [{ input: 0 }, { input: 1 }],
        ],
        [
          [a, sq],
          [{}, { perm: [1, 0] }],
          [{ input: 0 }, { input: 1 }],
        ],
        [[a], [{}], [{ input: 0 }, { const: 1.75, dtype: 'float32' }]],
        [[a], [{}], [{ const: -2.5, dtype: 'float32' }, { input: 0 }]],
      ];
      for (const [inputs, views, args] of cases) {
        const t = ew([{ op: op as Instruction['op'], args, dtype: 'float32' }], views, [37, 53], 'float32');
        const { cpu, gpu } = await both(runner, t, inputs);
        expectClose(gpu, cpu, tol, op);
      }
    });
  }

  it('rounding, sign, square, reciprocal, log2 exp2 log10, degrees radians, copysign: float32 as the CPU gives them', async () => {
    const cases: [string, Tolerance, number, number][] = [
      ['floor', {}, -50, 50], ['ceil', {}, -50, 50], ['trunc', {}, -50, 50], ['sign', {}, -3, 3], ['square', { rel: ULP }, -30, 30],
      ['reciprocal', { rel: 3 * ULP }, 0.01, 40], ['log2', { abs: 2e-6, rel: 4 * ULP }, 1e-3, 1e3], ['exp2', { rel: 1e-5 }, -20, 20],
      ['log10', { abs: 2e-6, rel: 4 * ULP }, 1e-3, 1e3], ['degrees', { rel: 2 * ULP }, -7, 7], ['radians', { rel: 2 * ULP }, -400, 400],
    ];
    for (const [op, tol, lo, hi] of cases) {
      const x = randomChunk('float32', [37, 11], 21, lo, hi);
      const { cpu, gpu } = await both(runner, ew([{ op: op as Instruction['op'], args: [{ input: 0 }], dtype: 'float32' }], [{}], [37, 11], 'float32'), [x]);
      expectClose(gpu, cpu, tol, op);
    }
    // Halves round to even; the sign of ±0 is 0 and of NaN NaN; copysign takes -0's sign.
    const special = chunkOf('float32', [8], [0.5, 1.5, 2.5, -0.5, -2.5, -0, NaN, 3]);
    const signs = chunkOf('float32', [8], [-1, 1, -0, 0, 2, -3, -1, -0]);
    for (const [op, args] of [
      ['rint', [{ input: 0 }]],
      ['sign', [{ input: 0 }]],
      ['copysign', [{ input: 0 }, { input: 1 }]],
    ] as [Instruction['op'], Instruction['args']][]) {
      const { cpu, gpu } = await both(runner, ew([{ op, args, dtype: 'float32' }], [{}, {}], [8], 'float32'), [special, signs]);
      expect(Array.from(gpu.data as Float32Array).map((v) => (Object.is(v, -0) ? '-0' : String(v))), op).toEqual(
        Array.from(cpu.data as Float32Array).map((v) => (Object.is(v, -0) ? '-0' : String(v))),
      );
    }
  });

  it('predicates, logic and bitwise ops on float32, int32, uint8 and bool', async () => {
    const f = chunkOf('float32', [10], [NaN, Infinity, -Infinity, 0, -0, 1.5, -2, 3e38, 1e-40, 7]);
    const i = chunkOf('int32', [10], [0, -1, 5, 2147483647, -2147483648, 3, 0, 12, -7, 1]);
    const u = chunkOf('uint8', [10], [0, 255, 3, 128, 1, 0, 17, 200, 9, 64]);
    const b = chunkOf('bool', [10], [1, 0, 1, 1, 0, 0, 1, 0, 1, 0]);
    const all = [f, i, u, b];
    const dtypes = ['float32', 'int32', 'uint8', 'bool'] as const;
    for (const [k, d] of dtypes.entries()) {
      for (const op of ['isnan', 'isinf', 'isfinite', 'logical_not'] as const) {
        const { cpu, gpu } = await both(runner, ew([{ op, args: [{ input: k }], dtype: 'bool' }], all.map(() => ({})), [10], 'bool'), all);
        expect(gpu, `${op} ${d}`).toEqual(cpu);
      }
      for (const op of ['logical_and', 'logical_or', 'logical_xor'] as const) {
        const { cpu, gpu } = await both(runner, ew([{ op, args: [{ input: k }, { input: (k + 1) % 4 }], dtype: 'bool' }], all.map(() => ({})), [10], 'bool'), all);
        expect(gpu, `${op} ${d}`).toEqual(cpu);
      }
      if (d === 'float32') continue;
      const { cpu, gpu } = await both(runner, ew([{ op: 'invert', args: [{ input: k }], dtype: d }], all.map(() => ({})), [10], d), all);
      expect(gpu, `invert ${d}`).toEqual(cpu);
      for (const op of ['bitwise_and', 'bitwise_or', 'bitwise_xor', 'square', 'sign'] as const) {
        if (d === 'bool' && (op === 'square' || op === 'sign')) continue;
        const args: Instruction['args'] = op === 'square' || op === 'sign' ? [{ input: k }] : [{ input: k }, { const: 0b1011, dtype: d }];
        const { cpu, gpu } = await both(runner, ew([{ op, args, dtype: d }], all.map(() => ({})), [10], d), all);
        expect(gpu, `${op} ${d}`).toEqual(cpu);
      }
    }
  });

  it('maximum and minimum propagate NaN like numpy', async () => {
    const a = chunkOf('float32', [6], [NaN, 1, NaN, -0, 0, 3]);
    const b = chunkOf('float32', [6], [1, NaN, NaN, 0, -0, -Infinity]);
    for (const op of ['maximum', 'minimum'] as const) {
      const { cpu, gpu } = await both(
        runner,
        ew([{ op, args: [{ input: 0 }, { input: 1 }], dtype: 'float32' }], [{}, {}], [6], 'float32'),
        [a, b],
      );
      expect(Array.from(gpu.data as ArrayLike<number | bigint>)).toEqual(Array.from(cpu.data as ArrayLike<number | bigint>));
    }
  });

  it('pow: squares exactly, integer exponents of negative bases, general exponents', async () => {
    const x = randomChunk('float32', [41, 3], 5, -3, 3);
    const pos = randomChunk('float32', [41, 3], 6, 0.1, 4);
    const e = chunkOf(
      'float32',
      [41, 3],
      values(123, 7, (u) => Math.floor(u * 7) - 3),
    );
    const y = randomChunk('float32', [41, 3], 8, -2, 2);
    const run = async (inputs: Chunk[], args: Instruction['args'], tol: Tolerance, label: string) => {
      const { cpu, gpu } = await both(
        runner,
        ew(
          [{ op: 'pow', args, dtype: 'float32' }],
          inputs.map(() => ({})),
          [41, 3],
          'float32',
        ),
        inputs,
      );
      expectClose(gpu, cpu, tol, label);
    };
    await run([x], [{ input: 0 }, { const: 2, dtype: 'float32' }], {}, 'x**2');
    await run([x, e], [{ input: 0 }, { input: 1 }], { rel: 2e-6 * 8, abs: 1e-30 }, 'x**int');
    await run([pos, y], [{ input: 0 }, { input: 1 }], { rel: 2e-6 * 4 }, 'x**y');
    await run([x], [{ input: 0 }, { const: 0.5, dtype: 'float32' }], { rel: 2e-6 * 2 }, 'x**0.5 (NaN for x < 0)');
  });

  it('bool: comparisons give packed bools; add is or, mul is and; casts to and from bool; where on a bool mask', async () => {
    const x = randomChunk('float32', [7, 9], 41, -2, 2);
    const i = randomChunk('int32', [7, 9], 42, -3, 3);
    const u = randomChunk('uint8', [7, 9], 43, 0, 256);
    const prog = (op: 'add' | 'mul' | 'maximum' | 'minimum' | 'abs' | 'ne'): Instruction[] => [
      { op: 'gt', args: [{ input: 0 }, { const: 0, dtype: 'float32' }], dtype: 'bool' },
      { op: 'astype', args: [{ input: 1 }], dtype: 'bool' },
      op === 'abs' ? { op, args: [{ ref: 0 }], dtype: 'bool' } : { op, args: [{ ref: 0 }, { ref: 1 }], dtype: 'bool' },
    ];
    for (const op of ['add', 'mul', 'maximum', 'minimum', 'abs', 'ne'] as const) {
      const { cpu, gpu } = await both(runner, ew(prog(op), [{}, {}], [7, 9], 'bool'), [x, i]);
      expect(gpu.dtype, op).toBe('bool');
      expect(gpu, op).toEqual(cpu);
    }
    // NaN is true as a bool; a bool mask selects; bools widen to int32 and float32.
    const withNan = chunkOf('float32', [6], [NaN, 0, -0, 0.25, -3, Infinity]);
    const cast = await both(runner, ew([{ op: 'astype', args: [{ input: 0 }], dtype: 'bool' }], [{}], [6], 'bool'), [withNan]);
    expect([...cast.gpu.data]).toEqual([1, 0, 0, 1, 1, 1]);
    const masked: Instruction[] = [
      { op: 'astype', args: [{ input: 1 }], dtype: 'bool' },
      { op: 'where', args: [{ ref: 0 }, { input: 0 }, { const: -1, dtype: 'float32' }], dtype: 'float32' },
      { op: 'astype', args: [{ ref: 0 }], dtype: 'int32' },
      { op: 'add', args: [{ ref: 1 }, { ref: 2 }], dtype: 'float32' },
    ];
    const sel = await both(runner, ew(masked, [{}, {}], [7, 9], 'float32'), [x, u]);
    expect(sel.gpu).toEqual(sel.cpu);
  });

  it('comparisons give packed uint8; where selects', async () => {
    const a = randomChunk('float32', [7, 9], 21, -2, 2);
    const b = chunkOf(
      'float32',
      [7, 9],
      Array.from(a.data as Float32Array, (v, i) => (i % 3 === 0 ? v : v + 0.5)),
    );
    for (const op of ['lt', 'le', 'gt', 'ge', 'eq', 'ne'] as const) {
      const { cpu, gpu } = await both(runner, ew([{ op, args: [{ input: 0 }, { input: 1 }], dtype: 'uint8' }], [{}, {}], [7, 9], 'uint8'), [
        a,
        b,
      ]);
      expect(gpu, op).toEqual(cpu);
    }
    const prog: Instruction[] = [
      { op: 'gt', args: [{ input: 0 }, { const: 0, dtype: 'float32' }], dtype: 'uint8' },
      { op: 'where', args: [{ ref: 0 }, { input: 0 }, { input: 1 }], dtype: 'float32' },
    ];
    const { cpu, gpu } = await both(runner, ew(prog, [{}, {}], [7, 9], 'float32'), [a, b]);
    expect(gpu).toEqual(cpu);
  });

  it('int32 arithmetic wraps like the CPU; integer power, max/min, neg, abs', async () => {
    const big = [2147483647, -2147483648, 123456789, -98765, 0, 1, -1, 46341, 65536, 7, -7, 1000000];
    const a = chunkOf('int32', [12], big);
    const b = chunkOf('int32', [12], [1, -1, 987654321, 3, 5, -3, 2, 46341, 65536, -1, 3, 3]);
    for (const op of ['add', 'sub', 'mul', 'maximum', 'minimum', 'pow', 'lt', 'eq'] as const) {
      const dtype = op === 'lt' || op === 'eq' ? 'uint8' : 'int32';
      const { cpu, gpu } = await both(runner, ew([{ op, args: [{ input: 0 }, { input: 1 }], dtype }], [{}, {}], [12], dtype), [a, b]);
      expect(gpu, op).toEqual(cpu);
    }
    for (const op of ['neg', 'abs'] as const) {
      const { cpu, gpu } = await both(runner, ew([{ op, args: [{ input: 0 }], dtype: 'int32' }], [{}], [12], 'int32'), [a]);
      expect(gpu, op).toEqual(cpu);
    }
  });

  it('uint8 arithmetic wraps modulo 256 and mixes with int32 and float32', async () => {
    const a = randomChunk('uint8', [5, 13], 31, 0, 256);
    const b = randomChunk('uint8', [5, 13], 32, 0, 256);
    const i = randomChunk('int32', [5, 13], 33, -1000, 1000);
    const f = randomChunk('float32', [5, 13], 34);
    for (const op of ['add', 'sub', 'mul', 'maximum', 'minimum'] as const) {
      const { cpu, gpu } = await both(
        runner,
        ew([{ op, args: [{ input: 0 }, { input: 1 }], dtype: 'uint8' }], [{}, {}], [5, 13], 'uint8'),
        [a, b],
      );
      expect(gpu, op).toEqual(cpu);
    }
    const { cpu, gpu } = await both(runner, ew([{ op: 'neg', args: [{ input: 0 }], dtype: 'uint8' }], [{}], [5, 13], 'uint8'), [a]);
    expect(gpu).toEqual(cpu);
    const mixedI = await both(runner, ew([{ op: 'add', args: [{ input: 0 }, { input: 1 }], dtype: 'int32' }], [{}, {}], [5, 13], 'int32'), [
      a,
      i,
    ]);
    expect(mixedI.gpu).toEqual(mixedI.cpu);
    const mixedF = await both(
      runner,
      ew([{ op: 'mul', args: [{ input: 0 }, { input: 1 }], dtype: 'float32' }], [{}, {}], [5, 13], 'float32'),
      [a, f],
    );
    expectClose(mixedF.gpu, mixedF.cpu, { rel: ULP });
    const sq = await both(runner, ew([{ op: 'sqrt', args: [{ input: 0 }], dtype: 'float32' }], [{}], [5, 13], 'float32'), [a]);
    expectClose(sq.gpu, sq.cpu, { rel: 3 * ULP });
  });

  it('astype between float32, int32 and uint8 (truncation; NaN, infinities and values outside int32 give its minimum, as numpy on x86-64)', async () => {
    const fs = [0.5, -0.5, 1.9, -1.9, 255.7, 256, -1, 3e9, -3e9, 2 ** 31, -(2 ** 31), 1e20, NaN, Infinity, -Infinity, 2 ** 40 + 2 ** 20];
    const f = chunkOf('float32', [fs.length], fs);
    for (const to of ['int32', 'uint8'] as const) {
      const { cpu, gpu } = await both(runner, ew([{ op: 'astype', args: [{ input: 0 }], dtype: to }], [{}], [fs.length], to), [f]);
      expect(gpu, `float32 -> ${to}`).toEqual(cpu);
    }
    const i = chunkOf('int32', [6], [-1, 256, 300, 16777217, -2147483648, 2147483647]);
    for (const to of ['uint8', 'float32'] as const) {
      const { cpu, gpu } = await both(runner, ew([{ op: 'astype', args: [{ input: 0 }], dtype: to }], [{}], [6], to), [i]);
      expectClose(gpu, cpu, { rel: ULP }, `int32 -> ${to}`);
    }
    const u = randomChunk('uint8', [9], 3, 0, 256);
    for (const to of ['int32', 'float32'] as const) {
      const { cpu, gpu } = await both(runner, ew([{ op: 'astype', args: [{ input: 0 }], dtype: to }], [{}], [9], to), [u]);
      expect(gpu, `uint8 -> ${to}`).toEqual(cpu);
    }
  });

  it('a fused chain is one shader: sin(x)**2 + cos(x)**2 over x + x.T, then the same chain again from the cache', async () => {
    const x = randomChunk('float32', [29, 29], 41);
    const prog: Instruction[] = [
      { op: 'add', args: [{ input: 0 }, { input: 1 }], dtype: 'float32' },
      { op: 'sin', args: [{ ref: 0 }], dtype: 'float32' },
      { op: 'pow', args: [{ ref: 1 }, { const: 2, dtype: 'float32' }], dtype: 'float32' },
      { op: 'cos', args: [{ ref: 0 }], dtype: 'float32' },
      { op: 'mul', args: [{ ref: 3 }, { ref: 3 }], dtype: 'float32' },
      { op: 'add', args: [{ ref: 2 }, { ref: 4 }], dtype: 'float32' },
      { op: 'mul', args: [{ ref: 5 }, { input: 0 }], dtype: 'float32' },
    ];
    const before = runner.stats().pipelines;
    const t = ew(prog, [{}, { perm: [1, 0] }], [29, 29], 'float32');
    const { cpu, gpu } = await both(runner, t, [x, x]);
    expectClose(gpu, cpu, { rel: 4e-6, abs: 4e-6 });
    expect(runner.stats().pipelines).toBe(before + 1);
    await both(runner, { ...t, key: key('ew') }, [x, x]);
    expect(runner.stats().pipelines).toBe(before + 1);
  });

  it('every chunk of a random array runs the same shader (offsets and keys are parameters, not source)', async () => {
    const t = (seed: number, offset: number[]) => ({
      key: key('random'),
      op: 'random',
      params: { dist: 'normal', seed, a: 0, b: 1, offset, fullShape: [100, 100] },
      shape: [25, 25],
      dtype: 'float32' as const,
    });
    await both(runner, t(1, [0, 0]), []);
    const before = runner.stats().pipelines;
    for (const [seed, offset] of [
      [1, [25, 50]],
      [2, [75, 0]],
      [3, [50, 75]],
    ] as [number, number[]][]) {
      const { cpu, gpu } = await both(runner, t(seed, offset), []);
      expectClose(gpu, cpu, { abs: 2e-5, rel: 2e-5 }, `seed ${seed} at [${offset}]`);
    }
    expect(runner.stats().pipelines).toBe(before);
  });

  it('creation sources are generated inside the kernel: random (uniform, normal; transposed), full, arange', async () => {
    const rnd = (dist: 'uniform' | 'normal', shape: number[], offset: number[], fullShape: number[]) => ({
      op: 'random' as const,
      params: { dist, seed: 1234, a: dist === 'uniform' ? -2 : 1, b: dist === 'uniform' ? 3 : 2, offset, fullShape },
      shape,
      dtype: 'float32' as const,
    });
    const cases: [ElementwiseParams['inputs'], number[], Tolerance][] = [
      [[{ source: rnd('uniform', [31, 17], [40, 17], [100, 60]) }], [31, 17], { abs: 5 * ULP * 5, rel: ULP }],
      [[{ source: rnd('normal', [31, 17], [3, 0], [100, 60]) }], [31, 17], { abs: 2e-5, rel: 2e-5 }],
      [[{ perm: [1, 0], source: rnd('uniform', [17, 31], [0, 5], [17, 90]) }], [31, 17], { abs: 5 * ULP * 5, rel: ULP }],
      [[{ source: { op: 'full', params: { value: 0.1 }, shape: [1], dtype: 'float32' } }], [31, 17], {}],
      [[{ source: { op: 'arange', params: { start: 0.5, step: 0.25 }, shape: [17], dtype: 'float32' } }], [31, 17], {}],
    ];
    for (const [inputs, domain, tol] of cases) {
      const dtype = 'float32';
      const t = ew([{ op: 'mul', args: [{ input: 0 }, { const: 1, dtype }], dtype }], inputs, domain, dtype);
      const { cpu, gpu } = await both(runner, t, []);
      expectClose(gpu, cpu, tol, JSON.stringify(inputs[0]!.source!.op));
    }
    const ia = ew(
      [{ op: 'astype', args: [{ input: 0 }], dtype: 'int32' }],
      [{ source: { op: 'arange', params: { start: -7, step: 3 }, shape: [23], dtype: 'int32' } }],
      [23],
      'int32',
    );
    const r = await both(runner, ia, []);
    expect(r.gpu).toEqual(r.cpu);
    // The creation ops as tasks of their own.
    for (const t of [
      {
        key: key('random'),
        op: 'random',
        params: rnd('uniform', [13, 11], [2, 3], [20, 20]).params,
        shape: [13, 11],
        dtype: 'float32' as const,
      },
      { key: key('full'), op: 'full', params: { value: 7 }, shape: [5, 3], dtype: 'int32' as const },
      { key: key('full'), op: 'full', params: { value: 300 }, shape: [7], dtype: 'uint8' as const },
      { key: key('arange'), op: 'arange', params: { start: 1, step: 0.5 }, shape: [19], dtype: 'float32' as const },
    ]) {
      const { cpu, gpu } = await both(runner, t, []);
      expectClose(gpu, cpu, { abs: 25 * ULP, rel: ULP }, t.op);
    }
  });
});
