import { isCacheable, type Chunk, type Dtype, type GpuInfo, type TaskSpec, type WorkerHeartbeat } from '@tessera/protocol';
import { totalmem } from 'node:os';
import { BufferPool } from '../buffer-pool.js';
import { GpuRunner } from '../gpu/runner.js';
import { ChunkStore } from './chunk-store.js';
import { TaskRunner, isDeviceChunk, type Held, type RunOrder, type RunResult } from './task-runner.js';
import { WorkerChunks, type SpillOptions } from './worker-chunks.js';
import { ResultCache, type ResultCacheOptions, type ResultCacheStats } from './result-cache.js';

export interface ExecutorOptions {
  /** Pool threads; default: the machine's cores. */
  threads?: number | undefined;
  /** Modules (paths or URLs) that call registerKernel; every pool thread loads them. */
  kernels: string[];
  /**
   * true: open the device at start; 'auto': open it when `ensureGpu` is first called (a graph
   * with GPU-marked tasks); false: never. Without a device every task runs on the CPU.
   */
  gpu?: boolean | 'auto';
  /** Bytes of device memory for chunks (default: the device's guess, see openGpu). */
  gpuMemoryLimit?: number;
  /** float16 storage with float32 accumulation. */
  gpuF16?: boolean;
  /** The adapter to open, by index (`--gpu-device`); default TESSERA_GPU_DEVICE, else WebGPU's choice. */
  gpuDevice?: number;
  /** `device: 'auto'` tasks run on a software adapter (lavapipe) too; default: only when `gpu` is true. */
  autoOnSoftwareGpu?: boolean;
  /** Host memory past its target goes to disk (the worker process; the embedded engine keeps all in memory). */
  spill?: SpillOptions;
  /** A result cache on disk for tasks marked `cache` (see result-cache.ts). */
  cache?: ResultCacheOptions;
}

export interface GpuExecutorStats {
  info: GpuInfo;
  tasks: number;
  uploads: number;
  readbacks: number;
  readbackBytes: number;
  /** Chunks held in device memory only, and their bytes. */
  deviceChunks: number;
  deviceBytes: number;
  /** GPU tasks running or waiting for the device now. */
  running: number;
}

export type GpuReadiness = { ok: true } | { ok: false; reason: string };

const DISCARD = '#discard';
/**
 * Freed chunk buffers kept for reuse as task outputs: up to 1 GiB, an eighth of the machine's
 * memory, a quarter of the spill threshold. A fresh buffer's first touch costs milliseconds a MiB
 * on a virtual machine and freed ones wait for every thread's GC: going from 256 MiB to 1 GiB took
 * map-overlap 384³ from 0.54x to 0.79-0.90x Dask and fft2 4096² from 0.83x to 1.11-1.28x, and
 * halved their peak RSS (2.2 GiB to 1.0 GiB, 1.6 GiB to 0.7 GiB).
 */
function bufferPoolBytes(spill: SpillOptions | undefined): number {
  return Math.floor(Math.min(2 ** 30, totalmem() / 8, spill ? spill.high / 4 : Infinity));
}

/**
 * The one in-process executor, driven by the worker process (for BullMQ jobs) and by the
 * embedded engine (for its core's ready tasks): a thread pool and an optional GPU that run tasks
 * (TaskRunner), and one store of the chunks they read and write, in host memory, device memory or
 * on disk with one holder and pin accounting (WorkerChunks). Who holds a chunk is the driver's
 * business (a graph id, the cluster); where it is and when it moves is this one's.
 */
export class InProcessExecutor {
  readonly chunks: WorkerChunks;
  private opening: Promise<void> | undefined;
  private gpuError: string | undefined;

  private constructor(
    private readonly runner: TaskRunner,
    buffers: BufferPool,
    private readonly options: ExecutorOptions,
    private readonly cache: ResultCache | undefined,
  ) {
    runner.autoOnSoftwareGpu = options.autoOnSoftwareGpu ?? options.gpu === true;
    this.chunks = new WorkerChunks(
      new ChunkStore((b) => buffers.give(b)),
      () => {
        const gpu = runner.gpu;
        return gpu && { readback: (c) => gpu.readback(c), release: (c) => gpu.release(c), adopt: (h, c) => runner.keepOnDevice(h.data, c) };
      },
      // Half the device's memory for results no one has read back yet; the rest for running tasks.
      () => (runner.gpu?.info.memoryLimit ?? 0) / 2,
      options.spill,
    );
    runner.hostOf = (d) => this.chunks.hostOf(d);
  }

