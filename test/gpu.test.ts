// The GPU path end to end on the embedded local engine: device-resident chunks between GPU tasks,
// readback only for the client and CPU tasks, placement by `device`, NoGpuError, eviction. Runs on
// Mesa's lavapipe in CI (.ci/run installs it); shapes are small and odd.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// lavapipe compiles shaders and runs kernels on the CPU cores other test files share: generous limits.
vi.setConfig({ testTimeout: 240_000, hookTimeout: 240_000 });
import * as ta from '@tessera/client';
import type { LocalEngineStats } from '@tessera/local';

function stats(client: ta.Client): LocalEngineStats {
  return (client.engine as unknown as { stats(): LocalEngineStats }).stats();
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, abs: number, rel = 0): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (Math.abs(g - w) > abs + rel * Math.abs(w)) expect.fail(`element ${i}: ${g} vs ${w} (allowed ${abs} + ${rel}|x|)`);
  }
}

const data = (r: ta.NDArray | number): ArrayLike<number> => (typeof r === 'number' ? [r] : Array.from(r.data, Number));

describe('local engine on the GPU', () => {
  let gpu: ta.Client;
  let cpu: ta.Client;
  beforeAll(async () => {
    gpu = await ta.Client.connect({ threads: 2, gpu: true });
    cpu = await ta.Client.connect({ threads: 2, gpu: false });
  });
  afterAll(async () => {
    await gpu?.close();
    await cpu?.close();
  });

  it('reports the device it opened; compute defaults to device auto', () => {
    const s = stats(gpu);
    expect(s.gpu?.info.name.length).toBeGreaterThan(0);
    expect(gpu.device).toBe('auto');
    expect(cpu.device).toBe('cpu');
  });

  it('a chain of GPU tasks (random, transpose, matmul, fused elementwise) reads back only the outputs', async () => {
    const x = ta.random.uniform([150, 130], { chunks: [64, 48], seed: 7, dtype: 'float32' });
    const z = ta.matmul(x, x.T).mul(0.01).exp().add(x.matmul(x.T).sqrt());
    const before = stats(gpu).gpu!;
    const executedBefore = stats(gpu).tasksExecuted;
    const got = await gpu.compute(z, { device: 'gpu' });
    const after = stats(gpu).gpu!;
    const outputs = z.keys().length;
    // Every task ran on the device, nothing was uploaded, and the only copies to the host are the outputs.
    expect(after.tasks - before.tasks).toBe(stats(gpu).tasksExecuted - executedBefore);
    expect(after.uploads - before.uploads).toBe(0);
    expect(after.readbacks - before.readbacks).toBe(outputs);
    const want = await cpu.compute(z);
    expectClose(data(got), data(want), 1e-4, 1e-5);
    expect(got.dtype).toBe('float32');
  });

  it('reductions: partials come back with the task, merges run on the CPU; results match the CPU path', async () => {
    const x = ta.random.normal([201, 97], { chunks: [64, 40], seed: 3, dtype: 'float32' });
    const y = x.mul(x.T.T).add(1);
    for (const [r, abs, rel] of [
      [y.sum(), 1e-2, 1e-5],
      [y.mean({ axis: 0 }), 1e-5, 1e-5],
      // Normal values are made on the GPU in float32 (log, cos): within 2e-5, so x * x within 1e-5 relative.
      [y.max({ axis: 1 }), 0, 1e-5],
      [y.std(), 1e-5, 1e-4],
      [ta.random.uniform([201, 97], { chunks: [64, 40], seed: 4, dtype: 'float32' }).argmax({ axis: 0 }), 0, 0],
    ] as [ta.ChunkedArray, number, number][]) {
      const g = await gpu.compute(r, { device: 'gpu' });
      const c = await cpu.compute(r);
      expectClose(data(g), data(c), abs, rel);
    }
  });

  it('a CPU task reading a GPU chunk gets it read back; float64 work stays on the CPU', async () => {
    const x = ta.random.uniform([90, 70], { chunks: [40, 30], seed: 11, dtype: 'float32' });
    const a = x.sin(); // GPU
    const b = a.astype('float64').mul(3); // float64: CPU, reads a back
    const before = stats(gpu).gpu!;
    const [ga, gb] = await gpu.compute([a, b.sum()], { device: 'gpu' });
    const after = stats(gpu).gpu!;
    expect(after.readbacks - before.readbacks).toBeGreaterThanOrEqual(a.keys().length);
    const [ca, cb] = await cpu.compute([a, b.sum()]);
    expectClose(data(ga), data(ca), 2e-6);
    expectClose(data(gb), data(cb), 1e-3, 1e-6);
  });

  it('int32 and uint8 work runs on the GPU too', async () => {
    const i = ta.arange(0, 5000, 1, { chunks: 777 }).astype('int32');
    const y = i.mul(i).sub(7).maximum(3);
    const m = y.gt(100);
    const [gy, gm] = await gpu.compute([y, m], { device: 'gpu' });
    const [cy, cm] = await cpu.compute([y, m]);
    expect(Array.from(gy.data as ArrayLike<number | bigint>)).toEqual(Array.from(cy.data as ArrayLike<number | bigint>));
    expect(Array.from(gm.data as ArrayLike<number | bigint>)).toEqual(Array.from(cm.data as ArrayLike<number | bigint>));
  });

  it("numpy's rounding, predicates, logic and bitwise ufuncs run on the GPU with device 'gpu'", async () => {
    const x = ta.random.uniform([300, 70], { chunks: [128, 32], seed: 3, low: -40, high: 40, dtype: 'float32' });
    const i = ta.floor(x).astype('int32');
    const y = ta.where(ta.logicalAnd(ta.isfinite(x), ta.logicalNot(ta.isnan(x))), ta.rint(x).mul(ta.sign(x)), ta.log2(ta.square(x).add(1)));
    const bits = ta.bitwiseXor(ta.bitwiseAnd(i, 0b1101), ta.invert(i)).add(ta.logicalXor(x.gt(0), i.lt(-3)));
    const before = stats(gpu);
    const [gy, gb] = await gpu.compute([y.add(ta.degrees(ta.ceil(x))), bits], { device: 'gpu' });
    // Every task had a GPU kernel: none fell back to the CPU.
    expect(stats(gpu).gpu!.tasks - before.gpu!.tasks).toBe(stats(gpu).tasksExecuted - before.tasksExecuted);
    const [cy, cb] = await cpu.compute([y.add(ta.degrees(ta.ceil(x))), bits]);
    expectClose(data(gy), data(cy), 1e-4, 1e-6);
    expect(Array.from(gb.data as ArrayLike<number | bigint>)).toEqual(Array.from(cb.data as ArrayLike<number | bigint>));
  });

  it('persisted GPU chunks stay on the device for later graphs until unpersisted', async () => {
    const x = ta.random.uniform([64, 64], { chunks: 32, seed: 5, dtype: 'float32' }).mul(2);
    const p = await gpu.persist(x, { device: 'gpu' });
    const held = stats(gpu).gpu!.deviceChunks;
    expect(held).toBeGreaterThanOrEqual(4);
    const before = stats(gpu).gpu!;
    const s = await gpu.compute(p.add(1).sum(), { device: 'gpu' });
    expect(stats(gpu).gpu!.uploads).toBe(before.uploads);
    const want = await cpu.compute(x.add(1).sum());
    expect(Math.abs(s - want)).toBeLessThan(1e-2);
    await gpu.unpersist(p);
    expect(stats(gpu).gpu!.deviceChunks).toBe(held - 4);
  });

  it("device 'auto' (this client's default): big float32 chunks go to the GPU, small ones and float64 stay on the CPU", async () => {
    const big = ta.random.uniform([512, 512], { chunks: 256, seed: 2, dtype: 'float32' });
    const small = ta.random.uniform([64, 64], { chunks: 32, seed: 2, dtype: 'float32' });
    const f64 = ta.random.uniform([512, 512], { chunks: 256, seed: 2 });
    let before = stats(gpu).gpu!.tasks;
    await gpu.compute(big.sin().mul(big.cos()));
    expect(stats(gpu).gpu!.tasks).toBeGreaterThan(before);
    before = stats(gpu).gpu!.tasks;
    await gpu.compute(small.sin().mul(small.cos()));
    await gpu.compute(f64.sin().mul(f64.cos()));
    expect(stats(gpu).gpu!.tasks).toBe(before);
  });

  it('device cpu keeps everything on the CPU', async () => {
    const before = stats(gpu).gpu!.tasks;
    const x = ta.random.uniform([40, 40], { chunks: 20, seed: 1, dtype: 'float32' });
    await gpu.compute(x.sin().sum(), { device: 'cpu' });
    expect(stats(gpu).gpu!.tasks).toBe(before);
  });
});

