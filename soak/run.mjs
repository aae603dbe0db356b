// `npm run soak -- --minutes N`: a real cluster (its own Redis with AOF, a scheduler, 3 workers)
// and several client processes submitting a mix of graphs with checked answers while faults are
// injected at random (soak/faults.mjs). At the end it prints what happened and exits 1 if any
// answer was wrong, any graph was lost (no answer within its deadline), any error was untyped,
// a fault could not be undone, or Redis did not come back to its key count before the load.
//
//   npm run soak -- [--minutes 2] [--clients 3] [--concurrency 2] [--no-faults] [--json FILE] [--log-dir DIR]
//
// Linux only (it reads /proc for peak memory); the disk-full fault needs root (a tmpfs mount).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import * as ta from '@tessera/client';
import { SoakCluster, exited } from './cluster.mjs';
import { FaultInjector } from './faults.mjs';
import { printReport, summarise } from './report.mjs';

async function warmUp(url) {
  const client = await ta.Client.connect(url);
  try {
    await client.compute(
      ta
        .ones([300], { chunks: [1] })
        .add(1)
        .sum(),
    );
  } finally {
    await client.close();
  }
}

const here = fileURLToPath(new URL('.', import.meta.url));

function flag(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) {
    console.error(`soak: --${name} takes a positive number, got ${JSON.stringify(process.argv[i + 1])}`);
    process.exit(2);
  }
  return v;
}
const known = new Set(['--minutes', '--clients', '--concurrency', '--no-faults', '--json', '--log-dir']);
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (!known.has(a)) {
    console.error(
      `soak: unknown argument ${a}; usage: npm run soak -- [--minutes N] [--clients N] [--concurrency N] [--no-faults] [--json FILE] [--log-dir DIR]`,
    );
    process.exit(2);
  }
  if (a !== '--no-faults') i++;
}
const minutes = flag('minutes', 2);
const clients = flag('clients', 3);
const concurrency = flag('concurrency', 2);
const faults = !process.argv.includes('--no-faults');
const jsonOut = process.argv.includes('--json') ? process.argv[process.argv.indexOf('--json') + 1] : undefined;
// Every process's whole output (appended over restarts) and the faults' timeline, to read a stall against.
const logDir = process.argv.includes('--log-dir') ? process.argv[process.argv.indexOf('--log-dir') + 1] : undefined;
if (logDir) mkdirSync(logDir, { recursive: true });
if (spawnSync('redis-server', ['--version']).status !== 0) {
  console.error('soak: redis-server not found (apt-get install redis-server)');
  process.exit(2);
}

const cluster = new SoakCluster({ dir: join(os.tmpdir(), `tessera-soak-${process.pid}`), logDir });
const children = [];
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});
let exitCode = 1;
try {
  const t0 = Date.now();
  await cluster.start();
  // A first graph makes the queues' own keys (ids, meta, event streams), which stay: the baseline is after it.
  await warmUp(cluster.url);
  const baselineKeys = await cluster.keys();
  const baseline = await cluster.keyCount();
  console.log(
    `soak: cluster up (Redis ${cluster.redisUrl}, scheduler ${cluster.url}, ${cluster.workers.length} workers), ${baseline} keys in Redis`,
  );
  console.log(`soak: ${clients} clients x ${concurrency} graphs at once for ${minutes} min, faults ${faults ? 'on' : 'off'}`);

  const until = Date.now() + minutes * 60_000;
  const records = [];
  const clientErrors = [];
  for (let i = 0; i < clients; i++) {
    const args = [
      join(here, 'client.mjs'),
      '--scheduler',
      cluster.url,
      '--name',
      `c${i}`,
      '--until',
      String(until),
      '--concurrency',
      String(concurrency),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('{')) records.push(JSON.parse(line));
      }
    });
    let err = '';
    child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
    child.once('exit', (code) => {
      if (code !== 0) clientErrors.push(`client c${i} exited ${code}: ${err}`);
    });
  }
  const sampler = setInterval(() => children.forEach((c, i) => cluster.sampleChild(`client ${i}`, c)), 500);

  // Task runs: each worker's counter, the last reading of every worker that ever lived.
  const runs = new Map();
  const scrape = async () => {
    for (const [id, n] of await cluster.workerTaskRuns()) runs.set(id, Math.max(runs.get(id) ?? 0, n));
  };
  const scraper = setInterval(() => void scrape(), 1_000);

  const injector = new FaultInjector(cluster);
  const injecting = faults ? injector.run() : Promise.resolve();
  let last = Date.now();
  const progress = setInterval(() => {
    if (Date.now() - last < 30_000) return;
    last = Date.now();
    const ok = records.filter((r) => r.outcome === 'ok').length;
    console.log(`soak: ${Math.round((Date.now() - t0) / 1000)} s, ${records.length} graphs (${ok} ok), ${injector.total} faults`);
  }, 1_000);

  await Promise.all(children.map(exited));
  injector.stop();
  await injecting;
  clearInterval(progress);
  clearInterval(sampler);
  const healthy = await cluster.waitWorkers(cluster.workers.length, 60_000);
  await scrape();
  clearInterval(scraper);

  // Ended graphs nobody released (a client that gave up) expire after the ended-graph TTL.
  let keys = await cluster.keyCount();
  const settleBy = Date.now() + cluster.o.endedTtlMs + 60_000;
  while (keys > baseline && Date.now() < settleBy) {
    await sleep(1_000);
    keys = await cluster.keyCount();
  }
  cluster.sample();
  if (logDir) writeFileSync(join(logDir, 'faults.json'), JSON.stringify(injector.timeline, null, 1));
  const summary = summarise({
    minutes,
    records,
    faults: injector.counts,
    timeline: injector.timeline,
    faultErrors: injector.errors,
    clientErrors,
    crashes: cluster.crashes,
    taskRuns: [...runs.values()].reduce((a, b) => a + b, 0),
    peaksKiB: Object.fromEntries(cluster.peaks),
    keys: {
      baseline,
      end: keys,
      indexed: await cluster.indexed(),
      // What a failure must name: keys the baseline lacks, less the live workers' queues (restarted
      // workers have new ids), and a dead worker's queue keys even where the baseline had them.
      extra: keys > baseline ? (await cluster.keys()).filter((k) => extraKey(k, baselineKeys, cluster.workers)).slice(0, 30) : [],
    },
    healthy,
    spillFault: cluster.spillDir !== undefined,
    cpu: os.cpus()[0]?.model ?? 'unknown',
  });
  printReport(summary);
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(summary, null, 2));
  exitCode = summary.pass ? 0 : 1;
  if (!summary.pass) {
    for (const name of ['scheduler', 'worker 0', 'worker 1', 'worker 2'])
      console.log(`--- last lines of ${name} ---\n${cluster.tail(name, 25)}`);
  }
} catch (e) {
  console.error(`soak: ${e.stack ?? e}`);
} finally {
  await cluster.stop().catch(() => undefined);
}
process.exit(exitCode);

/** A key left at the end that is not the cluster's own: see `extra` above. */
function extraKey(k, baselineKeys, workers) {
  if (k.endsWith(':graphs')) return false;
  const queue = /:bull:worker-(.+):[^:]+$/.exec(k);
  if (queue) return !workers.some((w) => w.id === queue[1]);
  return !baselineKeys.includes(k);
}
