import { describe, expect, it } from 'vitest';
import { DEFAULT_COST_MODEL, deviceDemand, gpuUnsupported, matrixStrides, planDevices } from './device.js';
import { NoGpuError, deserializeError, serializeError } from './errors.js';
import { validateGraph, type Graph, type TaskSpec } from './graph.js';
import { packTaskSpec, unpackTaskSpec } from './task-spec-codec.js';

const tok = (i: number) => i.toString(16).padStart(16, '0');

function rnd(i: number, shape: number[], dtype: 'float32' | 'float64'): TaskSpec {
  const n = shape.reduce((a, b) => a * b, 1);
  return {
    key: `random-${tok(i)}:0`,
    op: 'random',
    params: { dist: 'uniform', seed: 1, a: 0, b: 1, offset: shape.map(() => 0), fullShape: shape },
    deps: [],
    shape,
    dtype,
    nbytes: n * (dtype === 'float32' ? 4 : 8),
    priority: 0,
  };
}

function sinOf(i: number, x: TaskSpec): TaskSpec {
  return {
    key: `sin-${tok(i)}:0`,
    op: 'elementwise',
    params: { program: [{ op: 'sin', args: [{ input: 0 }], dtype: x.dtype }], inputs: [{}], domain: x.shape },
    deps: [x.key],
    shape: x.shape,
    dtype: x.dtype,
    nbytes: x.nbytes,
    priority: 1,
  };
}

describe('device planning', () => {
  it("'cpu' leaves the graph alone; 'gpu' marks what has a GPU kernel (float32), never float64", () => {
    const x = rnd(1, [512, 512], 'float32');
    const y = rnd(2, [512, 512], 'float64');
    const g: Graph = { tasks: [x, sinOf(3, x), y, sinOf(4, y)], outputs: [`sin-${tok(3)}:0`, `sin-${tok(4)}:0`] };
    expect(planDevices(g, 'cpu')).toBe(g);
    const gpu = planDevices(g, 'gpu');
    expect(gpu.tasks.map((t) => t.device)).toEqual(['gpu', 'gpu', undefined, undefined]);
    expect(deviceDemand(gpu)).toEqual({ gpu: 2, auto: 0 });
    validateGraph(gpu);
  });

  it("'auto': big float32 work goes to the GPU, small chunks and float64 stay on the CPU", () => {
    const big = rnd(1, [2048, 2048], 'float32');
    const small = rnd(2, [64, 64], 'float32');
    const g: Graph = { tasks: [big, sinOf(3, big), small, sinOf(4, small)], outputs: [`sin-${tok(3)}:0`, `sin-${tok(4)}:0`] };
    const auto = planDevices(g, 'auto');
    expect(auto.tasks.map((t) => t.device)).toEqual(['auto', 'auto', undefined, undefined]);
    // A GPU no faster than the CPU: nothing is worth moving.
    const slow = planDevices(g, 'auto', { ...DEFAULT_COST_MODEL, gpuFlops: 1e9, gpuBytesPerS: 1e9 });
    expect(deviceDemand(slow)).toEqual({ gpu: 0, auto: 0 });
  });

  it('gpuUnsupported names the reason', () => {
    const x = rnd(1, [4], 'float64');
    expect(gpuUnsupported(x, [])).toMatch(/random float64/);
    expect(gpuUnsupported(sinOf(2, x), [x])).toMatch(/float64/);
    expect(gpuUnsupported({ op: 'map-blocks', params: {}, shape: [2], dtype: 'float32' }, [])).toMatch(/no GPU kernel/);
    expect(gpuUnsupported({ op: 'transpose', params: { axes: [1, 0] }, shape: [2, 3], dtype: 'uint8' }, [{ shape: [3, 2], dtype: 'uint8' }])).toMatch(/uint8/);
  });

  it('matrixStrides: the two strides of a matrix view, or undefined', () => {
    expect(matrixStrides([4, 5], [0], [1])).toEqual([5, 1]);
    expect(matrixStrides([4, 5], [1], [0])).toEqual([1, 5]);
    expect(matrixStrides([2, 3, 5], [0, 1], [2])).toEqual([5, 1]);
    expect(matrixStrides([2, 3, 5], [1], [0, 2])).toBeUndefined();
    expect(matrixStrides([1, 5], [0], [1])).toEqual([1, 1]);
  });
});

describe('the device mark on the wire', () => {
  it('validateGraph accepts device "gpu" and "auto" and rejects anything else', () => {
    const x = { ...rnd(1, [4], 'float32'), device: 'gpu' as const };
    expect(validateGraph({ tasks: [x], outputs: [x.key] }).tasks[0]!.device).toBe('gpu');
    expect(() => validateGraph({ tasks: [{ ...x, device: 'tpu' }], outputs: [x.key] })).toThrow(/device/);
  });

  it('packTaskSpec keeps the mark (and CPU tasks keep their 7-tuple)', () => {
    const x = rnd(1, [4], 'float32');
    expect(unpackTaskSpec(x.key, packTaskSpec(x))).toEqual(x);
    const g = { ...x, device: 'auto' as const };
    expect(unpackTaskSpec(g.key, packTaskSpec(g))).toEqual(g);
    expect(packTaskSpec(x).byteLength).toBeLessThan(packTaskSpec(g).byteLength);
  });

  it('NoGpuError crosses the wire as itself', () => {
    const e = deserializeError(serializeError(new NoGpuError('no GPU here')));
    expect(e).toBeInstanceOf(NoGpuError);
    expect(e.code).toBe('GPU_UNAVAILABLE');
    expect(e.message).toBe('no GPU here');
  });
});
