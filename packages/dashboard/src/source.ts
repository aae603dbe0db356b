import type { EngineEvent, EngineMonitor, GraphStatus, GraphStructure, WorkerView } from '@tessera/protocol';
import { SchedulerClient } from './scheduler-client.js';

/**
 * Where the dashboard server reads the cluster from: a scheduler over HTTP (its API and event
 * feed), or an engine in this process (the embedded local engine's monitor). The server polls
 * the lists, follows the events, and reads each graph's structure once, the same way for both.
 */
export interface DashboardSource {
  /** Shown on the page and by /health: what is being watched. */
  readonly label: string;
  workers(): Promise<WorkerView[]>;
  graphs(): Promise<GraphStatus[]>;
  /** Ended graphs kept after their keys went; none for a source without history. */
  history(): Promise<GraphStatus[]>;
  structure(id: string, maxTasks: number): Promise<GraphStructure>;
  /**
   * Every graph's events until `signal` aborts; `onConnect` runs each time the feed (re)opens,
   * since what happened while it was down must be read anew.
   */
  follow(onBatch: (events: EngineEvent[]) => void, onConnect: () => void, signal: AbortSignal): Promise<void>;
}

export class SchedulerSource implements DashboardSource {
  private readonly client: SchedulerClient;

  constructor(url: string, token?: string) {
    this.client = new SchedulerClient(url, token);
  }

  get label(): string {
    return `scheduler ${this.client.url}`;
  }

  async workers(): Promise<WorkerView[]> {
    return (await this.client.workers()).workers;
  }

  async graphs(): Promise<GraphStatus[]> {
    return (await this.client.graphs()).graphs;
  }

  async history(): Promise<GraphStatus[]> {
    // A scheduler without history (404), or one that is down: none this time.
    return (await this.client.history().catch(() => ({ graphs: [] }))).graphs;
  }

  structure(id: string, maxTasks: number): Promise<GraphStructure> {
    return this.client.structure(id, maxTasks);
  }

  follow(onBatch: (events: EngineEvent[]) => void, onConnect: () => void, signal: AbortSignal): Promise<void> {
    return this.client.follow(onBatch, onConnect, signal);
  }
}

/** An engine in this process, read through its monitor: no HTTP, no polling of a remote. */
export class EngineSource implements DashboardSource {
  readonly label = 'local engine (in-process)';

  constructor(private readonly monitor: EngineMonitor) {}

  workers(): Promise<WorkerView[]> {
    return this.monitor.workers();
  }

  graphs(): Promise<GraphStatus[]> {
    return this.monitor.graphs();
  }

  async history(): Promise<GraphStatus[]> {
    return [];
  }

  structure(id: string, maxTasks: number): Promise<GraphStructure> {
    return this.monitor.structure(id, maxTasks);
  }

  async follow(onBatch: (events: EngineEvent[]) => void, onConnect: () => void, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    onConnect();
    const untap = this.monitor.tapEvents((events) => onBatch(events as EngineEvent[]));
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    untap();
  }
}
