/* global AbortController, fetch, TextDecoder */
// What the dashboard costs the scheduler: a many-task graph run with 0 and with 2 dashboards
// watching, alternating, and the throughput of each.
//
//   npm run build && node bench/dashboard-load.mjs [--tasks N] [--repeats R] [--browsers B]
//
// A scheduler and 2 workers (1 thread each) start with the tessera CLI on the local Redis
// (TESSERA_BENCH_REDIS, default redis://127.0.0.1:6379) under a fresh prefix. The workload is
// `sum(ones(n, chunks=1) + 1)`, about 2n tasks (n = --tasks, default 50 000: ~100 000 tasks).
// "With dashboards" means 2 `tessera dashboard` processes, each followed by B SSE clients of its
// /stream (default 1: one open page each), all reading every message. Runs alternate
// (none, dashboards, none, ...) so drift hits both; the report gives each run's tasks/s, the
// medians, the ratio, the scheduler's CPU time per 1000 tasks (from /proc: what the feed costs it,
// whatever else runs on the machine), and the messages each page got per second. Everything runs
// on this machine: on a small one the dashboard processes take CPU from the scheduler and workers
// too, so the tasks/s ratio is an upper bound on the scheduler's own cost; `--nice K` runs them
// under `nice -n K`, as if they ran elsewhere. `--profile DIR` has the scheduler and the dashboards write CPU profiles
// (node --cpu-prof) into DIR, to see where its time goes with dashboards attached.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import * as ta from '@tessera/client';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(root, 'packages/cli/bin/tessera.mjs');
const REDIS = process.env.TESSERA_BENCH_REDIS ?? 'redis://127.0.0.1:6379';

function flag(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 0) {
    console.error(`dashboard-load: --${name} takes a non-negative integer, got ${JSON.stringify(process.argv[i + 1])}`);
    process.exit(2);
  }
  return v;
}
if (process.argv.includes('--help')) {
  console.log(
    'node bench/dashboard-load.mjs [--tasks N (default 50000)] [--repeats R (default 3)] [--browsers B (default 1)] [--nice K (run the dashboards under nice -n K)] [--profile DIR (the scheduler and dashboards write V8 CPU profiles there)]',
  );
  process.exit(0);
}
const N = flag('tasks', 50_000);
const REPEATS = flag('repeats', 3);
const BROWSERS = flag('browsers', 1);
const NICE = flag('nice', 0);

const children = [];
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

function start(args, ready, name, niceness = 0, nodeArgs = []) {
  const argv = [process.execPath, ...nodeArgs, BIN, ...args];
  // `nice` models a dashboard on another machine: on a small box it yields the CPU to the cluster.
  const [cmd, ...rest] = niceness > 0 ? ['nice', '-n', String(niceness), ...argv] : argv;
  const child = spawn(cmd, rest, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr.on('data', (d) => (err = (err + d).slice(-2000)));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${err}`)), 30_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(ready);
      if (m) {
        clearTimeout(timer);
        resolve({ child, match: m });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited ${code}:\n${err}`));
    });
  });
}

async function stop(child) {
  if (child.exitCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([gone, sleep(5_000)]);
  child.kill('SIGKILL');
}

/** An SSE client of a dashboard's /stream that reads every message (a page, minus the drawing). */
function watch(url) {
  const aborter = new AbortController();
  const stats = { messages: 0, bytes: 0 };
  const done = (async () => {
    const res = await fetch(`${url}/stream`, { signal: aborter.signal });
    const decoder = new TextDecoder();
    let buf = '';
    for await (const piece of res.body) {
      stats.bytes += piece.length;
      buf += decoder.decode(piece, { stream: true });
      let end;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const msg = buf.slice(0, end);
        buf = buf.slice(end + 2);
        if (msg.includes('\ndata: ')) stats.messages++;
      }
    }
  })().catch(() => undefined);
  return { stats, close: () => (aborter.abort(), done) };
}

const prefix = `bench-dash-${randomBytes(4).toString('hex')}`;
const redis = new Redis(REDIS);
const profile = process.argv.includes('--profile') ? process.argv[process.argv.indexOf('--profile') + 1] : undefined;
const schedulerNodeArgs = profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [];
const { child: scheduler, match } = await start(
  ['scheduler', '--redis', REDIS, '--port', '0', '--prefix', prefix],
  /listening on (http:\/\/\S+)/,
  'scheduler',
  0,
  schedulerNodeArgs,
);
const url = match[1];
for (let i = 0; i < 2; i++)
  await start(['worker', '--redis', REDIS, '--scheduler', url, '--threads', '1'], /serving chunks at/, `worker${i}`);
const client = await ta.Client.connect(url);

