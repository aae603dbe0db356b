// Cluster-mode benchmarks: a Tessera scheduler and 2 workers (started with the tessera CLI, as users
// do) against Dask distributed's LocalCluster (2 worker processes × 1 thread), in the same run, on
// the same workloads and sizes (bench/workloads.mjs CLUSTER_WORKLOADS).
//
//   node bench/run.mjs --cluster [--quick] [--no-dask] [--only a,b] [--repeats N] [--timeout S]
//
// Each workload gets a fresh cluster on each side, so peak RSS (VmHWM of the scheduler and worker
// processes) is that workload's. This process is Tessera's client; Dask's runs in its own child
// (bench/dask_cluster.py), whose scheduler lives in that child. Redis is the shared 127.0.0.1:6379
// (TESSERA_BENCH_REDIS to change), each cluster under its own prefix, deleted afterwards.
// --timeout S bounds each Tessera compute and each Dask child (default 600). TESSERA_BENCH_PYTHON
// names a python with dask distributed (default /usr/bin/python3, else python3 on PATH).
// Results go to bench/results/<timestamp>-cluster.json.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import * as ta from '@tessera/client';
import { arrayExpressions } from './expressions.mjs';
import { CLUSTER_NAMES, CLUSTER_WORKLOADS, checkResult, clusterParamsOf } from './workloads.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
// The `tessera` command users run (npx tessera): a launcher for the built CLI.
const BIN = join(root, 'packages/cli/bin/tessera.mjs');
const REDIS = process.env.TESSERA_BENCH_REDIS ?? 'redis://127.0.0.1:6379';

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
const MiB = 2 ** 20;
const fmtS = (s) =>
  s === undefined ? '—' : s < 0.01 ? `${(s * 1000).toFixed(2)} ms` : s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(2)} s`;
const fmtMiB = (m) => (m === undefined ? '—' : `${Math.round(m)} MiB`);
const fmtInt = (x) => Math.round(x).toLocaleString('en-US');

/** VmHWM (peak) and VmRSS of a live process, in MiB, from /proc (Linux). */
function memOf(pid) {
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

async function startTessera(redis) {
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

function withTimeout(promise, seconds, what) {
  let timer;
  const t = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took over ${seconds} s`)), seconds * 1000)));
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

/** One workload on a fresh Tessera cluster: best of the timed runs, phases, memory, Redis keys. */
async function runTessera(name, params, redis, o) {
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

// ---- the Dask child ---------------------------------------------------------------------------
const PROBE =
  'import dask, distributed, numpy, platform as p; print(dask.__version__, distributed.__version__, numpy.__version__, p.python_version())';
function findDask() {
  for (const py of [process.env.TESSERA_BENCH_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean)) {
    const r = spawnSync(py, ['-c', PROBE], { encoding: 'utf8' });
    if (r.status === 0) {
      const [dask, distributed, numpy, python] = r.stdout.trim().split(/\s+/);
      return { python: py, versions: { dask, distributed, numpy, python } };
    }
  }
  return undefined;
}

/** Run bench/dask_cluster.py; resolve to its last JSON line (or an error record). */
function runDask(python, name, params, o) {
  const args = [join(here, 'dask_cluster.py'), name, '--params', JSON.stringify(params)];
  if (o.quick) args.push('--quick');
  if (o.repeats !== undefined) args.push('--repeats', o.repeats);
  return new Promise((resolve) => {
    const child = spawn(python, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      err += `\n(killed after ${o.timeoutS} s)`;
    }, o.timeoutS * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').findLast((l) => l.startsWith('{'));
      let rec;
      try {
        rec = line ? JSON.parse(line) : undefined;
      } catch {
        rec = undefined;
      }
      if (!rec || code !== 0) {
        const tail = (err || out).trim().split('\n').slice(-8).join('\n');
        rec = { ...(rec ?? {}), engine: 'dask', error: rec?.error ?? `exit ${code ?? signal}: ${tail}` };
      }
      resolve(rec);
    });
  });
}

