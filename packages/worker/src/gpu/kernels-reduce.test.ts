import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// lavapipe compiles shaders and runs kernels on the CPU cores other test files share: generous limits.
vi.setConfig({ testTimeout: 240_000, hookTimeout: 240_000 });
import {
  partialComponents,
  reducedShape,
  sizeOf,
  type Chunk,
  type Instruction,
  type ReductionKind,
} from '@tessera/protocol';
import { executeTask } from '../kernels/index.js';
import type { GpuRunner } from './runner.js';
import { ULP, both, chunkOf, ew, expectClose, key, openTestRunner, randomChunk } from './gpu.test-util.js';

// Reductions, transpose, matmul and mixed precision against the CPU kernels; the tolerances
// per op are listed in kernels.test.ts.

let runner: GpuRunner;

beforeAll(async () => void (runner = await openTestRunner()));
afterAll(() => runner?.close());


// ---- reductions -------------------------------------------------------------------------------

/** Compare two partials of a kind, component by component, with the tolerance of the kind. */
function expectPartialClose(gpu: Chunk, cpu: Chunk, kind: ReductionKind, scale: number, label: string): void {
  expect(gpu.shape, label).toEqual(cpu.shape);
  const C = partialComponents(kind);
  for (let s = 0; s < cpu.data.length; s += C) {
    const c = Array.from((cpu.data as Float64Array).subarray(s, s + C));
    const g = Array.from((gpu.data as Float64Array).subarray(s, s + C));
    const at = `${label} slot ${s / C}: GPU [${g}] CPU [${c}]`;
    switch (kind) {
      case 'sum':
      case 'mean':
        expect(Math.abs(g[C - 1]! - c[C - 1]!), at).toBeLessThanOrEqual(1e-5 * scale + 1e-30);
        if (kind === 'mean') expect(g[0], at).toBe(c[0]);
        break;
      case 'prod':
        expect(Math.abs(g[0]! - c[0]!), at).toBeLessThanOrEqual(1e-5 * Math.abs(c[0]!));
        break;
      case 'var':
      case 'std':
        expect(g[0], at).toBe(c[0]);
        expect(Math.abs(g[1]! - c[1]!), at).toBeLessThanOrEqual(1e-5 * scale);
        expect(Math.abs(g[2]! - c[2]!), at).toBeLessThanOrEqual(1e-4 * Math.abs(c[2]!) + 1e-6);
        break;
      default:
        expect(g, at).toEqual(c);
    }
  }
}

