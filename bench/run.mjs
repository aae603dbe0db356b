// The benchmark suite: every workload on Tessera's embedded local engine and, when Python with
// dask and numpy is available, on Dask's threaded scheduler, in the same run.
//
//   npm run bench                                 # build, then everything at full size
//   node bench/run.mjs --quick --only tiny-tasks  # smoke test (seconds)
//
// Flags: --only a,b   --quick (small sizes)   --repeats N (timed runs per child, default 3, or 1
//        when the warm-up run took > 30 s)   --no-dask   --threads N (Tessera pool threads)
//        --timeout S (per child process, default 1200)
//        --cluster: the cluster-mode benchmarks instead (bench/cluster.mjs)
//        --zarr: Zarr read, mean, write on a cluster against Dask distributed (bench/files.mjs)
//        --hdf5: HDF5 read and mean on a cluster against Dask distributed (bench/files.mjs)
// Env:   TESSERA_BENCH_PYTHON (default /usr/bin/python3, else python3 on PATH)
//
// Each workload runs in a fresh child process per engine (bench/workload.mjs, bench/dask_workload.py)
// so peak RSS is per workload. Results go to bench/results/<timestamp>.json (gitignored).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';
import { fileURLToPath } from 'node:url';
import { MiB, NAMES, WORKLOADS, checkResult, paramsOf } from './workloads.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

// The GPU benchmark (kernels on the device, and the engine's GPU path against its CPU path).
if (process.argv.includes('--gpu')) {
  const { runGpu } = await import('./gpu.mjs');
  process.exit(await runGpu(process.argv.slice(2)));
}

// File I/O on a cluster: read a Zarr store or an HDF5 file, mean along an axis, write a store (bench/files.mjs).
if (process.argv.includes('--zarr') || process.argv.includes('--hdf5')) {
  const { runFiles } = await import('./files.mjs');
  process.exit(await runFiles(process.argv.slice(2)));
}

// Cluster mode (scheduler + workers vs Dask distributed) has its own workloads and flags.
if (process.argv.includes('--cluster')) {
  const { runCluster } = await import('./cluster.mjs');
  process.exit(await runCluster(process.argv.slice(2)));
}

// ---- flags ------------------------------------------------------------------------------------
const argv = process.argv.slice(2);
const has = (f) => argv.includes(f);
const value = (f) => {
  const i = argv.indexOf(f);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  if (v === undefined || v.startsWith('--')) usage(`${f} needs a value`);
  return v;
};
function usage(msg) {
  if (msg) console.error(`bench: ${msg}`);
  console.error(`usage: node bench/run.mjs [--only ${NAMES.join(',')}] [--quick] [--repeats N] [--no-dask] [--threads N] [--timeout S]`);
  console.error('       node bench/run.mjs --cluster [--help]  (scheduler + 2 workers vs Dask distributed)');
  console.error('       node bench/run.mjs --gpu [--quick] [--repeats N]  (WebGPU kernels and the engine on the GPU)');
  process.exit(2);
}
if (has('--help') || has('-h')) usage();
const known = new Set(['--only', '--quick', '--repeats', '--no-dask', '--threads', '--timeout']);
for (let i = 0; i < argv.length; i++) {
  if (!known.has(argv[i])) usage(`unknown argument ${argv[i]}`);
  if (['--only', '--repeats', '--threads', '--timeout'].includes(argv[i])) i++;
}
const quick = has('--quick');
const only = value('--only')
  ?.split(',')
  .map((s) => s.trim())
  .filter(Boolean);
for (const n of only ?? []) if (!WORKLOADS[n]) usage(`unknown workload ${n}; known: ${NAMES.join(', ')}`);
const names = only ?? NAMES;
const repeats = value('--repeats');
const threads = value('--threads');
const timeoutS = Number(value('--timeout') ?? 1200);

