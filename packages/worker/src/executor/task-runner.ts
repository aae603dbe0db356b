import { Heap, type Chunk, type ChunkData, type TaskSpec } from '@tessera/protocol';
import type { BufferPool } from '../buffer-pool.js';
import type { DeviceChunk } from '../gpu/buffers.js';
import type { GpuRunner } from '../gpu/runner.js';
import type { PoolTask, RemoteErrorInfo, TaskOutcome } from '../pool/messages.js';
import { runTask } from '../pool/run-task.js';
import { ThreadPool, type ThreadPoolOptions } from '../pool/thread-pool.js';
import { leastLoadedThread, runsInline } from '../pool/thread-choice.js';

/** A task's input or result: a host chunk, or one in device memory (a GPU task's, not read back). */
export type Held = Chunk | DeviceChunk;

export function isDeviceChunk(c: Held): c is DeviceChunk {
  return 'buffer' in c;
}

export type RunResult =
  | { ok: true; chunk: Held; start: number; stop: number; thread?: number }
  | { ok: false; error: RemoteErrorInfo; start: number; stop: number; thread?: number; cancelled?: true };

/** Where a task stands in line for a thread: lower first (rank, then priority, then arrival). */
export interface RunOrder {
  rank: number;
  priority: number;
}

type StartHook = (thread: number, start: number) => void;

interface Waiting {
  id: number;
  order: RunOrder;
  spec: TaskSpec;
  inputs: Chunk[];
  onStart: StartHook;
  resolve: (r: RunResult) => void;
  cancelled?: true;
}

const now = (): number => performance.timeOrigin + performance.now();
const closing = (): RunResult => ({ ok: false, error: { name: 'Error', message: 'the executor is closing' }, start: now(), stop: now() });
const FIFO: RunOrder = { rank: 0, priority: 0 };
const before = (a: { id: number; order: RunOrder }, b: { id: number; order: RunOrder }): boolean =>
  a.order.rank !== b.order.rank
    ? a.order.rank < b.order.rank
    : a.order.priority !== b.order.priority
      ? a.order.priority < b.order.priority
      : a.id < b.id;
/** GPU tasks submitted and not finished: enough to overlap uploads, compute and readbacks. */
const GPU_IN_FLIGHT = 4;

/**
 * Runs tasks on this process's thread pool or GPU, for the worker process and the embedded
 * engine alike: tiny ones inline, `reshape` as a view of its input (same buffer object, so the
 * chunk store can tell when that buffer is free), GPU-marked ones on the device when it has a
 * kernel for them, the rest on the least loaded pool thread in `RunOrder`, outputs written into
 * recycled buffers. One key runs once at a time: a second request for a running key shares the
 * first one's result.
 */
export class TaskRunner {
  private pool!: ThreadPool;
  private readonly waiting = new Heap<Waiting>(before);
  private readonly posted = new Map<number, Waiting>();
  private readonly byKey = new Map<string, { id: number; result: Promise<RunResult>; cancel?: () => void }>();
  private pumpQueued = false;
  private nextId = 0;
  /** Kernel executions (reshape views included, shared results not). */
  executed = 0;
  /** The GPU: tasks marked for a GPU that it has a kernel for run there. */
  gpu: GpuRunner | undefined;
  /** `device: 'auto'` tasks run on a software adapter too (else only `device: 'gpu'` ones do). */
  autoOnSoftwareGpu = true;
  /** Of `executed`, those run on the GPU. */
  gpuExecuted = 0;
  private gpuInFlight = 0;
  /** GPU tasks submitted and not finished, and those waiting for a place. */
  get gpuRunning(): number {
    return this.gpuInFlight + this.gpuWaiting.size;
  }
  private readonly gpuWaiting = new Heap<{ id: number; order: RunOrder; go: () => void }>(before);
  private warnedFallback = false;
  private closed = false;
  /** The host copy of a device chunk a CPU task reads (the chunk store reads it back once). */
  hostOf: (d: DeviceChunk) => Promise<Chunk> = async (d) => (await this.gpu!.readback([d]))[0]!;
  /**
   * Device copies of host chunks (GPU results read back, and inputs uploaded), by the host
   * chunk's data: the next GPU task that reads one finds it on the device, no upload. Least
   * recently used first out, within a quarter of the device's memory limit (256 MiB at most).
   */
  private readonly onDevice = new Map<ChunkData, DeviceChunk>();
  private onDeviceBytes = 0;

  private constructor(private readonly buffers: BufferPool) {}

  /** Rejects with PoolInitError when a kernel module does not load. */
  static async start(options: ThreadPoolOptions, buffers: BufferPool): Promise<TaskRunner> {
    const r = new TaskRunner(buffers);
    r.pool = await ThreadPool.start(options, (thread, o) => r.onOutcome(thread, o));
    return r;
  }

  get threads(): number {
    return this.pool.size;
  }

  /** Tasks executing or waiting for a thread. */
  get running(): number {
    return this.byKey.size;
  }

