import type { TransferTiming, serializeError } from '@tessera/protocol';
import type { TaskTiming } from '../core/executor.js';
import type { SchedulerCore } from '../core/scheduler-core.js';
import type { ChunkDirectory } from './chunk-directory.js';
import { SHARED } from './placement.js';
import type { RunRecovery } from './run-recovery.js';
import type { RunTable } from './run-table.js';

/**
 * What becomes of a run in flight, as its worker reports it: started, finished (the chunk goes in
 * the directory for every graph that waits for the key), or failed (a lost input is recovered,
 * anything else errs the graphs). Reports of stale runs only free what they left behind.
 */
export class RunOutcomes {
  constructor(
    private readonly inflight: RunTable,
    private readonly directory: ChunkDirectory,
    private readonly recovery: RunRecovery,
    private readonly core: SchedulerCore,
    /** Graphs with a ready (not yet sent) task per key, from the dispatcher. */
    private readonly waiting: ReadonlyMap<string, ReadonlySet<string>>,
    /** The dispatcher's: frees go only to live workers, small ones batched. */
    private readonly sendFree: (worker: string, key: string, nbytes?: number) => void,
  ) {}

  /** A run finished on `worker`: fan it out to every graph that waits for it. */
  finished(
    worker: string,
    graph: string,
    key: string,
    attempt: number,
    nbytes: number,
    timing: { start: number; stop: number; thread?: number | undefined; transfer?: TransferTiming | undefined },
  ): void {
    const f = this.inflight.get(key) ?? this.recovery.adopt(key, graph);
    if (!f || f.attempt !== attempt || (f.worker !== SHARED && f.worker !== worker)) {
      // A stale run (cancelled, or superseded after a loss): drop its chunk unless it is the one we use.
      if (this.directory.get(key)?.worker !== worker) this.sendFree(worker, key);
      return;
    }
    this.inflight.settle(key, f);
    if (f.graphs.size === 0) {
      this.sendFree(worker, key);
      return;
    }
    // Graphs whose own task for this key still waits for a turn hold it too: it must not be freed before they get there.
    this.directory.put(key, { worker, nbytes, dtype: f.spec.dtype, shape: [...f.spec.shape] }, [
      ...f.graphs,
      ...(this.waiting.get(key) ?? []),
    ]);
    const t = timingOf(worker, timing);
    for (const g of f.graphs) this.core.taskFinished(g, key, nbytes, t);
  }

  started(worker: string, key: string, attempt: number, thread: number | undefined): void {
    const f = this.inflight.get(key);
    if (!f || f.attempt !== attempt) return;
    f.runningOn = worker;
    for (const g of f.graphs) this.core.taskStarted(g, [key], worker, thread);
  }

  /** A run failed. A lost input is recovered (recomputed), anything else errs the graphs. */
  failed(
    worker: string,
    key: string,
    attempt: number,
    error: ReturnType<typeof serializeError>,
    timing: { start: number; stop: number; thread?: number | undefined; transfer?: TransferTiming | undefined },
  ): void {
    const f = this.inflight.get(key);
    if (!f || f.attempt !== attempt) return;
    this.inflight.settle(key, f);
    this.recovery.unchain(f);
    if (error.code === 'CHUNK_LOST' && error.key !== undefined && error.key !== key) {
      const lost = this.directory.lose(error.key);
      if (lost) this.sendFree(lost.worker, error.key);
      const graphs = new Set([...f.graphs, ...(lost?.graphs ?? [])]);
      for (const g of graphs) void this.core.recover(g, lost ? [error.key] : [], f.graphs.has(g) ? [key] : []);
      return;
    }
    const t = timingOf(worker, timing);
    for (const g of f.graphs) this.core.taskFailed(g, key, error, t);
  }
}

/** A report's timing as the core takes it: optional fields only when present. */
function timingOf(
  worker: string,
  timing: { start: number; stop: number; thread?: number | undefined; transfer?: TransferTiming | undefined },
): TaskTiming {
  return {
    worker,
    start: timing.start,
    stop: timing.stop,
    ...(timing.thread !== undefined ? { thread: timing.thread } : {}),
    ...(timing.transfer !== undefined ? { transfer: timing.transfer } : {}),
  };
}
