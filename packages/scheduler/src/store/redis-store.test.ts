import { afterAll, describe, expect, it } from 'vitest';
import { RedisFullError, graphIndexKey, graphKeys, graphSideKeys, type Graph, type TaskSpec } from '@tessera/protocol';
import { runScript } from './redis-scripts/redis-script.js';
import { bumpSuspect } from './redis-scripts/side-write-2.js';
import { MemoryStore } from './memory-store.js';
import { RedisStore } from './redis-store.js';
import type { CompletionResult, Store } from './store.js';
import { storeConformance } from './store.conformance.js';
import { startRedisServer, testRedis } from './test-redis.test-util.js';

const redis = await testRedis();
const shared = redis.connect();
const prefixes: string[] = [];
const newPrefix = (): string => {
  const p = redis.uniquePrefix();
  prefixes.push(p);
  return p;
};

afterAll(async () => {
  for (const p of prefixes) await redis.deletePrefix(p);
  await redis.close();
});

storeConformance('redis', () => new RedisStore(shared, { prefix: newPrefix() }));

const spec = (key: string, deps: string[] = []): TaskSpec => ({
  key,
  op: deps.length ? 'reduce-merge' : 'full',
  params: deps.length ? { kind: 'sum', axes: [0] } : { value: 1 },
  deps,
  shape: [1],
  dtype: 'float64',
  nbytes: 8,
  priority: 0,
});

/** A tree reduction: `leaves` roots, merged `fanIn` at a time down to one output. */
function treeGraph(leaves: number, fanIn: number): Graph {
  const tasks: TaskSpec[] = [];
  let level = Array.from({ length: leaves }, (_, i) => `leaf-0123456789abcdef:${i}`);
  for (const k of level) tasks.push(spec(k));
  for (let depth = 1; level.length > 1; depth++) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += fanIn) {
      const key = `merge${depth}-0123456789abcdef:${next.length}`;
      tasks.push(spec(key, level.slice(i, i + fanIn)));
      next.push(key);
    }
    level = next;
  }
  return { tasks, outputs: level };
}

/** `n` roots, n-1 tasks over neighbouring pairs (every inner root has two dependents), one final sum. */
function ladderGraph(n: number): Graph {
  const roots = Array.from({ length: n }, (_, i) => `root-0123456789abcdef:${i}`);
  const pairs = roots.slice(1).map((_, i) => spec(`pair-0123456789abcdef:${i}`, [roots[i]!, roots[i + 1]!]));
  const final = spec(
    'total-0123456789abcdef:',
    pairs.map((p) => p.key),
  );
  return { tasks: [...roots.map((k) => spec(k)), ...pairs, final], outputs: [final.key] };
}

const complete = (s: Store, id: string, key: string, worker = 'w1'): Promise<CompletionResult> => s.completeTasks(id, [{ key, worker }], 5);