  /** `onStart` is called when the task is posted to a pool thread (not for inline or GPU tasks). */
  run(spec: TaskSpec, inputs: Held[], onStart: StartHook, order: RunOrder = FIFO): Promise<RunResult> {
    const shared = this.byKey.get(spec.key);
    if (shared) return shared.result;
    const entry: { id: number; result: Promise<RunResult>; cancel?: () => void } = { id: this.nextId++, result: undefined as never };
    entry.result = this.execute(entry, spec, inputs, onStart, order).finally(() => this.byKey.delete(spec.key));
    this.byKey.set(spec.key, entry);
    return entry.result;
  }

  /** Nobody wants this key's result any more: drop it from the line, or skip it on its thread if it has not begun. */
  cancel(key: string): void {
    const e = this.byKey.get(key);
    if (!e) return;
    if (e.cancel) e.cancel();
    else if (this.posted.has(e.id)) this.pool.cancel(e.id);
  }

  /** Whether a task marked for a GPU would run on this one (a kernel for it, its inputs' dtypes and sizes). */
  onGpu(spec: TaskSpec, inputs: readonly { dtype: Chunk['dtype']; shape: readonly number[] }[]): boolean {
    const g = this.gpu;
    if (!spec.device || !g?.usable) return false;
    if (spec.device === 'auto' && g.info.fallback && !this.autoOnSoftwareGpu) return false;
    return g.unsupported(spec, inputs) === undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.pool.close();
    for (let w = this.waiting.pop(); w; w = this.waiting.pop()) w.resolve(closing());
    for (const w of this.posted.values()) w.resolve(closing());
    this.posted.clear();
    for (let g = this.gpuWaiting.pop(); g; g = this.gpuWaiting.pop()) g.go();
    this.clearDeviceCache();
  }

  private async execute(
    entry: { id: number; cancel?: () => void },
    spec: TaskSpec,
    held: Held[],
    onStart: StartHook,
    order: RunOrder,
  ): Promise<RunResult> {
    const first = held[0];
    if (spec.op === 'reshape' && first) {
      const t = now();
      this.executed++;
      // Same data under another shape: a view of the same host or device buffer.
      const chunk = isDeviceChunk(first)
        ? this.gpu!.view(first, spec.shape)
        : { dtype: first.dtype, shape: [...spec.shape], data: first.data };
      return { ok: true, chunk, start: t, stop: t };
    }
    if (this.onGpu(spec, held)) {
      const r = await this.runGpu(entry, spec, held, order);
      if (r) return r;
    }
    // On the CPU: inputs only in device memory come to the host first.
    const inputs = await Promise.all(held.map((c) => (isDeviceChunk(c) ? this.hostOf(c) : c)));
    if (this.closed) return closing();
    if (runsInline(spec, inputs)) return this.runInline(spec, inputs);
    return new Promise((resolve) => {
      const w: Waiting = { id: entry.id, order, spec, inputs, onStart, resolve };
      entry.cancel = () => {
        w.cancelled = true;
        delete entry.cancel;
        resolve({ ok: false, error: { name: 'Error', message: 'cancelled' }, start: now(), stop: now(), cancelled: true });
      };
      this.waiting.push(w);
      this.schedulePump();
    });
  }

  /**
   * On the GPU (at most GPU_IN_FLIGHT at once, in `RunOrder`): host inputs uploaded (device ones
   * read in place), the kernel run, the result left in device memory for the chunk store (it is
   * read back only when the host needs it). Undefined when the device failed: the task then runs
   * on the CPU (results agree within the GPU kernels' tolerances).
   */
  private async runGpu(entry: { id: number }, spec: TaskSpec, inputs: Held[], order: RunOrder): Promise<RunResult | undefined> {
    const gpu = this.gpu!;
    // Device inputs are referenced now: an eviction while this waits for a slot cannot free them.
    const ref = inputs.map((c) => isDeviceChunk(c) && (c.buffer.refs++, true));
    if (this.gpuInFlight >= GPU_IN_FLIGHT) await new Promise<void>((go) => this.gpuWaiting.push({ id: entry.id, order, go }));
    if (this.closed) {
      inputs.forEach((c, i) => ref[i] && gpu.release(c as DeviceChunk));
      return closing();
    }
    this.gpuInFlight++;
    const dev: DeviceChunk[] = [];
    const start = now();
    try {
      inputs.forEach((c, i) => dev.push(ref[i] ? (c as DeviceChunk) : this.deviceInput(c as Chunk)));
      const out = await gpu.run(spec, dev);
      this.executed++;
      this.gpuExecuted++;
      return { ok: true, chunk: out.host !== undefined ? out.host : out.device, start, stop: now() };
    } catch (e) {
      if (!this.warnedFallback) {
        this.warnedFallback = true;
        process.emitWarning(
          `tessera: GPU task ${spec.key} failed, running it (and any other that fails) on the CPU: ${(e as Error).message}`,
          {
            code: 'TESSERA_GPU_FALLBACK',
          },
        );
      }
      return undefined;
    } finally {
      for (const d of dev) gpu.release(d);
      inputs.forEach((c, i) => ref[i] && dev.length <= i && gpu.release(c as DeviceChunk));
      this.gpuInFlight--;
      this.gpuWaiting.pop()?.go();
    }
  }

