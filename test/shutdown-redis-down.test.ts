// Shutdown never waits on Redis forever, with real processes on a redis-server of their own:
// Redis is killed (or frozen with SIGSTOP), then SIGTERM. An idle worker exits within 2 s, the
// scheduler within 5 s, a worker with a task running within its grace period; each exits 75 (see
// EXIT_CODES in packages/protocol/src/shutdown.ts) with one "shutdown incomplete" line saying
// what it left undone. Before the fix both logged "redis connection lost" until SIGKILL.
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';
import { EXIT_CODES } from '@tessera/protocol';
import { startRedisServer } from '../packages/scheduler/src/store/test-redis.test-util.js';
import { startCluster, until, type TestCluster } from './cluster.test-util.js';

const kernels = fileURLToPath(new URL('./fixtures/cluster-kernels.mjs', import.meta.url));

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A cluster on a redis-server of its own (a fresh key prefix too), to kill under it. */
async function clusterOnOwnRedis(workers: number, env: Record<string, string> = {}): Promise<{ c: TestCluster; redis: ChildProcess }> {
  const { url, child: redis } = await startRedisServer();
  cleanups.push(() => void redis.kill('SIGKILL'));
  const c = await startCluster({ redis: url, workers, threads: 1, kernels: [kernels], heartbeatMs: 100, workerTimeoutMs: 5_000, env });
  cleanups.push(() => c.stop());
  return { c, redis };
}

async function killRedis(redis: ChildProcess): Promise<void> {
  const exited = new Promise((r) => redis.once('exit', r));
  redis.kill('SIGKILL');
  await exited;
}

/** Both processes saw the connection go (each logs it), so the SIGTERM lands in the outage. */
async function outageSeen(c: TestCluster, worker: string): Promise<void> {
  await until(
    'the scheduler and the worker log the lost connection',
    () => c.logs().includes('redis connection lost') && c.logs().includes(`"topic":"redis (${worker}:main)"`),
    10_000,
  );
}

/** The exit code, and the ms from now until the exit; 'still running' after 15 s (cleanup kills it). */
async function timed(exit: Promise<number | null>): Promise<{ code: number | null | 'still running'; ms: number }> {
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([exit, new Promise<'still running'>((r) => (timer = setTimeout(() => r('still running'), 15_000)))]);
  clearTimeout(timer);
  return { code, ms: Date.now() - t0 };
}

const incompleteLines = (logs: string): string[] => logs.match(/"msg":"shutdown incomplete[^"]*"/g) ?? [];

/** One block of `ms` of busy kernel, then a sum; resolves once the kernel runs on the worker. */
async function slowTaskRunning(c: TestCluster, ms: number): Promise<ta.Client> {
  const client = await ta.Client.connect(c.url);
  cleanups.unshift(() => client.close());
  const x = ta.arange(0, 1_000, { chunks: 1_000 });
  const job = await client.submit(ta.mapBlocks('slow-copy', x, { params: { ms } }).sum());
  // The worker's `started` report makes the task processing (the event's op is the kernel's name).
  for await (const ev of job.events()) if (ev.type === 'task' && ev.op === 'slow_copy' && ev.state === 'processing') break;
  const list = (await (await fetch(`${c.url}/api/workers`)).json()) as { workers: { info: { address: string } }[] };
  const address = list.workers[0]!.info.address;
  await until(
    'the worker runs the kernel',
    async () => /^tessera_worker_running_tasks(\{[^}]*\})? 1$/m.test(await (await fetch(`${address}/metrics`)).text()),
    10_000,
  );
  return client;
}

