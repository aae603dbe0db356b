import { ChunkLostError, TaskError, serializeError, type Chunk, type TaskSpec } from '@tessera/protocol';
import { BufferPool, ChunkStore, ThreadPool, leastLoadedThread, runTask, runsInline, type PoolTask, type TaskOutcome, type ThreadPoolOptions } from '@tessera/worker';
import type { ExecutionListener, Executor } from '../core/executor.js';
import { ReadyQueue } from './ready-queue.js';

const WORKER = 'local';
/** Freed chunk buffers kept for reuse as task outputs. */
const BUFFER_POOL_BYTES = 256 * 2 ** 20;

interface Running {
  spec: TaskSpec;
  /** Graphs waiting for this key (graphs that share keys share the execution). */
  graphs: string[];
}

/**
 * Runs the core's ready tasks on a worker_threads pool, highest priority first, and keeps their
 * chunks in a ChunkStore on SharedArrayBuffers (threads read inputs and write outputs in place).
 */
export class LocalExecutor implements Executor {
  private readonly buffers = new BufferPool(BUFFER_POOL_BYTES);
  readonly chunks = new ChunkStore((b) => this.buffers.give(b));
  private pool!: ThreadPool;
  private readonly queue = new ReadyQueue();
  private readonly running = new Map<number, Running>();
  private readonly runningByKey = new Map<string, Running>();
  private readonly graphSeq = new Map<string, number>();
  private readonly heldBy = new Map<string, Set<string>>();
  private nextId = 0;
  private seq = 0;
  executed = 0;

  constructor(private readonly listener: ExecutionListener) {}

  async start(options: ThreadPoolOptions): Promise<void> {
    this.pool = await ThreadPool.start(options, (thread, o) => this.onOutcome(thread, o));
  }

  get threads(): number {
    return this.pool.size;
  }

  run(graphId: string, tasks: readonly TaskSpec[]): void {
    let graphSeq = this.graphSeq.get(graphId);
    if (graphSeq === undefined) this.graphSeq.set(graphId, (graphSeq = this.seq++));
    void this.listener.tasksQueued(
      graphId,
      tasks.map((t) => t.key),
      WORKER,
    );
    for (const spec of tasks) this.queue.push({ graphId, graphSeq, spec });
    this.pump();
  }

  free(graphId: string, keys: readonly string[]): void {
    const held = this.heldBy.get(graphId);
    for (const k of keys) {
      held?.delete(k);
      this.chunks.release(k, graphId);
    }
  }

  cancel(graphId: string): void {
    this.graphSeq.delete(graphId);
    for (const [id, r] of this.running) {
      r.graphs = r.graphs.filter((g) => g !== graphId);
      // Still waiting in a thread's batch and wanted by no other graph: skip it there.
      if (r.graphs.length === 0) this.pool.cancel(id);
    }
  }

  /** Drop every chunk a graph holds; `pin` keeps these keys alive (persisted outputs). */
  releaseGraph(graphId: string, pin: readonly string[] = []): void {
    this.cancel(graphId);
    for (const k of pin) this.chunks.pin(k);
    for (const k of this.heldBy.get(graphId) ?? []) this.chunks.release(k, graphId);
    this.heldBy.delete(graphId);
  }

