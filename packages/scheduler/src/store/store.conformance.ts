import { describe, expect, it } from 'vitest';
import type { Graph, TaskSpec } from '@tessera/protocol';
import type { Store } from './store.js';

/**
 * One suite every Store must pass (memory now, Redis in cluster mode), so the core behaves the
 * same whichever holds its state. `make` returns a fresh, empty store.
 */
export function storeConformance(name: string, make: () => Promise<Store> | Store): void {
  const spec = (key: string, deps: string[] = []): TaskSpec => ({
    key,
    op: deps.length ? 'elementwise' : 'full',
    params: {},
    deps,
    shape: [1],
    dtype: 'float64',
    nbytes: 8,
    priority: 0,
  });
  // a, b roots; c = f(a, b); d = f(c, c) (duplicate dep); out = d; e = f(a) also output.
  const diamond: Graph = {
    tasks: [
      spec('a-00000000:0'),
      spec('b-00000000:0'),
      spec('c-00000000:0', ['a-00000000:0', 'b-00000000:0']),
      spec('d-00000000:0', ['c-00000000:0', 'c-00000000:0']),
      spec('e-00000000:0', ['a-00000000:0']),
    ],
    outputs: ['d-00000000:0', 'e-00000000:0'],
  };
  /** One completion, its result with `applied` as a flag. */
  const done = async (s: Store, id: string, key: string, worker = 'w1') => {
    const r = await s.completeTasks(id, [{ key, worker }], 1);
    return { ready: r.ready, releasable: r.releasable, finished: r.finished, applied: r.applied.length === 1 };
  };
  const [A, B, C, D, E] = diamond.tasks.map((t) => t.key) as [string, string, string, string, string];

  describe(`Store conformance: ${name}`, () => {
    it('creates a graph and reports its roots as ready', async () => {
      const s = await make();
      const { ready } = await s.createGraph('g1', diamond, { persist: false, now: 1 });
      expect(ready.sort()).toEqual(['a-00000000:0', 'b-00000000:0']);
      const g = await s.getGraph('g1');
      expect(g).toMatchObject({ id: 'g1', state: 'running', total: 5, done: 0, outputs: diamond.outputs, persist: false });
      expect((await s.stateCounts('g1')).waiting).toBe(5);
      expect((await s.getTasks('g1', ['c-00000000:0']))[0]).toEqual(diamond.tasks[2]);
    });

    it('moves tasks waiting → queued → processing → memory and releases what no one needs', async () => {
      const s = await make();
      await s.createGraph('g1', diamond, { persist: false, now: 1 });
      await s.markQueued('g1', ['a-00000000:0', 'b-00000000:0'], 'w1');
      expect(await s.getTaskState('g1', 'a-00000000:0')).toEqual({ state: 'queued', worker: 'w1' });
      await s.markProcessing('g1', ['a-00000000:0'], 'w1');
      expect((await s.getTaskState('g1', 'a-00000000:0'))?.state).toBe('processing');
      let r = await done(s, 'g1', 'a-00000000:0');
      expect(r).toEqual({ ready: ['e-00000000:0'], releasable: [], finished: false, applied: true });
      r = await done(s, 'g1', 'b-00000000:0');
      expect(r.ready).toEqual(['c-00000000:0']);
      r = await done(s, 'g1', 'c-00000000:0');
      // b is needed by c only; a still waits for e.
      expect(r.ready).toEqual(['d-00000000:0']);
      expect(r.releasable).toEqual(['b-00000000:0']);
      r = await done(s, 'g1', 'e-00000000:0');
      expect(r.releasable).toEqual(['a-00000000:0']);
      expect(r.finished).toBe(false);
      r = await done(s, 'g1', 'd-00000000:0');
      // c released once (duplicate dependency counted once); outputs d, e are never released.
      expect(r.releasable).toEqual(['c-00000000:0']);
      expect(r.finished).toBe(true);
      const counts = await s.stateCounts('g1');
      expect(counts).toMatchObject({ memory: 2, released: 3 });
      expect((await s.getGraph('g1'))?.state).toBe('finished');
    });

    it('ignores a completion of a task whose dependencies are not done, or twice', async () => {
      const s = await make();
      await s.createGraph('g1', diamond, { persist: false, now: 1 });
      expect((await done(s, 'g1', 'c-00000000:0')).applied).toBe(false);
      expect((await done(s, 'g1', 'a-00000000:0')).applied).toBe(true);
      expect((await done(s, 'g1', 'a-00000000:0')).applied).toBe(false);
      expect((await s.getGraph('g1'))?.done).toBe(1);
    });

    it('errs the graph on the first failure and ignores later events', async () => {
      const s = await make();
      await s.createGraph('g1', diamond, { persist: false, now: 1 });
      const err = { code: 'TASK_FAILED' as const, name: 'TaskError', message: 'boom', key: 'a-00000000:0', op: 'full' };
      expect(await s.failTask('g1', 'a-00000000:0', err, 2)).toBe(true);
      expect(await s.failTask('g1', 'b-00000000:0', { ...err, message: 'second' }, 3)).toBe(false);
      expect((await done(s, 'g1', 'b-00000000:0')).applied).toBe(false);
      const g = await s.getGraph('g1');
      expect(g?.state).toBe('erred');
      expect(g?.error?.message).toBe('boom');
      expect((await s.getTaskState('g1', 'a-00000000:0'))?.state).toBe('erred');
    });

    it('errs a graph that failed outside any task, and only a running one', async () => {
      const s = await make();
      await s.createGraph('g1', diamond, { persist: false, now: 1 });
      const err = { code: 'INTERNAL' as const, name: 'Error', message: 'scheduler error: lost it' };
      expect(await s.failTask('g1', undefined, err, 2)).toBe(true);
      expect(await s.getGraph('g1')).toMatchObject({ state: 'erred', error: err });
      expect((await s.stateCounts('g1')).erred).toBe(0);
      expect(await s.failTask('g1', undefined, err, 3)).toBe(false);
      expect(await s.failTask('nope', undefined, err, 3)).toBe(false);
    });

    it('cancels a running graph once, and graphs are independent', async () => {
      const s = await make();
      await s.createGraph('g1', diamond, { persist: false, now: 1 });
      await s.createGraph('g2', diamond, { persist: true, now: 1 });
      expect(await s.cancelGraph('g1', 2)).toBe(true);
      expect(await s.cancelGraph('g1', 3)).toBe(false);
      expect((await done(s, 'g1', 'a-00000000:0')).applied).toBe(false);
      expect((await done(s, 'g2', 'a-00000000:0')).applied).toBe(true);
      expect((await s.listGraphs()).map((g) => [g.id, g.state]).sort()).toEqual([
        ['g1', 'cancelled'],
        ['g2', 'running'],
      ]);
      await s.deleteGraph('g1');
      expect(await s.getGraph('g1')).toBeUndefined();
      expect((await s.getGraph('g2'))?.persist).toBe(true);
    });

    it('rejects a second graph with the same id', async () => {
      const s = await make();
      await s.createGraph('g1', diamond, { persist: false, now: 1 });
      await expect(s.createGraph('g1', diamond, { persist: false, now: 1 })).rejects.toThrow(/exists/);
    });

    it('applies a batch of completions in order, as one transition', async () => {
      const s = await make();
      await s.createGraph('g1', diamond, { persist: false, now: 1 });
      // c before its inputs is not applied; the rest are, in order.
      const r = await s.completeTasks(
        'g1',
        [
          { key: C, worker: 'w1' },
          { key: A, worker: 'w1' },
          { key: B, worker: 'w2' },
          { key: C, worker: 'w2' },
          { key: E, worker: 'w1' },
          { key: A, worker: 'w1' },
        ],
        2,
      );
      expect(r.applied).toEqual([A, B, C, E]);
      // The ready tasks' specs come with them, in the same order: no second read per hop.
      expect(r.readySpecs.map((t) => t.key)).toEqual(r.ready);
      expect(r.ready.sort()).toEqual([C, D, E].sort());
      expect(r.readySpecs.find((t) => t.key === C)).toEqual(diamond.tasks[2]);
      expect(r.releasable.sort()).toEqual([A, B].sort());
      expect(r.freed).toEqual([0, 0, 1, 1]);
      expect(r.finished).toBe(false);
      expect(await s.getTaskState('g1', B)).toEqual({ state: 'released', worker: 'w2' });
      const last = await s.completeTasks('g1', [{ key: D, worker: 'w2' }], 3);
      expect(last).toEqual({ applied: [D], ready: [], readySpecs: [], releasable: [C], freed: [1], finished: true });
    });

    it('recomputes lost chunks from lineage: released inputs run again, dependents wait again', async () => {
      const s = await make();
      await s.createGraph('g1', diamond, { persist: false, now: 1 });
      for (const k of [A, B, C]) await done(s, 'g1', k, k === C ? 'dead' : 'w1');
      // b was released (only c needed it); a still waits for e. d is queued on a live worker.
      await s.markQueued('g1', [D, E], 'w1');
      const r = (await s.recoverTasks('g1', [C], []))!;
      // c must run again, and so must b (released); a is still in memory. d waits for c again.
      expect(r.moved).toEqual([D]);
      expect(r.ready).toEqual([B]);
      expect((await s.getTaskState('g1', C))?.state).toBe('waiting');
      expect((await s.getTaskState('g1', D))?.state).toBe('waiting');
      expect((await s.getTaskState('g1', E))?.state).toBe('queued');
      expect((await s.getGraph('g1'))?.done).toBe(1);
      // Running it all again finishes the graph with every counter consistent.
      expect((await done(s, 'g1', B)).ready).toEqual([C]);
      expect((await done(s, 'g1', C)).ready).toEqual([D]);
      await done(s, 'g1', E);
      const last = await done(s, 'g1', D);
      expect(last.finished).toBe(true);
      expect(last.releasable).toEqual([C]);
      expect(await s.stateCounts('g1')).toMatchObject({ waiting: 0, queued: 0, processing: 0, memory: 2, released: 3 });
    });

    it('puts dropped tasks back to waiting and reports the ready ones', async () => {
      const s = await make();
      await s.createGraph('g1', diamond, { persist: false, now: 1 });
      await s.markQueued('g1', [A, B], 'dead');
      await s.markProcessing('g1', [A], 'dead');
      const r = (await s.recoverTasks('g1', [], [A, B]))!;
      expect(r.ready.sort()).toEqual([A, B]);
      expect(r.moved.sort()).toEqual([A, B]);
      expect(await s.getTaskState('g1', A)).toEqual({ state: 'waiting' });
      expect(await s.recoverTasks('nope', [], [A])).toBeUndefined();
      await s.cancelGraph('g1', 2);
      expect(await s.recoverTasks('g1', [], [A])).toBeUndefined();
    });

    it('keeps a task queued ahead of its only input (a chain): not ready again, done after it, back to waiting if dropped', async () => {
      const s = await make();
      await s.createGraph('g1', diamond, { persist: false, now: 1 });
      // e (whose only input is a) is queued on a's worker along with a, before a is done.
      await s.markQueued('g1', [A, E], 'w1');
      expect(await s.getTaskState('g1', E)).toEqual({ state: 'queued', worker: 'w1' });
      // a and e done in one batch: e is not handed out as ready, and applies after a.
      const r = await s.completeTasks(
        'g1',
        [
          { key: A, worker: 'w1' },
          { key: E, worker: 'w1' },
        ],
        2,
      );
      expect(r.applied).toEqual([A, E]);
      expect(r.ready).toEqual([]);
      // Dropped before its input is done, it waits for that input again, and is then ready.
      await s.createGraph('g2', diamond, { persist: false, now: 1 });
      await s.markQueued('g2', [A, E], 'w1');
      const back = (await s.recoverTasks('g2', [], [A, E]))!;
      expect(back.moved.sort()).toEqual([A, E].sort());
      expect(back.ready).toEqual([A]);
      expect(await s.getTaskState('g2', E)).toEqual({ state: 'waiting' });
      expect((await done(s, 'g2', A)).ready).toEqual([E]);
      expect(await s.stateCounts('g2')).toMatchObject({ waiting: 4, queued: 0, memory: 1 });
    });

    it('reads where a graph stands, to resume it', async () => {
      const s = await make();
      await s.createGraph('g1', diamond, { persist: false, now: 1 });
      await done(s, 'g1', A, 'w1');
      await s.markQueued('g1', [B], 'w2');
      const r = await s.resumeState('g1');
      expect(r.memory).toEqual([{ key: A, worker: 'w1' }]);
      expect(r.active).toEqual([{ key: B, state: 'queued', worker: 'w2' }]);
      expect(r.ready).toEqual([E]);
    });
  });
}