describe('no GPU, bounded GPU memory', () => {
  it("device 'gpu' with no GPU fails at submission with NoGpuError; 'auto' runs on the CPU", async () => {
    const c = await ta.Client.connect({ threads: 1, gpu: false });
    try {
      const x = ta.random.uniform([30, 30], { chunks: 15, seed: 1, dtype: 'float32' });
      await expect(c.compute(x.sin(), { device: 'gpu' })).rejects.toBeInstanceOf(ta.NoGpuError);
      await expect(c.compute(x.sin(), { device: 'gpu' })).rejects.toThrow(/need a GPU/);
      const r = await c.compute(x.sin().sum(), { device: 'auto' });
      expect(Number.isFinite(r)).toBe(true);
      await expect(c.compute(x, { device: 'tpu' as never })).rejects.toThrow(/device must be one of/);
      await expect(ta.Client.connect({ address: 'http://127.0.0.1:1', gpu: true })).rejects.toThrow(/gpu is an option of the embedded local engine/);
    } finally {
      await c.close();
    }
  });

  it('no adapter: a warning and CPU-only operation, never a crash', async () => {
    const prev = process.env['TESSERA_GPU_FLAGS'];
    process.env['TESSERA_GPU_FLAGS'] = 'adapter=no-such-adapter';
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const c = await ta.Client.connect({ threads: 1, gpu: true });
      try {
        await new Promise((r) => setTimeout(r, 10));
        expect(warnings.join('\n')).toMatch(/no GPU, running on the CPU only: no WebGPU adapter found/);
        const x = ta.random.uniform([20, 20], { chunks: 10, seed: 1, dtype: 'float32' });
        expect(Number.isFinite(await c.compute(x.sum()))).toBe(true);
        await expect(c.compute(x.sin(), { device: 'gpu' })).rejects.toBeInstanceOf(ta.NoGpuError);
      } finally {
        await c.close();
      }
    } finally {
      process.off('warning', onWarning);
      if (prev === undefined) delete process.env['TESSERA_GPU_FLAGS'];
      else process.env['TESSERA_GPU_FLAGS'] = prev;
    }
  });

  it('past its GPU memory limit the engine evicts chunks to the host and still computes the right answer', async () => {
    const small = await ta.Client.connect({ threads: 1, gpu: true, gpuMemoryLimit: 256 * 1024 });
    const cpu = await ta.Client.connect({ threads: 1, gpu: false });
    try {
      // 16 chunks of 64 KiB made on the GPU and all held until the end: 1 MiB against 256 KiB.
      const x = ta.random.uniform([512, 512], { chunks: 128, seed: 9, dtype: 'float32' });
      const y = x.mul(3).add(1);
      const g = await small.compute([y, y.sum()], { device: 'gpu' });
      const c = await cpu.compute([y, y.sum()]);
      expectClose(data(g[0]), data(c[0]), 1e-6, 1e-6);
      expect(Math.abs(g[1] - c[1])).toBeLessThan(1);
      const s = stats(small).gpu!;
      expect(s.readbacks).toBeGreaterThanOrEqual(y.keys().length);
      expect(s.deviceBytes).toBeLessThanOrEqual(512 * 1024);
    } finally {
      await small.close();
      await cpu.close();
    }
  });
});
