import { ChunkLostError, TaskError, serializeError, type Chunk, type TaskSpec } from '@tessera/protocol';
import {
  InProcessExecutor,
  isDeviceChunk,
  type GpuExecutorStats,
  type GpuReadiness,
  type Held,
  type ResultCacheOptions,
  type ResultCacheStats,
  type RunResult,
  type ThreadPoolOptions,
} from '@tessera/worker';
import type { ExecutionListener, Executor } from '@tessera/scheduler';

export type { GpuExecutorStats } from '@tessera/worker';

export interface GpuExecutorOptions {
  /**
   * true: open the device at start (no adapter: a warning, and CPU only); 'auto' (default): open
   * it when a graph first has GPU-marked tasks (a software adapter then serves only 'gpu' tasks,
   * not 'auto' ones); false: never (graphs that need a GPU fail with NoGpuError).
   */
  gpu?: boolean | 'auto';
  /** Bytes of device memory for chunks (default: the device's guess, see openGpu). */
  gpuMemoryLimit?: number;
  /** float16 storage with float32 accumulation. */
  gpuF16?: boolean;
}

const WORKER = 'local';

interface Running {
  /** Graphs waiting for this key (graphs that share keys share the execution). */
  graphs: string[];
  started: boolean;
}

/**
 * The core's executor in the embedded engine: a thin adapter over the worker's InProcessExecutor
 * (the same thread pool, GPU and chunk store a worker process drives). It turns ready tasks into
 * runs, in (graph submission order, static priority) order, and makes each graph a holder of the
 * chunks its tasks made, so the core's frees and releases are the store's holder accounting.
 */
export class LocalExecutor implements Executor {
  private exec!: InProcessExecutor;
  private readonly running = new Map<string, Running>();
  private readonly graphSeq = new Map<string, number>();
  private readonly heldBy = new Map<string, Set<string>>();
  /** Keys posted to pool threads in this turn, by graph and thread: one `taskStarted` each. */
  private startedBatch = new Map<string, { graph: string; thread: number; keys: string[] }>();
  private seq = 0;

  constructor(private readonly listener: ExecutionListener) {}

  async start(options: ThreadPoolOptions, gpu: GpuExecutorOptions = {}, cache?: ResultCacheOptions): Promise<void> {
    const mode = gpu.gpu ?? 'auto';
    this.exec = await InProcessExecutor.start({
      threads: options.threads,
      kernels: options.kernels ?? [],
      gpu: mode,
      ...(gpu.gpuMemoryLimit !== undefined ? { gpuMemoryLimit: gpu.gpuMemoryLimit } : {}),
      ...(gpu.gpuF16 !== undefined ? { gpuF16: gpu.gpuF16 } : {}),
      ...(cache ? { cache } : {}),
    });
    if (mode === true) {
      const r = this.exec.gpuReadiness();
      if (!r.ok) process.emitWarning(`tessera: no GPU, running on the CPU only: ${r.reason}`, { code: 'TESSERA_NO_GPU' });
    }
  }

  /** Open the device if it is not open yet; says why not when there is none. */
  ensureGpu(): Promise<GpuReadiness> {
    return this.exec.ensureGpu();
  }

  gpuStats(): GpuExecutorStats | undefined {
    return this.exec.gpuStats();
  }

  cacheStats(): ResultCacheStats | undefined {
    return this.exec.cacheStats();
  }

  get executed(): number {
    return this.exec.executed;
  }

  /** GPU tasks run since start. */
  get gpuExecuted(): number {
    return this.exec.gpuExecuted;
  }

  /** Chunks held, each key once (on the host or the device). */
  held(): { count: number; bytes: number } {
    return { count: this.exec.chunks.count, bytes: this.exec.chunks.nbytes };
  }

  get threads(): number {
    return this.exec.threads;
  }

  run(graphId: string, tasks: readonly TaskSpec[]): void {
    let graphSeq = this.graphSeq.get(graphId);
    if (graphSeq === undefined) this.graphSeq.set(graphId, (graphSeq = this.seq++));
    void this.listener.tasksQueued(
      graphId,
      tasks.map((t) => t.key),
      WORKER,
    );
    for (const spec of tasks) this.dispatch(graphId, graphSeq, spec);
  }

  free(graphId: string, keys: readonly string[]): void {
    const held = this.heldBy.get(graphId);
    for (const k of keys) {
      held?.delete(k);
      this.exec.chunks.release(k, graphId);
    }
  }

  unpin(key: string): void {
    this.exec.chunks.unpin(key);
  }

  cancel(graphId: string): void {
    this.graphSeq.delete(graphId);
    for (const [key, r] of this.running) {
      r.graphs = r.graphs.filter((g) => g !== graphId);
      // Still waiting for a thread and wanted by no other graph: it is not run.
      if (r.graphs.length === 0) this.exec.cancel(key);
    }
  }

