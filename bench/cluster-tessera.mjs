// The Tessera side of the cluster benchmarks (bench/cluster.mjs): a scheduler and workers
// started with the tessera CLI, each workload's expression, and one measured run of it.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import * as ta from '@tessera/client';
import { arrayExpressions } from './expressions.mjs';

export const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, '..');
// The `tessera` command users run (npx tessera): a launcher for the built CLI.
const BIN = join(root, 'packages/cli/bin/tessera.mjs');
export const REDIS = process.env.TESSERA_BENCH_REDIS ?? 'redis://127.0.0.1:6379';

/** The Tessera expression of each workload, built fresh for every run, and its compute options. */
const BUILD = {
  'tiny-tasks': (p) => ta.ones([p.n], { chunks: [1] }).add(1),
  chain: (p) => {
    let x = ta.zeros([1], { chunks: [1] });
    for (let i = 0; i < p.n; i++) x = x.add(1);
    return x;
  },
  'graph-100k': (p) => ta.sum(ta.ones([p.n], { chunks: [1] }).add(1)),
  ...arrayExpressions(ta),
};
// Fusion would make the chain one task; off, it is n + 1 tasks, one hop each.
const OPTIONS = { chain: { fuse: false } };
// Measured for its memory: one run on a fresh cluster, no warm-up, so the peaks are this graph's.
const ONCE = new Set(['graph-100k']);
const QUEUE_KEY = /:bull:[^:]+:(id|events)$/;

// ---- small helpers ----------------------------------------------------------------------------
export const MiB = 2 ** 20;
export const fmtS = (s) =>
  s === undefined ? '—' : s < 0.01 ? `${(s * 1000).toFixed(2)} ms` : s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(2)} s`;
export const fmtMiB = (m) => (m === undefined ? '—' : `${Math.round(m)} MiB`);
export const fmtInt = (x) => Math.round(x).toLocaleString('en-US');

/** VmHWM (peak) and VmRSS of a live process, in MiB, from /proc (Linux). */
export function memOf(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (f) => Number(new RegExp(`^${f}:\\s+(\\d+) kB`, 'm').exec(s)?.[1]);
    return { peakMiB: kib('VmHWM') / 1024, rssMiB: kib('VmRSS') / 1024 };
  } catch {
    return { peakMiB: undefined, rssMiB: undefined };
  }
}

const usedMemory = async (r) => Number(/used_memory:(\d+)/.exec(await r.info('memory'))[1]);

async function keysUnder(r, prefix) {
  const keys = [];
  for await (const batch of r.scanStream({ match: `${prefix}:*`, count: 1000 })) keys.push(...batch);
  return keys;
}

function exited(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

// ---- a Tessera cluster ------------------------------------------------------------------------
/** Spawn `tessera <args>`; resolve once a stdout line matches `ready` (30 s at most). */
function startProcess(args, ready, log, name) {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  // If the bench dies, its cluster must not outlive it.
  const orphan = () => child.kill('SIGKILL');
  process.once('exit', orphan);
  child.once('exit', () => process.off('exit', orphan));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 30 s`)), 30_000);
    child.stdout.on('data', (d) => {
      log.push(`[${name}] ${d}`);
      out += d;
      const m = out.match(ready);
      if (m) {
        clearTimeout(timer);
        resolve({ child, match: m });
      }
    });
    child.stderr.on('data', (d) => log.push(`[${name} err] ${d}`));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before it was ready`));
    });
  });
}

export async function startTessera(redis) {
  const prefix = `bench-${randomBytes(4).toString('hex')}`;
  const log = [];
  const children = [];
  const cluster = {
    prefix,
    log,
    url: '',
    scheduler: undefined,
    workers: [],
    /** SIGTERM, SIGKILL after 5 s, then delete the prefix's keys; resolves to the seconds taken. */
    async stop() {
      const t0 = performance.now();
      for (const c of children) c.kill('SIGTERM');
      await Promise.race([Promise.all(children.map(exited)), sleep(5_000)]);
      for (const c of children) c.kill('SIGKILL');
      cluster.stopSeconds = (performance.now() - t0) / 1000;
      const keys = await keysUnder(redis, prefix);
      for (let i = 0; i < keys.length; i += 1000) await redis.unlink(...keys.slice(i, i + 1000));
    },
  };
  try {
    const args = ['scheduler', '--redis', REDIS, '--port', '0', '--prefix', prefix];
    const sched = await startProcess(args, /listening on (http:\/\/\S+)/, log, 'scheduler');
    children.push(sched.child);
    cluster.scheduler = sched.child;
    cluster.url = sched.match[1];
    for (let i = 0; i < 2; i++) {
      const args = ['worker', '--redis', REDIS, '--scheduler', cluster.url, '--threads', '1'];
      const w = await startProcess(args, /serving chunks at/, log, `worker${i}`);
      children.push(w.child);
      cluster.workers.push(w.child);
    }
  } catch (e) {
    await cluster.stop();
    throw new Error(`${e.message}:\n${log.join('').slice(-2000)}`);
  }
  return cluster;
}

/**
 * Timestamps of the engine calls Client.compute makes (submit, wait for the terminal event,
 * gather, release), by wrapping the engine's methods: where a run's time goes, with no change to
 * what the client does.
 */
function instrument(engine) {
  const marks = {};
  for (const m of ['submit', 'wait', 'gather', 'release']) {
    const f = engine[m].bind(engine);
    engine[m] = async (...args) => {
      marks[`${m}Start`] = performance.now();
      try {
        return await f(...args);
      } finally {
        marks[`${m}End`] = performance.now();
      }
    };
  }
  return marks;
}

export function withTimeout(promise, seconds, what) {
  let timer;
  const t = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took over ${seconds} s`)), seconds * 1000)));
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