// ---- main -------------------------------------------------------------------------------------
/**
 * This process is Tessera's client, and Node prints a process warning for every listener past a
 * limit (thousands of lines while gathering 10,000 outputs): count each kind instead and print it
 * once at the end, so the table stays readable and the warning is still reported.
 */
function quietWarnings() {
  const seen = new Map();
  process.removeAllListeners('warning');
  process.on('warning', (w) => {
    const what = `${w.name}: ${w.message.replace(/\d+/g, 'N')}`;
    seen.set(what, (seen.get(what) ?? 0) + 1);
  });
  return seen;
}

function parseFlags(argv) {
  const usage = (msg) => {
    console.error(
      `bench: ${msg}\nusage: node bench/run.mjs --cluster [--only ${CLUSTER_NAMES.join(',')}] [--quick] [--no-dask] [--repeats N] [--timeout S]`,
    );
    process.exit(2);
  };
  const o = { quick: false, dask: true, only: undefined, repeats: undefined, timeoutS: 600 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => (argv[i + 1] === undefined || argv[i + 1].startsWith('--') ? usage(`${a} needs a value`) : argv[++i]);
    if (a === '--cluster') continue;
    else if (a === '--help' || a === '-h') usage('cluster mode: scheduler + 2 workers against Dask distributed');
    else if (a === '--quick') o.quick = true;
    else if (a === '--no-dask') o.dask = false;
    else if (a === '--only')
      o.only = next()
        .trim()
        .split(/\s*,\s*/);
    else if (a === '--repeats') o.repeats = next();
    else if (a === '--timeout') o.timeoutS = Number(next());
    else usage(`unknown argument ${a} in --cluster mode`);
  }
  for (const n of o.only ?? []) if (!CLUSTER_WORKLOADS[n]) usage(`unknown cluster workload ${n}; known: ${CLUSTER_NAMES.join(', ')}`);
  return o;
}

