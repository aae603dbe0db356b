import { CancelledError, ChunkLostError, type EngineEvent, TaskError } from '@tessera/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as ta from './index.js';
import { connectLocal, engineStats } from '../test-util/engine.js';
import { graphOf } from '../test-util/graphs.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Client on the local engine', () => {
  let client: ta.Client;
  beforeAll(async () => {
    client = await connectLocal();
  });
  afterAll(async () => {
    await client?.close();
  });
  // Every graph is released once its result is in (or it failed or was cancelled): nothing stays on the engine.
  afterEach(() => {
    expect(engineStats(client).chunksHeld).toBe(0);
  });

  it('compute: a number for 0-d, an NDArray otherwise, a list for a list', async () => {
    const rows = 3;
    const cols = 4;
    const at = (i: number, j: number) => i * cols + j;
    const x = ta.fromArray(Float64Array.from({ length: rows * cols }, (_, i) => i), { shape: [rows, cols], chunks: [2, 3] });
    const total: number = await client.compute(x.sum());
    let want = 0;
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) want += at(i, j);
    expect(total).toBe(want);
    const m: ta.NDArray = await client.compute(x.mean({ axis: 0 }));
    expect(m.shape).toEqual([cols]);
    expect(m.dtype).toBe('float64');
    const colMeans: number[] = [];
    for (let j = 0; j < cols; j++) {
      let s = 0;
      for (let i = 0; i < rows; i++) s += at(i, j);
      colMeans.push(s / rows);
    }
    expect([...m.data]).toEqual(colMeans);
    const [a, b] = await client.compute([x.T, x.max()] as const);
    expect(a.shape).toEqual([cols, rows]);
    const transposed: number[] = [];
    for (let j = 0; j < cols; j++) for (let i = 0; i < rows; i++) transposed.push(at(i, j));
    expect([...a.data]).toEqual(transposed);
    expect(b).toBe(at(rows - 1, cols - 1));
    const i = await client.compute(ta.arange(5, { chunks: 2 }));
    expect(i.data).toBeInstanceOf(BigInt64Array);
    expect([...i.data]).toEqual([0n, 1n, 2n, 3n, 4n]);
    // The engine keeps chunks on SharedArrayBuffers; results are the caller's own memory.
    expect(i.data.buffer).not.toBeInstanceOf(SharedArrayBuffer);
  });

  it('releases every graph; onEvent sees the graph from running to finished', async () => {
    const events: EngineEvent[] = [];
    const y = ta.ones([4], { chunks: 2 }).sum();
    expect(await client.compute(y, { onEvent: (e) => events.push(e) })).toBe(4);
    expect(events[0]).toMatchObject({ type: 'graph', state: 'running' });
    const last = events[events.length - 1]!;
    expect(last).toMatchObject({ type: 'graph', state: 'finished' });
    const total = graphOf(y).tasks.length;
    expect(last).toMatchObject({ total, done: total });
    // every task of the graph reached memory
    const inMemory = new Set(events.flatMap((e) => (e.type === 'task' && e.state === 'memory' ? [e.key] : [])));
    expect(inMemory).toEqual(new Set(graphOf(y).tasks.map((t) => t.key)));
    expect(engineStats(client).chunksHeld).toBe(0);
  });

  it('submit: a Job with buffered events and a result', async () => {
    const y = ta.ones([6], { chunks: 2 }).sum();
    const total = graphOf(y).tasks.length;
    const job = await client.submit(y);
    expect(typeof job.id).toBe('string');
    const result = await job.result();
    expect(result).toBe(6);
    // Iterated only after the result: the events were buffered from submission.
    const seen: EngineEvent[] = [];
    for await (const ev of job.events()) seen.push(ev);
    expect(seen[0]).toMatchObject({ type: 'graph', graph: job.id, state: 'running' });
    const memory = seen.filter((e) => e.type === 'task' && e.state === 'memory');
    expect(memory).toHaveLength(total);
    expect(seen[seen.length - 1]).toMatchObject({ type: 'graph', graph: job.id, state: 'finished', total, done: total });
    // A second iteration replays the same events.
    const again: EngineEvent[] = [];
    for await (const ev of job.events()) again.push(ev);
    expect(again).toEqual(seen);
  });

  // Two slow blocks (one per thread), then work that depends on them: a cancel must stop that work.
  const slowGraph = () => {
    const x = ta.arange(2, { chunks: 1, dtype: 'float64' });
    return ta.mapBlocks('slow-copy', x, { params: { ms: 100 } }).add(1).sum();
  };

  it('abort: rejects with CancelledError, cancels on the engine, later work never runs', async () => {
    const y = slowGraph();
    const g = graphOf(y);
    const roots = g.tasks.filter((t) => t.deps.length === 0).length; // they ran before any slow one started
    const upstream = roots + 2; // the roots and the two slow ones: all a cancel may let run
    expect(g.tasks.filter((t) => t.op === 'map-blocks')).toHaveLength(2);
    expect(g.tasks.length).toBeGreaterThan(upstream);
    const before = engineStats(client).tasksExecuted;
    const ac = new AbortController();
    const events: EngineEvent[] = [];
    const p = client.compute(y, {
      signal: ac.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'task' && e.state === 'processing' && e.key.startsWith('slow_copy')) ac.abort();
      },
    });
    await expect(p).rejects.toBeInstanceOf(CancelledError);
    expect(events.filter((e) => e.type === 'graph').map((e) => e.type === 'graph' && e.state)).toEqual(['running', 'cancelled']);
    // What was already running on a thread finishes (the slow ones take 100 ms); nothing after it is started.
    await sleep(800);
    const ran = engineStats(client).tasksExecuted - before;
    expect(ran).toBeGreaterThanOrEqual(roots);
    expect(ran).toBeLessThanOrEqual(upstream);
    expect(engineStats(client).chunksHeld).toBe(0);

    const job = await client.submit(slowGraph());
    await job.cancel();
    await expect(job.result()).rejects.toBeInstanceOf(CancelledError);
    const states: string[] = [];
    for await (const ev of job.events()) if (ev.type === 'graph') states.push(ev.state);
    expect(states).toEqual(['running', 'cancelled']);
    await sleep(800);

    ac.abort();
    await expect(client.compute(ta.ones([4]).sum(), { signal: ac.signal })).rejects.toBeInstanceOf(CancelledError);
    expect(await client.compute(ta.ones([4]).sum())).toBe(4);
  });

  it('a kernel failure rejects with the TaskError (key, op, message); the client still works', async () => {
    const x = ta.ones([4], { chunks: 2 });
    const y = ta.mapBlocks('boom', x, { params: { why: 'on purpose' } });
    const err = await client.compute(y.sum()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskError);
    const te = err as TaskError;
    expect(y.keys()).toContain(te.key);
    expect(te.op).toBe('map-blocks');
    expect(te.remote).toMatchObject({ name: 'RangeError', message: 'exploded: on purpose' });
    expect(te.message).toMatch(/exploded: on purpose/);
    await expect(client.compute(ta.mapBlocks('no-such-kernel', x))).rejects.toThrow(/no kernel registered under the name "no-such-kernel"/);
    expect(await client.compute(x.sum())).toBe(4);
  });

  it('persist: same name and keys; later graphs reuse the blocks instead of recomputing; unpersist drops them', async () => {
    const x = ta.arange(6, { chunks: 4, dtype: 'float64' }).mul(2);
    const p = await client.persist(x);
    expect(p.name).toBe(x.name);
    expect(p.keys()).toEqual(x.keys());
    expect(p.op).toBe('persisted');
    expect(p.inputs).toEqual([]);
    expect(engineStats(client).chunksHeld).toBe(2);

    const g = graphOf(p.sum());
    const persisted = g.tasks.filter((t) => t.op === 'persisted').length;
    expect(persisted).toBe(2);
    let want = 0;
    for (let i = 0; i < 6; i++) want += 2 * i;
    for (let round = 0; round < 2; round++) {
      const before = engineStats(client).tasksExecuted;
      expect(await client.compute(p.sum())).toBe(want);
      // only the partials and the merge ran: the persisted blocks were not recomputed
      expect(engineStats(client).tasksExecuted - before).toBe(g.tasks.length - persisted);
      expect(engineStats(client).chunksHeld).toBe(2);
    }
    // The same sum from the lazy array recomputes its blocks.
    const before = engineStats(client).tasksExecuted;
    expect(await client.compute(x.sum())).toBe(want);
    expect(engineStats(client).tasksExecuted - before).toBe(graphOf(x.sum()).tasks.length);

    await client.unpersist(p);
    expect(engineStats(client).chunksHeld).toBe(0);
    await expect(client.compute(p.sum())).rejects.toBeInstanceOf(ChunkLostError);
  });

  it('progress bar on stderr: final line with done/total', async () => {
    const writes: string[] = [];
    const orig = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => (writes.push(s), true)) as typeof process.stderr.write;
    const y = ta.ones([4], { chunks: 2 }).sum();
    const n = graphOf(y).tasks.length;
    try {
      await client.compute(y, { progress: true });
    } finally {
      process.stderr.write = orig;
    }
    expect(writes.join('')).toMatch(new RegExp(`100% \\| ${n}/${n} tasks \\| \\d+\\.\\ds\\n$`));
  });
});