describe('RedisStore', () => {
  it('resumes after a restart: a new store on the same Redis finishes the graph exactly as memory does', async () => {
    const prefix = newPrefix();
    const graph = treeGraph(300, 4);
    const memory = new MemoryStore();
    let store: Store = new RedisStore(redis.connect(), { prefix });
    const queue = (await store.createGraph('g', graph, { persist: false, now: 1 })).ready;
    expect(queue).toEqual((await memory.createGraph('g', graph, { persist: false, now: 1 })).ready);

    const step = async (): Promise<CompletionResult> => {
      const key = queue.shift()!;
      const [r, m] = await Promise.all([complete(store, 'g', key), complete(memory, 'g', key)]);
      expect(r).toEqual(m);
      queue.push(...r.ready);
      return r;
    };
    for (let i = 0; i < 200; i++) await step();
    const before = { graph: await store.getGraph('g'), counts: await store.stateCounts('g') };
    expect(before.graph?.done).toBe(200);

    // The "scheduler" restarts: a new connection and a new store object, nothing carried over.
    store = new RedisStore(redis.connect(), { prefix });
    expect(await store.getGraph('g')).toEqual(before.graph);
    expect(await store.stateCounts('g')).toEqual(before.counts);
    let last: CompletionResult | undefined;
    while (queue.length) last = await step();
    expect(last?.finished).toBe(true);
    expect(await store.stateCounts('g')).toEqual(await memory.stateCounts('g'));
    expect(await store.getGraph('g')).toMatchObject({ state: 'finished', done: graph.tasks.length, total: graph.tasks.length });
  });

  it('gives exact ready and releasable sets under concurrent completions from two connections', async () => {
    const prefix = newPrefix();
    const clients = [new RedisStore(redis.connect(), { prefix }), new RedisStore(redis.connect(), { prefix })];
    const graph = ladderGraph(1000);
    expect(graph.tasks).toHaveLength(2000);
    const queue = [...(await clients[0]!.createGraph('g', graph, { persist: false, now: 1 })).ready];
    const ready: string[] = [];
    const releasable: string[] = [];
    const byClient = [0, 0];
    let finished = 0;
    let inFlight = 0;
    // Each client runs 16 completion loops; a task goes to whichever loop takes it first.
    const loop = async (c: number): Promise<void> => {
      for (;;) {
        const key = queue.shift();
        if (key === undefined) {
          if (inFlight === 0) return;
          await new Promise((r) => setImmediate(r));
          continue;
        }
        inFlight++;
        const r = await complete(clients[c]!, 'g', key, `w${c}`);
        inFlight--;
        expect(r.applied).toHaveLength(1);
        byClient[c]!++;
        if (r.finished) finished++;
        ready.push(...r.ready);
        releasable.push(...r.releasable);
        queue.push(...r.ready);
      }
    };
    await Promise.all([0, 1].flatMap((c) => Array.from({ length: 16 }, () => loop(c))));

    const keys = graph.tasks.map((t) => t.key);
    expect(ready.sort()).toEqual(
      graph.tasks
        .filter((t) => t.deps.length)
        .map((t) => t.key)
        .sort(),
    );
    expect(releasable.sort()).toEqual(keys.filter((k) => !graph.outputs.includes(k)).sort());
    expect(finished).toBe(1);
    expect(byClient[0]).toBeGreaterThan(0);
    expect(byClient[1]).toBeGreaterThan(0);
    expect(await clients[1]!.getGraph('g')).toMatchObject({ state: 'finished', done: 2000 });
    expect(await clients[0]!.stateCounts('g')).toMatchObject({ memory: 1, released: 1999, waiting: 0 });
  });

  it('applies a completion sent twice at once by two clients exactly once', async () => {
    const prefix = newPrefix();
    const [a, b] = [new RedisStore(redis.connect(), { prefix }), new RedisStore(redis.connect(), { prefix })];
    const graph = ladderGraph(200);
    let queue = (await a.createGraph('g', graph, { persist: false, now: 1 })).ready;
    const ready: string[] = [];
    while (queue.length) {
      const results = await Promise.all(queue.flatMap((k) => [complete(a, 'g', k), complete(b, 'g', k)]));
      expect(results.filter((r) => r.applied.length === 1)).toHaveLength(queue.length);
      queue = results.flatMap((r) => r.ready);
      ready.push(...queue);
    }
    expect(new Set(ready).size).toBe(ready.length);
    expect(ready).toHaveLength(graph.tasks.length - 200);
    expect(await a.getGraph('g')).toMatchObject({ state: 'finished', done: graph.tasks.length });
  });

  it('lets exactly one of two concurrent creations of one id win, whole', async () => {
    const prefix = newPrefix();
    const [a, b] = [new RedisStore(redis.connect(), { prefix }), new RedisStore(redis.connect(), { prefix })];
    const graph = treeGraph(20_000, 8);
    const outcomes = await Promise.allSettled([
      a.createGraph('g', graph, { persist: false, now: 1 }),
      b.createGraph('g', graph, { persist: true, now: 2 }),
    ]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const lost = outcomes.find((o) => o.status === 'rejected');
    expect(String(lost?.reason)).toMatch(/already exists/);
    expect(await a.stateCounts('g')).toMatchObject({ waiting: graph.tasks.length });
    expect(await shared.hlen(graphKeys(prefix, 'g').spec)).toBe(graph.tasks.length);
    // The loser's staging keys are gone: only the graph's own keys (and the index) remain.
    expect(await redis.keyCount(prefix)).toBe(7 + 1);
  });

  it('leaves no key behind once its graphs are deleted', async () => {
    const prefix = newPrefix();
    const s = new RedisStore(shared, { prefix });
    await s.createGraph('g1', treeGraph(50, 4), { persist: false, now: 1 });
    await s.createGraph('g2', ladderGraph(10), { persist: false, now: 1 });
    for (const k of (await s.createGraph('g3', ladderGraph(10), { persist: false, now: 1 })).ready) await s.markQueued('g3', [k], 'w1');
    expect(await redis.keyCount(prefix)).toBeGreaterThan(10);
    for (const id of ['g1', 'g2', 'g3']) await s.deleteGraph(id);
    expect(await redis.keyCount(prefix)).toBe(0);
    expect(await s.listGraphs()).toEqual([]);
  });

  it('expires a graph once it has ended when given a TTL, and only then', async () => {
    const prefix = newPrefix();
    const s = new RedisStore(shared, { prefix, endedGraphTtlMs: 300 });
    const graph = ladderGraph(3);
    for (const id of ['done', 'cancelled', 'running']) await s.createGraph(id, graph, { persist: false, now: 1 });
    let queue = graph.tasks.filter((t) => t.deps.length === 0).map((t) => t.key);
    while (queue.length) queue = (await Promise.all(queue.map((k) => complete(s, 'done', k)))).flatMap((r) => r.ready);
    expect(await s.cancelGraph('cancelled', 2)).toBe(true);

    for (const id of ['done', 'cancelled']) {
      const ttl = await shared.pttl(graphKeys(prefix, id).meta);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(300);
    }
    expect(await shared.pttl(graphKeys(prefix, 'running').meta)).toBe(-1);
    await new Promise((r) => setTimeout(r, 500));
    expect(await s.getGraph('done')).toBeUndefined();
    expect(await s.getGraph('cancelled')).toBeUndefined();
    expect((await s.listGraphs()).map((g) => g.id)).toEqual(['running']);
    await s.deleteGraph('running');
    // The ended graphs' ids stay in the index until the staging window passes; nothing else is left.
    expect(await redis.keyCount(prefix)).toBe(1);
  });

  it("gives a graph's side keys its TTL in the script that ends it (finished, failed, cancelled); a strike for a graph that is gone writes nothing", async () => {
    const prefix = newPrefix();
    const s = new RedisStore(shared, { prefix, endedGraphTtlMs: 60_000 });
    const graph = ladderGraph(2);
    const ids = ['done', 'failed', 'cancelled'];
    for (const id of ids) {
      await s.createGraph(id, graph, { persist: false, now: 1 });
      // Written while running (no TTL yet), as the event log, results and strikes are.
      const side = graphSideKeys(prefix, id);
      await shared.multi().xadd(side.events, '*', 'e', '[]').hset(side.results, 'k', 'v').hset(side.suspects, 'k', '1').exec();
    }
    let queue = graph.tasks.filter((t) => t.deps.length === 0).map((t) => t.key);
    while (queue.length) queue = (await Promise.all(queue.map((k) => complete(s, 'done', k)))).flatMap((r) => r.ready);
    expect(await s.failTask('failed', undefined, { code: 'INTERNAL', name: 'Error', message: 'x' }, 2)).toBe(true);
    expect(await s.cancelGraph('cancelled', 2)).toBe(true);
    for (const id of ids) {
      const side = graphSideKeys(prefix, id);
      for (const k of [side.events, side.results, side.suspects]) expect(await shared.pttl(k), `${id} ${k}`).toBeGreaterThan(0);
    }
    await s.deleteGraph('done');
    const side = graphSideKeys(prefix, 'done');
    expect(await runScript(shared, bumpSuspect, [graphKeys(prefix, 'done').meta, side.suspects], ['k'])).toBeNull();
    expect(await shared.exists(side.suspects)).toBe(0);
    const live = graphSideKeys(prefix, 'failed');
    expect(await runScript(shared, bumpSuspect, [graphKeys(prefix, 'failed').meta, live.suspects], ['k'])).toBe(2);
    for (const id of ['failed', 'cancelled']) await s.deleteGraph(id);
  });

  it('runs its scripts again after Redis forgot them (SCRIPT FLUSH, as after a restart)', async () => {
    const s = new RedisStore(shared, { prefix: newPrefix() });
    const { ready } = await s.createGraph('g', ladderGraph(2), { persist: false, now: 1 });
    await shared.script('FLUSH');
    expect((await complete(s, 'g', ready[0]!)).applied).toHaveLength(1);
  });

  it('rejects a prefix that would move the hash tag', () => {
    expect(() => new RedisStore(shared, { prefix: 'a{b}' })).toThrow(/brace/);
  });
});

describe('test Redis helper', () => {
  it(`uses ${redis.source} here, and can start its own redis-server`, async () => {
    const { url, child } = await startRedisServer();
    try {
      expect(url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('RedisStore at Redis maxmemory (noeviction)', () => {
  it('refuses a new graph with a RedisFullError, keeps nothing of it, goes on with a running graph where Redis lets it, and accepts graphs again once memory frees', async () => {
    const { url, child } = await startRedisServer();
    const { Redis } = await import('ioredis');
    const conn = new Redis(url, { maxRetriesPerRequest: 1 });
    try {
      const prefix = 'full-test';
      const store = new RedisStore(conn, { prefix });
      const running = treeGraph(40, 4);
      const ready = (await store.createGraph('running', running, { persist: false, now: 1 })).ready;
      // maxmemory just above what is used now: a 20,000-task graph (megabytes) does not fit.
      const used = Number(/used_memory:(\d+)/.exec(await conn.info('memory'))![1]);
      await conn.config('SET', 'maxmemory-policy', 'noeviction');
      await conn.config('SET', 'maxmemory', String(used + 512 * 1024));
      const big = treeGraph(20_000, 8);
      const err = await store.createGraph('big', big, { persist: false, now: 2 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RedisFullError);
      expect((err as RedisFullError).code).toBe('REDIS_FULL');
      expect((err as Error).message).toMatch(/Redis is full .*graph big of \d+ tasks was not accepted/);
      // Nothing of it was kept: only the running graph's keys and the index.
      const keys = await conn.keys(`${prefix}:*`);
      expect(keys.filter((k) => k.includes('big'))).toEqual([]);
      expect(await conn.zrange(graphIndexKey(prefix), 0, -1)).toEqual(['running']);
      // The running graph: completions are writes too; they go on as long as Redis has room.
      await complete(store, 'running', ready[0]!);
      expect((await store.getGraph('running'))?.done).toBe(1);
      // Memory frees (here: the limit goes up): the same graph is accepted as it is.
      await conn.config('SET', 'maxmemory', '0');
      await store.createGraph('big', big, { persist: false, now: 3 });
      expect((await store.getGraph('big'))?.total).toBe(big.tasks.length);
    } finally {
      conn.disconnect();
      child.kill('SIGTERM');
    }
  });
});
