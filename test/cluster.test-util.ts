// A real cluster for tests: the scheduler and N workers as child processes, started with the
// same `tessera` commands a user runs, on a unique Redis key prefix.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect } from 'vitest';
import * as ta from '@tessera/client';
import { testRedis, type TestRedis } from '../packages/scheduler/src/store/test-redis.test-util.js';

const BIN = fileURLToPath(new URL('../packages/cli/bin/tessera.mjs', import.meta.url));

export interface ClusterOptions {
  redis: string;
  workers?: number;
  threads?: number;
  kernels?: string[];
  prefix?: string;
  heartbeatMs?: number;
  workerTimeoutMs?: number;
  /** Extra environment for every process. */
  env?: Record<string, string>;
}

export interface RunningWorker {
  id: string;
  child: ChildProcess;
}

export interface TestCluster {
  readonly url: string;
  readonly prefix: string;
  readonly workers: RunningWorker[];
  scheduler: ChildProcess;
  addWorker(id?: string): Promise<RunningWorker>;
  /** kill -9 a worker (it does not get to say goodbye). */
  killWorker(id: string): Promise<void>;
  /** SIGTERM a worker (a graceful leave) and wait for it to exit: its exit code. */
  stopWorker(id: string): Promise<number | null>;
  killScheduler(): Promise<void>;
  /** SIGTERM the scheduler and wait for it to exit: its exit code. */
  stopScheduler(): Promise<number | null>;
  /** Start a scheduler again on the same port, Redis and prefix. */
  startScheduler(): Promise<void>;
  /** Output of every process so far, for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

/** Spawn `tessera <args>` and resolve once a line of its stdout matches `ready`. */
function start(args: string[], ready: RegExp, env: Record<string, string>, log: string[], name: string): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  process.once('exit', () => child.kill('SIGKILL'));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 30 s:\n${log.join('')}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      log.push(`[${name}] ${d.toString()}`);
      out += d.toString();
      const m = out.match(ready);
      if (m) {
        clearTimeout(timer);
        resolve({ child, match: m });
      }
    });
    child.stderr!.on('data', (d: Buffer) => log.push(`[${name} err] ${d.toString()}`));
    child.once('exit', (code, signal) => {
      log.push(`[${name}] exited ${code ?? signal}\n`);
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before it was ready:\n${log.join('')}`));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

function exitCode(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.once('exit', (code) => r(code)));
}

export async function startCluster(o: ClusterOptions): Promise<TestCluster> {
  const prefix = o.prefix ?? `tessera-test-${randomUUID().slice(0, 8)}`;
  const env = o.env ?? {};
  const log: string[] = [];
  const heartbeat = String(o.heartbeatMs ?? 200);
  const timeout = String(o.workerTimeoutMs ?? 1_500);
  let port = 0;
  let url = '';
  let nextWorker = 0;

  const startSched = async (): Promise<ChildProcess> => {
    const args = ['scheduler', '--redis', o.redis, '--port', String(port), '--prefix', prefix, '--heartbeat-ms', heartbeat, '--worker-timeout-ms', timeout];
    const { child, match } = await start(args, /listening on (http:\/\/\S+)/, env, log, 'scheduler');
    url = match[1]!;
    port = Number(new URL(url).port);
    return child;
  };
  const workers: RunningWorker[] = [];
  const cluster: TestCluster = {
    get url() {
      return url;
    },
    prefix,
    workers,
    scheduler: await startSched(),
    async addWorker(id = `w${nextWorker++}-${randomUUID().slice(0, 4)}`) {
      const args = ['worker', '--redis', o.redis, '--scheduler', url, '--id', id, '--threads', String(o.threads ?? 1)];
      if (o.kernels?.length) args.push('--kernels', ...o.kernels);
      const { child } = await start(args, /serving chunks at/, env, log, id);
      const w = { id, child };
      workers.push(w);
      return w;
    },
    async killWorker(id) {
      const w = workers.find((x) => x.id === id);
      if (!w) throw new Error(`no worker ${id}`);
      w.child.kill('SIGKILL');
      await exited(w.child);
      workers.splice(workers.indexOf(w), 1);
    },
    async stopWorker(id) {
      const w = workers.find((x) => x.id === id);
      if (!w) throw new Error(`no worker ${id}`);
      const code = exitCode(w.child);
      w.child.kill('SIGTERM');
      workers.splice(workers.indexOf(w), 1);
      return code;
    },
    async stopScheduler() {
      const code = exitCode(cluster.scheduler);
      cluster.scheduler.kill('SIGTERM');
      return code;
    },
    async killScheduler() {
      cluster.scheduler.kill('SIGKILL');
      await exited(cluster.scheduler);
    },
    async startScheduler() {
      cluster.scheduler = await startSched();
    },
    logs: () => log.join(''),
    async stop() {
      const all = [cluster.scheduler, ...workers.map((w) => w.child)];
      for (const c of all) c.kill('SIGTERM');
      await Promise.race([Promise.all(all.map(exited)), new Promise((r) => setTimeout(r, 5_000))]);
      for (const c of all) c.kill('SIGKILL');
    },
  };
  for (let i = 0; i < (o.workers ?? 2); i++) await cluster.addWorker();
  return cluster;
}

/** Wait until `check` holds (polling), or fail naming what was awaited. */
export async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000, c?: TestCluster): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  // With the cluster given, its processes' output goes with the error (a CI failure needs it).
  const logs = c ? `; cluster output:\n${c.logs().slice(-6_000)}` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${logs}`);
}

