import type { Redis } from 'ioredis';
import { clusterKeys, jobIdOf, type TaskJob, type TaskSpec } from '@tessera/protocol';
import type { SchedulerCore } from '../core/scheduler-core.js';
import type { ChunkDirectory } from './chunk-directory.js';
import type { Carrier, JobQueues } from './job-queues.js';
import type { ClusterLog } from './log.js';
import { SHARED } from './placement.js';
import type { InFlight, RunTable } from './run-table.js';
import type { TaskJobs } from './task-jobs.js';

/** What a worker's death cost, by graph: chunks lost, runs dropped, and which of those it had started. */
export type WorkerLosses = Map<string, { lost: string[]; dropped: string[]; running: string[] }>;

/**
 * Runs in flight that will not complete as sent: a dead worker's (with the chunks it held), tasks
 * chained after a run that broke, runs a restarted scheduler finds recorded in Redis (kept where
 * a queued job still carries them, sent again where none does, adopted when a report finishes one
 * that was never recorded), and runs whose job vanished from Redis (the sweep).
 */
export class RunRecovery {
  /** Runs restored from Redis on resume, until resendInFlight has dealt with them. */
  private readonly restored = new Set<InFlight>();
  /**
   * While resuming, a report may finish a task the last scheduler sent but died before recording
   * (Redis still says waiting): take it as that graph's run rather than recompute it.
   */
  private specs: ((graph: string, key: string) => TaskSpec | undefined) | undefined;

  constructor(
    private readonly inflight: RunTable,
    private readonly directory: ChunkDirectory,
    private readonly jobs: TaskJobs,
    /** Whether the dispatcher follows a graph (added, and not cancelled since). */
    private readonly follows: (graphId: string) => boolean,
    private readonly core: SchedulerCore,
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly queues: JobQueues,
    private readonly log: ClusterLog,
  ) {}

  /**
   * A worker died: the chunks it held are lost and the runs sent to it (or taken by it from the
   * shared queue: `took`) will not complete. Returns both, by graph, for the core to recover.
   */
  workerDied(worker: string, took: ReadonlySet<string>): WorkerLosses {
    const byGraph: WorkerLosses = new Map();
    const entry = (g: string): { lost: string[]; dropped: string[]; running: string[] } => {
      let e = byGraph.get(g);
      if (!e) byGraph.set(g, (e = { lost: [], dropped: [], running: [] }));
      return e;
    };
    for (const [key, e] of this.directory.loseWorker(worker)) {
      for (const g of e.graphs) entry(g).lost.push(key);
      if (e.pinned) void this.redis.hdel(clusterKeys(this.prefix).persisted, key);
    }
    for (const [key, f] of [...this.inflight]) {
      if (f.worker !== worker && !(f.worker === SHARED && took.has(key))) continue;
      this.inflight.settle(key, f);
      this.inflight.retry(key, f.attempt + 1);
      for (const g of f.graphs) {
        entry(g).dropped.push(key);
        if (f.runningOn === worker) entry(g).running.push(key);
      }
    }
    this.inflight.dropWorker(worker);
    return byGraph;
  }

  /**
   * A run failed or will not complete: the worker runs none of the tasks chained after it in its
   * job, so those go back to waiting (their input is not there) and are sent again once it is.
   */
  unchain(f: InFlight): void {
    if (!f.bundle) return;
    const byGraph = new Map<string, string[]>();
    for (const k of f.bundle.slice(f.bundle.indexOf(f.spec.key) + 1)) {
      const r = this.inflight.get(k);
      if (r?.jobId !== f.jobId || r.after === undefined) continue;
      this.inflight.settle(k, r);
      for (const g of r.graphs) byGraph.set(g, [...(byGraph.get(g) ?? []), k]);
    }
    for (const [g, keys] of byGraph) void this.core.recover(g, [], keys);
  }

  /** While resuming: how to find the spec of a task a report names. */
  adoptFrom(lookup: ((graph: string, key: string) => TaskSpec | undefined) | undefined): void {
    this.specs = lookup;
  }

  adopt(key: string, graph: string): InFlight | undefined {
    if (!this.specs || !this.follows(graph) || this.directory.get(key)) return undefined;
    const spec = this.specs(graph, key);
    if (!spec) return undefined;
    const f: InFlight = {
      spec,
      graphs: new Set([graph]),
      worker: SHARED,
      attempt: 0,
      jobId: jobIdOf(key, 0),
      sentAt: Date.now(),
      missing: 0,
    };
    this.inflight.add(key, f);
    return f;
  }

