import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TesseraError } from '@tessera/protocol';
import { CANCEL_SLOTS, type PoolTask, type RemoteErrorInfo, type TaskOutcome, type ThreadMessage } from './messages.js';

export interface ThreadPoolOptions {
  /** Number of threads; default: the machine's cores. */
  threads?: number;
  /** Modules that register user kernels, loaded by every thread before it takes work. */
  kernels?: string[];
}

export type OutcomeHandler = (thread: number, outcome: TaskOutcome) => void;

/** When running from TypeScript sources (unit tests), the thread entry is the built file. */
function threadEntry(): URL {
  const here = new URL('./thread.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  return new URL('../../dist/pool/thread.js', import.meta.url);
}

/** A pool thread could not load the kernel modules it was given. */
export class PoolInitError extends TesseraError {
  constructor(readonly remote: RemoteErrorInfo) {
    super('POOL_INIT_FAILED', `a pool thread failed to load kernel modules: ${remote.message}`);
  }
}

/**
 * A fixed set of worker_threads. The caller decides what runs where (`post(thread, tasks)`);
 * the pool only moves batches and outcomes and tracks how many tasks each thread holds.
 */
export class ThreadPool {
  readonly size: number;
  private readonly workers: Worker[] = [];
  private readonly inflight: number[];
  private readonly cancelFlags = new SharedArrayBuffer(CANCEL_SLOTS * 4);
  private readonly cancelled = new Int32Array(this.cancelFlags);
  private closed = false;

  private constructor(
    size: number,
    private readonly onOutcome: OutcomeHandler,
  ) {
    this.size = size;
    this.inflight = new Array<number>(size).fill(0);
  }

  static async start(options: ThreadPoolOptions, onOutcome: OutcomeHandler): Promise<ThreadPool> {
    const size = Math.max(1, Math.floor(options.threads ?? availableParallelism()));
    const pool = new ThreadPool(size, onOutcome);
    const entry = threadEntry();
    const ready: Promise<void>[] = [];
    for (let i = 0; i < size; i++) {
      const w = new Worker(entry, { workerData: { kernels: options.kernels ?? [], index: i, threads: size, cancelFlags: pool.cancelFlags } });
      pool.workers.push(w);
      ready.push(
        new Promise<void>((resolve, reject) => {
          const onFirst = (m: ThreadMessage): void => {
            if (m.type === 'ready') resolve();
            else if (m.type === 'init-failed') reject(new PoolInitError(m.error));
            if (m.type !== 'done') w.off('message', onFirst);
          };
          w.on('message', onFirst);
          w.once('error', reject);
        }),
      );
      w.on('message', (m: ThreadMessage) => {
        if (m.type !== 'done') return;
        pool.inflight[i]! -= m.outcomes.length;
        for (const o of m.outcomes) pool.onOutcome(i, o);
      });
    }
    try {
      await Promise.all(ready);
    } catch (e) {
      await pool.close();
      throw e;
    }
    for (const w of pool.workers) {
      w.on('error', (e) => {
        if (!pool.closed) process.emitWarning(`tessera pool thread crashed: ${String(e)}`);
      });
    }
    return pool;
  }

  /** Tasks queued or running on a thread. */
  load(thread: number): number {
    return this.inflight[thread] ?? 0;
  }

  /** A posted task that has not started will be skipped (its outcome says `skipped`). */
  cancel(id: number): void {
    Atomics.store(this.cancelled, id & (CANCEL_SLOTS - 1), 1);
  }

  post(thread: number, tasks: PoolTask[]): void {
    if (this.closed || tasks.length === 0) return;
    for (const t of tasks) Atomics.store(this.cancelled, t.id & (CANCEL_SLOTS - 1), 0);
    this.inflight[thread]! += tasks.length;
    this.workers[thread]!.postMessage({ type: 'run', tasks });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
