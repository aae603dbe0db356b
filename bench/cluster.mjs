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
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative } from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';
import { Redis } from 'ioredis';
import { CLUSTER_NAMES, CLUSTER_WORKLOADS, checkResult, clusterParamsOf } from './workloads.mjs';
import { MiB, REDIS, fmtInt, fmtMiB, fmtS, here, root, runTessera } from './cluster-tessera.mjs';

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
      // The warm-up run too: the first graph on a fresh cluster, where cold-start costs show.
      for (const [label, p] of [[e.name, e.tessera.phasesMs], [`${e.name} (first run)`, e.tessera.warmupPhasesMs]]) {
        if (!p) continue;
        const ms = [p.graph, p.submit, p.run, p.gather, p.release, e.tessera.startupSeconds * 1000, e.tessera.stopSeconds * 1000];
        rows2.push([label, ...ms.map((x) => (Number.isFinite(x) ? x.toFixed(0) : '—'))]);
      }
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
  if (tiny?.tessera?.warmup && tiny.dask?.warmup) {
    const cold = tiny.dask.warmup / tiny.tessera.warmup;
    console.log(
      `target tiny-tasks cold (first graph on a fresh cluster) ≥ 10× Dask: ${fmtS(tiny.tessera.warmup)} vs ${fmtS(tiny.dask.warmup)} = ${cold.toFixed(2)}×, ${met(cold >= 10)}`,
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