// ---- environment ------------------------------------------------------------------------------
function findPython() {
  const candidates = [process.env.TESSERA_BENCH_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean);
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import dask, numpy, platform; print(dask.__version__, numpy.__version__, platform.python_version())'], {
      encoding: 'utf8',
    });
    if (r.status === 0) {
      const [dask, numpy, python] = r.stdout.trim().split(/\s+/);
      return { python: py, versions: { dask, numpy, python } };
    }
  }
  return undefined;
}
const dask = has('--no-dask') ? undefined : findPython();
if (!dask && !has('--no-dask')) {
  console.error('bench: dask not found (tried TESSERA_BENCH_PYTHON, /usr/bin/python3, python3): Tessera only. apt install python3-dask');
}

function gitCommit() {
  const r = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const dirty = spawnSync('git', ['status', '--porcelain'], { cwd: root, encoding: 'utf8' }).stdout?.trim();
  return r.stdout.trim() + (dirty ? '+dirty' : '');
}

function blasLibrary() {
  for (const p of ['/usr/lib/x86_64-linux-gnu/libblas.so.3', '/usr/lib/aarch64-linux-gnu/libblas.so.3']) {
    try {
      if (existsSync(p)) return realpathSync(p);
    } catch {
      /* not there */
    }
  }
  return undefined;
}

const cpus = os.cpus();
const machine = {
  platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  cpuModel: cpus[0]?.model,
  cpuCount: cpus.length,
  availableParallelism: os.availableParallelism?.() ?? cpus.length,
  cpus: cpus.map((c) => ({ model: c.model, speed: c.speed })),
  totalMemMiB: Math.round(os.totalmem() / MiB),
  node: process.version,
  python: dask?.versions.python,
  dask: dask?.versions.dask,
  numpy: dask?.versions.numpy,
  blas: dask ? blasLibrary() : undefined,
  commit: gitCommit(),
};

// ---- children ---------------------------------------------------------------------------------
/** Run one child; resolve to its last JSON line (or an error record). */
function runChild(engine, cmd, args) {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      err += `\n(killed after ${timeoutS} s)`;
    }, timeoutS * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const wall = (performance.now() - started) / 1000;
      const line = out
        .trim()
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('{'));
      let rec;
      try {
        rec = line ? JSON.parse(line) : undefined;
      } catch {
        rec = undefined;
      }
      if (!rec || code !== 0) {
        const tail = (err || out).trim().split('\n').slice(-8).join('\n');
        rec = { ...(rec ?? {}), engine, error: rec?.error ?? `exit ${code ?? signal}: ${tail}` };
      }
      rec.childWallSeconds = wall;
      resolve(rec);
    });
  });
}

function childArgs(params) {
  const a = ['--params', JSON.stringify(params)];
  if (quick) a.push('--quick');
  if (repeats !== undefined) a.push('--repeats', repeats);
  return a;
}