  /** Drop every chunk a graph holds; `pin` keeps these keys alive (persisted outputs). */
  releaseGraph(graphId: string, pin: readonly string[] = []): void {
    this.cancel(graphId);
    for (const k of pin) this.exec.chunks.pin(k);
    for (const k of this.heldBy.get(graphId) ?? []) this.exec.chunks.release(k, graphId);
    this.heldBy.delete(graphId);
  }

  /** Output chunks on the host: those only on the device are read back first, in one batch. */
  async gather(keys: readonly string[]): Promise<Chunk[]> {
    const chunks = await this.exec.gather(keys);
    return chunks.map((c, i) => {
      if (!c) throw new ChunkLostError(keys[i]!);
      return c;
    });
  }

  async close(): Promise<void> {
    await this.exec.close();
  }

  private hold(graphId: string, key: string): void {
    let s = this.heldBy.get(graphId);
    if (!s) this.heldBy.set(graphId, (s = new Set()));
    s.add(key);
  }

  private now(): number {
    return performance.timeOrigin + performance.now();
  }

  private dispatch(graphId: string, graphSeq: number, spec: TaskSpec): void {
    const { chunks } = this.exec;
    const instant = (): { worker: string; start: number; stop: number } => {
      const t = this.now();
      return { worker: WORKER, start: t, stop: t };
    };
    // Already held (persisted, or computed for another graph), on the host or the device: nothing to run.
    if (chunks.hold(spec.key, graphId)) {
      this.hold(graphId, spec.key);
      this.listener.taskFinished(graphId, spec.key, spec.nbytes, instant());
      return;
    }
    if (spec.op === 'persisted') {
      this.listener.taskFailed(graphId, spec.key, serializeError(new ChunkLostError(spec.key)), instant());
      return;
    }
    const shared = this.running.get(spec.key);
    if (shared) {
      shared.graphs.push(graphId);
      return;
    }
    const inputs: Held[] = [];
    for (const d of spec.deps) {
      const c = chunks.get(d);
      if (!c) {
        this.listener.taskFailed(graphId, spec.key, serializeError(new ChunkLostError(d)), instant());
        return;
      }
      inputs.push(c);
    }
    const r: Running = { graphs: [graphId], started: false };
    this.running.set(spec.key, r);
    const onStart = (thread: number): void => {
      r.started = true;
      for (const g of r.graphs) this.noteStarted(g, thread, spec.key);
    };
    void this.exec.run(spec, inputs, onStart, { rank: graphSeq, priority: spec.priority }).then((res) => this.settle(spec, r, res));
  }

  /** Pool threads' starts go to the core in one call per graph and thread. */
  private noteStarted(graph: string, thread: number, key: string): void {
    if (this.startedBatch.size === 0) queueMicrotask(() => this.flushStarted());
    const id = `${graph}\0${thread}`;
    const b = this.startedBatch.get(id);
    if (b) b.keys.push(key);
    else this.startedBatch.set(id, { graph, thread, keys: [key] });
  }

  private flushStarted(): void {
    const batch = this.startedBatch;
    this.startedBatch = new Map();
    for (const b of batch.values()) this.listener.taskStarted(b.graph, b.keys, WORKER, b.thread);
  }

  private settle(spec: TaskSpec, r: Running, res: RunResult): void {
    this.running.delete(spec.key);
    if (!res.ok && res.cancelled) {
      // A graph that asked for the key after it was cancelled still gets it.
      for (const g of r.graphs) {
        const seq = this.graphSeq.get(g);
        if (seq !== undefined) this.dispatch(g, seq, spec);
      }
      return;
    }
    // Inline, GPU and view tasks were never posted to a thread: they start as they finish.
    if (!r.started) {
      this.flushStarted();
      for (const g of r.graphs) this.listener.taskStarted(g, [spec.key], WORKER);
    }
    const timing = { worker: WORKER, ...(res.thread === undefined ? {} : { thread: res.thread }), start: res.start, stop: res.stop };
    if (!res.ok) {
      const error = serializeError(new TaskError(spec.key, spec.op, res.error, WORKER));
      for (const g of r.graphs) this.listener.taskFailed(g, spec.key, error, timing);
      return;
    }
    // Nobody wants it any more (its graphs were cancelled): its memory is free at once.
    if (r.graphs.length === 0) this.exec.discard(spec.key, res.chunk);
    const nbytes = isDeviceChunk(res.chunk) ? spec.nbytes : res.chunk.data.byteLength;
    for (const g of r.graphs) {
      this.exec.keep(spec.key, res.chunk, g);
      this.hold(g, spec.key);
      this.listener.taskFinished(g, spec.key, nbytes, timing);
    }
  }
}