describe('shutdown with Redis gone', () => {
  it('Redis killed, then SIGTERM: an idle worker exits 75 in under 2 s, the scheduler 75 in under 5 s, each with one line naming what was left undone', async () => {
    const { c, redis } = await clusterOnOwnRedis(1);
    const worker = c.workers[0]!.id;
    await killRedis(redis);
    await outageSeen(c, worker);
    const [w, s] = await Promise.all([timed(c.stopWorker(worker)), timed(c.stopScheduler())]);
    const logs = c.logs();
    expect(w.code, logs.slice(-4_000)).toBe(EXIT_CODES.incomplete);
    expect(w.ms).toBeLessThan(2_000);
    expect(s.code).toBe(EXIT_CODES.incomplete);
    expect(s.ms).toBeLessThan(5_000);
    // Nothing ran, so all the worker left undone is its leave; the scheduler could not confirm its last writes.
    expect(logs).toMatch(
      new RegExp(
        `"worker":"${worker}","undone":\\["leave not recorded[^"]*"\\],"msg":"shutdown incomplete \\(Redis unreachable\\): leave not recorded`,
      ),
    );
    expect(logs).toMatch(
      /"name":"tessera-scheduler","undone":\[[^\]]*\],"msg":"shutdown incomplete \(Redis unreachable\): [^"]*last writes not confirmed/,
    );
    expect(incompleteLines(logs)).toHaveLength(2);
    expect(logs).not.toMatch(/shutdown failed/);
  });

  it('Redis frozen (SIGSTOP: connections stay up, nothing answers), then SIGTERM: the same bounds and exit codes', async () => {
    const { c, redis } = await clusterOnOwnRedis(1);
    const worker = c.workers[0]!.id;
    redis.kill('SIGSTOP');
    // The heartbeat's writes now hang: nothing is logged, the connections look fine.
    await new Promise((r) => setTimeout(r, 300));
    const [w, s] = await Promise.all([timed(c.stopWorker(worker)), timed(c.stopScheduler())]);
    const logs = c.logs();
    expect(w.code, logs.slice(-4_000)).toBe(EXIT_CODES.incomplete);
    expect(w.ms).toBeLessThan(2_000);
    expect(s.code).toBe(EXIT_CODES.incomplete);
    expect(s.ms).toBeLessThan(5_000);
    expect(logs).toMatch(new RegExp(`"worker":"${worker}",.*"msg":"shutdown incomplete \\(Redis unreachable\\): leave not recorded`));
    expect(incompleteLines(logs)).toHaveLength(2);
  });

  it('a task running when Redis is killed is abandoned at the end of the grace period: the worker exits 75 within it, naming the task', async () => {
    const { c, redis } = await clusterOnOwnRedis(1, { TESSERA_SHUTDOWN_TIMEOUT_MS: '1000' });
    const worker = c.workers[0]!.id;
    await slowTaskRunning(c, 20_000);
    await killRedis(redis);
    await outageSeen(c, worker);
    const w = await timed(c.stopWorker(worker));
    const logs = c.logs();
    expect(w.code, logs.slice(-4_000)).toBe(EXIT_CODES.incomplete);
    // It gave the task its grace period (1 s), then let go: not the 20 s of the task, not forever.
    expect(w.ms).toBeGreaterThanOrEqual(950);
    expect(w.ms).toBeLessThan(1_000 + 2_000);
    expect(logs).toMatch(
      new RegExp(
        `"worker":"${worker}","undone":\\["1 running task abandoned",[^\\]]*\\],"msg":"shutdown incomplete \\(Redis unreachable\\): 1 running task abandoned; [^"]*leave not recorded`,
      ),
    );
    expect(incompleteLines(logs)).toHaveLength(1);
  });

  it('a task that ends within the grace period while Redis is down: the worker waits for it, then exits 75 naming its unwritten report', async () => {
    const { c, redis } = await clusterOnOwnRedis(1, { TESSERA_SHUTDOWN_TIMEOUT_MS: '20000' });
    const worker = c.workers[0]!.id;
    await slowTaskRunning(c, 2_500);
    await killRedis(redis);
    await outageSeen(c, worker);
    const w = await timed(c.stopWorker(worker));
    const logs = c.logs();
    expect(w.code, logs.slice(-4_000)).toBe(EXIT_CODES.incomplete);
    // Out once the kernel is done (at most its 2.5 s), long before the 20 s grace period.
    expect(w.ms).toBeLessThan(2_500 + 2_000);
    expect(logs).toMatch(
      new RegExp(
        `"worker":"${worker}",.*"msg":"shutdown incomplete \\(Redis unreachable\\): \\d+ report items? not written; leave not recorded`,
      ),
    );
    expect(logs).not.toMatch(/abandoned/);
  });
});
