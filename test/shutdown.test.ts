// Graceful shutdown with real processes: SIGTERM on a worker mid-graph (it finishes what runs,
// leaves, exits 0; the graph completes on the others, with no strike against any task), and
// SIGTERM on the scheduler (all state stays in Redis; the next scheduler completes the graph).
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';
import { type EngineEvent } from '@tessera/protocol';
import { testRedis } from '../packages/scheduler/src/store/test-redis.test-util.js';
import { startCluster, until, within, type TestCluster } from './cluster.test-util.js';

const kernels = fileURLToPath(new URL('./fixtures/cluster-kernels.mjs', import.meta.url));

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function cluster(workers: number, env: Record<string, string> = {}): Promise<TestCluster> {
  const redis = await testRedis();
  const c = await startCluster({
    redis: redis.url,
    workers,
    threads: 1,
    kernels: [kernels],
    heartbeatMs: 100,
    workerTimeoutMs: 5_000,
    env,
  });
  cleanups.push(async () => {
    await c.stop();
    await redis.deletePrefix(c.prefix);
    await redis.close();
  });
  return c;
}

async function connect(c: TestCluster): Promise<ta.Client> {
  const client = await ta.Client.connect(c.url);
  cleanups.push(() => client.close());
  return client;
}

/** `blocks` slow blocks of 1,000, then a sum. */
function slowSum(blocks: number, ms: number): { expr: ta.ChunkedArray; want: number } {
  const n = blocks * 1_000;
  const x = ta.arange(0, n, { chunks: 1_000 });
  return { expr: ta.mapBlocks('slow-copy', x, { params: { ms } }).sum(), want: ((n - 1) * n) / 2 };
}

describe('graceful shutdown', () => {
  it('SIGTERM on a worker mid-graph: it finishes its running tasks, leaves, exits 0; the graph completes on the others', async () => {
    const c = await cluster(3);
    const client = await connect(c);
    const { expr, want } = slowSum(24, 60);
    const job = await client.submit(expr);
    const held = new Map<string, number>();
    let stopped: string | undefined;
    let exit: Promise<number | null> | undefined;
    const after: EngineEvent[] = [];
    for await (const ev of job.events()) {
      if (stopped) after.push(ev);
      if (ev.type !== 'task' || ev.state !== 'memory' || !ev.worker) continue;
      held.set(ev.worker, (held.get(ev.worker) ?? 0) + 1);
      if (!stopped && (held.get(ev.worker) ?? 0) >= 3) {
        stopped = ev.worker;
        exit = c.stopWorker(stopped);
      }
    }
    expect(await within(c, job.result())).toBe(want);
    expect(await exit).toBe(0);
    const logs = c.logs();
    expect(logs).toMatch(new RegExp(`"worker":"${stopped!}","msg":"worker left"`));
    // It left on its own: nothing it ran counts against a task, and no task erred.
    expect(logs).not.toMatch(/KilledWorker/);
    expect(after.some((e) => e.type === 'task' && e.state === 'erred')).toBe(false);
    // The leaving worker's chunks were recomputed or its tasks re-run elsewhere.
    expect(after.some((e) => e.type === 'task' && e.state === 'memory' && e.worker !== stopped)).toBe(true);
  });

  it('a task still running at the shutdown timeout is abandoned: the worker exits 0 in time, the task runs elsewhere without a strike', async () => {
    const c = await cluster(2, { TESSERA_SHUTDOWN_TIMEOUT_MS: '300' });
    const client = await connect(c);
    // Two blocks of 6 s: each worker takes one.
    const { expr, want } = slowSum(2, 6_000);
    const job = await client.submit(expr);
    let worker: string | undefined;
    for await (const ev of job.events()) {
      if (ev.type === 'task' && ev.state === 'processing' && ev.worker) {
        worker = ev.worker;
        break;
      }
    }
    expect(worker).toBeDefined();
    const t0 = Date.now();
    const code = await c.stopWorker(worker!);
    expect(code).toBe(0);
    // The pool thread busy-waits in the kernel: the exit is bounded by the timeout (and the
    // report, deregistration and peer linger after it), not by the 6 s task.
    expect(Date.now() - t0).toBeLessThan(4_500);
    expect(await within(c, job.result())).toBe(want);
    expect(c.logs()).toMatch(new RegExp(`"worker":"${worker!}","msg":"worker left"`));
    expect(c.logs()).not.toMatch(/KilledWorker/);
  });

  it('SIGTERM on the scheduler mid-graph leaves every graph in Redis: the next scheduler completes it', async () => {
    const c = await cluster(2);
    const client = await connect(c);
    const { expr, want } = slowSum(16, 80);
    const job = await client.submit(expr);
    let done = 0;
    for await (const ev of job.events()) if (ev.type === 'task' && ev.state === 'memory' && ++done === 4) break;
    expect(await c.stopScheduler()).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    await c.startScheduler();
    expect(await within(c, job.result())).toBe(want);
    await until('the new scheduler sees both workers', async () => {
      const list = (await (await fetch(`${c.url}/api/workers`)).json()) as { workers: unknown[] };
      return list.workers.length === 2;
    });
  });
});
