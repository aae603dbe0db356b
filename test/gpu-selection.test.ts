// Picking a GPU on a machine with several (`--gpu-device`, TESSERA_GPU_DEVICE, `tessera local
// --gpus all`), on what this machine has: Mesa's lavapipe, one adapter. A device index that does
// not exist fails the start with the list of those that do.
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import * as ta from '@tessera/client';
import { GpuUnavailable, listGpuAdapters, openGpu } from '@tessera/worker';
import { engineClient, until } from './cluster.test-util.js';
import { testRedis } from '../packages/scheduler/src/store/test-redis.test-util.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });
const BIN = fileURLToPath(new URL('../packages/cli/bin/tessera.mjs', import.meta.url));
const run = promisify(execFile);

describe('GPU adapters by index', () => {
  it('lists the adapters Dawn can open and opens one by its index, saying which', async () => {
    const adapters = await listGpuAdapters();
    expect(adapters.length).toBeGreaterThanOrEqual(1);
    expect(adapters[0]).toMatchObject({ index: 0, backend: expect.any(String), name: expect.any(String) });
    const g = await openGpu({ deviceIndex: 0 });
    try {
      expect(g.info.index).toBe(0);
    } finally {
      g.close();
    }
    const missing = adapters.length;
    await expect(openGpu({ deviceIndex: missing })).rejects.toThrow(GpuUnavailable);
    await expect(openGpu({ deviceIndex: missing })).rejects.toThrow(new RegExp(`GPU device ${missing} does not exist: this machine has ${missing} WebGPU adapter`));
  });
});

describe('tessera worker --gpu-device', () => {
  const eng = engineClient('cluster');

  it('a device index that does not exist fails the start, naming the adapters there are', async () => {
    const n = (await listGpuAdapters()).length;
    const start = run(process.execPath, [BIN, 'worker', '--scheduler', eng.cluster!.url, '--gpu-device', String(n)], { timeout: 60_000 });
    await expect(start).rejects.toMatchObject({ stderr: expect.stringMatching(new RegExp(`--gpu-device ${n}: GPU device ${n} does not exist`)) });
  });
});

describe('tessera local --gpus all', () => {
  const redis = testRedis();
  afterAll(async () => (await redis).close());

  it('starts one worker per adapter, each on its own, shown with its index', async () => {
    const r = await redis;
    const prefix = `gpus-${process.pid}`;
    const child = spawn(process.execPath, [BIN, 'local', '--gpus', 'all', '--threads', '1', '--port', '0', '--redis', r.url, '--prefix', prefix], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      await until('tessera local to start', () => /listening on (http:\/\/\S+)/.test(out), 90_000);
      const client = await ta.Client.connect(/listening on (http:\/\/\S+)/.exec(out)![1]!);
      try {
        const http = client.engine as ta.HttpEngine;
        const n = (await listGpuAdapters()).length;
        await until('every GPU worker to register', async () => (await http.workers()).length === n, 30_000);
        const indices = (await http.workers()).map((w) => w.info.gpu?.index).sort();
        expect(indices).toEqual(Array.from({ length: n }, (_, i) => i));
      } finally {
        await client.close();
      }
    } finally {
      child.kill('SIGTERM');
      await new Promise((res) => child.once('exit', res));
      await (await redis).deletePrefix(prefix);
    }
  });

  it('more GPUs than the machine has is refused with what it has', async () => {
    const n = (await listGpuAdapters()).length;
    await expect(run(process.execPath, [BIN, 'local', '--gpus', String(n + 1), '--port', '0'], { timeout: 60_000 })).rejects.toMatchObject({
      stderr: expect.stringMatching(new RegExp(`--gpus ${n + 1}: this machine has ${n} WebGPU adapter`)),
    });
  });
});
