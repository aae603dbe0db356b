import {
  type ClusterInfo,
  type EngineEvent,
  GraphValidationError,
  type GraphStatus,
  type HealthResponse,
  NotFoundError,
  type WorkerView,
} from '@tessera/protocol';
import type { ClusterApi, EventBatch, ResultData } from '../cluster/cluster-api.js';

/**
 * A test double of our own seam, ClusterApi, for the HTTP layer's tests: graphs are records in a
 * map, event batches are published by the test, results are whatever the test stored. It records
 * what the server asked of it.
 */
export class FakeClusterApi implements ClusterApi {
  readonly info: ClusterInfo = { prefix: 'tessera', bullPrefix: 'bull', sharedQueue: 'tasks', heartbeatMs: 1000, version: '0.1.0' };
  health_: HealthResponse | Error = { ok: true, workers: 2, version: '0.1.0' };
  readonly graphsById = new Map<string, GraphStatus>();
  readonly results = new Map<string, Uint8Array[]>();
  readonly calls: { method: string; args: unknown[] }[] = [];
  workerList: WorkerView[] = [];
  /** Thrown by the next call of any method, then cleared. */
  failNext: unknown;
  /** Thrown by an event stream after it yielded its stored batches. */
  failEvents: unknown;
  /** Signals of the event streams opened, in order. */
  readonly streamSignals: AbortSignal[] = [];
  private readonly batches = new Map<string, EventBatch[]>();
  private readonly wake = new Map<string, (() => void)[]>();
  private seq = 0;

  private record(method: string, ...args: unknown[]): void {
    this.calls.push({ method, args });
    if (this.failNext !== undefined) {
      const e = this.failNext;
      this.failNext = undefined;
      throw e;
    }
  }

  private graph(id: string): GraphStatus {
    const g = this.graphsById.get(id);
    if (!g) throw new NotFoundError(`unknown graph ${id}`);
    return g;
  }

  addGraph(id: string, patch: Partial<GraphStatus> = {}): GraphStatus {
    const g: GraphStatus = { id, state: 'running', total: 2, done: 0, counts: {}, outputs: 1, persist: false, submittedAt: 1, ...patch };
    this.graphsById.set(id, g);
    this.batches.set(id, []);
    return g;
  }

  /** Append a batch to a graph's stored stream (its id is its 1-based position). */
  publish(id: string, events: EngineEvent[]): EventBatch {
    const list = this.batches.get(id)!;
    const batch = { id: String(list.length + 1), events };
    list.push(batch);
    for (const w of this.wake.get(id)?.splice(0) ?? []) w();
    return batch;
  }

  async health(): Promise<HealthResponse> {
    this.record('health');
    if (this.health_ instanceof Error) throw this.health_;
    return this.health_;
  }

  async submit(graph: unknown, options: { persist: boolean }): Promise<string> {
    this.record('submit', graph, options);
    if (typeof graph !== 'object' || graph === null) throw new GraphValidationError([{ message: 'graph must be an object' }]);
    const id = `g${++this.seq}`;
    this.addGraph(id, { persist: options.persist });
    return id;
  }

  async status(id: string): Promise<GraphStatus> {
    this.record('status', id);
    return this.graph(id);
  }

  async graphs(): Promise<GraphStatus[]> {
    this.record('graphs');
    return [...this.graphsById.values()];
  }

  async *events(id: string, after: string | undefined, options: { tasks: boolean; signal: AbortSignal }): AsyncIterable<EventBatch> {
    this.record('events', id, after, { tasks: options.tasks });
    this.streamSignals.push(options.signal);
    const list = this.batches.get(id);
    if (!list) throw new NotFoundError(`unknown graph ${id}`);
    let i = after === undefined ? 0 : Number(after);
    while (!options.signal.aborted) {
      if (i < list.length) {
        const b = list[i++]!;
        const events = options.tasks ? b.events : b.events.filter((e) => e.type === 'graph');
        yield { id: b.id, events };
        if (b.events.some((e) => e.type === 'graph' && e.state !== 'running')) return;
        continue;
      }
      if (this.failEvents !== undefined) throw this.failEvents;
      await new Promise<void>((resolve) => {
        const list = this.wake.get(id) ?? [];
        list.push(resolve);
        this.wake.set(id, list);
        options.signal.addEventListener('abort', () => resolve(), { once: true });
      });
    }
  }

  async result(id: string, key: string): Promise<ResultData> {
    this.record('result', id, key);
    this.graph(id);
    const parts = this.results.get(`${id}/${key}`);
    if (!parts) throw new NotFoundError(`${key} is not an output of graph ${id}`);
    return { arrow: parts };
  }

  async cancel(id: string): Promise<void> {
    this.record('cancel', id);
    this.graph(id).state = 'cancelled';
  }

  async release(id: string): Promise<void> {
    this.record('release', id);
    this.graph(id);
    this.graphsById.delete(id);
  }

  async unpersist(keys: readonly string[]): Promise<void> {
    this.record('unpersist', keys);
  }

  async workers(): Promise<WorkerView[]> {
    this.record('workers');
    return this.workerList;
  }
}
