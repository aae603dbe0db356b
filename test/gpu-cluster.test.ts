// GPU placement in cluster mode: a graph that needs a GPU fails at once with NoGpuError while no
// worker has one; a `tessera worker --gpu` reports its adapter at registration and gets every task
// marked 'gpu' (never the shared queue), while the others still run anywhere.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// lavapipe compiles shaders and runs kernels on the CPU cores other test files share: generous limits.
vi.setConfig({ testTimeout: 240_000, hookTimeout: 240_000 });
import * as ta from '@tessera/client';
import type { WorkerHeartbeat } from '@tessera/protocol';
import { testRedis, type TestRedis } from '../packages/scheduler/src/store/test-redis.test-util.js';
import { startCluster, until, type TestCluster } from './cluster.test-util.js';

describe('cluster with a GPU worker', () => {
  let redis: TestRedis;
  let cluster: TestCluster;
  let client: ta.Client;
  let local: ta.Client;
  const workers = async () =>
    (
      (await (await fetch(`${cluster.url}/api/workers`)).json()) as {
        workers: { info: { id: string; address: string; device: string; gpu?: { name: string; memoryLimit: number } }; heartbeat?: WorkerHeartbeat }[];
      }
    ).workers;

  beforeAll(async () => {
    redis = await testRedis();
    cluster = await startCluster({ redis: redis.url, workers: 1, threads: 1 });
    client = await ta.Client.connect(cluster.url);
    local = await ta.Client.connect({ threads: 1, gpu: false });
  });
  afterAll(async () => {
    await client?.close();
    await local?.close();
    await cluster?.stop();
    await redis?.close();
  });

  const x = ta.random.uniform([96, 80], { chunks: [40, 32], seed: 3, dtype: 'float32' });
  const expr = () => ta.sin(x).pow(2).add(x.mul(x.T.T)).sum({ axis: 0 });

  it("device 'gpu' with no GPU worker fails fast with NoGpuError", async () => {
    const t0 = Date.now();
    await expect(client.compute(x.sin(), { device: 'gpu' })).rejects.toBeInstanceOf(ta.NoGpuError);
    expect(Date.now() - t0).toBeLessThan(10_000);
    // Work that may use a GPU runs on the CPU workers.
    expect((await client.compute(expr(), { device: 'auto' })).data).toHaveLength(80);
  });

  it("a worker started with --gpu reports its adapter and takes every 'gpu' task", async () => {
    const prev = process.env['TESSERA_GPU'];
    process.env['TESSERA_GPU'] = 'true';
    let gpuWorker: string;
    try {
      gpuWorker = (await cluster.addWorker()).id;
    } finally {
      if (prev === undefined) delete process.env['TESSERA_GPU'];
      else process.env['TESSERA_GPU'] = prev;
    }
    await until('the GPU worker is registered', async () => (await workers()).some((w) => w.info.id === gpuWorker && w.info.gpu));
    const info = (await workers()).find((w) => w.info.id === gpuWorker)!.info;
    expect(info.device).toBe(info.gpu!.name);
    const ranOn = new Map<string, string>();
    const got = await client.compute(expr(), {
      device: 'gpu',
      onEvent: (ev) => {
        if (ev.type === 'task' && ev.state === 'memory' && ev.worker) ranOn.set(ev.key, ev.worker);
      },
    });
    const want = await local.compute(expr());
    for (let i = 0; i < want.data.length; i++)
      expect(Math.abs(Number(got.data[i]!) - Number(want.data[i]!))).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(Number(want.data[i]!))));
    // The fused elementwise tasks (with their partials) are GPU tasks: all on the GPU worker.
    const gpuTasks = [...ranOn].filter(([k]) => k.startsWith('sum-partial') || k.startsWith('add-'));
    expect(gpuTasks.length).toBeGreaterThan(0);
    for (const [k, w] of gpuTasks) expect([k, w]).toEqual([k, gpuWorker]);
  });

  it('GPU results stay in device memory: a chain of GPU tasks reads nothing back; a chunk the host asks for is read back once', async () => {
    const gpu = (await workers()).find((w) => w.info.gpu)!.info;
    const metrics = async (): Promise<{ tasks: number; readbacks: number }> => {
      const text = await (await fetch(`${gpu.address}/metrics`)).text();
      const total = (name: string): number => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1]);
      return { tasks: total('tessera_worker_gpu_tasks_total'), readbacks: total('tessera_worker_gpu_readbacks_total') };
    };
    // Unfused, each step is a GPU task of its own, reading the one before where it was made.
    const z = ta.sin(x).mul(2).add(1).exp();
    const before = await metrics();
    const got = await client.compute(z.sum(), { device: 'gpu', fuse: false });
    const mid = await metrics();
    expect(Math.abs(got - (await local.compute(z.sum())))).toBeLessThanOrEqual(1e-4 * Math.abs(got));
    // 9 blocks, 4 steps each (and the sum's partials, which come back with their task).
    expect(mid.tasks - before.tasks).toBeGreaterThanOrEqual(36);
    expect(mid.readbacks - before.readbacks).toBe(0);
    // The blocks themselves as the result: each is read back once, for the client, and only them.
    const blocks = await client.compute(z, { device: 'gpu', fuse: false });
    const want = await local.compute(z);
    for (let i = 0; i < want.data.length; i++)
      expect(Math.abs(Number(blocks.data[i]!) - Number(want.data[i]!))).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(Number(want.data[i]!))));
    const after = await metrics();
    expect(after.readbacks - mid.readbacks).toBe(9);
    // The heartbeat carries the same counters (the dashboard's GPU panel, tessera status).
    const hbGpu = async () => (await workers()).find((w) => w.info.gpu)?.heartbeat?.gpu;
    await until('a heartbeat with the GPU counters', async () => ((await hbGpu())?.readbacks ?? -1) >= after.readbacks);
    const hb = (await hbGpu())!;
    expect(hb.tasks).toBeGreaterThanOrEqual(after.tasks);
    expect(hb.memoryLimit).toBe(gpu.gpu!.memoryLimit);
    expect((await workers()).filter((w) => !w.info.gpu).every((w) => w.heartbeat?.gpu === undefined)).toBe(true);
  });

  it('a chain of GPU tasks on the GPU worker (inputs it made stay on its device): random, transpose, matmul, elementwise', async () => {
    const y = ta.matmul(x, x.T).mul(0.05).exp().sum();
    const got = await client.compute(y, { device: 'gpu' });
    const want = await local.compute(y);
    expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-4 * Math.abs(want));
  });
});
