import { z } from 'zod';
import {
  EngineClosedError,
  InvalidArgumentError,
  NoGpuError,
  deviceDemand,
  validateGraph,
  type Chunk,
  type Engine,
  type EngineEvent,
  type EngineMonitor,
  type Graph,
  type SubmitOptions,
} from '@tessera/protocol';
import { MemoryStore, SchedulerCore } from '@tessera/scheduler';
import type { ResultCacheOptions, ResultCacheStats } from '@tessera/worker';
import { LocalMonitor } from './local-monitor.js';
import { LocalExecutor, type GpuExecutorStats } from './local-executor.js';

export interface LocalEngineOptions {
  /** Pool threads; default: the machine's cores. */
  threads?: number;
  /** Modules (paths or URLs) that call registerKernel; every pool thread loads them. */
  kernels?: string[];
  /**
   * The GPU (WebGPU): true opens it at start (no adapter: a warning and CPU-only operation);
   * 'auto' (default) opens it when a graph first has tasks marked for a GPU; false never does
   * (graphs with tasks that must run on a GPU then fail with NoGpuError).
   */
  gpu?: boolean | 'auto';
  /** Bytes of GPU memory for chunks; past it, chunks are evicted to host memory. */
  gpuMemoryLimit?: number;
  /** Mixed precision: float32 chunks stored as float16 on the GPU, computed in float32 (shader-f16). */
  gpuF16?: boolean;
  /** A result cache on disk: a folder, or the folder and its size limit (see @tessera/worker's ResultCache). */
  cache?: ResultCacheOptions;
}

export interface LocalEngineStats {
  threads: number;
  /** Tasks actually executed (pool, inline or GPU) since start (shared or held keys are not re-run). */
  tasksExecuted: number;
  /** Chunks held, on the host or the GPU (a key on both counts once). */
  chunksHeld: number;
  bytesHeld: number;
  /** The GPU, once opened: adapter, tasks run there, copies each way, chunks held in device memory. */
  gpu?: GpuExecutorStats;
  /** The result cache, when there is one: hits, misses, writes, damaged entries, evictions, size. */
  cache?: ResultCacheStats;
}

/**
 * The embedded engine: the scheduler core over a memory store, running tasks on a
 * worker_threads pool in this process. Like Dask's threaded scheduler or `ray.init()`.
 */
export class LocalEngine implements Engine {
  private readonly store = new MemoryStore();
  private readonly core = new SchedulerCore(this.store);
  private readonly executor = new LocalExecutor(this.core);
  private closed = false;
  private monitor_: LocalMonitor | undefined;

  private constructor() {
    this.core.attach(this.executor);
  }

  static async start(options: LocalEngineOptions = {}): Promise<LocalEngine> {
    const e = new LocalEngine();
    const { gpu, gpuMemoryLimit, gpuF16, cache, ...pool } = options;
    await e.executor.start(
      pool,
      {
        ...(gpu !== undefined ? { gpu } : {}),
        ...(gpuMemoryLimit !== undefined ? { gpuMemoryLimit } : {}),
        ...(gpuF16 !== undefined ? { gpuF16 } : {}),
      },
      cache,
    );
    return e;
  }

  stats(): LocalEngineStats {
    const held = this.executor.held();
    const gpu = this.executor.gpuStats();
    const cache = this.executor.cacheStats();
    return {
      threads: this.executor.threads,
      tasksExecuted: this.executor.executed,
      chunksHeld: held.count,
      bytesHeld: held.bytes,
      ...(gpu ? { gpu } : {}),
      ...(cache ? { cache } : {}),
    };
  }

  /** What a dashboard in this process reads: `startDashboard({ engine })` from @tessera/dashboard. */
  monitor(): EngineMonitor {
    return (this.monitor_ ??= new LocalMonitor(this.core, this.store, () => this.stats()));
  }

  async submit(graph: Graph, options: SubmitOptions = {}): Promise<string> {
    this.open();
    const g = validateGraph(graph);
    const demand = deviceDemand(g);
    if (demand.gpu > 0) {
      // Tasks that must run on a GPU: fail now, before anything runs, if there is none.
      const r = await this.executor.ensureGpu();
      if (!r.ok)
        throw new NoGpuError(
          `this graph has ${demand.gpu} tasks that need a GPU (device: 'gpu') and the local engine has none: ${r.reason}`,
        );
    } else if (demand.auto > 0) {
      await this.executor.ensureGpu();
    }
    const id = this.core.newGraphId();
    if (options.onEvent) this.core.subscribe(id, options.onEvent);
    await this.core.submit(id, g, { persist: options.persist ?? false });
    return id;
  }

  subscribe(graphId: string, listener: (ev: EngineEvent) => void): () => void {
    return this.core.subscribe(graphId, listener);
  }

  async wait(graphId: string): Promise<void> {
    this.open();
    return this.core.wait(graphId);
  }

  async gather(graphId: string, keys: readonly string[]): Promise<Chunk[]> {
    this.open();
    await this.core.checkGather(graphId, keys);
    return await this.executor.gather(keys);
  }

  async cancel(graphId: string): Promise<void> {
    await this.core.cancel(graphId);
  }

  async release(graphId: string): Promise<void> {
    const { keep } = await this.core.release(graphId);
    this.executor.releaseGraph(graphId, keep);
  }

  async unpersist(keys: readonly string[]): Promise<void> {
    for (const k of keys) this.executor.unpin(k);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.executor.close();
  }

  private open(): void {
    if (this.closed) throw new EngineClosedError();
  }
}

const LocalEngineOptionsSchema = z
  .object({
    threads: z.number().int().min(1).max(1024).optional(),
    kernels: z.array(z.string().min(1)).optional(),
    gpu: z.union([z.boolean(), z.literal('auto')]).optional(),
    gpuMemoryLimit: z.number().int().positive().optional(),
    gpuF16: z.boolean().optional(),
    cache: z.object({ dir: z.string().min(1), maxBytes: z.number().nonnegative().optional() }).strict().optional(),
  })
  .strict();

/** Options are checked here, at the boundary: a bad value is an error that names it. */
export async function createLocalEngine(options: LocalEngineOptions = {}): Promise<LocalEngine> {
  const parsed = LocalEngineOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new InvalidArgumentError(`local engine option ${i.path.join('.') || '(options)'}: ${i.message}`);
  }
  return LocalEngine.start(parsed.data);
}