/** One workload on a fresh Tessera cluster: best of the timed runs, phases, memory, Redis keys. */
export async function runTessera(name, params, redis, o) {
  const opts = OPTIONS[name] ?? {};
  const tasks = ta.toGraph([BUILD[name](params)], opts).tasks.length;
  const t0 = performance.now();
  const cluster = await startTessera(redis);
  const startupSeconds = (performance.now() - t0) / 1000;
  let client;
  let rec;
  try {
    client = await ta.Client.connect(cluster.url);
    const marks = instrument(client.engine);
    const run = async () => {
      for (const k of Object.keys(marks)) delete marks[k];
      const start = performance.now();
      const out = await withTimeout(client.compute(BUILD[name](params), opts), o.timeoutS, `${name} on the Tessera cluster`);
      const end = performance.now();
      const ms = (a, b) => (marks[a] !== undefined && marks[b] !== undefined ? marks[b] - marks[a] : undefined);
      const phasesMs = {
        graph: marks.submitStart - start, // building the expression, cull, fuse, order
        submit: ms('submitStart', 'submitEnd'), // encode + POST /api/graphs (the scheduler writes it to Redis)
        run: ms('submitEnd', 'waitEnd'), // until the graph's terminal event arrives
        gather: ms('gatherStart', 'gatherEnd'), // GET each output's Arrow chunk
        release: ms('releaseStart', 'releaseEnd'), // DELETE /api/graphs/:id
      };
      // One number to check, summed after the clock stopped.
      const value = typeof out === 'number' ? out : out.data.reduce((a, b) => a + b, 0);
      return { seconds: (end - start) / 1000, value, phasesMs };
    };

    // The warm-up also creates what lives as long as the cluster (BullMQ queues' id counters and
    // event streams, made on first use), so the baselines below count only what a graph adds.
    // A once-only workload gets an 11-task primer graph instead, which leaves the peaks its own.
    let warm;
    const runs = [];
    if (!ONCE.has(name)) warm = await run();
    else await client.compute(BUILD['graph-100k']({ n: 8 }));

    const schedulerBaselineRssMiB = memOf(cluster.scheduler.pid).rssMiB;
    const keysBefore = new Set(await keysUnder(redis, cluster.prefix));

    // Redis memory every 50 ms during the timed runs: the peak, against the baseline before them.
    const redisBase = await usedMemory(redis);
    let redisPeak = redisBase;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        redisPeak = Math.max(redisPeak, await usedMemory(redis));
        await sleep(50);
      }
    })().catch((e) => console.error(`bench: sampling Redis memory failed: ${e.message}`));

    const n = ONCE.has(name) ? 1 : o.repeats !== undefined ? Number(o.repeats) : warm.seconds <= 30 ? 3 : 1;
    for (let i = 0; i < n; i++) runs.push(await run());
    const best = runs.length ? runs.reduce((a, b) => (b.seconds < a.seconds ? b : a)) : warm;

    sampling = false;
    await sampler;
    const scheduler = memOf(cluster.scheduler.pid);
    const workerPeaks = cluster.workers.map((w) => memOf(w.pid).peakMiB);
    // The client released the graph inside compute: its keys should be gone at once. Give
    // stragglers (BullMQ job records, ...) 5 s and say how long they took.
    const settleStart = performance.now();
    let keysAfter = await keysUnder(redis, cluster.prefix);
    while (keysAfter.some((k) => !keysBefore.has(k) && !QUEUE_KEY.test(k)) && performance.now() - settleStart < 5_000) {
      await sleep(100);
      keysAfter = await keysUnder(redis, cluster.prefix);
    }
    rec = {
      name,
      engine: 'tessera',
      params,
      seconds: best.seconds,
      runs: runs.map((r) => r.seconds),
      warmup: warm?.seconds,
      warmupPhasesMs: warm?.phasesMs,
      phasesMs: best.phasesMs,
      tasks,
      result: best.value,
      startupSeconds,
      schedulerMaxRssMiB: scheduler.peakMiB,
      schedulerBaselineRssMiB,
      workerMaxRssMiB: Math.max(...workerPeaks),
      redisBaselineBytes: redisBase,
      redisPeakBytes: redisPeak,
      redisBytesPerTask: (redisPeak - redisBase) / tasks,
      keysBefore: keysBefore.size,
      keysAfter: keysAfter.length,
      // A queue's id counter and event stream are made on its first job and live with the queue
      // (one per worker, one shared): not a graph's. Anything else new is left over from graphs.
      queueKeysNew: keysAfter.filter((k) => !keysBefore.has(k) && QUEUE_KEY.test(k)),
      keysNew: keysAfter.filter((k) => !keysBefore.has(k) && !QUEUE_KEY.test(k)).slice(0, 20),
      keysWaitedMs: Math.round(performance.now() - settleStart),
    };
  } catch (e) {
    const tail = cluster.log.join('').split('\n').slice(-12).join('\n');
    rec = { name, engine: 'tessera', params, error: `${e.message ?? e}${tail ? `\n${tail}` : ''}` };
  } finally {
    await client?.close().catch(() => undefined);
    await cluster.stop();
  }
  rec.stopSeconds = cluster.stopSeconds;
  return rec;
}