describe('reductions', () => {
  const kinds: ReductionKind[] = ['sum', 'prod', 'min', 'max', 'mean', 'var', 'std', 'argmin', 'argmax'];
  const cases: { shape: number[]; axes: number[][] }[] = [
    { shape: [37, 53], axes: [[0, 1], [0], [1]] },
    { shape: [5, 7, 11], axes: [[0, 1, 2], [1], [0, 2], [2]] },
    { shape: [1], axes: [[0]] },
  ];
  for (const kind of kinds) {
    it(`${kind}: full and along axes, as reduce-partial tasks`, async () => {
      for (const { shape, axes: list } of cases) {
        for (const axes of list) {
          if ((kind === 'argmin' || kind === 'argmax') && axes.length !== 1 && axes.length !== shape.length) continue;
          const lo = kind === 'prod' ? 0.9 : -3;
          const hi = kind === 'prod' ? 1.1 : 3;
          const x = randomChunk('float32', shape, 51, lo, hi);
          const offset = shape.map((_, i) => i * 3);
          const fullShape = shape.map((d, i) => d + i * 5);
          const spec = { kind, axes, ...(kind.startsWith('arg') ? { offset, fullShape } : {}) };
          const outShape = [...reducedShape(shape, axes, true), partialComponents(kind)];
          const t = { key: key('rp'), op: 'reduce-partial', params: spec, shape: outShape, dtype: 'float64' as const };
          const { cpu, gpu } = await both(runner, t, [x]);
          const scale = Array.from(x.data as ArrayLike<number | bigint>).reduce((s: number, v) => s + Math.abs(Number(v)), 0);
          expectPartialClose(gpu, cpu, kind, scale, `${kind} [${shape}] axes [${axes}]`);
        }
      }
    });
  }

  it('min, max, argmin, argmax see NaN first (numpy), ties go to the first index', async () => {
    const data = [3, 1, NaN, 1, -2, -2, NaN, 5, 5];
    const x = chunkOf('float32', [3, 3], data);
    for (const kind of ['min', 'max', 'argmin', 'argmax'] as const) {
      for (const axes of [[0, 1], [1], [0]]) {
        const spec = { kind, axes, ...(kind.startsWith('arg') ? { offset: [0, 0], fullShape: [3, 3] } : {}) };
        const t = {
          key: key('rp'),
          op: 'reduce-partial',
          params: spec,
          shape: [...reducedShape([3, 3], axes, true), partialComponents(kind)],
          dtype: 'float64' as const,
        };
        const { cpu, gpu } = await both(runner, t, [x]);
        expect(Array.from(gpu.data as ArrayLike<number | bigint>), `${kind} ${axes}`).toEqual(Array.from(cpu.data as ArrayLike<number | bigint>));
      }
      const ties = chunkOf('float32', [2, 4], [1, 0, 0, 1, 2, 2, 9, 9]);
      const t = {
        key: key('rp'),
        op: 'reduce-partial',
        params: { kind, axes: [1], offset: [0, 0], fullShape: [2, 4] },
        shape: [2, 1, partialComponents(kind)],
        dtype: 'float64' as const,
      };
      const r = await both(runner, t, [ties]);
      expect(Array.from(r.gpu.data as ArrayLike<number | bigint>)).toEqual(Array.from(r.cpu.data as ArrayLike<number | bigint>));
    }
  });

  // Generous timeouts: lavapipe compiles each shader on the CPU, which CI shares with other test files.
  it('long axes: a workgroup tree in groups plus a second pass, and thread-per-slot groups', { timeout: 240_000 }, async () => {
    // Row mode: 120000 elements in one slot (several groups, then the second pass).
    const long = randomChunk('float32', [3, 40000], 61);
    // Column mode: 300 slots of 600 elements each (a thread per slot and group, then the second pass).
    const tall = randomChunk('float32', [600, 300], 62);
    // 300000 elements, one slot: 74 groups, merged by a workgroup tree in the second pass too.
    const wide = randomChunk('float32', [2, 150000], 63);
    for (const [x, axes] of [
      [long, [0, 1]],
      [long, [1]],
      [tall, [0]],
      [wide, [0, 1]],
    ] as [Chunk, number[]][]) {
      for (const kind of ['sum', 'var', 'argmax'] as const) {
        const spec = { kind, axes, ...(kind === 'argmax' ? { offset: [0, 0], fullShape: x.shape } : {}) };
        const t = {
          key: key('rp'),
          op: 'reduce-partial',
          params: spec,
          shape: [...reducedShape(x.shape, axes, true), partialComponents(kind)],
          dtype: 'float64' as const,
        };
        const { cpu, gpu } = await both(runner, t, [x]);
        const rows = sizeOf(x.shape) / (sizeOf(t.shape) / partialComponents(kind));
        expectPartialClose(gpu, cpu, kind, 4 * Math.sqrt(rows) * 3 + 3 * rows * 1e-2, `${kind} [${x.shape}] axes [${axes}]`);
      }
    }
  });

  it('a reduction fused into its chain: sum((x * 2 + y.T) ** 2) along each axis, and over a random source', async () => {
    const x = randomChunk('float32', [23, 31], 71);
    const y = randomChunk('float32', [31, 23], 72);
    const prog: Instruction[] = [
      { op: 'mul', args: [{ input: 0 }, { const: 2, dtype: 'float32' }], dtype: 'float32' },
      { op: 'add', args: [{ ref: 0 }, { input: 1 }], dtype: 'float32' },
      { op: 'pow', args: [{ ref: 1 }, { const: 2, dtype: 'float32' }], dtype: 'float32' },
    ];
    for (const axes of [[0, 1], [0], [1]]) {
      const t = ew(prog, [{}, { perm: [1, 0] }], [23, 31], 'float64', { reduce: { kind: 'mean', axes } });
      t.shape = [...reducedShape([23, 31], axes, true), 2];
      const { cpu, gpu } = await both(runner, t, [x, y]);
      expectPartialClose(gpu, cpu, 'mean', 23 * 31 * 100, `mean axes [${axes}]`);
    }
    const src = {
      op: 'random' as const,
      params: { dist: 'uniform', seed: 9, a: 0, b: 1, offset: [10, 20], fullShape: [50, 60] },
      shape: [23, 31],
      dtype: 'float32' as const,
    };
    const t = ew([{ op: 'astype', args: [{ input: 0 }], dtype: 'float32' }], [{ source: src }], [23, 31], 'float64', {
      reduce: { kind: 'argmax', axes: [0, 1], offset: [10, 20], fullShape: [50, 60] },
    });
    t.shape = [1, 1, 2];
    const { cpu, gpu } = await both(runner, t, []);
    // The index exactly; the value within a float32 random's tolerance.
    expect(gpu.data[1]).toBe(cpu.data[1]);
    expect(Math.abs(Number(gpu.data[0]!) - Number(cpu.data[0]!))).toBeLessThanOrEqual(2 * ULP);
  });
});

