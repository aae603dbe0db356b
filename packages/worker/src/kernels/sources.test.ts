import { describe, expect, it } from 'vitest';
import type { Chunk, ElementwiseParams, TaskSpec } from '@tessera/protocol';
import { validateGraph } from '@tessera/protocol';
import { executeTask } from './index.js';

const T = '0123456789abcdef';
const run = (params: ElementwiseParams, inputs: Chunk[], shape: number[], dtype: Chunk['dtype'] = 'float64'): Chunk =>
  executeTask({ key: `f-${T}:0`, op: 'elementwise', params, shape, dtype }, inputs);

describe('fused creation sources', () => {
  const rnd = (offset: number[], shape: number[]) => ({
    op: 'random' as const,
    params: { dist: 'uniform', seed: 7, a: 0, b: 1, offset, fullShape: [6, 6] },
    shape,
    dtype: 'float64' as const,
  });

  it('a random source equals the random chunk it replaces, read through a perm', () => {
    const a = executeTask({ key: `r-${T}:0,1`, op: 'random', params: rnd([0, 3], [3, 3]).params, shape: [3, 3], dtype: 'float64' }, []);
    const b = executeTask({ key: `r-${T}:1,0`, op: 'random', params: rnd([3, 0], [3, 3]).params, shape: [3, 3], dtype: 'float64' }, []);
    const params: ElementwiseParams = {
      program: [{ op: 'add', args: [{ input: 0 }, { input: 1 }], dtype: 'float64' }],
      inputs: [{ source: rnd([0, 3], [3, 3]) }, { perm: [1, 0], source: rnd([3, 0], [3, 3]) }],
      domain: [3, 3],
    };
    const out = run(params, [], [3, 3]);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) expect(out.data[i * 3 + j]).toBe((a.data as Float64Array)[i * 3 + j]! + (b.data as Float64Array)[j * 3 + i]!);
  });

  it('a random source is generated tile by tile: broadcast, float32, transposed, and next to a transposed dependency', () => {
    // 90 x 70 domain: several tiles, short last tiles, and 8 x 512 tiles because the dependency is read transposed.
    const [R, C] = [90, 70];
    const src = (dtype: 'float64' | 'float32', offset: number[], shape: number[], full: number[]) => ({
      op: 'random' as const, params: { dist: 'uniform', seed: 11, a: -1, b: 2, offset, fullShape: full }, shape, dtype,
    });
    const chunk = (s: ReturnType<typeof src>) => executeTask({ key: `r-${T}:0`, op: 'random', params: s.params, shape: s.shape, dtype: s.dtype }, []);
    const row = src('float32', [0, 5], [1, C], [3, 80]); // broadcast along the domain's rows
    const tr = src('float64', [10, 20], [C, R], [100, 200]); // read through perm [1, 0]
    const dep: Chunk = { dtype: 'float64', shape: [C, R], data: Float64Array.from({ length: C * R }, (_, i) => i) };
    const params: ElementwiseParams = {
      program: [
        { op: 'mul', args: [{ input: 0 }, { input: 1 }], dtype: 'float64' },
        { op: 'add', args: [{ ref: 0 }, { input: 2 }], dtype: 'float64' },
      ],
      inputs: [{ source: row }, { perm: [1, 0], source: tr }, { perm: [1, 0] }],
      domain: [R, C],
    };
    const out = run(params, [dep], [R, C]);
    const a = chunk(row).data as Float32Array, b = chunk(tr).data as Float32Array;
    expect(a).toBeInstanceOf(Float32Array);
    for (let i = 0; i < R; i++) for (let j = 0; j < C; j++) expect(out.data[i * C + j]).toBe(a[j]! * b[j * R + i]! + (j * R + i));
  });

  it('mixes sources and dependencies in view order, and folds a reduction over a full source', () => {
    const dep: Chunk = { dtype: 'int32', shape: [4], data: new Int32Array([1, 2, 3, 4]) };
    const params: ElementwiseParams = {
      program: [{ op: 'mul', args: [{ input: 0 }, { input: 1 }], dtype: 'float64' }],
      inputs: [{ source: { op: 'arange', params: { start: 10, step: 1 }, shape: [4], dtype: 'float64' } }, {}],
      domain: [4],
      reduce: { kind: 'sum', axes: [0] },
    };
    const out = run(params, [dep], [1, 1]);
    expect(Array.from(out.data as ArrayLike<number | bigint>)).toEqual([10 * 1 + 11 * 2 + 12 * 3 + 13 * 4]);
    // Scratch is reused between tasks: a second, smaller run must not see the first one's values.
    const small = run({ ...params, inputs: [{ source: { op: 'full', params: { value: 2 }, shape: [2], dtype: 'float64' } }, {}], domain: [2] }, [
      { dtype: 'int32', shape: [2], data: new Int32Array([5, 6]) },
    ], [1, 1]);
    expect(Array.from(small.data as ArrayLike<number | bigint>)).toEqual([22]);
  });

  it('the validator checks a source like the task it replaces', () => {
    const task = (source: Record<string, unknown>): TaskSpec => ({
      key: `f-${T}:0`,
      op: 'elementwise',
      params: { program: [{ op: 'neg', args: [{ input: 0 }], dtype: 'float64' }], inputs: [{ source }], domain: [3] },
      deps: [],
      shape: [3],
      dtype: 'float64',
      nbytes: 24,
      priority: 0,
    });
    const ok = task({ op: 'full', params: { value: 1 }, shape: [3], dtype: 'float64' });
    expect(() => validateGraph({ tasks: [ok], outputs: [ok.key] })).not.toThrow();
    const bad = task({ op: 'random', params: { dist: 'uniform', seed: 1, a: 0, b: 1, offset: [0], fullShape: [3] }, shape: [3], dtype: 'int32' });
    expect(() => validateGraph({ tasks: [bad], outputs: [bad.key] })).toThrow(/input 0: random source: random values are float, declared int32/);
    const wrong = task({ op: 'full', params: { value: 1 }, shape: [4], dtype: 'float64' });
    expect(() => validateGraph({ tasks: [wrong], outputs: [wrong.key] })).toThrow(/do not broadcast to domain/);
  });

  it('an untrusted task has its source params checked by the source op schema', () => {
    const params = {
      program: [{ op: 'neg', args: [{ input: 0 }], dtype: 'float64' }],
      inputs: [{ source: { op: 'random', params: { dist: 'uniform', seed: -1, a: 0, b: 1, offset: [0], fullShape: [3] }, shape: [3], dtype: 'float64' } }],
      domain: [3],
    };
    const task = { key: `f-${T}:0`, op: 'elementwise', params, shape: [3], dtype: 'float64' as const };
    expect(() => executeTask(task, [])).toThrow(/input 0: bad random source params/);
  });

  it('full and arange sources generated tile by tile equal the chunks they replace, for every dtype and step', () => {
    // 9000 elements: whole tiles and a short last one; steps exact and fractional, signs both ways.
    const cases: { dtype: Chunk['dtype']; op: 'arange' | 'full'; params: Record<string, number> }[] = [];
    for (const dtype of ['float64', 'int64', 'uint64', 'int32', 'float32'] as const) {
      for (const [start, step] of [[0, 1], [-4500, 1], [3, 0.75], [2 ** 40, -3], [0.5, 2.5]] as const) {
        if (dtype === 'uint64' && (start < 0 || step < 0)) continue;
        cases.push({ dtype, op: 'arange', params: { start, step } });
      }
      cases.push({ dtype, op: 'full', params: { value: dtype === 'uint64' ? 2 ** 52 + 1 : -7.25 } });
    }
    const n = 9000;
    for (const c of cases) {
      const chunk = executeTask({ key: `${c.op}-${T}:0`, op: c.op, params: c.params, shape: [n], dtype: c.dtype }, []);
      const out = run({
        program: [{ op: 'add', args: [{ input: 0 }, { input: 1 }], dtype: c.dtype }],
        inputs: [{ source: { op: c.op, params: c.params, shape: [n], dtype: c.dtype } }, {}],
        domain: [n],
      }, [chunk], [n], c.dtype);
      const want = executeTask({
        key: `f-${T}:1`, op: 'elementwise',
        params: { program: [{ op: 'add', args: [{ input: 0 }, { input: 0 }], dtype: c.dtype }], inputs: [{}], domain: [n] },
        shape: [n], dtype: c.dtype,
      }, [chunk]);
      expect(Array.from(out.data as ArrayLike<number | bigint>), `${c.op} ${JSON.stringify(c.params)} ${c.dtype}`).toEqual(Array.from(want.data as ArrayLike<number | bigint>));
    }
  });
});
