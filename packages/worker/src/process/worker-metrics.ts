import type { ReportItem } from '@tessera/protocol';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Task run times: tiny tasks take microseconds, a big GEMM block seconds. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface WorkerSample {
  chunks: number;
  bytes: number;
  running: number;
  memoryLimit: number;
  /** Bytes of chunks held in device memory only (GPU results not read back). */
  deviceBytes: number;
  /** Bytes of chunks held on disk only (spilled), and how many chunks were ever spilled. */
  spilledBytes: number;
  spills: number;
  /** Spill writes that failed (a full disk), and whether the worker takes no new tasks for memory now (1) or does (0). */
  spillFailures: number;
  paused: number;
}

/** The worker's GPU counters, when it has one. */
export interface GpuSample {
  tasks: number;
  uploads: number;
  readbacks: number;
}

/**
 * One worker's Prometheus metrics (GET /metrics on its peer server): tasks by outcome and their
 * run times, bytes moved between peers, chunk memory, and the process's own (prefix
 * tessera_worker_). A registry per worker, so several in one process (tests) do not collide.
 */
export class WorkerMetrics {
  readonly registry = new Registry();
  private readonly tasks: Counter;
  private readonly duration: Histogram;
  private readonly fetched: Counter;
  private readonly served: Counter;
  private readonly fetches: Counter;
  private readonly gauges: Record<Exclude<keyof WorkerSample, 'spills' | 'spillFailures'>, Gauge>;

  constructor(
    worker: string,
    private readonly sample: () => WorkerSample,
    options: { defaultMetrics?: boolean; gpu?: () => GpuSample | undefined } = {},
  ) {
    const r = this.registry;
    r.setDefaultLabels({ worker });
    this.tasks = new Counter({
      name: 'tessera_worker_tasks_total',
      help: 'Tasks this worker reported, by state (started, done, failed)',
      labelNames: ['state'],
      registers: [r],
    });
    this.duration = new Histogram({
      name: 'tessera_worker_task_duration_seconds',
      help: 'Run time of the tasks this worker completed',
      buckets: DURATION_BUCKETS,
      registers: [r],
    });
    this.fetched = new Counter({
      name: 'tessera_worker_peer_fetched_bytes_total',
      help: 'Chunk bytes fetched from other workers',
      registers: [r],
    });
    this.served = new Counter({
      name: 'tessera_worker_peer_served_bytes_total',
      help: 'Chunk bytes served to other workers and the scheduler',
      registers: [r],
    });
    this.fetches = new Counter({
      name: 'tessera_worker_peer_fetches_total',
      help: 'Chunk fetches from peers, by result',
      labelNames: ['result'],
      registers: [r],
    });
    const gauge = (name: string, help: string) => new Gauge({ name, help, registers: [r] });
    this.gauges = {
      chunks: gauge('tessera_worker_chunks', 'Chunks this worker owns'),
      bytes: gauge('tessera_worker_chunk_bytes', 'Bytes of the chunks this worker owns'),
      running: gauge('tessera_worker_running_tasks', 'Tasks running or waiting for a pool thread'),
      memoryLimit: gauge('tessera_worker_memory_limit_bytes', 'Chunk memory this worker allows itself'),
      deviceBytes: gauge('tessera_worker_device_chunk_bytes', 'Bytes of the chunks this worker holds in GPU memory only'),
      spilledBytes: gauge('tessera_worker_spilled_chunk_bytes', 'Bytes of the chunks this worker holds on disk only'),
      paused: gauge('tessera_worker_paused', '1 while chunk memory is past its pause point (80% of the limit) and the worker takes no new tasks'),
    };
    // The GPU runner and the chunk store keep their own totals: each scrape reports them as they are.
    const gpu = options.gpu ?? (() => undefined);
    const total = (name: string, help: string, value: () => number | undefined): Counter =>
      new Counter({
        name,
        help,
        registers: [r],
        collect(this: Counter) {
          const v = value();
          this.reset();
          if (v !== undefined) this.inc(v);
        },
      });
    total('tessera_worker_gpu_tasks_total', 'Tasks run on the GPU', () => gpu()?.tasks);
    total('tessera_worker_gpu_uploads_total', 'Chunks copied from host to GPU memory', () => gpu()?.uploads);
    total(
      'tessera_worker_gpu_readbacks_total',
      'Chunks copied from GPU memory to the host (when the host needed them)',
      () => gpu()?.readbacks,
    );
    total('tessera_worker_spills_total', 'Chunks written to disk because chunk memory passed its target', () => this.sample().spills);
    total('tessera_worker_spill_failures_total', 'Spill writes that failed (a full disk): the chunk stayed in memory', () => this.sample().spillFailures);
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: r, prefix: 'tessera_worker_' });
  }

  /** Every report item this worker sends passes here. */
  observe(item: ReportItem): void {
    this.tasks.inc({ state: item.type });
    if (item.type === 'done' && item.stop >= item.start) this.duration.observe((item.stop - item.start) / 1000);
  }

  fetchedBytes(n: number): void {
    this.fetched.inc(n);
    this.fetches.inc({ result: 'ok' });
  }

  fetchFailed(): void {
    this.fetches.inc({ result: 'failed' });
  }

  servedBytes(n: number): void {
    this.served.inc(n);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    const s = this.sample();
    for (const k of Object.keys(this.gauges) as (keyof typeof this.gauges)[]) this.gauges[k].set(s[k]);
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
