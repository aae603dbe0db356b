import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ARROW_STREAM,
  InvalidArgumentError,
  UnavailableError,
  WorkerHeartbeat,
  WorkerInfo,
  decodeChunk,
  jobIdOf,
  type InputLocation,
  type TaskSpec,
} from '@tessera/protocol';
import { startWorker, WorkerStartError, type WorkerProcess } from './worker-process.js';
import { fakeCluster, jobOf, task, until, REDIS_URL, type FakeCluster } from './test-cluster.test-util.js';

const EXPLODE = fileURLToPath(new URL('./fixtures/explode-kernel.mjs', import.meta.url));
const BROKEN = fileURLToPath(new URL('./fixtures/broken-kernel-module.mjs', import.meta.url));
const TOKEN = '0123456789abcdef';

const add = (key: string, a: string, b: string, n: number): TaskSpec =>
  task(
    key,
    'elementwise',
    { program: [{ op: 'add', args: [{ input: 0 }, { input: 1 }], dtype: 'float64' }], inputs: [{}, {}], domain: [n] },
    [a, b],
    [n],
  );
const full = (key: string, value: number, n: number): TaskSpec => task(key, 'full', { value }, [], [n]);
const arange = (key: string, n: number): TaskSpec => task(key, 'arange', { start: 0, step: 1 }, [], [n]);
// A copy first: msgpackr decodes bin as a Buffer, whose slice() is a view into a shared pool.
const f64 = (bytes: Uint8Array | undefined): number[] => (bytes ? [...new Float64Array(new Uint8Array(bytes).buffer)] : []);