  /** Resume: a run the last scheduler sent is still on its way (its job id is re-added, a no-op if present). */
  restoreInFlight(graphId: string, spec: TaskSpec, worker: string): void {
    const f = this.inflight.get(spec.key);
    if (f) {
      f.graphs.add(graphId);
      return;
    }
    const jobId = jobIdOf(spec.key, 0);
    const run: InFlight = { spec, graphs: new Set([graphId]), worker, attempt: 0, jobId, sentAt: Date.now(), missing: 0 };
    this.inflight.add(spec.key, run);
    this.restored.add(run);
  }

  /**
   * Resume, before pending reports are applied: the job (or bundle) carrying each run restored as
   * in flight, by jobIdOf(key, attempt). Looked up first: a run whose job is gone by then has its
   * report in the stream already (a job completes only once its report is written).
   */
  async carriers(): Promise<Map<string, Carrier>> {
    const out = new Map<string, Carrier>();
    for (const worker of new Set([...this.restored].map((f) => f.worker))) {
      const found = await this.queues.carriers(worker).catch(() => new Map<string, Carrier>());
      for (const [run, jobId] of found) out.set(run, jobId);
    }
    return out;
  }

  /**
   * Resume, after pending reports were applied: restored runs a queued job (or bundle, or chain)
   * still carries keep it; the rest are sent again under their own job ids. Runs the drain
   * dispatched are left alone: their jobs are new, and a second job id would run them twice. A
   * chained run whose job is gone and whose input is not done goes back to waiting.
   */
  resendInFlight(carriers: ReadonlyMap<string, Carrier>): void {
    const byQueue = new Map<string, TaskJob[]>();
    const restored = [...this.restored];
    this.restored.clear();
    for (const f of restored) {
      // Settled by a pending report, or a run the drain itself just sent (under its own job).
      if (this.inflight.get(f.spec.key) !== f) continue;
      const carrier = carriers.get(jobIdOf(f.spec.key, f.attempt));
      if (carrier !== undefined) {
        f.jobId = carrier.job;
        if (carrier.chain) {
          const i = carrier.chain.indexOf(f.spec.key);
          f.bundle = carrier.chain;
          if (i > 0) f.after = carrier.chain[i - 1]!;
        }
        continue;
      }
      const job = this.jobs.job(f.spec, [...f.graphs][0]!, f.attempt);
      if (!job) {
        this.inflight.settle(f.spec.key, f);
        for (const g of f.graphs) void this.core.recover(g, [], [f.spec.key]);
        continue;
      }
      const list = byQueue.get(f.worker) ?? [];
      list.push(job);
      byQueue.set(f.worker, list);
    }
    for (const [worker, jobs] of byQueue) this.queues.add(worker, jobs);
  }

  /**
   * Re-send runs whose job vanished from BullMQ without a report (Redis lost it: a restart that
   * dropped the last writes, a failover). A job found gone twice in a row, a sweep apart, is gone:
   * a run that just finished has had its report read in between.
   */
  async sweep(minAgeMs: number): Promise<void> {
    const now = Date.now();
    const resend = new Map<string, TaskJob[]>();
    const present = new Map<string, Promise<boolean>>();
    for (const [key, f] of [...this.inflight]) {
      if (now - f.sentAt < minAgeMs || f.graphs.size === 0) continue;
      // One look per job: a bundle's runs share theirs.
      let exists = present.get(f.jobId);
      if (!exists) present.set(f.jobId, (exists = this.queues.exists(f.worker, f.jobId)));
      if (await exists) {
        f.missing = 0;
        continue;
      }
      if (this.inflight.get(key) !== f || ++f.missing < 2) continue;
      const job = this.jobs.job(f.spec, [...f.graphs][0]!, f.attempt);
      if (!job) continue;
      // Sent again alone, under its own id.
      f.missing = 0;
      f.sentAt = now;
      f.jobId = jobIdOf(key, f.attempt);
      delete f.bundle;
      const list = resend.get(f.worker) ?? [];
      list.push(job);
      resend.set(f.worker, list);
    }
    for (const [worker, jobs] of resend) {
      this.log.warn({ queue: worker === SHARED ? 'shared' : worker, jobs: jobs.length }, 'jobs vanished from Redis; sending them again');
      this.queues.add(worker, jobs);
    }
  }
}