/** Run the cluster benchmarks; resolves to the exit code. */
export async function runCluster(argv) {
  const o = parseFlags(argv);
  const warnings = quietWarnings();
  const names = o.only ?? CLUSTER_NAMES;
  const dask = o.dask ? findDask() : undefined;
  if (o.dask && !dask) console.error('bench: no python3 with dask distributed (apt install python3-distributed): Tessera only');
  const redis = new Redis(REDIS, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
  } catch (e) {
    console.error(`bench: cannot reach Redis at ${REDIS} (TESSERA_BENCH_REDIS): ${e.message}`);
    return 2;
  }
  const git = (...a) => spawnSync('git', a, { cwd: root, encoding: 'utf8' }).stdout?.trim();
  const machine = {
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpuModel: os.cpus()[0]?.model,
    cpuCount: os.cpus().length,
    totalMemMiB: Math.round(os.totalmem() / MiB),
    // Other work on the machine skews every number here: say how busy it was.
    loadAvgAtStart: os.loadavg(),
    node: process.version,
    redis: /redis_version:(\S+)/.exec(await redis.info('server'))?.[1],
    ...(dask?.versions ?? {}),
    commit: (git('rev-parse', '--short', 'HEAD') ?? '') + (git('status', '--porcelain') ? '+dirty' : ''),
  };
  console.error(
    `bench --cluster: ${names.join(', ')}${o.quick ? ' (quick)' : ''} on ${machine.cpuCount}× ${machine.cpuModel}, node ${machine.node}, redis ${machine.redis}` +
      (dask ? `, dask/distributed ${machine.distributed} (${dask.python})` : ''),
  );

  const results = [];
  for (const name of names) {
    const w = CLUSTER_WORKLOADS[name];
    const params = clusterParamsOf(name, o.quick);
    const entry = { name, title: w.title, params };
    process.stderr.write(`  ${name} ${JSON.stringify(params)}: tessera… `);
    entry.tessera = await runTessera(name, params, redis, o);
    process.stderr.write(entry.tessera.error ? 'FAILED ' : `${fmtS(entry.tessera.seconds)} `);
    if (dask && !w.tesseraOnly) {
      process.stderr.write('dask… ');
      entry.dask = await runDask(dask.python, name, params, o);
      process.stderr.write(entry.dask.error ? 'FAILED' : fmtS(entry.dask.seconds));
    }
    process.stderr.write('\n');
    for (const side of ['tessera', 'dask']) {
      const r = entry[side];
      if (!r || r.error) continue;
      r.check = checkResult(name, params, r.result, CLUSTER_WORKLOADS);
      r.tasksPerSecond = r.tasks / r.seconds;
      if (name === 'chain') r.usPerHop = (r.seconds * 1e6) / params.n;
    }
    if (entry.tessera?.seconds && entry.dask?.seconds) entry.ratio = entry.dask.seconds / entry.tessera.seconds;
    results.push(entry);
  }
  await report(results, o);

  const dir = join(here, 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = join(dir, `${stamp}-cluster${o.quick ? '-quick' : ''}.json`);
  for (const [what, n] of warnings) console.log(`process warning, ${n}×: ${what}`);
  machine.loadAvgAtEnd = os.loadavg();
  const load = (l) => l.map((x) => x.toFixed(1)).join(' ');
  console.log(
    `load average (1, 5, 15 min) at start ${load(machine.loadAvgAtStart)}, at end ${load(machine.loadAvgAtEnd)} on ${machine.cpuCount} CPUs`,
  );
  const json = {
    date: new Date().toISOString(),
    mode: 'cluster',
    quick: o.quick,
    argv,
    machine,
    results,
    warnings: Object.fromEntries(warnings),
  };
  writeFileSync(file, JSON.stringify(json, null, 2) + '\n');
  console.log(`results: ${relative(process.cwd(), file)}`);
  redis.disconnect();
  return results.some((e) => ['tessera', 'dask'].some((s) => e[s] && (e[s].error || !e[s].check.ok))) ? 1 : 0;
}

// ---- report -----------------------------------------------------------------------------------
function printTable(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => [...r[i]].length)));
  const line = (r) => `| ${r.map((c, i) => c + ' '.repeat(widths[i] - [...c].length)).join(' | ')} |`;
  console.log(line(rows[0]));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows.slice(1)) console.log(line(r));
}