describe('worker process (real Redis, BullMQ, peer HTTP)', () => {
  let cluster: FakeCluster;
  let a: WorkerProcess;
  let b: WorkerProcess;

  beforeAll(async () => {
    cluster = await fakeCluster({ heartbeatMs: 100 });
    [a, b] = await Promise.all([
      startWorker({ redis: REDIS_URL, scheduler: cluster.scheduler, id: 'worker-a', threads: 2, kernels: [EXPLODE] }),
      startWorker({ redis: REDIS_URL, scheduler: cluster.scheduler, id: 'worker-b', threads: 1 }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await cluster?.close();
  });

  it('registers with its WorkerInfo and beats', async () => {
    const info = WorkerInfo.parse(JSON.parse((await cluster.redis.hget(cluster.keys.workers, 'worker-a'))!));
    expect(info).toMatchObject({ id: 'worker-a', address: a.address, threads: 2, device: 'cpu', pid: process.pid });
    expect(a.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const first = WorkerHeartbeat.parse(JSON.parse((await cluster.redis.hget(cluster.keys.heartbeats, 'worker-a'))!));
    await until(
      'a later heartbeat',
      async () => WorkerHeartbeat.parse(JSON.parse((await cluster.redis.hget(cluster.keys.heartbeats, 'worker-a'))!)).at > first.at,
    );
  });

  it('runs a small graph: reports done, inline data for outputs, peer GET serves the chunk', async () => {
    const g = 'g-small';
    const [x, y, s] = [`full-${TOKEN}:0`, `arange-${TOKEN}:0`, `add-${TOKEN}:0`];
    const before = a.stats().executed;
    await cluster.add(jobOf(g, full(x, 2, 4)), 'worker-a');
    await cluster.add(jobOf(g, arange(y, 4)), 'worker-a');
    expect(await cluster.outcome(g, x)).toMatchObject({ type: 'done', nbytes: 32 });
    expect((await cluster.outcome(g, y)).type).toBe('done');
    await cluster.add(jobOf(g, add(s, x, y, 4), { output: true }), 'worker-a');
    const done = await cluster.outcome(g, s);
    expect(done).toMatchObject({ type: 'done', nbytes: 32 });
    expect(done.type === 'done' && f64(done.data)).toEqual([2, 3, 4, 5]);
    // Not an output: no bytes ride along.
    const xDone = await cluster.outcome(g, x);
    expect(xDone.type === 'done' && xDone.data).toBeUndefined();
    expect(a.stats()).toMatchObject({ executed: before + 3, chunks: 3, bytes: 96 });

    const res = await fetch(`${a.address}/chunks/${encodeURIComponent(s)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(ARROW_STREAM);
    const chunk = decodeChunk(new Uint8Array(await res.arrayBuffer()), { dtype: 'float64', shape: [4] });
    expect([...chunk.data]).toEqual([2, 3, 4, 5]);
  });

  it('an assemble task on another worker fetches only the region its pieces read; the peer server cuts regions out', async () => {
    const g = 'g-region';
    const k = `arange-${TOKEN}:8`;
    await cluster.add(jobOf(g, arange(k, 100_000)), 'worker-a');
    expect((await cluster.outcome(g, k)).type).toBe('done');
    // Two pieces of k (the second reversed) into one 300-element chunk: only k[1000:1300] crosses.
    const pieces = [
      { input: 0, src: [{ start: 1000, step: 1, count: 200 }], dst: [0] },
      { input: 0, src: [{ start: 1299, step: -1, count: 100 }], dst: [200] },
    ];
    const k2 = `assemble-${TOKEN}:8`;
    const inputs: InputLocation[] = [{ key: k, worker: 'worker-a', address: a.address, dtype: 'float64', shape: [100_000] }];
    await cluster.add(jobOf(g, task(k2, 'assemble', { pieces }, [k], [300]), { inputs, output: true }), 'worker-b');
    const done = await cluster.outcome(g, k2);
    expect(done).toMatchObject({ type: 'done', nbytes: 2400 });
    expect(done.type === 'done' && done.transfer?.nbytes).toBe(2400);
    expect(f64(done.type === 'done' ? done.data : undefined)).toEqual([
      ...Array.from({ length: 200 }, (_, i) => 1000 + i),
      ...Array.from({ length: 100 }, (_, i) => 1299 - i),
    ]);

    const box = await fetch(`${a.address}/chunks/${encodeURIComponent(k)}?region=99990:10`);
    expect([...decodeChunk(new Uint8Array(await box.arrayBuffer()), { dtype: 'float64', shape: [10] }).data]).toEqual(
      Array.from({ length: 10 }, (_, i) => 99990 + i),
    );
    for (const bad of ['99995:10', '0:1,0:1', 'x:1', '-1:2']) {
      const res = await fetch(`${a.address}/chunks/${encodeURIComponent(k)}?region=${bad}`);
      expect([bad, res.status]).toEqual([bad, 400]);
      expect(await res.json()).toMatchObject({ error: { code: 'INVALID_ARGUMENT' } });
    }
    await cluster.control('worker-a', { type: 'free', keys: [k] });
    await cluster.control('worker-b', { type: 'free', keys: [k2] });
  });

  it('regions of several chunks one peer holds come in one batch request (POST /chunks), checked on both ends', async () => {
    const g = 'g-batch';
    const [k1, k2] = [`arange-${TOKEN}:9`, `full-${TOKEN}:9`];
    await cluster.add(jobOf(g, arange(k1, 50_000)), 'worker-a');
    await cluster.add(jobOf(g, full(k2, 3, 50_000)), 'worker-a');
    for (const k of [k1, k2]) expect((await cluster.outcome(g, k)).type).toBe('done');
    const pieces = [
      { input: 0, src: [{ start: 10, step: 1, count: 5 }], dst: [0] },
      { input: 1, src: [{ start: 40_000, step: 1, count: 3 }], dst: [5] },
    ];
    const out = `assemble-${TOKEN}:9`;
    const inputs: InputLocation[] = [k1, k2].map((key) => ({ key, worker: 'worker-a', address: a.address, dtype: 'float64', shape: [50_000] }));
    const fetches = async (): Promise<number> =>
      Number(/tessera_worker_peer_fetches_total\{result="ok"[^}]*\} (\d+)/.exec(await (await fetch(`${b.address}/metrics`)).text())?.[1] ?? 0);
    const before = await fetches();
    await cluster.add(jobOf(g, task(out, 'assemble', { pieces }, [k1, k2], [8]), { inputs, output: true }), 'worker-b');
    const done = await cluster.outcome(g, out);
    expect(f64(done.type === 'done' ? done.data : undefined)).toEqual([10, 11, 12, 13, 14, 3, 3, 3]);
    expect(done.type === 'done' && done.transfer?.nbytes).toBe(64);
    expect(await fetches()).toBe(before + 1); // one request brought both regions

    const post = (body: unknown): Promise<Response> =>
      fetch(`${a.address}/chunks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post({ items: [] })).status).toBe(400);
    expect((await post({ items: [{ key: k1, region: { start: [49_999], count: [2] } }] })).status).toBe(400);
    const lost = await post({ items: [{ key: k1 }, { key: `full-${TOKEN}:999` }] });
    expect(lost.status).toBe(404);
    expect(await lost.json()).toMatchObject({ error: { code: 'CHUNK_LOST', key: `full-${TOKEN}:999` } });
    await cluster.control('worker-a', { type: 'free', keys: [k1, k2] });
    await cluster.control('worker-b', { type: 'free', keys: [out] });
  });

  it('answers 404 for a chunk it does not hold, 400 for a bad key, 404 for other paths, 200 on /health', async () => {
    const missing = await fetch(`${a.address}/chunks/${encodeURIComponent(`full-${TOKEN}:99`)}`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'CHUNK_LOST', key: `full-${TOKEN}:99` } });
    const bad = await fetch(`${a.address}/chunks/not-a-key`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'INVALID_ARGUMENT' } });
    expect((await fetch(`${a.address}/nowhere`)).status).toBe(404);
    const health = await fetch(`${a.address}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, worker: 'worker-a' });
  });

  it('runs large tasks on pool threads, moving their chunks between workers', async () => {
    const g = 'g-large';
    const k = `arange-${TOKEN}:7`;
    await cluster.add(jobOf(g, arange(k, 100_000)), 'worker-a');
    const done = await cluster.outcome(g, k);
    expect(done).toMatchObject({ type: 'done', nbytes: 800_000 });
    expect(done.thread).toBeGreaterThanOrEqual(0);

    // Worker b doubles it: 800 kB in from a's peer server, 800 kB out of b's.
    const k2 = `add-${TOKEN}:7`;
    const inputs: InputLocation[] = [{ key: k, worker: 'worker-a', address: a.address, dtype: 'float64', shape: [100_000] }];
    await cluster.add(jobOf(g, add(k2, k, k, 100_000), { inputs, output: true }), 'worker-b');
    const doubled = await cluster.outcome(g, k2);
    expect(doubled).toMatchObject({ type: 'done', nbytes: 800_000, thread: 0 });
    expect(doubled.type === 'done' && doubled.data).toBeUndefined(); // too big to ride along
    const res = await fetch(`${b.address}/chunks/${encodeURIComponent(k2)}`);
    const chunk = decodeChunk(new Uint8Array(await res.arrayBuffer()), { dtype: 'float64', shape: [100_000] });
    expect(chunk.data.every((v, i) => v === 2 * i)).toBe(true);
    await cluster.control('worker-a', { type: 'free', keys: [k] });
    await cluster.control('worker-b', { type: 'free', keys: [k2] });
    await until('both are freed', () => a.stats().bytes < 800_000 && b.stats().bytes < 800_000);
  });

  it('fetches an input held by another worker over HTTP, once, and keeps it as a replica', async () => {
    const g = 'g-peer';
    const [x, y] = [`full-${TOKEN}:0`, `arange-${TOKEN}:0`];
    const loc = (key: string): InputLocation => ({ key, worker: 'worker-a', address: a.address, dtype: 'float64', shape: [4] });
    const s1 = `add-${TOKEN}:10`;
    const s2 = `add-${TOKEN}:11`;
    await cluster.add(jobOf(g, add(s1, x, y, 4), { inputs: [loc(x), loc(y)], output: true }), 'worker-b');
    const done = await cluster.outcome(g, s1);
    expect(done.type === 'done' && f64(done.data)).toEqual([2, 3, 4, 5]);
    expect(b.stats()).toMatchObject({ chunks: 1 }); // the inputs are replicas, not owned
    // Served from the replica cache: still right after a lies about the address.
    const nowhere = (key: string): InputLocation => ({ ...loc(key), address: 'http://127.0.0.1:9' });
    await cluster.add(jobOf(g, add(s2, x, x, 4), { inputs: [nowhere(x)], output: true }), 'worker-b');
    const again = await cluster.outcome(g, s2);
    expect(again.type === 'done' && f64(again.data)).toEqual([4, 4, 4, 4]);
  });

  it('reports CHUNK_LOST naming the input when the peer cannot give it', async () => {
    const g = 'g-lost';
    const gone = `full-${TOKEN}:50`;
    const k = `add-${TOKEN}:12`;
    const inputs: InputLocation[] = [{ key: gone, worker: 'worker-a', address: a.address, dtype: 'float64', shape: [4] }];
    await cluster.add(jobOf(g, add(k, gone, gone, 4), { inputs }), 'worker-b');
    expect(await cluster.outcome(g, k)).toMatchObject({ type: 'failed', error: { code: 'CHUNK_LOST', key: gone } });
    // And an input that is said to be here but is not.
    const k2 = `add-${TOKEN}:13`;
    await cluster.add(
      jobOf(g, add(k2, gone, gone, 4), { inputs: [{ ...inputs[0]!, worker: 'worker-b', address: b.address }] }),
      'worker-b',
    );
    expect(await cluster.outcome(g, k2)).toMatchObject({ type: 'failed', error: { code: 'CHUNK_LOST', key: gone } });
  });

  it('reports a kernel error as TASK_FAILED with the remote error, and an unknown kernel too', async () => {
    const g = 'g-fail';
    const k = `map-blocks-${TOKEN}:0`;
    await cluster.add(
      jobOf(g, task(k, 'map-blocks', { kernel: 'test.explode', params: { why: 'testing' }, blockIndex: [0] }, [], [4])),
      'worker-a',
    );
    const failed = await cluster.outcome(g, k);
    expect(failed).toMatchObject({
      type: 'failed',
      error: { code: 'TASK_FAILED', key: k, op: 'map-blocks', remote: { name: 'RangeError', message: 'exploded on purpose: testing' } },
    });
    const k2 = `map-blocks-${TOKEN}:1`;
    await cluster.add(jobOf(g, task(k2, 'map-blocks', { kernel: 'test.nope', params: {}, blockIndex: [1] }, [], [4])), 'worker-a');
    expect(await cluster.outcome(g, k2)).toMatchObject({
      type: 'failed',
      error: { code: 'TASK_FAILED', remote: { name: 'KernelNotFoundError' } },
    });
  });

  it('reports a job with an undecodable spec as failed, without crashing', async () => {
    const g = 'g-bad';
    const k = `full-${TOKEN}:60`;
    await cluster.add({ ...jobOf(g, full(k, 1, 4)), spec: Buffer.from([0xc1, 0xc1]).toString('base64') }, 'worker-a');
    expect(await cluster.outcome(g, k)).toMatchObject({ type: 'failed', error: { code: 'INVALID_ARGUMENT' } });
    const k2 = `full-${TOKEN}:61`;
    await cluster.add({ ...jobOf(g, full(k2, 1, 4)), spec: Buffer.from(JSON.stringify({})).toString('base64') }, 'worker-a');
    expect(await cluster.outcome(g, k2)).toMatchObject({ type: 'failed', error: { code: 'INVALID_ARGUMENT' } });
    // Not a TaskJob but with a graph and key to report on.
    const k3 = `full-${TOKEN}:62`;
    await cluster.addRaw({ graph: g, key: k3, spec: 42 }, 'worker-a');
    expect(await cluster.outcome(g, k3)).toMatchObject({ type: 'failed', error: { code: 'INVALID_ARGUMENT', message: /spec/ } });
    // Nothing to report on: BullMQ fails the job with the reason, and the worker carries on.
    const id = await cluster.addRaw({ hello: 'world' }, 'worker-a');
    let reason: string | undefined;
    await until('the job fails', async () => (reason = await cluster.failedReason(id, 'worker-a')) !== undefined);
    expect(reason).toMatch(/bad task job .*graph/);
    const k4 = `full-${TOKEN}:63`;
    await cluster.add(jobOf(g, full(k4, 1, 4)), 'worker-a');
    expect((await cluster.outcome(g, k4)).type).toBe('done');
  });

  it('runs a bundle job task by task, each reported on its own; a malformed member fails alone', async () => {
    const g = 'g-bundle';
    const keys = Array.from({ length: 6 }, (_, i) => `full-${TOKEN}:${200 + i}`);
    const before = a.stats().executed;
    const jobs = keys.map((k, i) => jobOf(g, full(k, i, 2), { output: true }));
    const id = await cluster.addRaw({ tasks: jobs }, 'worker-a', 'bundle');
    for (const [i, k] of keys.entries()) {
      const done = await cluster.outcome(g, k);
      expect(done.type === 'done' && f64(done.data)).toEqual([i, i]);
    }
    expect(a.stats().executed).toBe(before + keys.length);
    await until('the bundle job completes', () => cluster.jobGone(id, 'worker-a'));
    // One member without a spec: the bundle is not a BundleJob, yet its good tasks still run.
    const bad = `full-${TOKEN}:210`;
    const good = `full-${TOKEN}:211`;
    await cluster.addRaw({ tasks: [{ ...jobOf(g, full(bad, 1, 2)), spec: 42 }, jobOf(g, full(good, 1, 2))] }, 'worker-a', 'bundle');
    expect(await cluster.outcome(g, bad)).toMatchObject({ type: 'failed', error: { code: 'INVALID_ARGUMENT', message: /spec/ } });
    expect((await cluster.outcome(g, good)).type).toBe('done');
    // No tasks at all: BullMQ fails it with the reason.
    const empty = await cluster.addRaw({ tasks: [] }, 'worker-a', 'bundle');
    let reason: string | undefined;
    await until('the empty bundle fails', async () => (reason = await cluster.failedReason(empty, 'worker-a')) !== undefined);
    expect(reason).toMatch(/bad bundle job .*no tasks/);
  });

  it("runs the tasks chained after a job's task as each one before is done; none after a failure", async () => {
    const g = 'g-chain';
    const keys = Array.from({ length: 4 }, (_, i) => (i === 0 ? `full-${TOKEN}:300` : `add-${TOKEN}:30${i}`));
    // keys[i] = keys[i-1] + keys[i-1]: its only input is the chunk made just before, here.
    const here = (key: string): InputLocation[] => [{ key, worker: 'worker-a', address: a.address, dtype: 'float64', shape: [2] }];
    const chained = keys.slice(1).map((k, i) => jobOf(g, add(k, keys[i]!, keys[i]!, 2), { inputs: here(keys[i]!), output: i === 2 }));
    const before = a.stats().executed;
    await cluster.add({ ...jobOf(g, full(keys[0]!, 1.5, 2)), next: chained }, 'worker-a');
    const last = await cluster.outcome(g, keys[3]!);
    expect(last.type === 'done' && f64(last.data)).toEqual([12, 12]);
    // Each reported on its own, in chain order.
    const order = (await cluster.reports()).filter((r) => r.item.graph === g && r.item.type === 'done').map((r) => r.item.key);
    expect(order).toEqual(keys);
    expect(a.stats().executed).toBe(before + 4);
    await until('the chain job completes', () => cluster.jobGone(jobIdOf(keys[0]!, 0), 'worker-a'));

    // The second chained task is malformed: it fails, and the third is never run.
    const g2 = 'g-chain-broken';
    const [h, bad, after] = [`full-${TOKEN}:310`, `add-${TOKEN}:311`, `add-${TOKEN}:312`];
    const before2 = a.stats().executed;
    await cluster.add(
      {
        ...jobOf(g2, full(h, 1, 2)),
        next: [
          { ...jobOf(g2, add(bad, h, h, 2), { inputs: here(h) }), spec: 'AAAA' },
          jobOf(g2, add(after, bad, bad, 2), { inputs: here(bad) }),
        ],
      },
      'worker-a',
    );
    expect(await cluster.outcome(g2, bad)).toMatchObject({ type: 'failed', error: { code: 'INVALID_ARGUMENT' } });
    await until('the broken chain job completes', () => cluster.jobGone(jobIdOf(h, 0), 'worker-a'));
    expect((await cluster.reports()).some((r) => r.item.key === after)).toBe(false);
    expect(a.stats().executed).toBe(before2 + 1);
  });

  it('reports a key it already holds as done at once, without running it again', async () => {
    const before = a.stats().executed;
    const x = `full-${TOKEN}:0`;
    await cluster.add({ ...jobOf('g-shared', full(x, 2, 4), { output: true }) }, 'worker-a');
    const done = await cluster.outcome('g-shared', x);
    expect(done.type === 'done' && f64(done.data)).toEqual([2, 2, 2, 2]);
    expect(a.stats().executed).toBe(before);
  });

  it('names the run (attempt) in its reports', async () => {
    const k = `full-${TOKEN}:90`;
    await cluster.add(jobOf('g-rerun', full(k, 3, 2), { attempt: 2 }), 'worker-a');
    expect(await cluster.outcome('g-rerun', k)).toMatchObject({ type: 'done', attempt: 2 });
    const k2 = `map-blocks-${TOKEN}:90`;
    await cluster.add(
      jobOf('g-rerun', task(k2, 'map-blocks', { kernel: 'test.explode', params: {}, blockIndex: [0] }, [], [4]), { attempt: 1 }),
      'worker-a',
    );
    expect(await cluster.outcome('g-rerun', k2)).toMatchObject({ type: 'failed', attempt: 1 });
  });

  it('takes jobs from the shared queue', async () => {
    const k = `full-${TOKEN}:70`;
    await cluster.add(jobOf('g-any', full(k, 7, 2), { output: true }));
    const done = await cluster.outcome('g-any', k);
    expect(done.type === 'done' && f64(done.data)).toEqual([7, 7]);
    const by = (await cluster.reports()).find((r) => r.item.key === k)!.worker;
    expect(['worker-a', 'worker-b']).toContain(by);
  });

  it('drops a chunk on a free message', async () => {
    const x = `arange-${TOKEN}:0`;
    const chunks = a.stats().chunks;
    await cluster.control('worker-a', { type: 'free', keys: [x] });
    await until('the chunk is dropped', () => a.stats().chunks === chunks - 1);
    expect((await fetch(`${a.address}/chunks/${encodeURIComponent(x)}`)).status).toBe(404);
  });

  it('skips jobs of a cancelled graph', async () => {
    const k = `full-${TOKEN}:80`;
    const before = a.stats().executed;
    await cluster.control('worker-a', { type: 'cancel', graphs: ['g-cancelled'] });
    // The control list is read in its own loop: give it a moment before the job comes.
    await until('the control list is read', async () => (await cluster.redis.llen(cluster.keys.control('worker-a'))) === 0);
    await new Promise((r) => setTimeout(r, 50));
    await cluster.add(jobOf('g-cancelled', full(k, 1, 4)), 'worker-a');
    await until('the job completes', () => cluster.jobGone(jobIdOf(k, 0), 'worker-a'));
    expect((await cluster.reports()).some((r) => r.item.key === k)).toBe(false);
    expect(a.stats().executed).toBe(before);
  });
});

describe('worker process lifecycle', () => {
  it('deregisters on close', async () => {
    const cluster = await fakeCluster();
    try {
      const w = await startWorker({ redis: REDIS_URL, scheduler: cluster.scheduler, threads: 1 });
      expect(w.id).toMatch(/^[A-Za-z0-9_.-]+-\d+-[0-9a-f]{4}$/);
      expect(await cluster.redis.hexists(cluster.keys.workers, w.id)).toBe(1);
      await w.close();
      expect(await cluster.redis.hexists(cluster.keys.workers, w.id)).toBe(0);
      expect(await cluster.redis.hexists(cluster.keys.heartbeats, w.id)).toBe(0);
      await expect(fetch(`${w.address}/health`)).rejects.toThrow();
    } finally {
      await cluster.close();
    }
  });

  it('rejects a bad option naming it', async () => {
    const base = { redis: REDIS_URL, scheduler: 'http://127.0.0.1:1' };
    await expect(startWorker({ ...base, redis: 'http://x' })).rejects.toThrow(/worker option redis/);
    await expect(startWorker({ ...base, threads: 0 })).rejects.toThrow(/worker option threads/);
    await expect(startWorker({ ...base, id: 'a:b' })).rejects.toThrow(/worker option id/);
    await expect(startWorker({ ...base, host: 'a b' })).rejects.toThrow(/worker option host/);
    await expect(startWorker({ ...base, nope: 1 } as never)).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('gives up on a scheduler that does not answer, naming its URL', async () => {
    const err = await startWorker({ redis: REDIS_URL, scheduler: 'http://127.0.0.1:1', discoveryTimeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toContain('http://127.0.0.1:1/api/cluster');
  });

  it('fails to start with a kernel module that does not load', async () => {
    const cluster = await fakeCluster();
    try {
      const err = await startWorker({ redis: REDIS_URL, scheduler: cluster.scheduler, threads: 1, kernels: [BROKEN] }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(WorkerStartError);
      expect((err as Error).message).toMatch(/broken on purpose/);
      expect(await cluster.redis.hlen(cluster.keys.workers)).toBe(0);
    } finally {
      await cluster.close();
    }
  });
});

describe('worker process over its chunk memory target', () => {
  it('when spilling fails, keeps its chunks, counts the failures, and takes no new task past 80% of its limit until memory frees', async () => {
    const cluster = await fakeCluster();
    const dir = mkdtempSync(join(tmpdir(), 'tessera-spill-fail-'));
    // The spill folder cannot be made (its parent is a file): every spill write fails, as on a full disk.
    writeFileSync(join(dir, 'file'), '');
    const limit = 4_000_000;
    const w = await startWorker({ redis: REDIS_URL, scheduler: cluster.scheduler, id: 'nospill', threads: 1, memoryLimit: limit, spillDir: join(dir, 'file') });
    const metric = async (name: string): Promise<number> =>
      Number(new RegExp(`^${name}\\{[^}]*\\} (\\d+)$`, 'm').exec(await (await fetch(`${w.address}/metrics`)).text())?.[1]);
    try {
      // 4 blocks of 800 kB: 3.2 MB, the pause point (80% of 4 MB); the fifth waits.
      const g = 'g-nospill';
      const keys = Array.from({ length: 5 }, (_, i) => `arange-${TOKEN}:${700 + i}`);
      for (const k of keys.slice(0, 4)) {
        await cluster.add(jobOf(g, arange(k, 100_000)), 'nospill');
        expect((await cluster.outcome(g, k)).type).toBe('done');
      }
      await until('the worker pauses', async () => (await metric('tessera_worker_paused')) === 1);
      expect(await metric('tessera_worker_spill_failures_total')).toBeGreaterThan(0);
      expect(w.stats().bytes).toBe(3_200_000);
      await cluster.add(jobOf(g, arange(keys[4]!, 100_000)), 'nospill');
      await expect(cluster.outcome(g, keys[4]!, 1_000)).rejects.toThrow(/no outcome/);
      // The chunks it kept are served as they were made.
      const res = await fetch(`${w.address}/chunks/${encodeURIComponent(keys[0]!)}`);
      const first = decodeChunk(new Uint8Array(await res.arrayBuffer()), { dtype: 'float64', shape: [100_000] });
      expect([first.data[0], first.data[99_999]]).toEqual([0, 99_999]);
      // Two freed: 1.6 MB, below the spill target (70%): it takes the waiting task.
      await cluster.control('nospill', { type: 'free', keys: keys.slice(0, 2) });
      expect((await cluster.outcome(g, keys[4]!)).type).toBe('done');
      expect(await metric('tessera_worker_paused')).toBe(0);
    } finally {
      await w.close();
      await cluster.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('spills chunks nobody uses to disk past 70% of its limit, and still serves and computes with them', async () => {
    const cluster = await fakeCluster();
    const dir = mkdtempSync(join(tmpdir(), 'tessera-spill-'));
    const limit = 4_000_000;
    const w = await startWorker({
      redis: REDIS_URL,
      scheduler: cluster.scheduler,
      id: 'spiller',
      threads: 1,
      memoryLimit: limit,
      spillDir: dir,
    });
    const own = join(dir, 'tessera-spill-spiller');
    try {
      // 8 blocks of 800 kB against a 4 MB limit: past 2.8 MB the oldest go to disk, down to 2.4 MB.
      const g = 'g-spill';
      const keys = Array.from({ length: 8 }, (_, i) => `arange-${TOKEN}:${500 + i}`);
      for (const k of keys) {
        await cluster.add(jobOf(g, arange(k, 100_000)), 'spiller');
        expect((await cluster.outcome(g, k)).type).toBe('done');
      }
      await until('chunk memory is back under its target', () => w.stats().bytes <= 0.7 * limit);
      expect(w.stats().chunks).toBe(8);
      expect(readdirSync(own).length).toBeGreaterThan(0);
      const metrics = await (await fetch(`${w.address}/metrics`)).text();
      expect(Number(/^tessera_worker_spills_total\{[^}]*\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
      // The oldest block, on disk now, is served as it was made.
      const res = await fetch(`${w.address}/chunks/${encodeURIComponent(keys[0]!)}`);
      expect(res.status).toBe(200);
      const first = decodeChunk(new Uint8Array(await res.arrayBuffer()), { dtype: 'float64', shape: [100_000] });
      expect([first.data[0], first.data[99_999]]).toEqual([0, 99_999]);
      // A task reads spilled blocks as inputs.
      const sum = `add-${TOKEN}:500`;
      await cluster.add(jobOf(g, add(sum, keys[1]!, keys[2]!, 100_000)), 'spiller');
      expect((await cluster.outcome(g, sum)).type).toBe('done');
      const out = await fetch(`${w.address}/chunks/${encodeURIComponent(sum)}`);
      const doubled = decodeChunk(new Uint8Array(await out.arrayBuffer()), { dtype: 'float64', shape: [100_000] });
      expect([doubled.data[1], doubled.data[99_999]]).toEqual([2, 199_998]);
    } finally {
      await w.close();
      await cluster.close();
    }
    // Its spill folder goes with it.
    expect(existsSync(own)).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  });
});
