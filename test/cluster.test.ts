// Cluster mode with real processes: a scheduler and two workers over Redis, driven by the client.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';
import { CancelledError, TaskError, WorkerList, type EngineEvent } from '@tessera/protocol';
import { testRedis, type TestRedis } from '../packages/scheduler/src/store/test-redis.test-util.js';
import { startCluster, until, type TestCluster } from './cluster.test-util.js';

const kernels = fileURLToPath(new URL('./fixtures/cluster-kernels.mjs', import.meta.url));

describe('cluster', () => {
  let redis: TestRedis;
  let cluster: TestCluster;
  let client: ta.Client;
  const workers = async () => WorkerList.parse(await (await fetch(`${cluster.url}/api/workers`)).json()).workers;
  const executed = async () => (await workers()).reduce((n, w) => n + (w.heartbeat?.executed ?? 0), 0);
  /** Heartbeats lag a little: wait until the count has settled. */
  const settledExecuted = async () => {
    let last = -1;
    for (;;) {
      await new Promise((r) => setTimeout(r, 500));
      const n = await executed();
      if (n === last) return n;
      last = n;
    }
  };

  beforeAll(async () => {
    redis = await testRedis();
    cluster = await startCluster({ redis: redis.url, workers: 2, threads: 1, kernels: [kernels] });
    client = await ta.Client.connect(cluster.url);
  });
  afterAll(async () => {
    await client?.close();
    await cluster?.stop();
    if (cluster) await redis.deletePrefix(cluster.prefix);
    await redis?.close();
  });

  it('lists its workers with their threads, address and a live heartbeat', async () => {
    await until('both workers listed', async () => (await workers()).length === 2);
    const list = await workers();
    expect(list.map((w) => w.info.id).sort()).toEqual(cluster.workers.map((w) => w.id).sort());
    for (const w of list) {
      expect(w).toMatchObject({ alive: true, info: { threads: 1, device: 'cpu' } });
      expect(w.info.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(w.age).toBeLessThan(2_000);
    }
    // Each says at start which GEMM it runs (OpenBLAS where .ci/run installed it, or why not).
    const ready = cluster.logs().split('\n').filter((l) => l.includes('"worker ready"'));
    expect(ready).toHaveLength(2);
    for (const l of ready) expect(l).toMatch(/"gemm":"(blas|native|wasm) \(.+\)"/);
  });

  it('streams task events naming the worker that ran each task, in state order', async () => {
    const x = ta.arange(0, 4_000, { chunks: 500 });
    const job = await client.submit(ta.mapBlocks('slow-copy', x, { params: { ms: 5 } }).sum());
    const events: EngineEvent[] = [];
    for await (const ev of job.events()) events.push(ev);
    expect(await job.result()).toBe((3_999 * 4_000) / 2);
    const ids = new Set(cluster.workers.map((w) => w.id));
    const memory = events.filter((e) => e.type === 'task' && e.state === 'memory');
    expect(memory.length).toBeGreaterThanOrEqual(8);
    for (const e of memory) expect(ids.has((e as { worker: string }).worker)).toBe(true);
    // Both workers took part: the shared queue spreads root tasks.
    expect(new Set(memory.map((e) => (e as { worker: string }).worker)).size).toBe(2);
    const last = events.at(-1)!;
    expect(last).toMatchObject({ type: 'graph', state: 'finished' });
  });

  it('places a task with the worker holding its input: no chunk moves for blockwise work', async () => {
    // 1 MiB blocks: worth waiting for the worker that holds them.
    const x = ta.arange(0, 8 * 131_072, { chunks: 131_072 });
    const x1 = ta.mapBlocks('slow-copy', x, { params: { ms: 1 } });
    const y = ta.mapBlocks('slow-copy', x1, { params: { ms: 1 } });
    const job = await client.submit(y);
    const where = new Map<string, string>();
    for await (const ev of job.events()) if (ev.type === 'task' && ev.state === 'memory') where.set(ev.key, ev.worker!);
    await job.result();
    const stage = (a: ta.ChunkedArray) => [...where].filter(([k]) => k.startsWith(`${a.name}:`)).sort();
    const [inputs, outputs] = [stage(x1), stage(y)];
    expect(outputs).toHaveLength(8);
    // Block i of y ran where block i of x1 was.
    outputs.forEach(([k, w], i) => {
      expect(k.split(':')[1]).toBe(inputs[i]![0].split(':')[1]);
      expect(w).toBe(inputs[i]![1]);
    });
  });

  it('two clients submitting the same expression share the work; cancelling one leaves the other be', async () => {
    const other = await ta.Client.connect(cluster.url);
    try {
      const x = ta.arange(0, 1_200, { chunks: 100 });
      const expr = ta.mapBlocks('slow-copy', x, { params: { ms: 100 } }).sum();
      const before = await settledExecuted();
      const a = await client.submit(expr);
      const b = await other.submit(expr);
      const tasks = ((await (await fetch(`${cluster.url}/api/graphs/${a.id}`)).json()) as { total: number }).total;
      const total = (1_199 * 1_200) / 2;
      const [ra, rb] = await Promise.all([a.result(), b.result()]);
      expect(ra).toBe(total);
      expect(rb).toBe(total);
      // Every task of the graph ran once, not once per client.
      expect((await settledExecuted()) - before).toBe(tasks);

      // Now cancel one of two sharing graphs mid-run: the other still completes.
      const y = ta.mapBlocks('slow-copy', ta.arange(0, 1_200, { chunks: 100 }).mul(2), { params: { ms: 100 } }).sum();
      const c = await client.submit(y);
      const d = await other.submit(y);
      await new Promise((r) => setTimeout(r, 150));
      await c.cancel();
      await expect(c.result()).rejects.toBeInstanceOf(CancelledError);
      expect(await d.result()).toBe(2 * total);
    } finally {
      await other.close();
    }
  });

  it('chains tiny tasks whose only input is the task before: each queued on that worker before its input is done, each run once', async () => {
    const n = 300;
    const steps: ta.ChunkedArray[] = [ta.zeros([4], { chunks: [4] })];
    for (let i = 0; i < n; i++) steps.push(steps.at(-1)!.add(1));
    const before = await settledExecuted();
    // Unfused: n + 1 tasks, one hop each (fusion would make it one task).
    const job = await client.submit(steps.at(-1)!, { fuse: false });
    const queuedAt = new Map<string, number>();
    const memoryAt = new Map<string, number>();
    let i = 0;
    for await (const ev of job.events()) {
      i++;
      if (ev.type !== 'task') continue;
      if (ev.state === 'queued' && !queuedAt.has(ev.key)) queuedAt.set(ev.key, i);
      if (ev.state === 'memory') memoryAt.set(ev.key, i);
    }
    expect([...((await job.result()) as ta.NDArray).data]).toEqual([n, n, n, n]);
    // A hop queued before the hop before it was in memory rode in that hop's job (TaskJob.next):
    // all but the first of each job's chain (at most 64 long), and the first hop after the root.
    const key = (a: ta.ChunkedArray): string => `${a.name}:0`;
    const ahead = steps.slice(2).filter((s, j) => queuedAt.get(key(s))! < memoryAt.get(key(steps[j + 1]!))!).length;
    expect(ahead).toBeGreaterThanOrEqual(n - 2 - Math.ceil(n / 64));
    expect((await settledExecuted()) - before).toBe(n + 1);
  });

  it('two graphs sharing a chain: cancelling one mid-chain leaves the other with the right answer', async () => {
    const n = 2_000;
    let x = ta.full([2], 0.5, { chunks: [2] });
    for (let i = 0; i < n; i++) x = x.add(1);
    const other = await ta.Client.connect(cluster.url);
    try {
      const a = await client.submit(x, { fuse: false });
      const b = await other.submit(x, { fuse: false });
      let done = 0;
      for await (const ev of a.events()) if (ev.type === 'task' && ev.state === 'memory' && ++done === 200) break;
      await a.cancel();
      await expect(a.result()).rejects.toBeInstanceOf(CancelledError);
      expect([...((await b.result()) as ta.NDArray).data]).toEqual([n + 0.5, n + 0.5]);
    } finally {
      await other.close();
    }
  });

  it('a failing kernel errs its graph with the task named; the cluster goes on', async () => {
    const x = ta.arange(0, 10, { chunks: 5 });
    const err = await client.compute(ta.mapBlocks('no-such-kernel', x)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskError);
    expect((err as TaskError).key).toMatch(/^no_such_kernel-[0-9a-f]+:\d$/);
    expect((err as TaskError).message).toMatch(/no kernel registered under the name "no-such-kernel"/);
    expect(await client.compute(x.sum())).toBe(45);
  });

  it('leaves no graph keys in Redis once results are fetched', async () => {
    const graphKeys = async () => (await redis.connect().keys(`${cluster.prefix}:graph:*`)).length;
    await until('earlier graphs released', async () => (await graphKeys()) === 0, 5_000);
    const baseline = await redis.keyCount(cluster.prefix);
    const x = ta.random.uniform([600, 600], { chunks: [100, 100], seed: 3 });
    expect(await client.compute(ta.matmul(x, x).sum())).toBeGreaterThan(0);
    await until('graph keys gone', async () => (await graphKeys()) === 0, 5_000);
    // No key added; one the baseline held briefly (a queue's marker from an earlier test) may be gone.
    // Frees travel in batches behind the results: on a loaded 2-core machine (other test files'
    // clusters running beside this one) they can take more than 5 s to land.
    await until('back to the baseline', async () => (await redis.keyCount(cluster.prefix)) <= baseline, 20_000);
    expect(await redis.keyCount(cluster.prefix)).toBeLessThanOrEqual(baseline);
  });
});
