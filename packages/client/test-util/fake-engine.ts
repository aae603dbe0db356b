import {
  CancelledError,
  type Chunk,
  type Engine,
  type EngineEvent,
  type Graph,
  type SubmitOptions,
  TaskError,
  validateGraph,
} from '@tessera/protocol';
import { type TestKernel, interpret } from './interpret.js';

interface Run {
  graph: Graph;
  chunks?: Map<string, Chunk>;
  error?: Error;
  done: Promise<void>;
  cancelled: boolean;
  listeners: Set<(ev: EngineEvent) => void>;
}

/**
 * An Engine over the test interpreter, for Client tests without the real engine: it validates
 * the graph, runs it on a later macrotask, and emits task and graph events.
 */
export class FakeEngine implements Engine {
  readonly runs = new Map<string, Run>();
  readonly persisted = new Map<string, Chunk>();
  readonly released: string[] = [];
  closed = false;
  private n = 0;

  constructor(
    private readonly kernels: Record<string, TestKernel> = {},
    private readonly delayMs = 0,
  ) {}

  async submit(graph: Graph, options: SubmitOptions = {}): Promise<string> {
    validateGraph(graph);
    const id = `g${++this.n}`;
    const run: Run = { graph, cancelled: false, listeners: new Set(), done: Promise.resolve() };
    if (options.onEvent) run.listeners.add(options.onEvent);
    const emit = (ev: EngineEvent) => run.listeners.forEach((l) => l(ev));
    const total = graph.tasks.length;
    emit({ type: 'graph', graph: id, state: 'running', total, done: 0 });
    run.done = new Promise<void>((resolve, reject) => {
      setTimeout(() => {
        if (run.cancelled) return reject(new CancelledError());
        try {
          run.chunks = interpret(graph, this.kernels, this.persisted);
        } catch (e) {
          const err = new TaskError(graph.tasks[0]!.key, 'map-blocks', { name: 'Error', message: (e as Error).message });
          emit({ type: 'graph', graph: id, state: 'erred', total, done: 0 });
          return reject(err);
        }
        graph.tasks.forEach((t) => emit({ type: 'task', graph: id, key: t.key, group: t.key.split(':')[0]!, op: t.op, state: 'memory' }));
        if (options.persist) for (const k of graph.outputs) this.persisted.set(k, run.chunks.get(k)!);
        emit({ type: 'graph', graph: id, state: 'finished', total, done: total });
        resolve();
      }, this.delayMs);
    });
    run.done.catch(() => undefined);
    this.runs.set(id, run);
    return id;
  }
  subscribe(graphId: string, listener: (ev: EngineEvent) => void): () => void {
    const r = this.runs.get(graphId)!;
    r.listeners.add(listener);
    return () => r.listeners.delete(listener);
  }
  wait(graphId: string): Promise<void> {
    return this.runs.get(graphId)!.done;
  }
  async gather(graphId: string, keys: readonly string[]): Promise<Chunk[]> {
    const r = this.runs.get(graphId)!;
    return keys.map((k) => r.chunks!.get(k)!);
  }
  async cancel(graphId: string): Promise<void> {
    this.runs.get(graphId)!.cancelled = true;
  }
  async release(graphId: string): Promise<void> {
    this.released.push(graphId);
  }
  async unpersist(keys: readonly string[]): Promise<void> {
    for (const k of keys) this.persisted.delete(k);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}