  /** The device copy of an input (kept, or uploaded now and kept), with a reference for the task. */
  private deviceInput(c: Chunk): DeviceChunk {
    const gpu = this.gpu!;
    let d = this.onDevice.get(c.data);
    if (d) this.onDevice.delete(c.data);
    else {
      d = gpu.upload(c);
      this.onDeviceBytes += d.nbytes;
    }
    this.onDevice.set(c.data, d);
    this.trimDevice(this.deviceCacheLimit());
    // A reshape is the same data under another shape: a view of the same device buffer.
    if (d.shape.length !== c.shape.length || d.shape.some((n, i) => n !== c.shape[i])) return gpu.view(d, c.shape);
    d.buffer.refs++;
    return d;
  }

  /** A device chunk's host copy was made: the device copy stays as its cache (this takes its reference). */
  keepOnDevice(data: ChunkData, d: DeviceChunk): void {
    const old = this.onDevice.get(data);
    if (old) {
      this.onDevice.delete(data);
      this.onDeviceBytes -= old.nbytes;
      this.gpu?.release(old);
    }
    this.onDevice.set(data, d);
    this.onDeviceBytes += d.nbytes;
    this.trimDevice(this.deviceCacheLimit());
  }

  /** Device memory is short: drop cached copies of host chunks first (oldest first); returns the bytes let go. */
  evictDeviceCache(bytes: number): number {
    const had = this.onDeviceBytes;
    this.trimDevice(Math.max(0, had - bytes), true);
    return had - this.onDeviceBytes;
  }

  clearDeviceCache(): void {
    this.trimDevice(0, true);
  }

  private deviceCacheLimit(): number {
    // Bounded on the host too: an entry keeps its host chunk's memory from the garbage collector.
    return Math.min((this.gpu?.info.memoryLimit ?? 0) / 4, 256 * 2 ** 20);
  }

  private trimDevice(limit: number, all = false): void {
    for (const [data, d] of this.onDevice) {
      if (this.onDeviceBytes <= limit || (!all && this.onDevice.size <= 1)) break;
      this.onDevice.delete(data);
      this.onDeviceBytes -= d.nbytes;
      this.gpu?.release(d);
    }
  }

  private runInline(spec: TaskSpec, inputs: Chunk[]): RunResult {
    const out = this.buffers.take(spec.nbytes);
    const start = now();
    try {
      // Trusted: the scheduler ran validateGraph on the graph; kernels still check what they index with.
      const r = runTask(spec, inputs, out);
      if (r.unused) this.buffers.give(r.unused);
      this.executed++;
      return { ok: true, chunk: r.chunk, start, stop: now() };
    } catch (e) {
      if (out) this.buffers.give(out);
      this.executed++;
      const err = e instanceof Error ? e : new Error(String(e));
      return { ok: false, error: { name: err.name, message: err.message, stack: err.stack }, start, stop: now() };
    }
  }

  /** Tasks of one macrotask go out together, one message per thread. */
  private schedulePump(): void {
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    queueMicrotask(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  private pump(): void {
    const batches = new Map<number, PoolTask[]>();
    for (;;) {
      const w = this.waiting.peek();
      if (!w) break;
      if (w.cancelled) {
        this.waiting.pop();
        continue;
      }
      const thread = leastLoadedThread(this.pool, w.spec, (t) => batches.get(t)?.length ?? 0);
      if (thread < 0) break;
      this.waiting.pop();
      this.posted.set(w.id, w);
      const entry = this.byKey.get(w.spec.key);
      if (entry) delete entry.cancel;
      const { spec } = w;
      const batch = batches.get(thread) ?? [];
      batch.push({
        id: w.id,
        key: spec.key,
        op: spec.op,
        params: spec.params,
        shape: spec.shape,
        dtype: spec.dtype,
        inputs: w.inputs,
        out: this.buffers.take(spec.nbytes),
      });
      batches.set(thread, batch);
    }
    const start = now();
    for (const [thread, tasks] of batches) {
      // Started before posted: a `started` written at once is out before the kernel can run.
      for (const t of tasks) this.posted.get(t.id)?.onStart(thread, start);
      this.pool.post(thread, tasks);
    }
  }

  private onOutcome(thread: number, o: TaskOutcome): void {
    if (o.unused) this.buffers.give(o.unused);
    const w = this.posted.get(o.id);
    if (!w) return;
    this.posted.delete(o.id);
    if (o.ok) {
      this.executed++;
      w.resolve({ ok: true, chunk: o.chunk, start: o.start, stop: o.stop, thread });
    } else if ('skipped' in o) {
      // Cancelled before its thread began it: the output buffer it was given is free again.
      w.resolve({ ok: false, error: { name: 'Error', message: 'cancelled' }, start: o.start, stop: o.stop, thread, cancelled: true });
    } else {
      this.executed++;
      w.resolve({ ok: false, error: o.error, start: o.start, stop: o.stop, thread });
    }
    this.schedulePump();
  }
}