// ---- structure and products -------------------------------------------------------------------

describe('transpose', () => {
  it('2-D (tiled), batched and general permutations, float32 and int32: exact', async () => {
    const cases: [number[], number[]][] = [
      [
        [37, 53],
        [1, 0],
      ],
      [
        [1, 45],
        [1, 0],
      ],
      [
        [5, 7, 11],
        [0, 2, 1],
      ],
      [
        [5, 7, 11],
        [2, 1, 0],
      ],
      [
        [5, 7, 11],
        [1, 0, 2],
      ],
      [
        [5, 7, 11],
        [2, 0, 1],
      ],
      [
        [3, 4, 5, 6],
        [3, 1, 0, 2],
      ],
      [
        [130, 67],
        [1, 0],
      ],
    ];
    for (const dtype of ['float32', 'int32'] as const) {
      for (const [shape, axes] of cases) {
        const x = randomChunk(dtype, shape, 81, -1000, 1000);
        const t = { key: key('t'), op: 'transpose', params: { axes }, shape: axes.map((a) => shape[a]!), dtype };
        const { cpu, gpu } = await both(runner, t, [x]);
        expect(gpu, `${dtype} [${shape}] axes [${axes}]`).toEqual(cpu);
      }
    }
  });
});

describe('tensordot (tiled matmul)', () => {
  /** Tolerance of one output: 1e-5 of sum |a_ik| |b_kj|, bounded here by K * max|a| * max|b|. */
  const check = (gpu: Chunk, cpu: Chunk, K: number, label: string) => expectClose(gpu, cpu, { abs: 1e-5 * K * 4 * 4 * 0.5 }, label);

  it('odd shapes (scalar loads), multiples of 4 (vec4 loads), a transposed operand, several pairs', async () => {
    const cases: { a: number[]; b: number[]; axesA: number[]; axesB: number[]; pairs?: number }[] = [
      { a: [67, 45], b: [45, 71], axesA: [1], axesB: [0] },
      { a: [64, 128], b: [128, 36], axesA: [1], axesB: [0] },
      { a: [1, 9], b: [9, 1], axesA: [1], axesB: [0] },
      { a: [45, 67], b: [45, 71], axesA: [0], axesB: [0] },
      { a: [67, 45], b: [71, 45], axesA: [1], axesB: [1] },
      { a: [3, 5, 7], b: [7, 13], axesA: [2], axesB: [0] },
      { a: [33, 40], b: [40, 20], axesA: [1], axesB: [0], pairs: 3 },
    ];
    for (const c of cases) {
      const pairs = c.pairs ?? 1;
      const as = Array.from({ length: pairs }, (_, k) => randomChunk('float32', c.a, 90 + k, -2, 2));
      const bs = Array.from({ length: pairs }, (_, k) => randomChunk('float32', c.b, 95 + k, -2, 2));
      const shape = [...c.a.filter((_, i) => !c.axesA.includes(i)), ...c.b.filter((_, i) => !c.axesB.includes(i))];
      const t = { key: key('td'), op: 'tensordot', params: { axesA: c.axesA, axesB: c.axesB, pairs }, shape, dtype: 'float32' as const };
      const { cpu, gpu } = await both(runner, t, [...as, ...bs]);
      const K = c.axesA.reduce((s, ax) => s * c.a[ax]!, 1) * pairs;
      check(gpu, cpu, K, `${JSON.stringify(c)}`);
    }
  });

  it('int32 products wrap exactly like the CPU result', async () => {
    const a = randomChunk('int32', [19, 23], 101, -50, 50);
    const b = randomChunk('int32', [23, 12], 102, -50, 50);
    const t = { key: key('td'), op: 'tensordot', params: { axesA: [1], axesB: [0], pairs: 1 }, shape: [19, 12], dtype: 'int32' as const };
    const { cpu, gpu } = await both(runner, t, [a, b]);
    expect(gpu).toEqual(cpu);
  });
});

