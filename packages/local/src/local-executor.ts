import { ChunkLostError, TaskError, serializeError, type Chunk, type TaskSpec } from '@tessera/protocol';
import {
  BufferPool,
  ChunkStore,
  ThreadPool,
  leastLoadedThread,
  runTask,
  runsInline,
  type DeviceChunk,
  type GpuOutput,
  type PoolTask,
  type TaskOutcome,
  type ThreadPoolOptions,
} from '@tessera/worker';
import { ReadyQueue, type ExecutionListener, type Executor, type ReadyItem } from '@tessera/scheduler';
import type { DeviceStore } from './device-store.js';
import { LocalGpu, type GpuExecutorOptions, type GpuExecutorStats } from './local-gpu.js';

export type { GpuExecutorOptions, GpuExecutorStats } from './local-gpu.js';

const WORKER = 'local';
/** Freed chunk buffers kept for reuse as task outputs. */
const BUFFER_POOL_BYTES = 256 * 2 ** 20;
/** GPU tasks submitted and not finished: enough to overlap uploads, compute and readbacks. */
const GPU_IN_FLIGHT = 4;

interface Running {
  spec: TaskSpec;
  /** Graphs waiting for this key (graphs that share keys share the execution). */
  graphs: string[];
}

/**
 * Runs the core's ready tasks on a worker_threads pool, highest priority first, and keeps their
 * chunks in a ChunkStore on SharedArrayBuffers (threads read inputs and write outputs in place);
 * GPU-marked tasks run on the device, which LocalGpu holds with its chunks.
 */
export class LocalExecutor implements Executor {
  private readonly buffers = new BufferPool(BUFFER_POOL_BYTES);
  readonly chunks = new ChunkStore((b) => this.buffers.give(b));
  /** The device, its chunks and the copies to and from it (see LocalGpu). */
  private readonly gpu = new LocalGpu(this.chunks);
  /** Chunks made on the GPU, left there until a CPU task or the client reads them. */
  readonly device: DeviceStore = this.gpu.device;
  private gpuInFlight = 0;
  private readonly gpuBacklog: ReadyItem[] = [];
  /** Tasks waiting for device chunks to be read back to the host. */
  private readonly hostWaiters: ReadyItem[] = [];
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

  async start(options: ThreadPoolOptions, gpu: GpuExecutorOptions = {}): Promise<void> {
    this.gpu.configure(gpu);
    this.pool = await ThreadPool.start(options, (thread, o) => this.onOutcome(thread, o));
    if (this.gpu.mode === true) {
      const r = await this.ensureGpu();
      if (!r.ok) process.emitWarning(`tessera: no GPU, running on the CPU only: ${r.reason}`, { code: 'TESSERA_NO_GPU' });
    }
  }

  /** Open the device if it is not open yet; says why not when there is none. */
  ensureGpu(): Promise<{ ok: true } | { ok: false; reason: string }> {
    return this.gpu.ensure();
  }

  gpuStats(): GpuExecutorStats | undefined {
    return this.gpu.stats();
  }

  /** GPU tasks run since start. */
  get gpuExecuted(): number {
    return this.gpu.executed;
  }

