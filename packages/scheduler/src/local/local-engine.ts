import { z } from 'zod';
import {
  EngineClosedError,
  InvalidArgumentError,
  validateGraph,
  type Chunk,
  type Engine,
  type EngineEvent,
  type Graph,
  type SubmitOptions,
} from '@tessera/protocol';
import { SchedulerCore } from '../core/scheduler-core.js';
import { MemoryStore } from '../store/memory-store.js';
import { LocalExecutor } from './local-executor.js';

export interface LocalEngineOptions {
  /** Pool threads; default: the machine's cores. */
  threads?: number;
  /** Modules (paths or URLs) that call registerKernel; every pool thread loads them. */
  kernels?: string[];
}

export interface LocalEngineStats {
  threads: number;
  /** Tasks actually executed by the pool since start (shared or held keys are not re-run). */
  tasksExecuted: number;
  chunksHeld: number;
  bytesHeld: number;
}

/**
 * The embedded engine: the scheduler core over a memory store, running tasks on a
 * worker_threads pool in this process. Like Dask's threaded scheduler or `ray.init()`.
 */
export class LocalEngine implements Engine {
  private readonly core = new SchedulerCore(new MemoryStore());
  private readonly executor = new LocalExecutor(this.core);
  private closed = false;

  private constructor() {
    this.core.attach(this.executor);
  }

  static async start(options: LocalEngineOptions = {}): Promise<LocalEngine> {
    const e = new LocalEngine();
    await e.executor.start(options);
    return e;
  }

  stats(): LocalEngineStats {
    return {
      threads: this.executor.threads,
      tasksExecuted: this.executor.executed,
      chunksHeld: this.executor.chunks.count,
      bytesHeld: this.executor.chunks.nbytes,
    };
  }

  async submit(graph: Graph, options: SubmitOptions = {}): Promise<string> {
    this.open();
    const g = validateGraph(graph);
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
    return this.executor.gather(keys);
  }

  async cancel(graphId: string): Promise<void> {
    await this.core.cancel(graphId);
  }

  async release(graphId: string): Promise<void> {
    const { keep } = await this.core.release(graphId);
    this.executor.releaseGraph(graphId, keep);
  }

  async unpersist(keys: readonly string[]): Promise<void> {
    for (const k of keys) this.executor.chunks.unpin(k);
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