// ---- run --------------------------------------------------------------------------------------
const fmtS = (s) =>
  s === undefined ? '—' : s < 0.01 ? `${(s * 1000).toFixed(2)} ms` : s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(2)} s`;
const fmtMiB = (m) => (m === undefined ? '—' : `${Math.round(m)} MiB`);

console.error(
  `bench: ${names.join(', ')}${quick ? ' (quick)' : ''} on ${machine.cpuCount}× ${machine.cpuModel}, node ${machine.node}` +
    (dask ? `, dask ${machine.dask} / numpy ${machine.numpy} (${dask.python})` : ''),
);

const results = [];
for (const name of names) {
  const params = paramsOf(name, quick);
  const entry = { name, title: WORKLOADS[name].title, params, inputMiB: WORKLOADS[name].inputBytes(params) / MiB };
  process.stderr.write(`  ${name} ${JSON.stringify(params)}: tessera… `);
  entry.tessera = await runChild('tessera', process.execPath, [
    join(here, 'workload.mjs'),
    name,
    ...childArgs(params),
    ...(threads ? ['--threads', threads] : []),
  ]);
  process.stderr.write(entry.tessera.error ? 'FAILED ' : `${fmtS(entry.tessera.seconds)} `);
  if (dask && !WORKLOADS[name].tesseraOnly) {
    process.stderr.write('dask… ');
    entry.dask = await runChild('dask', dask.python, [join(here, 'dask_workload.py'), name, ...childArgs(params)]);
    process.stderr.write(entry.dask.error ? 'FAILED' : fmtS(entry.dask.seconds));
  }
  process.stderr.write('\n');
  for (const side of ['tessera', 'dask']) {
    const r = entry[side];
    if (r && !r.error) {
      r.check = checkResult(name, params, r.result);
      if (r.tasks) r.usPerTask = (r.seconds * 1e6) / r.tasks;
    }
  }
  if (entry.tessera?.seconds && entry.dask?.seconds) entry.ratio = entry.dask.seconds / entry.tessera.seconds;
  results.push(entry);
}

// ---- report -----------------------------------------------------------------------------------
const rows = [['workload', 'tessera', 'dask', 'ratio (dask/tessera)', 'peak RSS tessera', 'peak RSS dask', 'results']];
for (const e of results) {
  const cell = (r) => {
    if (!r) return '—';
    if (r.error) return 'FAILED';
    let s = fmtS(r.seconds);
    if (e.name === 'tiny-tasks' && r.usPerTask) s += ` (${r.tasks} tasks, ${r.usPerTask.toFixed(1)} µs/task)`;
    return s;
  };
  const rss = (r) =>
    r && !r.error ? fmtMiB(r.maxRssMiB) + (e.inputMiB >= 16 ? ` (${(r.maxRssMiB / e.inputMiB).toFixed(2)}× input)` : '') : '—';
  const checks = ['tessera', 'dask']
    .filter((s) => e[s])
    .map((s) => `${s} ${e[s].error ? 'failed' : e[s].check.ok ? 'ok' : 'WRONG'}`)
    .join(', ');
  rows.push([e.name, cell(e.tessera), cell(e.dask), e.ratio ? `${e.ratio.toFixed(2)}×` : '—', rss(e.tessera), rss(e.dask), checks]);
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => [...r[i]].length)));
const line = (r) => `| ${r.map((c, i) => c + ' '.repeat(widths[i] - [...c].length)).join(' | ')} |`;
console.log(line(rows[0]));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows.slice(1)) console.log(line(r));

console.log('');
console.log('ratio > 1: Tessera faster. Times: best of the timed runs after one warm-up, expression building included.');
const xxt = results.find((e) => e.name === 'sum-xxt');
if (xxt?.tessera && !xxt.tessera.error) {
  const t = xxt.tessera;
  console.log(
    `peak RSS during sum-xxt: Tessera ${fmtMiB(t.maxRssMiB)} = ${(t.maxRssMiB / xxt.inputMiB).toFixed(2)}× one copy of x (${Math.round((xxt.inputMiB * MiB) / 1e6)} MB = ${fmtMiB(xxt.inputMiB)}); ` +
      `${fmtMiB(t.maxRssMiB - t.baselineRssMiB)} above its ${fmtMiB(t.baselineRssMiB)} start` +
      (xxt.dask && !xxt.dask.error
        ? `; Dask ${fmtMiB(xxt.dask.maxRssMiB)} (${fmtMiB(xxt.dask.maxRssMiB - xxt.dask.baselineRssMiB)} above start)`
        : ''),
  );
}
for (const e of results) {
  for (const side of ['tessera', 'dask']) {
    const r = e[side];
    if (!r) continue;
    if (r.error) console.log(`${e.name} on ${side} FAILED: ${r.error}`);
    else if (!r.check.ok) console.log(`${e.name} on ${side} gave a WRONG result: ${r.check.detail}`);
  }
  if (e.name === 'tiny-tasks' && e.tessera?.result !== undefined && e.dask?.result !== undefined && !e.tessera.error && !e.dask.error) {
    if (e.tessera.result !== e.dask.result) console.log(`tiny-tasks: Tessera ${e.tessera.result} != Dask ${e.dask.result}`);
  }
}

const dir = join(here, 'results');
mkdirSync(dir, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const file = join(dir, `${stamp}${quick ? '-quick' : ''}.json`);
writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), quick, argv, machine, results }, null, 2) + '\n');
console.log(`results: ${relative(process.cwd(), file)}`);

const failed = results.some((e) => ['tessera', 'dask'].some((s) => e[s] && (e[s].error || !e[s].check.ok)));
process.exitCode = failed ? 1 : 0;
