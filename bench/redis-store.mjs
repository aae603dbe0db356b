// The Redis Store alone, at scale: create a tree-reduction graph of ~100,000 tasks, complete every
// task, and report tasks/s and Redis memory per task. No scheduler, no workers.
//
//   npm run build && node bench/redis-store.mjs [--tasks 100000] [--fan-in 4] [--in-flight 64] [--redis URL]
//
// Without --redis it starts its own redis-server on a free port, so INFO memory sees only this run.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { RedisStore } from '@tessera/scheduler';
import { graphKeys, GRAPH_KEY_PARTS } from '@tessera/protocol';

const argv = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = argv.indexOf(name);
  return i < 0 ? dflt : argv[i + 1];
};
const total = Number(flag('--tasks', 100_000));
const fanIn = Number(flag('--fan-in', 4));
const inFlight = Number(flag('--in-flight', 64));

function treeGraph() {
  // leaves ≈ total * (fanIn - 1) / fanIn gives ~total tasks in all.
  const leaves = Math.round((total * (fanIn - 1)) / fanIn);
  const token = '0123456789abcdef';
  const tasks = [];
  let level = [];
  for (let i = 0; i < leaves; i++) {
    const key = `random-${token}:${i}`;
    tasks.push({ key, op: 'random', params: { seed: 42, kind: 'uniform' }, deps: [], shape: [1000], dtype: 'float64', nbytes: 8000, priority: tasks.length });
    level.push(key);
  }
  for (let depth = 1; level.length > 1; depth++) {
    const next = [];
    for (let i = 0; i < level.length; i += fanIn) {
      const key = `sum-${depth}-${token}:${next.length}`;
      tasks.push({ key, op: 'reduce-merge', params: { kind: 'sum', axes: [0] }, deps: level.slice(i, i + fanIn), shape: [1], dtype: 'float64', nbytes: 8, priority: tasks.length });
      next.push(key);
    }
    level = next;
  }
  return { tasks, outputs: level };
}

async function ownRedis() {
  const port = await new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  process.once('exit', () => child.kill());
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const c = new Redis(url, { lazyConnect: true, retryStrategy: () => null });
    c.on('error', () => undefined);
    try {
      await c.connect();
      await c.ping();
      c.disconnect();
      return url;
    } catch {
      c.disconnect();
      await sleep(50);
    }
  }
  throw new Error('redis-server did not start');
}

const usedMemory = async (r) => Number(/used_memory:(\d+)/.exec(await r.info('memory'))[1]);

const url = flag('--redis', undefined) ?? (await ownRedis());
const redis = new Redis(url);
const prefix = `tessera-bench:${process.pid}`;
const store = new RedisStore(redis, { prefix });
const graph = treeGraph();
const n = graph.tasks.length;
const fmt = (x) => Math.round(x).toLocaleString('en-US');

const base = await usedMemory(redis);
let t0 = performance.now();
const { ready } = await store.createGraph('g', graph, { persist: false, now: Date.now() });
const createMs = performance.now() - t0;
const afterCreate = await usedMemory(redis);
const keys = graphKeys(prefix, 'g');
const perKey = {};
for (const p of GRAPH_KEY_PARTS) perKey[p] = (await redis.memory('USAGE', keys[p], 'SAMPLES', 0)) ?? 0;

// Complete every task, `inFlight` at a time, the way a scheduler turns completions into new work.
const queue = [...ready];
let running = 0;
let finished = false;
t0 = performance.now();
await new Promise((resolve, reject) => {
  const pump = () => {
    while (running < inFlight && queue.length) {
      const key = queue.pop();
      running++;
      store.completeTasks('g', [{ key, worker: 'w1' }], Date.now()).then((r) => {
        running--;
        if (r.applied.length !== 1) return reject(new Error(`not applied: ${key}`));
        queue.push(...r.ready);
        if (r.finished) finished = true;
        if (running === 0 && queue.length === 0) resolve();
        else pump();
      }, reject);
    }
  };
  pump();
});
const completeMs = performance.now() - t0;
const afterRun = await usedMemory(redis);
const g = await store.getGraph('g');
if (!finished || g.done !== n) throw new Error(`graph did not finish: ${JSON.stringify(g)}`);

// One at a time: the latency a dependent chain sees per hop.
const chainStore = new RedisStore(redis, { prefix: `${prefix}-chain` });
const chain = { tasks: [], outputs: [] };
for (let i = 0; i < 2000; i++) chain.tasks.push({ key: `c-0123456789abcdef:${i}`, op: 'full', params: {}, deps: i ? [`c-0123456789abcdef:${i - 1}`] : [], shape: [1], dtype: 'float64', nbytes: 8, priority: i });
chain.outputs.push(chain.tasks.at(-1).key);
await chainStore.createGraph('c', chain, { persist: false, now: 0 });
t0 = performance.now();
for (const t of chain.tasks) await chainStore.completeTasks('c', [{ key: t.key, worker: 'w1' }], 0);
const hopUs = ((performance.now() - t0) * 1000) / chain.tasks.length;

await store.deleteGraph('g');
await chainStore.deleteGraph('c');
const left = (await redis.keys(`${prefix}*`)).length;
console.log(
  JSON.stringify(
    {
      tasks: n,
      fanIn,
      inFlight,
      createGraphMs: Math.round(createMs),
      createTasksPerS: fmt(n / (createMs / 1000)),
      completeMs: Math.round(completeMs),
      completeTasksPerS: fmt(n / (completeMs / 1000)),
      createPlusCompleteTasksPerS: fmt(n / ((createMs + completeMs) / 1000)),
      sequentialCompleteUsPerTask: Math.round(hopUs),
      redisBytesPerTaskAfterCreate: Math.round((afterCreate - base) / n),
      redisBytesPerTaskAfterRun: Math.round((afterRun - base) / n),
      memoryUsageBytesPerTaskByKey: Object.fromEntries(Object.entries(perKey).map(([k, v]) => [k, Math.round((v / n) * 10) / 10])),
      keysLeftAfterDelete: left,
    },
    null,
    2,
  ),
);
redis.disconnect();
process.exit(0);
