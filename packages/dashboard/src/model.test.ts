import type { GraphStructure, TaskEvent, WorkerView } from '@tessera/protocol';
import { describe, expect, it } from 'vitest';
import { ClusterModel, type Bar } from './model.js';

const G = 'g1';
const task = (key: string, state: TaskEvent['state'], extra: Partial<TaskEvent> = {}): TaskEvent => ({
  type: 'task',
  graph: G,
  key,
  group: key.split(':')[0]!,
  op: key.split('-')[0]!,
  state,
  ...extra,
});
const worker = (id: string, threads = 2): WorkerView => ({
  info: { id, host: 'h', address: 'http://127.0.0.1:1', pid: 1, threads, memoryLimit: 1000, device: 'cpu', startedAt: 0 },
  heartbeat: { id, at: 1, chunks: 1, bytes: 10, running: 0, executed: 3, rss: 100 },
  age: 5,
  alive: true,
});

describe('ClusterModel', () => {
  it('counts a graph by group from its structure, then from events, never moving a task back', () => {
    const wanted: string[] = [];
    const m = new ClusterModel((g) => wanted.push(g.status.id), 5_000);
    m.applyBatch([{ type: 'graph', graph: G, state: 'running', total: 3, done: 0 }]);
    expect(wanted).toEqual([G]);
    const g = m.graphs.get(G)!;
    g.structure = 'loading';
    // Events that come while the structure is read wait for it.
    m.applyBatch([task('a-00000001:0', 'queued', { worker: 'w' }), task('a-00000001:0', 'processing', { worker: 'w', start: 1 })]);
    const s: GraphStructure = {
      id: G,
      total: 3,
      groups: [
        { group: 'a-00000001', op: 'a', total: 2, counts: { waiting: 1, queued: 1 }, deps: [] },
        { group: 'b-00000002', op: 'b', total: 1, counts: { waiting: 1 }, deps: ['a-00000001'] },
      ],
      tasks: [
        { key: 'a-00000001:0', state: 'queued', deps: [] },
        { key: 'a-00000001:1', state: 'waiting', deps: [] },
        { key: 'b-00000002:', state: 'waiting', deps: [0, 1] },
      ],
    };
    m.structureLoaded(g, s);
    expect(g.groups.get('a-00000001')!.counts).toMatchObject({ waiting: 1, queued: 0, processing: 1 });
    m.applyBatch([task('a-00000001:0', 'memory', { worker: 'w', thread: 1, start: 1, stop: 5 })]);
    // A stale event never moves a task back.
    m.applyBatch([task('a-00000001:0', 'processing', { worker: 'w' })]);
    expect(g.groups.get('a-00000001')!.counts).toMatchObject({ waiting: 1, processing: 0, memory: 1 });
    expect(g.row()).toMatchObject({ total: 3, done: 1 });
    expect(m.takeBars(10)).toEqual([[G, 'a-00000001:0', 'w', 1, 1, 5, 'm']]);
    expect(g.tasks!.get('a-00000001:0')).toMatchObject({ worker: 'w', thread: 1, start: 1, stop: 5, state: 'memory' });
    // A late 'processing' event (same report batch) keeps the finished run's timing.
    m.applyBatch([task('a-00000001:0', 'processing', { worker: 'w', thread: 0, start: 9 })]);
    expect(g.tasks!.get('a-00000001:0')).toMatchObject({ thread: 1, start: 1, stop: 5 });
    expect(g.dag!.deps[2]).toEqual([0, 1]);
  });

  it('keeps erred tasks with their error, and the graph error', () => {
    const m = new ClusterModel(() => undefined, 5_000);
    const error = { code: 'TASK_FAILED' as const, name: 'TaskError', message: 'boom', key: 'a-00000001:0' };
    m.applyBatch([
      { type: 'graph', graph: G, state: 'running', total: 1, done: 0 },
      task('a-00000001:0', 'erred', { worker: 'w', start: 1, stop: 2, error }),
      { type: 'graph', graph: G, state: 'erred', total: 1, done: 0, error },
    ]);
    const g = m.graphs.get(G)!;
    expect(g.errors).toEqual([expect.objectContaining({ key: 'a-00000001:0', error })]);
    expect(g.row()).toMatchObject({ state: 'erred', error });
    expect(g.row().finishedAt).toBeGreaterThan(0);
    expect(m.takeBars(10)[0]![6]).toBe('e');
  });

  it('sends at most the bar budget per tick: errors first, then an even sample', () => {
    const m = new ClusterModel(() => undefined, 5_000);
    m.applyBatch([{ type: 'graph', graph: G, state: 'running', total: 10_000, done: 0 }]);
    m.graphs.get(G)!.structure = 'failed';
    const events: TaskEvent[] = [];
    for (let i = 0; i < 10_000; i++)
      events.push(task(`a-00000001:${i}`, i === 7_777 ? 'erred' : 'memory', { worker: 'w', start: i, stop: i + 1 }));
    m.applyBatch(events);
    const bars: Bar[] = m.takeBars(100);
    expect(bars).toHaveLength(100);
    expect(bars[0]![1]).toBe('a-00000001:7777');
    expect(bars.at(-1)![4]).toBeGreaterThan(9_000);
    expect(m.takeBars(100)).toEqual([]);
    // Without a structure a group's total is what was seen.
    expect(m.graphs.get(G)!.groups.get('a-00000001')).toMatchObject({ total: 10_000, counts: { memory: 9_999, erred: 1 } });
  });

  it('marks a worker that left the list dead, and keeps it', () => {
    const m = new ClusterModel(() => undefined, 5_000);
    m.applyWorkers([worker('w1'), worker('w2')]);
    m.applyWorkers([worker('w2')]);
    const rows = m.workerRows();
    expect(rows.map((r) => [r.view.info.id, r.alive])).toEqual([
      ['w2', true],
      ['w1', false],
    ]);
    expect(rows[1]!.diedAt).toBeGreaterThan(0);
    m.applyWorkers([worker('w1'), worker('w2')]);
    expect(m.workerRows().every((r) => r.alive)).toBe(true);
  });

  it('lists live graphs and history rows newest first, without duplicates', () => {
    const m = new ClusterModel(() => undefined, 5_000);
    const base = { total: 1, done: 1, counts: {}, outputs: 1, persist: false };
    m.applyStatus({ id: 'new', state: 'finished', submittedAt: 200, ...base });
    m.applyHistory([
      { id: 'old', state: 'finished', submittedAt: 100, ...base },
      { id: 'new', state: 'finished', submittedAt: 200, ...base },
    ]);
    expect(m.graphRows().map((r) => [r.id, r.archived ?? false])).toEqual([
      ['new', false],
      ['old', true],
    ]);
  });

  it('carries a task transfer into its bar and its record', () => {
    const m = new ClusterModel(() => undefined, 5_000);
    m.applyBatch([{ type: 'graph', graph: G, state: 'running', total: 2, done: 0 }]);
    m.structureFailed(m.graphs.get(G)!);
    const transfer = { start: 5, stop: 8, nbytes: 4096, from: ['w2', 'w3'] };
    m.applyBatch([
      task('a-00000001:0', 'memory', { worker: 'w1', thread: 1, start: 10, stop: 20, transfer }),
      task('a-00000001:1', 'memory', { worker: 'w1', thread: 0, start: 10, stop: 20 }),
    ]);
    const bars = m.takeBars(10);
    expect(bars[0]).toEqual([G, 'a-00000001:0', 'w1', 1, 10, 20, 'm', 5, 8, 4096, 'w2,w3'] satisfies Bar);
    expect(bars[1]).toHaveLength(7);
    expect(m.graphs.get(G)!.tasks!.get('a-00000001:0')!.transfer).toEqual(transfer);
  });
});