async function run(withDashboards) {
  const dashboards = [];
  const pages = [];
  if (withDashboards) {
    for (let i = 0; i < 2; i++) {
      const d = await start(
        ['dashboard', '--port', '0', '--scheduler', url],
        /listening on (http:\/\/\S+)/,
        `dashboard${i}`,
        NICE,
        schedulerNodeArgs,
      );
      dashboards.push(d.child);
      for (let b = 0; b < BROWSERS; b++) pages.push(watch(d.match[1]));
    }
    await sleep(1_000);
  }
  const expr = ta.sum(ta.ones([N], { chunks: [1] }).add(1));
  const cpu0 = cpuSeconds(scheduler.pid);
  // The dashboards' CPU from here on: their start-up (loading modules) is not the graph's cost.
  const dashboardCpu0 = dashboards.reduce((n, d) => n + cpuSeconds(d.pid), 0);
  const t0 = performance.now();
  const job = await client.submit(expr);
  const value = await job.result();
  const seconds = (performance.now() - t0) / 1000;
  const schedulerCpu = cpuSeconds(scheduler.pid) - cpu0;
  if (value !== 2 * N) throw new Error(`wrong result ${value}, expected ${2 * N}`);
  const total = (await (await fetch(`${url}/api/history?limit=1`)).json()).graphs[0]?.total ?? 2 * N;
  const dashboardCpu = dashboards.reduce((n, d) => n + cpuSeconds(d.pid), 0) - dashboardCpu0;
  const perPage = pages.map((p) => p.stats.messages / seconds);
  const bytesPerPage = pages.map((p) => p.stats.bytes / seconds);
  await Promise.all(pages.map((p) => p.close()));
  await Promise.all(dashboards.map(stop));
  return {
    withDashboards,
    seconds,
    tasks: total,
    tasksPerSecond: total / seconds,
    schedulerCpuMsPer1000: (schedulerCpu * 1e6) / total,
    dashboardCpuMsPer1000: (dashboardCpu * 1e6) / total,
    perPage,
    bytesPerPage,
  };
}

/** CPU seconds (user + system) a process has used, from /proc (Linux; 0 elsewhere). */
function cpuSeconds(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

try {
  // Warm-up (JIT, BullMQ queues): not counted.
  console.log(`dashboard load: sum(ones(${N}, chunks=1) + 1), 2 workers x 1 thread; 2 dashboards x ${BROWSERS} page(s) when on`);
  await run(false);
  const results = [];
  for (let r = 0; r < REPEATS; r++) {
    for (const on of [false, true]) {
      const x = await run(on);
      results.push(x);
      const pages = x.perPage.length
        ? `; the 2 dashboard servers ${x.dashboardCpuMsPer1000.toFixed(0)} ms CPU per 1000 tasks; each page ${x.perPage.map((m) => m.toFixed(1)).join(', ')} msg/s, ${Math.round(Math.max(...x.bytesPerPage) / 1024)} KiB/s at most`
        : '';
      console.log(
        `  ${on ? '2 dashboards' : 'none        '}: ${x.tasks} tasks in ${x.seconds.toFixed(2)} s = ${Math.round(x.tasksPerSecond)} tasks/s, scheduler CPU ${x.schedulerCpuMsPer1000.toFixed(0)} ms per 1000 tasks${pages}`,
      );
    }
  }
  const off = median(results.filter((x) => !x.withDashboards).map((x) => x.tasksPerSecond));
  const on = median(results.filter((x) => x.withDashboards).map((x) => x.tasksPerSecond));
  const cpuOff = median(results.filter((x) => !x.withDashboards).map((x) => x.schedulerCpuMsPer1000));
  const cpuOn = median(results.filter((x) => x.withDashboards).map((x) => x.schedulerCpuMsPer1000));
  console.log(
    `median tasks/s: none ${Math.round(off)}, 2 dashboards ${Math.round(on)}: ratio ${(on / off).toFixed(3)} (${((1 - on / off) * 100).toFixed(1)}% slower)`,
  );
  console.log(
    `median scheduler CPU per 1000 tasks: none ${cpuOff.toFixed(0)} ms, 2 dashboards ${cpuOn.toFixed(0)} ms (${((cpuOn / cpuOff - 1) * 100).toFixed(1)}% more)`,
  );
  console.log(
    JSON.stringify({
      tasks: N,
      repeats: REPEATS,
      browsers: BROWSERS,
      none: off,
      dashboards: on,
      ratio: on / off,
      cpuOff,
      cpuOn,
      runs: results,
    }),
  );
} finally {
  await client.close();
  for (const c of children.slice(1)) await stop(c);
  await stop(scheduler);
  const keys = [];
  for await (const batch of redis.scanStream({ match: `${prefix}:*`, count: 1000 })) keys.push(...batch);
  for (let i = 0; i < keys.length; i += 1000) await redis.unlink(...keys.slice(i, i + 1000));
  redis.disconnect();
}
