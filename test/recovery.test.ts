// Faults with real processes: kill -9 of workers and of the scheduler, a task that kills its
// workers, and a Redis restart. Each test starts its own Redis, as fault tests must.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';
import { KilledWorkerError, WorkerList, type EngineEvent } from '@tessera/protocol';
import { startRedisServer } from '../packages/scheduler/src/store/test-redis.test-util.js';
import { startCluster, until, within, type TestCluster } from './cluster.test-util.js';

const kernels = fileURLToPath(new URL('./fixtures/cluster-kernels.mjs', import.meta.url));

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function ownRedis(opts: { appendonly?: boolean } = {}): Promise<{ url: string; port: number; dir: string; child: ChildProcess }> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-redis-'));
  const { url, child } = await startRedisServer({ ...opts, dir });
  const r = { url, port: Number(new URL(url).port), dir, child };
  cleanups.push(() => {
    r.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  return r;
}

async function cluster(redis: string, workers: number): Promise<TestCluster> {
  const c = await startCluster({ redis, workers, threads: 1, kernels: [kernels], heartbeatMs: 100, workerTimeoutMs: 1_000 });
  cleanups.push(() => c.stop());
  return c;
}

async function connect(c: TestCluster): Promise<ta.Client> {
  const client = await ta.Client.connect(c.url);
  cleanups.push(() => client.close());
  return client;
}

/** 24 slow blocks, then a sum: long enough to break something in the middle. */
function slowSum(ms: number, seed = 1): { expr: ta.ChunkedArray; want: number } {
  const n = 24 * 1_000;
  const x = ta.arange(0, n, { chunks: 1_000 }).mul(seed);
  return { expr: ta.mapBlocks('slow-copy', x, { params: { ms } }).sum(), want: (seed * (n - 1) * n) / 2 };
}

/** kill -9 the scheduler once `after` of the job's tasks are in memory; start a new one on the same Redis. */
async function restartSchedulerAfter(c: TestCluster, job: ta.Job<unknown>, after: number, pauseMs = 300): Promise<void> {
  let done = 0;
  for await (const ev of job.events()) if (ev.type === 'task' && ev.state === 'memory' && ++done === after) break;
  await c.killScheduler();
  // Workers carry on with what they were sent while no scheduler listens.
  await new Promise((r) => setTimeout(r, pauseMs));
  await c.startScheduler();
}

/** Once the workers' heartbeats have settled: `total` tasks ran, each exactly once. */
async function expectRanOnce(c: TestCluster, total: number): Promise<void> {
  await until('worker heartbeats settle', async () => {
    const a = await executed(c);
    await new Promise((r) => setTimeout(r, 300));
    return a === (await executed(c));
  });
  expect(await executed(c)).toBe(total);
}

/** 0 + 1 + 1 + … (n times): a chain of n tiny tasks once unfused. */
function chainOf(n: number): ta.ChunkedArray {
  let x = ta.zeros([1], { chunks: [1] });
  for (let i = 0; i < n; i++) x = x.add(1);
  return x;
}

async function executed(c: TestCluster): Promise<number> {
  const list = WorkerList.parse(await (await fetch(`${c.url}/api/workers`)).json()).workers;
  return list.reduce((n, w) => n + (w.heartbeat?.executed ?? 0), 0);
}

describe('recovery', () => {
  it('a worker killed mid-graph: its tasks run elsewhere, lost chunks are recomputed, the answer is right', async () => {
    const redis = await ownRedis();
    const c = await cluster(redis.url, 3);
    const client = await connect(c);
    const { expr, want } = slowSum(60);
    const job = await client.submit(expr);
    const holders = new Map<string, number>();
    let killed: string | undefined;
    const afterKill: EngineEvent[] = [];
    for await (const ev of job.events()) {
      if (killed) afterKill.push(ev);
      if (ev.type !== 'task' || ev.state !== 'memory' || !ev.worker) continue;
      holders.set(ev.worker, (holders.get(ev.worker) ?? 0) + 1);
      // Once a worker holds a few chunks (and runs more), kill it.
      if (!killed && (holders.get(ev.worker) ?? 0) >= 4) {
        killed = ev.worker;
        await c.killWorker(killed);
      }
    }
    expect(killed).toBeDefined();
    expect(await within(c, job.result())).toBe(want);
    // The recovery put tasks back to waiting.
    expect(afterKill.some((e) => e.type === 'task' && e.state === 'waiting')).toBe(true);
  });

  it('the scheduler killed mid-graph and started again: the graph resumes, nothing held by live workers is recomputed', async () => {
    const redis = await ownRedis();
    const c = await cluster(redis.url, 2);
    const client = await connect(c);
    const { expr, want } = slowSum(80, 3);
    const job = await client.submit(expr);
    const status = await (await fetch(`${c.url}/api/graphs/${job.id}`)).json() as { total: number };
    await restartSchedulerAfter(c, job, 10, 400);
    expect(await within(c, job.result())).toBe(want);
    // Each task ran exactly once, across both schedulers.
    await expectRanOnce(c, status.total);
  });

  it('the scheduler killed with bundles of tiny tasks queued: the new one keeps them, no task runs twice', async () => {
    const redis = await ownRedis();
    const c = await cluster(redis.url, 2);
    const client = await connect(c);
    const n = 3_000;
    const job = await client.submit(ta.ones([n], { chunks: [1] }).add(1).sum());
    const status = (await (await fetch(`${c.url}/api/graphs/${job.id}`)).json()) as { total: number };
    await restartSchedulerAfter(c, job, 300);
    expect(await within(c, job.result())).toBe(2 * n);
    await expectRanOnce(c, status.total);
  });

  it('a worker killed mid-chain: the chain is recomputed from lineage, the answer is right', async () => {
    const redis = await ownRedis();
    const c = await cluster(redis.url, 2);
    const client = await connect(c);
    const n = 2_000;
    // Unfused, each hop's only input is the hop before: chains ride in their first hop's job.
    const job = await client.submit(chainOf(n), { fuse: false });
    let done = 0;
    let killed: string | undefined;
    for await (const ev of job.events()) {
      if (ev.type !== 'task' || ev.state !== 'memory' || !ev.worker) continue;
      if (!killed && ++done === 300) {
        killed = ev.worker;
        await c.killWorker(killed);
      }
    }
    expect(killed).toBeDefined();
    expect([...((await within(c, job.result())) as ta.NDArray).data]).toEqual([n]);
  });

  it('the scheduler killed mid-chain: the chain the worker carries on with is kept, no task runs twice', async () => {
    const redis = await ownRedis();
    const c = await cluster(redis.url, 2);
    const client = await connect(c);
    const n = 2_000;
    const job = await client.submit(chainOf(n), { fuse: false });
    const status = (await (await fetch(`${c.url}/api/graphs/${job.id}`)).json()) as { total: number };
    await restartSchedulerAfter(c, job, 300);
    expect([...((await within(c, job.result())) as ta.NDArray).data]).toEqual([n]);
    await expectRanOnce(c, status.total);
  });

  it('a worker taken for dead (stopped past the timeout) that comes back drops what it held and rejoins empty', async () => {
    const redis = await ownRedis();
    const c = await cluster(redis.url, 2);
    const client = await connect(c);
    const list = async () => WorkerList.parse(await (await fetch(`${c.url}/api/workers`)).json()).workers;
    // Persisted blocks stay on the workers that made them (bigger roots are spread over both).
    await client.persist(ta.arange(0, 64_000, { chunks: 8_000 }));
    await until('both workers hold blocks', async () => (await list()).every((w) => (w.heartbeat?.chunks ?? 0) > 0), 20_000, c);
    const w = c.workers[0]!;
    w.child.kill('SIGSTOP');
    try {
      await until('the scheduler declares it dead', async () => !(await list()).some((x) => x.info.id === w.id), 20_000, c);
    } finally {
      w.child.kill('SIGCONT');
    }
    await until('it is back, holding nothing', async () => {
      const back = (await list()).find((x) => x.info.id === w.id);
      return back?.alive === true && back.heartbeat?.chunks === 0;
    }, 20_000, c);
    // And it computes again like any new worker.
    expect(await within(c, client.compute(ta.arange(0, 1_000, { chunks: 100 }).sum()))).toBe(499_500);
  });

  it('a task that kills its worker three times errs its graph with a typed error naming it; other graphs carry on', async () => {
    const redis = await ownRedis();
    const c = await cluster(redis.url, 4);
    const client = await connect(c);
    const { expr, want } = slowSum(20, 5);
    const good = await client.submit(expr);
    const poison = ta.mapBlocks('kill-worker', ta.arange(0, 4, { chunks: 4 }));
    const err = await within(c, client.compute(poison).catch((e: unknown) => e));
    expect(err).toBeInstanceOf(KilledWorkerError);
    expect((err as KilledWorkerError).key).toBe(`${poison.name}:0`);
    expect((err as Error).message).toMatch(/running on 3 workers when they died/);
    expect(await within(c, good.result())).toBe(want);
    expect(c.workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null)).toHaveLength(1);
  });

  it('Redis restarted (append-only file on): scheduler and workers reconnect and the graph completes', async () => {
    const redis = await ownRedis({ appendonly: true });
    const c = await cluster(redis.url, 2);
    const client = await connect(c);
    const { expr, want } = slowSum(60, 7);
    const job = await client.submit(expr);
    let done = 0;
    for await (const ev of job.events()) if (ev.type === 'task' && ev.state === 'memory' && ++done === 8) break;
    // A clean shutdown writes the append-only file; the same port and directory bring it back.
    redis.child.kill('SIGTERM');
    await new Promise((r) => redis.child.once('exit', r));
    await new Promise((r) => setTimeout(r, 500));
    const again = await startRedisServer({ port: redis.port, appendonly: true, dir: redis.dir });
    redis.child = again.child;
    expect(await within(c, job.result())).toBe(want);
  });
});