  /** Rejects with PoolInitError when a kernel module does not load. With `gpu: true`, see `gpuReadiness`. */
  static async start(options: ExecutorOptions): Promise<InProcessExecutor> {
    const buffers = new BufferPool(bufferPoolBytes(options.spill));
    const cache = options.cache ? await ResultCache.open({ ...options.cache, kernels: options.kernels }) : undefined;
    const runner = await TaskRunner.start({ threads: options.threads, kernels: options.kernels }, buffers);
    const e = new InProcessExecutor(runner, buffers, options, cache);
    if (options.gpu === true) await e.ensureGpu();
    return e;
  }

  /** Open the device if it is not open yet; says why not when there is none. */
  async ensureGpu(): Promise<GpuReadiness> {
    if (this.options.gpu === false || this.options.gpu === undefined)
      return { ok: false, reason: 'the executor was started with gpu: false' };
    if (this.runner.gpu?.usable) return { ok: true };
    if (!this.opening && this.gpuError === undefined) this.opening = this.openGpu();
    await this.opening;
    return this.gpuReadiness();
  }

  /** Whether the device is open, or why not (without trying to open it). */
  gpuReadiness(): GpuReadiness {
    if (this.runner.gpu?.usable) return { ok: true };
    return { ok: false, reason: this.gpuError ?? (this.runner.gpu ? 'the GPU was lost' : 'the GPU is not open') };
  }

  private async openGpu(): Promise<void> {
    try {
      const { gpuMemoryLimit, gpuF16, gpuDevice } = this.options;
      const gpu = await GpuRunner.open({
        ...(gpuMemoryLimit !== undefined ? { memoryLimit: gpuMemoryLimit } : {}),
        ...(gpuDevice !== undefined ? { deviceIndex: gpuDevice } : {}),
        f16: gpuF16 === true,
      });
      // Device memory short: cached copies of host chunks go first, then results no one has read back yet go to the host.
      gpu.onPressure = async (bytes) => {
        const freed = this.runner.evictDeviceCache(bytes);
        if (freed < bytes) await this.chunks.evict(bytes - freed);
      };
      this.runner.gpu = gpu;
    } catch (e) {
      this.gpuError = (e as Error).message;
    }
  }

  /** The open device, if any. */
  get gpu(): GpuRunner | undefined {
    return this.runner.gpu;
  }

  get threads(): number {
    return this.runner.threads;
  }

  /** Kernel executions since start (reshape views included, shared results not). */
  get executed(): number {
    return this.runner.executed;
  }

  /** Of `executed`, those run on the GPU. */
  get gpuExecuted(): number {
    return this.runner.gpuExecuted;
  }

  /** Tasks executing or waiting for a thread or the device. */
  get running(): number {
    return this.runner.running;
  }

  /**
   * Run a task on inputs held here (host or device chunks, in the order of its deps). The result
   * is the driver's to keep (`chunks.put` / `putDevice`) or drop. `onStart` is called when it is
   * posted to a pool thread; `order` is its place in line for a thread (default: arrival).
   * `cacheAs`: the task as submitted, where `spec` was narrowed to the regions of its inputs
   * fetched; its entry is what the result cache stores (the caller looked it up with fromCache).
   */
  run(spec: TaskSpec, inputs: Held[], onStart: (thread: number, start: number) => void, order?: RunOrder, cacheAs?: TaskSpec): Promise<RunResult> {
    const cache = this.cacheFor(cacheAs ?? spec);
    if (!cache) return this.runner.run(spec, inputs, onStart, order);
    const run = (): Promise<RunResult> => this.runner.run(spec, inputs, onStart, order);
    return cacheAs ? this.stored(cache, cacheAs, run()) : this.cached(cache, spec, run, onStart);
  }