  gather(keys: readonly string[]): Chunk[] {
    return keys.map((k) => {
      const c = this.chunks.get(k);
      if (!c) throw new ChunkLostError(k);
      return c;
    });
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private hold(graphId: string, key: string): void {
    let s = this.heldBy.get(graphId);
    if (!s) this.heldBy.set(graphId, (s = new Set()));
    s.add(key);
  }

  private pump(): void {
    const batches = new Map<number, PoolTask[]>();
    for (;;) {
      const item = this.queue.peek();
      if (!item) break;
      if (!this.graphSeq.has(item.graphId)) {
        this.queue.pop();
        continue;
      }
      const inline = runsInline(item.spec, item.spec.deps.map((d) => this.chunks.get(d)));
      const thread = inline ? -1 : leastLoadedThread(this.pool, item.spec, (t) => batches.get(t)?.length ?? 0);
      if (!inline && thread < 0) break;
      this.queue.pop();
      const { graphId, spec } = item;
      // Already held (persisted, or computed for another graph): nothing to run.
      if (this.chunks.hold(spec.key, graphId)) {
        this.hold(graphId, spec.key);
        const now = performance.timeOrigin + performance.now();
        this.listener.taskFinished(graphId, spec.key, this.chunks.get(spec.key)!.data.byteLength, { worker: WORKER, start: now, stop: now });
        continue;
      }
      if (spec.op === 'persisted') {
        const now = performance.timeOrigin + performance.now();
        this.listener.taskFailed(graphId, spec.key, serializeError(new ChunkLostError(spec.key)), { worker: WORKER, start: now, stop: now });
        continue;
      }
      const shared = this.runningByKey.get(spec.key);
      if (shared) {
        shared.graphs.push(graphId);
        continue;
      }
      const inputs = spec.deps.map((d) => this.chunks.get(d));
      if (inputs.some((c) => c === undefined)) {
        const lost = spec.deps.find((d) => !this.chunks.has(d))!;
        const now = performance.timeOrigin + performance.now();
        this.listener.taskFailed(graphId, spec.key, serializeError(new ChunkLostError(lost)), { worker: WORKER, start: now, stop: now });
        continue;
      }
      if (spec.op === 'reshape') {
        // A view with a new shape: done here, so the view keeps the very buffer object of its
        // input and the chunk store can tell when that buffer is free.
        const input = inputs[0]!;
        this.chunks.put(spec.key, { dtype: input.dtype, shape: [...spec.shape], data: input.data }, graphId);
        this.hold(graphId, spec.key);
        const now = performance.timeOrigin + performance.now();
        this.executed++;
        this.listener.taskFinished(graphId, spec.key, spec.nbytes, { worker: WORKER, start: now, stop: now });
        continue;
      }
      if (inline) {
        this.runInline(graphId, spec, inputs as Chunk[]);
        continue;
      }
      const id = this.nextId++;
      const r: Running = { spec, graphs: [graphId] };
      this.running.set(id, r);
      this.runningByKey.set(spec.key, r);
      const batch = batches.get(thread) ?? [];
      const out = this.buffers.take(spec.nbytes);
      batch.push({ id, key: spec.key, op: spec.op, params: spec.params, shape: spec.shape, dtype: spec.dtype, inputs: inputs as Chunk[], out });
      batches.set(thread, batch);
    }
    for (const [thread, tasks] of batches) {
      this.pool.post(thread, tasks);
      const byGraph = new Map<string, string[]>();
      for (const t of tasks) {
        const g = this.running.get(t.id)!.graphs[0]!;
        byGraph.set(g, [...(byGraph.get(g) ?? []), t.key]);
      }
      for (const [g, keys] of byGraph) this.listener.taskStarted(g, keys, WORKER, thread);
    }
  }

  private runInline(graphId: string, spec: TaskSpec, inputs: Chunk[]): void {
    const out = this.buffers.take(spec.nbytes);
    // Same states as on a pool thread (no thread number: the scheduling thread ran it).
    this.listener.taskStarted(graphId, [spec.key], WORKER);
    const start = performance.timeOrigin + performance.now();
    try {
      const r = runTask(spec, inputs, out);
      if (r.unused) this.buffers.give(r.unused);
      this.executed++;
      this.chunks.put(spec.key, r.chunk, graphId);
      this.hold(graphId, spec.key);
      this.listener.taskFinished(graphId, spec.key, r.chunk.data.byteLength, { worker: WORKER, start, stop: performance.timeOrigin + performance.now() });
    } catch (e) {
      if (out) this.buffers.give(out);
      const err = e instanceof Error ? e : new Error(String(e));
      const error = serializeError(new TaskError(spec.key, spec.op, { name: err.name, message: err.message, stack: err.stack }));
      this.listener.taskFailed(graphId, spec.key, error, { worker: WORKER, start, stop: performance.timeOrigin + performance.now() });
    }
  }

  private onOutcome(thread: number, o: TaskOutcome): void {
    if (o.unused) this.buffers.give(o.unused);
    const r = this.running.get(o.id);
    if (!r) return;
    this.running.delete(o.id);
    this.runningByKey.delete(r.spec.key);
    if (!o.ok && 'skipped' in o) {
      queueMicrotask(() => this.pump());
      return;
    }
    this.executed++;
    const timing = { worker: WORKER, thread, start: o.start, stop: o.stop };
    if (o.ok) {
      // Nobody wants it any more (its graphs were cancelled): its buffer is free.
      if (r.graphs.length === 0 && o.chunk.data.buffer instanceof SharedArrayBuffer && o.chunk.data.byteOffset === 0) this.buffers.give(o.chunk.data.buffer);
      for (const g of r.graphs) {
        this.chunks.put(r.spec.key, o.chunk, g);
        this.hold(g, r.spec.key);
        this.listener.taskFinished(g, r.spec.key, o.chunk.data.byteLength, timing);
      }
    } else {
      const error = serializeError(new TaskError(r.spec.key, r.spec.op, o.error));
      for (const g of r.graphs) this.listener.taskFailed(g, r.spec.key, error, timing);
    }
    // Keep the pool fed once the outcomes of this message are handled.
    queueMicrotask(() => this.pump());
  }
}