/** The promise, or after `ms` an error carrying every process's output (what a failure needs). */
/**
 * Processes' output with runs of lines that differ only in numbers (times, pids, ports: an outage's
 * reconnect messages) kept as their first and a count, so a failure shows what came after them.
 */
function collapsed(logs: string): string {
  const out: string[] = [];
  let shape = '';
  let repeats = 0;
  for (const line of logs.split('\n')) {
    const s = line.replace(/\d+/g, '#');
    if (s === shape) {
      repeats++;
      continue;
    }
    if (repeats) out.push(`  … ${repeats} more like it`);
    out.push(line);
    shape = s;
    repeats = 0;
  }
  if (repeats) out.push(`  … ${repeats} more like it`);
  return out.join('\n');
}

/**
 * Redis fails over in the middle of a graph: `x·1 + xᵀ` summed for a random `size`² array in 100²
 * blocks is submitted (its answer computed first), `kill` runs once `after` of its tasks are done,
 * and the graph must still give the answer. Resolves with what `kill` returned.
 */
export async function failoverMidGraph<K>(client: ta.Client, seed: number, size: number, kill: (job: ta.Job<unknown>) => Promise<K>, after = 50): Promise<K> {
  const x = ta.random.uniform([size, size], { chunks: [100, 100], seed });
  const want = await client.compute(x.add(x.T).sum());
  const job = await client.submit(x.mul(1).add(x.T).sum());
  let done = 0;
  for await (const ev of job.events()) if (ev.type === 'task' && ev.state === 'memory' && ++done === after) break;
  const killed = await kill(job);
  expect(await job.result()).toBeCloseTo(want, 6);
  return killed;
}

export async function within<T>(c: TestCluster, p: Promise<T>, ms = 40_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no result after ${ms} ms; cluster output:\n${collapsed(c.logs()).slice(-8_000)}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A client of the embedded local engine (2 threads) or of a fresh cluster (a scheduler and 2
 * workers of 1 thread on a private prefix), opened before the file's tests and closed after: for
 * suites that run the same tests on both. Read `.client` inside the tests.
 */
export function engineClient(
  engine: 'local' | 'cluster',
  opts: { kernels?: string[]; env?: Record<string, string> } = {},
): { readonly client: ta.Client; readonly cluster: TestCluster | undefined } {
  const box = {} as { client: ta.Client; cluster: TestCluster | undefined };
  let redis: TestRedis | undefined;
  let cluster: TestCluster | undefined;
  beforeAll(async () => {
    const kernels = opts.kernels ? { kernels: opts.kernels } : {};
    if (engine === 'local') {
      box.client = await ta.Client.connect({ threads: 2, ...kernels });
      return;
    }
    redis = await testRedis();
    cluster = await startCluster({ redis: redis.url, workers: 2, threads: 1, ...kernels, ...(opts.env && { env: opts.env }) });
    box.cluster = cluster;
    box.client = await ta.Client.connect(cluster.url);
  }, 120_000);
  afterAll(async () => {
    await box.client?.close();
    await cluster?.stop();
    if (cluster && redis) await redis.deletePrefix(cluster.prefix);
    await redis?.close();
  });
  return box;
}