async function report(results, o) {
  const cell = (e, r) => {
    if (!r) return '—';
    if (r.error) return 'FAILED';
    if (e.name === 'chain') return `${fmtS(r.seconds)} (${fmtInt(r.usPerHop)} µs/hop)`;
    if (e.name === 'tiny-tasks' || e.name === 'graph-100k') return `${fmtS(r.seconds)} (${fmtInt(r.tasksPerSecond)} tasks/s)`;
    return fmtS(r.seconds);
  };
  const ok = (r) => (!r ? '' : r.error ? 'failed' : r.check.ok ? 'ok' : 'WRONG');
  const rows = [
    ['workload', 'tasks T / D', 'tessera', 'dask distributed', 'ratio', 'sched. peak RSS T / D', 'worker peak RSS T / D', 'checks'],
  ];
  for (const e of results) {
    // "T / D": Tessera's value, then Dask's.
    const both = (f) => [e.tessera, e.dask].map((r) => (r && !r.error ? f(r) : '—')).join(' / ');
    const ratio = e.ratio ? `${e.ratio.toFixed(2)}×` : '—';
    const checks = [ok(e.tessera), ok(e.dask)].filter(Boolean).join(' / ');
    const rss = (k) => both((r) => fmtMiB(r[k]));
    const times = [cell(e, e.tessera), cell(e, e.dask), ratio];
    rows.push([e.name, both((r) => fmtInt(r.tasks)), ...times, rss('schedulerMaxRssMiB'), rss('workerMaxRssMiB'), checks]);
  }
  printTable(rows);
  console.log('');
  console.log('ratio = Dask time / Tessera time (> 1: Tessera faster). Times: best timed run after a warm-up (graph-100k: one run),');
  console.log('from building the expression to results in hand. Tessera: scheduler + 2 workers × 1 thread (tessera CLI);');
  console.log('Dask: LocalCluster(n_workers=2, threads_per_worker=1), whose scheduler (and its RSS) shares the client process.');

  // Where Tessera's time goes, per workload (best run).
  const phases = results.filter((e) => e.tessera && !e.tessera.error);
  if (phases.length) {
    console.log('');
    console.log('Tessera phases of the best run (ms): graph = build + optimise; run = submitted → terminal event; gather = fetch outputs');
    const rows2 = [['workload', 'graph', 'submit', 'run', 'gather', 'release', 'cluster start', 'cluster stop']];
    for (const e of phases) {
      const p = e.tessera.phasesMs;
      const ms = [p.graph, p.submit, p.run, p.gather, p.release, e.tessera.startupSeconds * 1000, e.tessera.stopSeconds * 1000];
      rows2.push([e.name, ...ms.map((x) => (Number.isFinite(x) ? x.toFixed(0) : '—'))]);
    }
    printTable(rows2);
  }

  console.log('');
  for (const e of results) {
    const t = e.tessera;
    if (!t || t.error || e.name !== 'graph-100k') continue;
    console.log(
      `graph-100k (${fmtInt(t.tasks)} tasks): scheduler peak RSS ${fmtMiB(t.schedulerMaxRssMiB)} (${fmtMiB(t.schedulerBaselineRssMiB)} before the graph); ` +
        `Redis used_memory ${fmtInt(t.redisBaselineBytes / 1024)} KiB before, peak ${fmtInt(t.redisPeakBytes / 1024)} KiB = ${fmtInt(t.redisBytesPerTask)} bytes/task; ` +
        `keys under the prefix: ${t.keysBefore} before, ${t.keysAfter} after the results were fetched` +
        (t.keysNew.length ? ` (NOT back to baseline: ${t.keysNew.join(', ')})` : ' (back to baseline)') +
        (t.queueKeysNew.length ? `; ${t.queueKeysNew.length} of them BullMQ queue keys made on a queue's first job (id, events)` : ''),
    );
  }
  const met = (yes) => (yes ? 'met' : 'MISSED');
  const tiny = results.find((e) => e.name === 'tiny-tasks');
  if (tiny?.ratio) {
    const [t, d] = [tiny.tessera, tiny.dask].map((r) => fmtInt(r.tasksPerSecond));
    // The scheduler's share alone: submitted → terminal event, before the outputs are fetched.
    const run = fmtInt(tiny.tessera.tasks / (tiny.tessera.phasesMs.run / 1000));
    console.log(
      `target tiny-tasks ≥ 10× Dask: ${t} vs ${d} tasks/s = ${tiny.ratio.toFixed(2)}×, ${met(tiny.ratio >= 10)} (Tessera's run phase alone: ${run} tasks/s)`,
    );
  }
  const hop = results.find((e) => e.name === 'chain')?.tessera?.usPerHop;
  if (hop) console.log(`target chain ≤ 1 ms/hop: ${fmtInt(hop)} µs/hop, ${met(hop <= 1000)}`);
  const arrays = results.filter((e) => e.ratio && !['tiny-tasks', 'chain'].includes(e.name));
  const slow = arrays.filter((e) => e.ratio < 1).map((e) => `${e.name} ${e.ratio.toFixed(2)}×`);
  if (arrays.length)
    console.log(`target arrays no slower than Dask distributed: ${met(!slow.length)}${slow.length ? ` (${slow.join(', ')})` : ''}`);
  for (const e of results) {
    for (const side of ['tessera', 'dask']) {
      const r = e[side];
      if (!r) continue;
      if (r.error) console.log(`${e.name} on ${side} FAILED: ${r.error}`);
      else if (!r.check.ok) console.log(`${e.name} on ${side} gave a WRONG result: ${r.check.detail}`);
    }
  }
  if (o.quick) console.log('(--quick sizes: a smoke test, not the numbers to quote)');
}