describe('Client lifecycle', () => {
  it('close: later computes reject, closing twice is fine', async () => {
    const client = await connectLocal();
    expect(await client.compute(ta.ones([3]).sum())).toBe(3);
    await client.close();
    await expect(client.compute(ta.ones([3]).sum())).rejects.toThrow(/closed/);
    await client.close();
  });

  it('connect: an address must be an http(s) URL; one where nothing answers is an UnavailableError naming it', async () => {
    await expect(ta.Client.connect('localhost:8786')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(ta.Client.connect({ address: 'ftp://x' })).rejects.toThrow(/http\(s\) URL/);
    await expect(ta.Client.connect({ address: 'http://127.0.0.1:2', connectTimeoutMs: 200 })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringContaining('http://127.0.0.1:2'),
    });
  });

  it('connect: an unknown option (a misspelt address) is an InvalidArgumentError naming it, not a quiet local engine', async () => {
    const typo = { scheduler: 'http://127.0.0.1:8786' } as unknown as ta.ConnectOptions;
    await expect(ta.Client.connect(typo)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/unknown Client.connect option "scheduler"; known: address, /) });
    await expect(ta.Client.connect('http://127.0.0.1:2', { tokn: 'x' } as never)).rejects.toThrow(/"tokn"/);
  });
});

describe('ProgressBar', () => {
  it('throttles redraws on a TTY and prints a final line', () => {
    let t = 0;
    const out: string[] = [];
    const bar = new ta.ProgressBar(10, { stream: { write: (s: string) => out.push(s), isTTY: true }, now: () => t, interval: 100 });
    bar.update(1);
    t = 10;
    bar.update(2); // within 100 ms: not drawn now
    expect(out).toHaveLength(1);
    expect(out[0]).toContain('1/10 tasks');
    t = 250;
    bar.update(5);
    expect(out[out.length - 1]).toContain(' 50% | 5/10 tasks | 0.3s');
    bar.finish('erred');
    expect(out[out.length - 1]).toMatch(/5\/10 tasks \| 0\.3s erred\n$/);
    bar.update(9);
    expect(out[out.length - 1]).toMatch(/erred\n$/);
  });
  it('not a TTY: only the final line', () => {
    const out: string[] = [];
    const bar = new ta.ProgressBar(3, { stream: { write: (s: string) => out.push(s) } });
    bar.update(1);
    bar.update(2);
    bar.finish();
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^\[#+\] 100% \| 3\/3 tasks/);
  });
});
