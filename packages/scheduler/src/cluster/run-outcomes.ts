import type { TransferTiming, WorkerReport, serializeError } from '@tessera/protocol';
import type { TaskTiming } from '../core/executor.js';
import type { ClusterContext, ClusterState } from './cluster-state.js';
import { SHARED } from './placement.js';
import type { ResultStore } from './result-store.js';
import type { RunRecovery } from './run-recovery.js';

/**
 * The "report" step: what becomes of a run in flight, as its worker reports it: started,
 * finished (the chunk goes in the directory for every graph that waits for the key, and a small
 * output's bytes in the result store), or failed (a lost input is recovered, anything else errs
 * the graphs). Reports of stale runs only free what they left behind; reports of workers that
 * are not alive are ignored.
 */
export class RunOutcomes {

  constructor(
    private readonly state: ClusterState,
    private readonly recovery: RunRecovery,
    private readonly results: ResultStore,
    private readonly ctx: ClusterContext,
  ) {}

  /** Apply a batch of worker reports; resolves once the core has written what they changed. */
  async apply(reports: readonly WorkerReport[]): Promise<void> {
    for (const r of reports) {
      // A worker that registered since our last look: look again before ignoring it.
      if (!this.ctx.workers.isAlive(r.worker)) await this.ctx.workers.refresh();
      if (!this.ctx.workers.isAlive(r.worker)) continue;
      for (const item of r.items) {
        const attempt = item.attempt ?? 0;
        if (item.type === 'started') this.started(r.worker, item.key, attempt, item.thread);
        else if (item.type === 'done') {
          const f = this.state.inflight.get(item.key);
          if (item.data && f && f.attempt === attempt) this.results.put(f.graphs, item.key, f.spec.dtype, [...f.spec.shape], item.data);
          this.finished(r.worker, item.graph, item.key, attempt, item.nbytes, item);
        } else this.failed(r.worker, item.key, attempt, item.error, item);
      }
    }
    await this.ctx.core.settled();
  }

  /** A run finished on `worker`: fan it out to every graph that waits for it. */
  finished(
    worker: string,
    graph: string,
    key: string,
    attempt: number,
    nbytes: number,
    timing: { start: number; stop: number; thread?: number | undefined; transfer?: TransferTiming | undefined },
  ): void {
    const f = this.state.inflight.get(key) ?? this.recovery.adopt(key, graph);
    if (!f || f.attempt !== attempt || (f.worker !== SHARED && f.worker !== worker)) {
      // A stale run (cancelled, or superseded after a loss): drop its chunk unless it is the one we use.
      if (this.state.directory.get(key)?.worker !== worker) this.ctx.frees.send(worker, key);
      return;
    }
    this.state.inflight.settle(key, f);
    if (f.graphs.size === 0) {
      this.ctx.frees.send(worker, key);
      return;
    }
    // Graphs whose own task for this key still waits for a turn hold it too: it must not be freed before they get there.
    this.state.directory.put(key, { worker, nbytes, dtype: f.spec.dtype, shape: [...f.spec.shape] }, [
      ...f.graphs,
      ...(this.state.waiting.get(key) ?? []),
    ]);
    const t = timingOf(worker, timing);
    for (const g of f.graphs) this.ctx.core.taskFinished(g, key, nbytes, t);
  }

  started(worker: string, key: string, attempt: number, thread: number | undefined): void {
    const f = this.state.inflight.get(key);
    if (!f || f.attempt !== attempt) return;
    f.runningOn = worker;
    for (const g of f.graphs) this.ctx.core.taskStarted(g, [key], worker, thread);
  }

  /** A run failed. A lost input is recovered (recomputed), anything else errs the graphs. */
  failed(
    worker: string,
    key: string,
    attempt: number,
    error: ReturnType<typeof serializeError>,
    timing: { start: number; stop: number; thread?: number | undefined; transfer?: TransferTiming | undefined },
  ): void {
    const f = this.state.inflight.get(key);
    if (!f || f.attempt !== attempt) return;
    this.state.inflight.settle(key, f);
    this.recovery.unchain(f);
    if (error.code === 'CHUNK_LOST' && error.key !== undefined && error.key !== key) {
      const lost = this.state.directory.lose(error.key);
      if (lost) this.ctx.frees.send(lost.worker, error.key);
      const graphs = new Set([...f.graphs, ...(lost?.graphs ?? [])]);
      for (const g of graphs) void this.ctx.core.recover(g, lost ? [error.key] : [], f.graphs.has(g) ? [key] : []);
      return;
    }
    const t = timingOf(worker, timing);
    for (const g of f.graphs) this.ctx.core.taskFailed(g, key, error, t);
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
