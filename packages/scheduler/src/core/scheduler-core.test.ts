import { describe, expect, it } from 'vitest';
import { TesseraError, type Graph, type TaskSpec } from '@tessera/protocol';
import { MemoryStore } from '../store/memory-store.js';
import { SchedulerCore } from './scheduler-core.js';
import type { Executor } from './executor.js';

const T = '0123456789abcdef';
const spec = (name: string, deps: string[] = []): TaskSpec => ({
  key: `${name}-${T}:0`,
  op: deps.length ? 'elementwise' : 'full',
  params: {},
  deps: deps.map((d) => `${d}-${T}:0`),
  shape: [1],
  dtype: 'float64',
  nbytes: 8,
  priority: 0,
});
const graph: Graph = { tasks: [spec('a'), spec('b', ['a'])], outputs: [`b-${T}:0`] };

/** A store that loses its footing on the first completion (a fault in the state layer). */
class BrokenStore extends MemoryStore {
  override async completeTasks(): Promise<never> {
    throw new Error('connection reset');
  }
}

describe('SchedulerCore', () => {
  it('a failure inside the scheduler errs the graph in the store and rejects its waiters', async () => {
    const store = new BrokenStore();
    const core = new SchedulerCore(store);
    const ran: string[] = [];
    const executor: Executor = { run: (_g, tasks) => ran.push(...tasks.map((t) => t.key)), free: () => undefined, cancel: () => undefined };
    core.attach(executor);
    await core.submit('g1', graph, { persist: false });
    expect(ran).toEqual([`a-${T}:0`]);
    const waiting = core.wait('g1');
    core.taskFinished('g1', `a-${T}:0`, 8, { worker: 'w', start: 0, stop: 1 });
    const err = await waiting.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TesseraError);
    expect((err as TesseraError).code).toBe('INTERNAL');
    expect((err as Error).message).toMatch(/scheduler error: connection reset/);
    await new Promise((r) => setTimeout(r, 0));
    expect(await store.getGraph('g1')).toMatchObject({ state: 'erred' });
    // A later waiter learns the same from the store.
    await expect(core.wait('g1')).rejects.toThrow(/connection reset/);
  });

  it('a graph whose record vanished from the store while it ran (a failover\'s lost writes) ends erred, saying to submit it again', async () => {
    const store = new MemoryStore();
    const core = new SchedulerCore(store);
    const cancelled: string[] = [];
    const events: string[] = [];
    core.attach({ run: () => undefined, free: () => undefined, cancel: (g) => void cancelled.push(g) });
    await core.submit('g2', graph, { persist: false });
    core.subscribe('g2', (ev) => void (ev.type === 'graph' && events.push(ev.state)));
    const waiting = core.wait('g2');
    await store.deleteGraph('g2');
    core.taskFinished('g2', `a-${T}:0`, 8, { worker: 'w', start: 0, stop: 1 });
    await expect(waiting).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringMatching(/g2 was running but its state in Redis is gone.*submit it again/) });
    expect(cancelled).toEqual(['g2']);
    expect(events).toEqual(['erred']);
    // A late report of a graph that ended (or was released) ends nothing again.
    core.taskFinished('g2', `b-${T}:0`, 8, { worker: 'w', start: 0, stop: 1 });
    await core.settled();
    expect(events).toEqual(['erred']);
  });
});
