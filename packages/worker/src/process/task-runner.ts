import type { Chunk, NumericArray, TaskSpec } from '@tessera/protocol';
import type { BufferPool } from '../buffer-pool.js';
import type { DeviceChunk } from '../gpu/buffers.js';
import type { GpuRunner } from '../gpu/runner.js';
import type { PoolTask, RemoteErrorInfo, TaskOutcome } from '../pool/messages.js';
import { runTask } from '../pool/run-task.js';
import { ThreadPool } from '../pool/thread-pool.js';
import { leastLoadedThread, runsInline } from '../pool/thread-choice.js';

/** A task's input or result: a host chunk, or one in device memory (a GPU task's, not read back). */
export type Held = Chunk | DeviceChunk;

export function isDeviceChunk(c: Held): c is DeviceChunk {
  return 'buffer' in c;
}

export type RunResult =
  | { ok: true; chunk: Held; start: number; stop: number; thread?: number }
  | { ok: false; error: RemoteErrorInfo; start: number; stop: number; thread?: number };

interface Waiting {
  id: number;
  spec: TaskSpec;
  inputs: Chunk[];
  onStart: (thread: number, start: number) => void;
  resolve: (r: RunResult) => void;
}

const now = (): number => performance.timeOrigin + performance.now();

/**
 * Runs tasks the way the embedded engine does: tiny ones inline, `reshape` as a view of its
 * input (same buffer object, so the chunk store can tell when that buffer is free), the rest on
 * the least loaded pool thread, outputs written into recycled buffers. One key runs once at a
 * time: a second request for a key already running shares the first one's result.
 */
export class TaskRunner {
  private pool!: ThreadPool;
  private readonly waiting: Waiting[] = [];
  private readonly posted = new Map<number, Waiting>();
  private readonly byKey = new Map<string, Promise<RunResult>>();
  private pumpQueued = false;
  private nextId = 0;
  /** Kernel executions (reshape views included, shared results not). */
  executed = 0;
  /** The worker's GPU (`--gpu`): tasks marked for a GPU that it has a kernel for run there. */
  gpu: GpuRunner | undefined;
  /** Of `executed`, those run on the GPU. */
  gpuExecuted = 0;
  /** The host copy of a device chunk a CPU task reads (the worker's store reads it back once). */
  hostOf: (d: DeviceChunk) => Promise<Chunk> = async (d) => (await this.gpu!.readback([d]))[0]!;
  /**
   * Device copies of host chunks (GPU results, and inputs uploaded), by the host chunk's data:
   * the next GPU task on this worker that reads one finds it on the device, no upload. Least
   * recently used first out, within a quarter of the device's memory limit (256 MiB at most).
   */
  private readonly onDevice = new Map<NumericArray, DeviceChunk>();
  private onDeviceBytes = 0;

  private constructor(private readonly buffers: BufferPool) {}

  /** Rejects with PoolInitError when a kernel module does not load. */
  static async start(options: { threads: number; kernels: string[] }, buffers: BufferPool): Promise<TaskRunner> {
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

  /** `onStart` is called when the task is posted to a pool thread (not for inline tasks). */
  run(spec: TaskSpec, inputs: Held[], onStart: (thread: number, start: number) => void): Promise<RunResult> {
    const shared = this.byKey.get(spec.key);
    if (shared) return shared;
    const p = this.execute(spec, inputs, onStart).finally(() => this.byKey.delete(spec.key));
    this.byKey.set(spec.key, p);
    return p;
  }

  async close(): Promise<void> {
    await this.pool.close();
    for (const w of [...this.waiting, ...this.posted.values()]) {
      w.resolve({ ok: false, error: { name: 'Error', message: 'the worker is closing' }, start: now(), stop: now() });
    }
    this.waiting.length = 0;
    this.posted.clear();
  }

  private async execute(spec: TaskSpec, held: Held[], onStart: (thread: number, start: number) => void): Promise<RunResult> {
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
    if (spec.device && this.gpu?.usable && this.gpu.unsupported(spec, held) === undefined) {
      const r = await this.runGpu(spec, held);
      if (r) return r;
    }
    // On the CPU: inputs only in device memory come to the host first.
    const inputs = await Promise.all(held.map((c) => (isDeviceChunk(c) ? this.hostOf(c) : c)));
    if (runsInline(spec, inputs)) return this.runInline(spec, inputs);
    return new Promise((resolve) => {
      this.waiting.push({ id: this.nextId++, spec, inputs, onStart, resolve });
      this.schedulePump();
    });
  }

  /**
   * On the GPU: host inputs uploaded (device ones read in place), the kernel run, the result left
   * in device memory for the worker's store (it is read back only when the host needs it).
   * Undefined when the device failed: the task then runs on the CPU (results agree within the GPU
   * kernels' tolerances).
   */
  private async runGpu(spec: TaskSpec, inputs: Held[]): Promise<RunResult | undefined> {
    const gpu = this.gpu!;
    const start = now();
    const dev = inputs.map((c) => {
      if (!isDeviceChunk(c)) return this.deviceInput(c);
      c.buffer.refs++;
      return c;
    });
    try {
      const out = await gpu.run(spec, dev);
      const chunk: Held = out.host !== undefined ? out.host : out.device;
      this.executed++;
      this.gpuExecuted++;
      return { ok: true, chunk, start, stop: now() };
    } catch (e) {
      process.emitWarning(`tessera worker: GPU task ${spec.key} failed, running it on the CPU: ${(e as Error).message}`, {
        code: 'TESSERA_GPU_FALLBACK',
      });
      return undefined;
    } finally {
      for (const d of dev) gpu.release(d);
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
    this.trimDevice();
    // A reshape is the same data under another shape: a view of the same device buffer.
    if (d.shape.length !== c.shape.length || d.shape.some((n, i) => n !== c.shape[i])) return gpu.view(d, c.shape);
    d.buffer.refs++;
    return d;
  }

  /** A device chunk's host copy was made: the device copy stays as its cache (this takes its reference). */
  keepOnDevice(data: NumericArray, d: DeviceChunk): void {
    const old = this.onDevice.get(data);
    if (old) {
      this.onDevice.delete(data);
      this.onDeviceBytes -= old.nbytes;
      this.gpu?.release(old);
    }
    this.onDevice.set(data, d);
    this.onDeviceBytes += d.nbytes;
    this.trimDevice();
  }

  private trimDevice(): void {
    // Bounded on the host too: an entry keeps its host chunk's memory from the garbage collector.
    const limit = Math.min((this.gpu?.info.memoryLimit ?? 0) / 4, 256 * 2 ** 20);
    for (const [data, d] of this.onDevice) {
      if (this.onDeviceBytes <= limit || this.onDevice.size <= 1) break;
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
    while (this.waiting.length > 0) {
      const w = this.waiting[0]!;
      const thread = leastLoadedThread(this.pool, w.spec, (t) => batches.get(t)?.length ?? 0);
      if (thread < 0) break;
      this.waiting.shift();
      this.posted.set(w.id, w);
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
      // Never cancelled here; kept total so a waiting job cannot hang.
      w.resolve({ ok: false, error: { name: 'Error', message: 'skipped by the pool' }, start: o.start, stop: o.stop, thread });
    } else {
      this.executed++;
      w.resolve({ ok: false, error: o.error, start: o.start, stop: o.stop, thread });
    }
    this.schedulePump();
  }
}