  /** Chunks held, each key once (a key on both the host and the device counts once). */
  held(): { count: number; bytes: number } {
    let count = this.chunks.count;
    let bytes = this.chunks.nbytes;
    for (const k of this.device.lru(new Set())) {
      if (this.chunks.has(k)) continue;
      count++;
      bytes += this.device.get(k)!.nbytes;
    }
    return { count, bytes };
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
      this.release(k, graphId);
    }
  }

  /** A graph stops holding a key, on the host and on the device. */
  private release(key: string, graphId: string): void {
    this.chunks.release(key, graphId);
    this.device.release(key, graphId);
    this.gpu.dropStaleUpload(key);
  }

  unpin(key: string): void {
    this.chunks.unpin(key);
    this.device.unpin(key);
    this.gpu.dropStaleUpload(key);
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
    for (const k of pin) {
      this.chunks.pin(k);
      this.device.pin(k);
    }
    for (const k of this.heldBy.get(graphId) ?? []) this.release(k, graphId);
    this.heldBy.delete(graphId);
  }

  /** Output chunks on the host: those only on the device are read back first, in one batch. */
  async gather(keys: readonly string[]): Promise<Chunk[]> {
    const onDevice = [...new Set(keys.filter((k) => !this.chunks.has(k) && this.device.has(k)))];
    if (onDevice.length) await this.gpu.readBack(onDevice);
    return keys.map((k) => {
      const c = this.chunks.get(k);
      if (!c) throw new ChunkLostError(k);
      return c;
    });
  }

  async close(): Promise<void> {
    await this.pool.close();
    await this.gpu.close();
  }

  private hold(graphId: string, key: string): void {
    let s = this.heldBy.get(graphId);
    if (!s) this.heldBy.set(graphId, (s = new Set()));
    s.add(key);
  }

  private now(): number {
    return performance.timeOrigin + performance.now();
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
      const { graphId, spec } = item;
      // Already held (persisted, or computed for another graph), on the host or the device: nothing to run.
      const onHost = this.chunks.hold(spec.key, graphId);
      const onDevice = this.device.hold(spec.key, graphId);
      if (onHost || onDevice) {
        this.queue.pop();
        this.hold(graphId, spec.key);
        const now = this.now();
        this.listener.taskFinished(graphId, spec.key, spec.nbytes, { worker: WORKER, start: now, stop: now });
        continue;
      }
      if (spec.op === 'persisted') {
        this.queue.pop();
        const now = this.now();
        this.listener.taskFailed(graphId, spec.key, serializeError(new ChunkLostError(spec.key)), { worker: WORKER, start: now, stop: now });
        continue;
      }
      const shared = this.runningByKey.get(spec.key);
      if (shared) {
        this.queue.pop();
        shared.graphs.push(graphId);
        continue;
      }
      const lost = spec.deps.find((d) => !this.chunks.has(d) && !this.device.has(d));
      if (lost !== undefined) {
        this.queue.pop();
        const now = this.now();
        this.listener.taskFailed(graphId, spec.key, serializeError(new ChunkLostError(lost)), { worker: WORKER, start: now, stop: now });
        continue;
      }
      if (spec.op === 'reshape') {
        this.queue.pop();
        this.reshape(graphId, spec);
        continue;
      }
      if (this.gpu.use(spec)) {
        this.queue.pop();
        if (this.gpuInFlight >= GPU_IN_FLIGHT) this.gpuBacklog.push(item);
        else this.runGpu(item);
        continue;
      }
      // A CPU task reads host chunks: those only on the device come back first.
      const away = spec.deps.filter((d) => !this.chunks.has(d));
      if (away.length) {
        this.queue.pop();
        this.hostWaiters.push(item);
        void this.gpu.readBack(away).finally(() => this.wakeHostWaiters());
        continue;
      }
      const inputs = spec.deps.map((d) => this.chunks.get(d)!);
      const inline = runsInline(spec, inputs);
      const thread = inline ? -1 : leastLoadedThread(this.pool, spec, (t) => batches.get(t)?.length ?? 0);
      if (!inline && thread < 0) break;
      this.queue.pop();
      if (inline) {
        this.runInline(graphId, spec, inputs);
        continue;
      }
      const id = this.nextId++;
      const r: Running = { spec, graphs: [graphId] };
      this.running.set(id, r);
      this.runningByKey.set(spec.key, r);
      const batch = batches.get(thread) ?? [];
      const out = this.buffers.take(spec.nbytes);
      batch.push({ id, key: spec.key, op: spec.op, params: spec.params, shape: spec.shape, dtype: spec.dtype, inputs, out });
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

  /** A view with a new shape, where its input is: the very buffer object on the host, or the device buffer. */
  private reshape(graphId: string, spec: TaskSpec): void {
    const dep = spec.deps[0]!;
    const input = this.chunks.get(dep);
    if (input) {
      this.chunks.put(spec.key, { dtype: input.dtype, shape: [...spec.shape], data: input.data }, graphId);
    } else {
      this.device.put(spec.key, this.gpu.runner!.view(this.device.get(dep)!, spec.shape), graphId);
    }
    this.hold(graphId, spec.key);
    const now = this.now();
    this.executed++;
    this.listener.taskFinished(graphId, spec.key, spec.nbytes, { worker: WORKER, start: now, stop: now });
  }

  // ---- the GPU --------------------------------------------------------------------------------

  private runGpu(item: ReadyItem): void {
    const { graphId, spec } = item;
    const gpu = this.gpu.runner!;
    const id = this.nextId++;
    const r: Running = { spec, graphs: [graphId] };
    this.running.set(id, r);
    this.runningByKey.set(spec.key, r);
    this.gpuInFlight++;
    this.gpu.markBusy(spec.deps);
    this.listener.taskStarted(graphId, [spec.key], WORKER);
    const start = this.now();
    const done = (out: GpuOutput | undefined, error: unknown): void => {
      this.gpuInFlight--;
      this.gpu.unmarkBusy(spec.deps);
      this.running.delete(id);
      this.runningByKey.delete(spec.key);
      if (!out) {
        // The same task on the CPU: results agree within the kernels' tolerances.
        this.gpu.fallBack(spec.key, error);
        for (const g of r.graphs) if (this.graphSeq.has(g)) this.queue.push({ graphId: g, graphSeq: this.graphSeq.get(g)!, spec });
      } else {
        this.executed++;
        this.gpu.executed++;
        const timing = { worker: WORKER, start, stop: this.now() };
        if (r.graphs.length === 0) {
          if (out.device) gpu.release(out.device);
        }
        for (const g of r.graphs) {
          if (out.device) this.device.put(spec.key, out.device, g);
          else this.chunks.put(spec.key, out.host, g);
          this.hold(g, spec.key);
          this.listener.taskFinished(g, spec.key, spec.nbytes, timing);
        }
      }
      for (const b of this.gpuBacklog.splice(0)) this.queue.push(b);
      queueMicrotask(() => this.pump());
    };
    let inputs: DeviceChunk[];
    try {
      inputs = spec.deps.map((d) => this.gpu.input(d));
    } catch (e) {
      queueMicrotask(() => done(undefined, e));
      return;
    }
    gpu.run(spec, inputs).then(
      (out) => done(out, undefined),
      (e: unknown) => done(undefined, e),
    );
  }

  private wakeHostWaiters(): void {
    const waiting = this.hostWaiters.splice(0);
    for (const item of waiting) {
      if (item.spec.deps.some((d) => this.gpu.isReadingBack(d))) this.hostWaiters.push(item);
      else this.queue.push(item);
    }
    queueMicrotask(() => this.pump());
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
