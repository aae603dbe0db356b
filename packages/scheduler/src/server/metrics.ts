import type { Backlog, EngineEvent, GraphStatus, WorkerView } from '@tessera/protocol';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the scheduler's metrics read at each scrape. */
export interface SchedulerMetricsSource {
  graphs(): Promise<GraphStatus[]>;
  workers(): Promise<WorkerView[]>;
  /** Jobs per BullMQ queue and state (waiting, prioritized, active, delayed). */
  queueDepths?(): Promise<{ queue: string; state: string; jobs: number }[]>;
  /** The work waiting (GET /api/backlog), for autoscalers. */
  backlog?(): Backlog;
}

/** Task run times: tiny tasks take microseconds, a big GEMM block seconds. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * The scheduler's Prometheus metrics (GET /metrics): what is in Redis now (graphs and tasks by
 * state, workers and their memory, queue depths), read at each scrape, and what happened since
 * start (task transitions, run-time histogram, bytes produced and served), counted from the
 * engine events as they pass.
 */
export class SchedulerMetrics {
  readonly registry = new Registry();
  private readonly graphsGauge: Gauge;
  private readonly tasksGauge: Gauge;
  private readonly workersGauge: Gauge;
  private readonly workerGauges: Record<'rss' | 'chunkBytes' | 'chunks' | 'running' | 'age', Gauge>;
  private readonly queueGauge: Gauge;
  private readonly backlogGauges: Record<'ready' | 'readyBytes' | 'inFlight' | 'pending', Gauge>;
  private readonly transitions: Counter;
  private readonly graphsEnded: Counter;
  private readonly duration: Histogram;
  private readonly outputBytes: Counter;
  private readonly resultBytesTotal: Counter;
  private readonly requests: Counter;
  private readonly limited: Counter;

  constructor(
    private readonly source: SchedulerMetricsSource,
    options: { defaultMetrics?: boolean } = {},
  ) {
    const r = this.registry;
    const gauge = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers: [r] });
    const counter = (name: string, help: string, labelNames: string[] = []) => new Counter({ name, help, labelNames, registers: [r] });
    this.graphsGauge = gauge('tessera_graphs', 'Graphs the scheduler keeps in Redis, by state', ['state']);
    this.tasksGauge = gauge('tessera_tasks', 'Tasks of the graphs in Redis, by state', ['state']);
    this.workersGauge = gauge('tessera_workers', 'Workers alive (heartbeating)');
    this.workerGauges = {
      rss: gauge('tessera_worker_rss_bytes', 'Resident memory of each worker process, from its last heartbeat', ['worker']),
      chunkBytes: gauge('tessera_worker_chunk_bytes', 'Bytes of chunks each worker holds', ['worker']),
      chunks: gauge('tessera_worker_chunks', 'Chunks each worker holds', ['worker']),
      running: gauge('tessera_worker_running_tasks', 'Tasks running or waiting for a thread on each worker', ['worker']),
      age: gauge('tessera_worker_heartbeat_age_seconds', 'Seconds since each worker last heartbeat', ['worker']),
    };
    this.backlogGauges = {
      ready: gauge('tessera_tasks_ready_unassigned', 'Ready tasks no worker was given yet (autoscaling)'),
      readyBytes: gauge('tessera_tasks_ready_bytes', 'Bytes the ready, unassigned tasks will output (autoscaling)'),
      inFlight: gauge('tessera_tasks_in_flight', 'Tasks sent to workers and not yet done (autoscaling)'),
      pending: gauge('tessera_tasks_pending', 'Ready unassigned plus in flight: what a scaler divides by the tasks per worker'),
    };
    this.queueGauge = gauge('tessera_queue_jobs', 'BullMQ jobs per queue and state (queue depth)', ['queue', 'state']);
    this.transitions = counter('tessera_task_transitions_total', 'Task state changes since the scheduler started', ['state']);
    this.graphsEnded = counter('tessera_graphs_ended_total', 'Graphs that ended since the scheduler started, by final state', ['state']);
    this.duration = new Histogram({
      name: 'tessera_task_duration_seconds',
      help: 'Run time of tasks that completed (worker clock: start to stop)',
      buckets: DURATION_BUCKETS,
      registers: [r],
    });
    this.outputBytes = counter('tessera_task_output_bytes_total', 'Bytes of chunks produced by completed tasks');
    this.resultBytesTotal = counter('tessera_result_bytes_total', 'Bytes of result chunks sent to clients');
    this.requests = counter('tessera_http_requests_total', 'HTTP requests answered, by route and status', ['route', 'status']);
    this.limited = counter('tessera_http_rate_limited_total', 'Requests answered 429 because their client was over its share');
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: r, prefix: 'tessera_scheduler_' });
  }

  /** Every engine event of every graph passes here. */
  observe(ev: EngineEvent): void {
    if (ev.type === 'graph') {
      if (ev.state !== 'running') this.graphsEnded.inc({ state: ev.state });
      return;
    }
    this.transitions.inc({ state: ev.state });
    if (ev.state === 'memory') {
      if (ev.start !== undefined && ev.stop !== undefined && ev.stop >= ev.start) this.duration.observe((ev.stop - ev.start) / 1000);
      if (ev.nbytes !== undefined) this.outputBytes.inc(ev.nbytes);
    }
  }

  request(route: string, status: number): void {
    this.requests.inc({ route, status: String(status) });
  }

  /** A request refused with a 429 (its client over its rate). */
  rateLimited(): void {
    this.limited.inc();
  }

  /** Bytes of result chunks sent to a client. */
  resultBytes(n: number): void {
    if (n > 0) this.resultBytesTotal.inc(n);
  }

  /** Read what is in Redis now, then render every metric in the text format. */
  async render(): Promise<{ contentType: string; body: string }> {
    const [graphs, workers, queues] = await Promise.all([
      this.source.graphs(),
      this.source.workers(),
      this.source.queueDepths ? this.source.queueDepths() : Promise.resolve([]),
    ]);
    this.graphsGauge.reset();
    this.tasksGauge.reset();
    const byGraphState = new Map<string, number>();
    const byTaskState = new Map<string, number>();
    for (const g of graphs) {
      byGraphState.set(g.state, (byGraphState.get(g.state) ?? 0) + 1);
      for (const [state, n] of Object.entries(g.counts)) byTaskState.set(state, (byTaskState.get(state) ?? 0) + (n ?? 0));
    }
    for (const [state, n] of byGraphState) this.graphsGauge.set({ state }, n);
    for (const [state, n] of byTaskState) this.tasksGauge.set({ state }, n);
    this.workersGauge.set(workers.length);
    for (const g of Object.values(this.workerGauges)) g.reset();
    for (const w of workers) {
      const worker = w.info.id;
      this.workerGauges.age.set({ worker }, w.age / 1000);
      if (!w.heartbeat) continue;
      this.workerGauges.rss.set({ worker }, w.heartbeat.rss);
      this.workerGauges.chunkBytes.set({ worker }, w.heartbeat.bytes);
      this.workerGauges.chunks.set({ worker }, w.heartbeat.chunks);
      this.workerGauges.running.set({ worker }, w.heartbeat.running);
    }
    const b = this.source.backlog?.();
    if (b) for (const k of ['ready', 'readyBytes', 'inFlight', 'pending'] as const) this.backlogGauges[k].set(b[k]);
    this.queueGauge.reset();
    for (const q of queues) this.queueGauge.set({ queue: q.queue, state: q.state }, q.jobs);
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