  /**
   * The cached output of a task, as a run's result (reported as started on thread 0); undefined
   * on a miss, or where there is no cache or the task is not cached. A caller that looks up before
   * gathering the inputs saves their transfers; it then passes the same spec as run's `cacheAs`.
   */
  async fromCache(spec: TaskSpec, onStart: (thread: number, start: number) => void): Promise<RunResult | undefined> {
    const cache = this.cacheFor(spec);
    if (!cache) return undefined;
    const start = performance.timeOrigin + performance.now();
    const hit = await cache.get(spec);
    if (!hit) return undefined;
    onStart(0, start);
    return { ok: true, chunk: hit, start, stop: performance.timeOrigin + performance.now(), thread: 0 };
  }

  private cacheFor(spec: TaskSpec): ResultCache | undefined {
    return this.cache && spec.cache === true && isCacheable(spec) ? this.cache : undefined;
  }

  /** A cache hit instead of the run, or the run and its result stored. */
  private async cached(cache: ResultCache, spec: TaskSpec, run: () => Promise<RunResult>, onStart: (thread: number, start: number) => void): Promise<RunResult> {
    return (await this.fromCache(spec, onStart)) ?? this.stored(cache, spec, run());
  }

  /** The run's result, stored under `spec` (the task as submitted, whatever narrowed inputs it ran on). */
  private async stored(cache: ResultCache, spec: TaskSpec, running: Promise<RunResult>): Promise<RunResult> {
    const r = await running;
    // Device results are not stored: reading one back here would cost what the cache saves.
    if (r.ok && !isDeviceChunk(r.chunk)) void cache.put(spec, r.chunk);
    return r;
  }

  /** The result cache's counters, when there is one. */
  cacheStats(): ResultCacheStats | undefined {
    return this.cache?.stats();
  }

  /** Keep a task's result, in host or device memory as it came. */
  keep(key: string, chunk: Held, holder: string): void {
    if (isDeviceChunk(chunk)) this.chunks.putDevice(key, chunk, holder);
    else this.chunks.put(key, chunk, holder);
  }

  /** A result nobody wants (its graphs were cancelled while it ran): its host or device buffer is freed now. */
  discard(key: string, chunk: Held): void {
    if (this.chunks.has(key)) return;
    this.keep(key, chunk, DISCARD);
    this.chunks.release(key, DISCARD);
  }

  /** Nobody wants this key's result any more (see TaskRunner.cancel). */
  cancel(key: string): void {
    this.runner.cancel(key);
  }

  /** Whether a task would run on the GPU now, given its inputs' dtypes and shapes. */
  onGpu(spec: TaskSpec, inputs: readonly { dtype: Dtype; shape: readonly number[] }[]): boolean {
    return this.runner.onGpu(spec, inputs);
  }

  /** Chunks in host memory (read back from the device or the disk first where they are away). */
  async gather(keys: readonly string[]): Promise<(Chunk | undefined)[]> {
    return Promise.all(keys.map((k) => this.chunks.read(k)));
  }

  gpuStats(): GpuExecutorStats | undefined {
    const g = this.runner.gpu;
    if (!g) return undefined;
    const s = g.stats();
    return {
      info: g.info,
      tasks: this.runner.gpuExecuted,
      uploads: s.uploads,
      readbacks: s.readbacks,
      readbackBytes: s.readbackBytes,
      deviceChunks: this.chunks.onDeviceCount,
      deviceBytes: this.chunks.onDeviceBytes,
      running: this.runner.gpuRunning,
    };
  }

  async close(): Promise<void> {
    await this.runner.close();
    await this.cache?.flush();
    if (this.opening) await this.opening;
    this.runner.gpu?.close();
  }
}

/** The heartbeat's `gpu` field (WorkerHeartbeat) from the executor's GPU counters, where there is a GPU. */
export function gpuHeartbeat(g: GpuExecutorStats | undefined): { gpu?: NonNullable<WorkerHeartbeat['gpu']> } {
  if (!g) return {};
  const { tasks, running, uploads, readbacks, readbackBytes, deviceChunks, deviceBytes } = g;
  return { gpu: { tasks, running, uploads, readbacks, readbackBytes, deviceChunks, deviceBytes, memoryLimit: g.info.memoryLimit } };
}
