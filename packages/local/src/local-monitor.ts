import { hostname, totalmem } from 'node:os';
import type { EngineEvent, EngineMonitor, GraphStatus, GraphStructure, WorkerView } from '@tessera/protocol';
import { graphStatus, type MemoryStore, type SchedulerCore } from '@tessera/scheduler';
import { gpuHeartbeat } from '@tessera/worker';
import type { LocalEngineStats } from './local-engine.js';

/** The id the local executor gives its one worker in task events. */
export const LOCAL_WORKER = 'local';

/**
 * The local engine as a dashboard sees it (issue 5): every graph's events from the core, graphs
 * and structures from the memory store, and the engine as one worker (this host, its pool
 * threads as lanes, what it holds from stats()).
 */
export class LocalMonitor implements EngineMonitor {
  private readonly startedAt = Date.now();
  /** Tasks processing now, by graph: the worker row's "running". */
  private readonly running = new Map<string, Set<string>>();
  private readonly listeners = new Set<(events: readonly EngineEvent[]) => void>();
  private untap: (() => void) | undefined;
  private buffer: EngineEvent[] = [];
  private flushing = false;

  constructor(
    private readonly core: SchedulerCore,
    private readonly store: MemoryStore,
    private readonly stats: () => LocalEngineStats,
  ) {}

  tapEvents(listener: (events: readonly EngineEvent[]) => void): () => void {
    this.listeners.add(listener);
    this.untap ??= this.core.tap((ev) => this.onEvent(ev));
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size > 0 || !this.untap) return;
      // Nobody watching: the core goes back to making no events for unwatched graphs.
      this.untap();
      this.untap = undefined;
      this.running.clear();
    };
  }

  async graphs(): Promise<GraphStatus[]> {
    const out: GraphStatus[] = [];
    for (const g of await this.store.listGraphs()) out.push(await graphStatus(this.store, g));
    return out;
  }

  structure(id: string, maxTasks: number): Promise<GraphStructure> {
    return this.store.structure(id, maxTasks);
  }

  async workers(): Promise<WorkerView[]> {
    const s = this.stats();
    let running = 0;
    for (const set of this.running.values()) running += set.size;
    const now = Date.now();
    const view: WorkerView = {
      info: {
        id: LOCAL_WORKER,
        host: hostname(),
        // No peer server: the chunks live in this process.
        address: 'http://localhost/in-process',
        pid: process.pid,
        threads: s.threads,
        memoryLimit: totalmem(),
        device: s.gpu ? s.gpu.info.name : 'cpu',
        startedAt: this.startedAt,
        ...(s.gpu ? { gpu: s.gpu.info } : {}),
      },
      heartbeat: {
        id: LOCAL_WORKER,
        at: now,
        chunks: s.chunksHeld,
        bytes: s.bytesHeld,
        running,
        executed: s.tasksExecuted,
        rss: process.memoryUsage.rss(),
        ...gpuHeartbeat(s.gpu),
      },
      age: 0,
      alive: true,
    };
    return [view];
  }

  private onEvent(ev: EngineEvent): void {
    if (ev.type === 'task') {
      let set = this.running.get(ev.graph);
      if (ev.state === 'processing') {
        if (!set) this.running.set(ev.graph, (set = new Set()));
        set.add(ev.key);
      } else set?.delete(ev.key);
    } else if (ev.state !== 'running') this.running.delete(ev.graph);
    this.buffer.push(ev);
    if (this.flushing) return;
    this.flushing = true;
    // One batch per turn of the event loop: a pool's completions arrive in bursts.
    setImmediate(() => {
      this.flushing = false;
      const batch = this.buffer;
      this.buffer = [];
      for (const fn of this.listeners) fn(batch);
    });
  }
}
