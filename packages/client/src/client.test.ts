import { CancelledError, type Chunk, type EngineEvent, TaskError, TesseraError } from '@tessera/protocol';
import { describe, expect, it } from 'vitest';
import * as ta from './index.js';
import { FakeEngine } from '../test-util/fake-engine.js';

const kernels = {
  boom: (): Chunk => {
    throw new RangeError('exploded');
  },
};

describe('Client over an engine', () => {
  it('compute: a number for 0-d, an NDArray otherwise, a list for a list', async () => {
    const client = new ta.Client(new FakeEngine());
    const x = ta.fromArray(Float64Array.from({ length: 12 }, (_, i) => i), { shape: [3, 4], chunks: [2, 3] });
    const total: number = await client.compute(x.sum());
    expect(total).toBe(66);
    const m: ta.NDArray = await client.compute(x.mean({ axis: 0 }));
    expect(m.shape).toEqual([4]);
    expect(m.dtype).toBe('float64');
    expect([...m.data]).toEqual([4, 5, 6, 7]);
    const [a, b] = await client.compute([x.T, x.max()] as const);
    expect(a.shape).toEqual([4, 3]);
    expect([...a.data]).toEqual([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
    expect(b).toBe(11);
    const i = await client.compute(ta.arange(5, { chunks: 2 }));
    expect(i.data).toBeInstanceOf(Int32Array);
    expect(i.data.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    await client.close();
    await expect(client.compute(x.sum())).rejects.toThrow(/closed/);
  });

  it('releases every graph; onEvent sees the graph from running to finished', async () => {
    const engine = new FakeEngine();
    const client = new ta.Client(engine);
    const events: EngineEvent[] = [];
    await client.compute(ta.ones([4], { chunks: 2 }).sum(), { onEvent: (e) => events.push(e) });
    expect(events[0]).toMatchObject({ type: 'graph', state: 'running' });
    expect(events[events.length - 1]).toMatchObject({ type: 'graph', state: 'finished' });
    expect(engine.released).toEqual(['g1']);
  });

  it('submit: a Job with buffered events and a result', async () => {
    const client = new ta.Client(new FakeEngine());
    const job = await client.submit(ta.ones([6], { chunks: 2 }).sum());
    expect(job.id).toBe('g1');
    const result = await job.result();
    expect(result).toBe(6);
    const seen: EngineEvent[] = [];
    for await (const ev of job.events()) seen.push(ev);
    expect(seen.filter((e) => e.type === 'task')).toHaveLength(3 + 3 + 1); // full, partial, final merge
    expect(seen[seen.length - 1]).toMatchObject({ type: 'graph', state: 'finished', done: 7 });
  });

  it('abort: rejects with CancelledError and cancels on the engine', async () => {
    const engine = new FakeEngine({}, 50);
    const client = new ta.Client(engine);
    const ac = new AbortController();
    const p = client.compute(ta.ones([4]).sum(), { signal: ac.signal });
    setTimeout(() => ac.abort(), 5);
    await expect(p).rejects.toBeInstanceOf(CancelledError);
    expect(engine.runs.get('g1')!.cancelled).toBe(true);
    expect(engine.released).toEqual(['g1']);
    const job = await client.submit(ta.ones([4]).sum());
    await job.cancel();
    await expect(job.result()).rejects.toBeInstanceOf(CancelledError);
    ac.abort();
    await expect(client.compute(ta.ones([4]).sum(), { signal: ac.signal })).rejects.toBeInstanceOf(CancelledError);
  });

  it('a kernel failure rejects with the TaskError; the client still works', async () => {
    const client = new ta.Client(new FakeEngine(kernels));
    const x = ta.ones([4], { chunks: 2 });
    await expect(client.compute(ta.mapBlocks('boom', x))).rejects.toBeInstanceOf(TaskError);
    expect(await client.compute(x.sum())).toBe(4);
  });

  it('persist: same name and keys, persisted tasks; unpersist drops them', async () => {
    const engine = new FakeEngine();
    const client = new ta.Client(engine);
    const x = ta.arange(6, { chunks: 4, dtype: 'float64' }).mul(2);
    const p = await client.persist(x);
    expect(p.name).toBe(x.name);
    expect(p.keys()).toEqual(x.keys());
    expect(p.op).toBe('persisted');
    expect(p.inputs).toEqual([]);
    expect(engine.persisted.size).toBe(2);
    expect(await client.compute(p.sum())).toBe(30);
    await client.unpersist(p);
    expect(engine.persisted.size).toBe(0);
  });

  it('progress bar on stderr: final line with done/total', async () => {
    const client = new ta.Client(new FakeEngine());
    const writes: string[] = [];
    const orig = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => (writes.push(s), true)) as typeof process.stderr.write;
    try {
      await client.compute(ta.ones([4], { chunks: 2 }).sum(), { progress: true });
    } finally {
      process.stderr.write = orig;
    }
    expect(writes.join('')).toMatch(/100% \| 5\/5 tasks \| \d+\.\ds\n$/);
  });

  it('connect: cluster addresses are refused for now', async () => {
    await expect(ta.Client.connect('http://localhost:8786')).rejects.toThrow(TesseraError);
    await expect(ta.Client.connect({ address: 'http://x' })).rejects.toThrow(/cluster mode is not available yet/);
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
