import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { createLocalEngine, type LocalEngine } from '@tessera/local';
import { CancelledError, ChunkLostError, GraphValidationError, InvalidArgumentError, NotFoundError, TaskError, type EngineEvent } from '@tessera/protocol';
import { sumGraph, task } from './graphs.js';

const kernels = fileURLToPath(new URL('./fixtures/kernels.mjs', import.meta.url));

describe('local engine options', () => {
  it('rejects bad options with an error naming the option', async () => {
    await expect(createLocalEngine({ threads: 0 })).rejects.toThrow(/local engine option threads: Number must be greater than or equal to 1/);
    await expect(createLocalEngine({ kernels: [''] })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(createLocalEngine({ thread: 2 } as never)).rejects.toThrow(/Unrecognized key\(s\) in object: 'thread'/);
  });

  it('a kernel module that fails to load is a clear startup error, not a hung engine', async () => {
    await expect(createLocalEngine({ threads: 1, kernels: ['/nonexistent/kernels.mjs'] })).rejects.toThrow(/failed to load kernel modules: .*nonexistent/);
  });
});

describe('local engine', () => {
  let engine: LocalEngine;
  beforeAll(async () => {
    engine = await createLocalEngine({ threads: 2, kernels: [kernels] });
  });
  afterAll(async () => {
    await engine.close();
  });

  async function run(graph: Parameters<LocalEngine['submit']>[0]) {
    const id = await engine.submit(graph);
    await engine.wait(id);
    const chunks = await engine.gather(id, graph.outputs);
    await engine.release(id);
    return chunks;
  }

  it('runs a graph and frees every chunk once released', async () => {
    const { graph, expected } = sumGraph(16, 1000, 2);
    const id = await engine.submit(graph);
    await engine.wait(id);
    // Only the output is held once the graph is done: every intermediate was freed on the way.
    expect(engine.stats().chunksHeld).toBe(1);
    const [out] = await engine.gather(id, graph.outputs);
    await engine.release(id);
    expect(out!.shape).toEqual([]);
    expect(out!.data[0]).toBe(expected);
    expect(engine.stats().chunksHeld).toBe(0);
  });

  it('frees intermediate chunks as soon as no pending task needs them', async () => {
    const { graph } = sumGraph(40, 10, 1, 'aaaaaaaaaaaaaaaa');
    let held = 0;
    let peak = 0;
    const states: string[] = [];
    const id = await engine.submit(graph, {
      onEvent: (ev: EngineEvent) => {
        if (ev.type !== 'task') return;
        if (ev.key === 'full-aaaaaaaaaaaaaaaa:0') states.push(ev.state);
        if (ev.state === 'memory') peak = Math.max(peak, ++held);
        if (ev.state === 'released') held--;
      },
    });
    await engine.wait(id);
    // Each full chunk is released right after its partial; only partials accumulate.
    expect(states).toEqual(['queued', 'processing', 'memory', 'released']);
    expect(peak).toBeLessThan(40 + 10);
    await engine.release(id);
  });

  it('pool threads read and write the same SharedArrayBuffer the engine holds', async () => {
    const a = 'full-bbbbbbbbbbbbbbbb:0';
    const graph = {
      tasks: [
        task(a, 'full', { value: 5 }, [], [4]),
        task('mark-bbbbbbbbbbbbbbbb:0', 'map-blocks', { kernel: 'mark-input', params: { marker: 42 }, blockIndex: [0] }, [a], [4]),
      ],
      outputs: [a, 'mark-bbbbbbbbbbbbbbbb:0'],
    };
    const id = await engine.submit(graph);
    await engine.wait(id);
    const [held, copy] = await engine.gather(id, graph.outputs);
    expect(held!.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    // The thread wrote 42 into its input; the engine's own chunk shows it, so no copy was made.
    expect(Array.from(held!.data as ArrayLike<number | bigint>)).toEqual([42, 5, 5, 5]);
    expect(Array.from(copy!.data as ArrayLike<number | bigint>)).toEqual([42, 5, 5, 5]);
    await engine.release(id);
  });

  it('a kernel that throws rejects with a TaskError naming the key and op; the engine goes on', async () => {
    const graph = {
      tasks: [
        task('full-cccccccccccccccc:0', 'full', { value: 1 }, [], [3]),
        task('explode-cccccccccccccccc:0', 'map-blocks', { kernel: 'explode', params: { why: 'test' }, blockIndex: [0] }, ['full-cccccccccccccccc:0'], [3]),
      ],
      outputs: ['explode-cccccccccccccccc:0'],
    };
    const id = await engine.submit(graph);
    const err = await engine.wait(id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskError);
    expect((err as TaskError).key).toBe('explode-cccccccccccccccc:0');
    expect((err as TaskError).op).toBe('map-blocks');
    expect((err as TaskError).message).toMatch(/RangeError: exploded on purpose: test/);
    await engine.release(id);
    const { graph: ok, expected } = sumGraph(4, 5, 1, 'dddddddddddddddd');
    expect((await run(ok))[0]!.data[0]).toBe(expected);
    expect(engine.stats().chunksHeld).toBe(0);
  });

  it('a kernel returning the wrong shape fails its task with a clear message', async () => {
    const graph = {
      tasks: [
        task('full-eeeeeeeeeeeeeeee:0', 'full', { value: 1 }, [], [3]),
        task('wrong-eeeeeeeeeeeeeeee:0', 'map-blocks', { kernel: 'wrong-shape', params: {}, blockIndex: [0] }, ['full-eeeeeeeeeeeeeeee:0'], [3]),
      ],
      outputs: ['wrong-eeeeeeeeeeeeeeee:0'],
    };
    const id = await engine.submit(graph);
    await expect(engine.wait(id)).rejects.toThrow(/wrong-shape[\s\S]*\(3,\)|\(3,\)[\s\S]*\(4,\)/);
    await engine.release(id);
  });

  it('gathers only finished outputs of a known graph, with a reason otherwise', async () => {
    const { graph } = sumGraph(2, 2, 1, '7777777777777777');
    await expect(engine.wait('no-such-graph')).rejects.toThrow(/unknown graph no-such-graph/);
    const id = await engine.submit(graph);
    await engine.wait(id);
    await expect(engine.gather(id, ['full-7777777777777777:0'])).rejects.toThrow(/full-7777777777777777:0 is not an output of graph/);
    expect((await engine.gather(id, graph.outputs))[0]!.data[0]).toBe(8);
    await engine.release(id);
    await expect(engine.gather(id, graph.outputs)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('rejects an invalid graph with the reason and keeps running others', async () => {
    const bad = { tasks: [task('full-ffffffffffffffff:0', 'full', { value: 'x' }, [], [2])], outputs: ['full-ffffffffffffffff:0'] };
    await expect(engine.submit(bad)).rejects.toBeInstanceOf(GraphValidationError);
    await expect(engine.submit(bad)).rejects.toThrow(/full-ffffffffffffffff:0: bad full params: value/);
    const { graph, expected } = sumGraph(2, 2, 1, '1111111111111111');
    expect((await run(graph))[0]!.data[0]).toBe(expected);
  });

  it('cancels a running graph, leaving the engine usable and holding nothing', async () => {
    const tasks = [task('full-2222222222222222:0', 'full', { value: 1 }, [], [8])];
    const outs: string[] = [];
    for (let i = 0; i < 40; i++) {
      const k = `slow-2222222222222222:${i}`;
      tasks.push(task(k, 'map-blocks', { kernel: 'slow-copy', params: { ms: 20 }, blockIndex: [i] }, ['full-2222222222222222:0'], [8], 'float64', i + 1));
      outs.push(k);
    }
    const events: EngineEvent[] = [];
    const id = await engine.submit({ tasks, outputs: outs }, { onEvent: (e) => events.push(e) });
    const waiting = engine.wait(id);
    await new Promise((r) => setTimeout(r, 60));
    await engine.cancel(id);
    await expect(waiting).rejects.toBeInstanceOf(CancelledError);
    const before = engine.stats().tasksExecuted;
    await new Promise((r) => setTimeout(r, 150));
    // Nothing queued for the cancelled graph runs after cancel (at most the one running on each thread).
    expect(engine.stats().tasksExecuted - before).toBeLessThanOrEqual(2);
    expect(events.at(-1)).toMatchObject({ type: 'graph', state: 'cancelled' });
    await engine.release(id);
    expect(engine.stats().chunksHeld).toBe(0);
    const { graph, expected } = sumGraph(3, 3, 3, '3333333333333333');
    expect((await run(graph))[0]!.data[0]).toBe(expected);
  });

  it('persisted outputs survive release and are reused without recomputing', async () => {
    const key = 'full-4444444444444444:0';
    const id = await engine.submit({ tasks: [task(key, 'full', { value: 7 }, [], [5])], outputs: [key] }, { persist: true });
    await engine.wait(id);
    await engine.release(id);
    expect(engine.stats().chunksHeld).toBe(1);
    const before = engine.stats().tasksExecuted;
    const use = {
      tasks: [
        task(key, 'persisted', {}, [], [5]),
        task('sum-4444444444444444:', 'reduce-partial', { kind: 'sum', axes: [0] }, [key], [1, 1]),
      ],
      outputs: ['sum-4444444444444444:'],
    };
    const [partial] = await run(use);
    expect(Array.from(partial!.data as ArrayLike<number | bigint>)).toEqual([35]);
    expect(engine.stats().tasksExecuted - before).toBe(1);
    await engine.unpersist([key]);
    expect(engine.stats().chunksHeld).toBe(0);
    const id2 = await engine.submit(use);
    await expect(engine.wait(id2)).rejects.toBeInstanceOf(ChunkLostError);
    await engine.release(id2);
  });

  it('two graphs with the same keys share the work', async () => {
    // The slow task is still running when the second graph arrives: it waits for that run.
    const T = '5555555555555555';
    const graph = {
      tasks: [
        task(`full-${T}:0`, 'full', { value: 3 }, [], [4]),
        task(`slow-${T}:0`, 'map-blocks', { kernel: 'slow-copy', params: { ms: 150 }, blockIndex: [0] }, [`full-${T}:0`], [4]),
      ],
      outputs: [`slow-${T}:0`],
    };
    const before = engine.stats().tasksExecuted;
    const [a, b] = await Promise.all([run(graph), run(graph)]);
    expect(Array.from(a[0]!.data, Number)).toEqual([3, 3, 3, 3]);
    expect(Array.from(b[0]!.data, Number)).toEqual([3, 3, 3, 3]);
    expect(engine.stats().tasksExecuted - before).toBe(2);
    expect(engine.stats().chunksHeld).toBe(0);
  });

  it('recycles freed buffers without ever handing out memory a live chunk still uses', async () => {
    // b = reshape(a) shares a's memory. When `neg` completes, a is freed but b lives on; the
    // twenty same-size tasks made ready by that completion would overwrite b if a's buffer were
    // recycled, and `last` (which reads b after them) would see it.
    const T = '6666666666666666';
    const prog = (op: 'neg' | 'add', domain: number[], c?: number) => ({
      program: [{ op, args: op === 'neg' ? [{ input: 0 }] : [{ input: 0 }, { const: c!, dtype: 'float64' }], dtype: 'float64' }],
      inputs: [{}],
      domain,
    });
    const tasks = [task(`full-${T}:0`, 'full', { value: 1 }, [], [8], 'float64', 0)];
    tasks.push(task(`reshape-${T}:0`, 'reshape', { shape: [2, 4] }, [`full-${T}:0`], [2, 4], 'float64', 1));
    tasks.push(task(`neg-${T}:0`, 'elementwise', prog('neg', [8]), [`full-${T}:0`], [8], 'float64', 2));
    const outs: string[] = [];
    for (let i = 0; i < 20; i++) {
      tasks.push(task(`step-${T}:${i}`, 'elementwise', prog('add', [8], 100 + i), [`neg-${T}:0`], [8], 'float64', 3 + i));
      outs.push(`step-${T}:${i}`);
    }
    tasks.push(task(`last-${T}:0,0`, 'elementwise', prog('neg', [2, 4]), [`reshape-${T}:0`], [2, 4], 'float64', 100));
    outs.push(`last-${T}:0,0`);
    const chunks = await run({ tasks, outputs: outs });
    expect(Array.from(chunks.at(-1)!.data as ArrayLike<number | bigint>)).toEqual(new Array(8).fill(-1));
    chunks.slice(0, -1).forEach((c, i) => expect(Array.from(c.data as ArrayLike<number | bigint>)).toEqual(new Array(8).fill(99 + i)));
  });
});