describe('mixed precision (float16 storage, float32 accumulation)', () => {
  it('elementwise, reductions, transpose and matmul within 2e-3 of float32', async () => {
    const half = await openTestRunner({ f16: true });
    try {
      expect(half.info.f16).toBe(true);
      const x = randomChunk('float32', [33, 45], 111, -2, 2);
      const y = randomChunk('float32', [45, 21], 112, -2, 2);
      const e = ew([{ op: 'exp', args: [{ input: 0 }], dtype: 'float32' }], [{}], [33, 45], 'float32');
      const r1 = await both(half, e, [x]);
      expectClose(r1.gpu, r1.cpu, { rel: 2e-3, abs: 1e-3 }, 'exp');
      const mm = {
        key: key('td'),
        op: 'tensordot',
        params: { axesA: [1], axesB: [0], pairs: 1 },
        shape: [33, 21],
        dtype: 'float32' as const,
      };
      const r2 = await both(half, mm, [x, y]);
      expectClose(r2.gpu, r2.cpu, { abs: 2e-3 * 45 * 4 }, 'matmul');
      const tr = { key: key('t'), op: 'transpose', params: { axes: [1, 0] }, shape: [45, 33], dtype: 'float32' as const };
      const r3 = await both(half, tr, [x]);
      expectClose(r3.gpu, r3.cpu, { rel: 2e-3 }, 'transpose');
      const rp = { key: key('rp'), op: 'reduce-partial', params: { kind: 'sum', axes: [0] }, shape: [1, 45, 1], dtype: 'float64' as const };
      const r4 = await both(half, rp, [x]);
      expectClose(r4.gpu, r4.cpu, { abs: 2e-3 * 33 * 2 }, 'sum');
    } finally {
      half.close();
    }
  });
});

describe('what stays on the CPU', () => {
  it('float64, int sums and empty chunks have no GPU kernel; the reason is given', () => {
    const f64 = {
      key: key('ew'),
      op: 'elementwise',
      params: { program: [{ op: 'sin', args: [{ input: 0 }], dtype: 'float64' }], inputs: [{}], domain: [4] },
      shape: [4],
      dtype: 'float64' as const,
    };
    expect(runner.unsupported(f64, [{ dtype: 'float64', shape: [4] }])).toMatch(/float64/);
    const isum = { key: key('rp'), op: 'reduce-partial', params: { kind: 'sum', axes: [0] }, shape: [1, 1], dtype: 'float64' as const };
    expect(runner.unsupported(isum, [{ dtype: 'int32', shape: [4] }])).toMatch(/float32/);
    const empty = ew([{ op: 'neg', args: [{ input: 0 }], dtype: 'float32' }], [{}], [0, 3], 'float32');
    expect(runner.unsupported(empty, [{ dtype: 'float32', shape: [0, 3] }])).toMatch(/empty/);
    expect(runner.unsupported({ key: key('mb'), op: 'map-blocks', params: {}, shape: [2], dtype: 'float32' }, [])).toMatch(/no GPU kernel/);
    expect(executeTask).toBeTypeOf('function');
  });
});
