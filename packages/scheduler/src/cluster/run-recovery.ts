import {
  KilledWorkerError,
  clusterKeys,
  graphKeys,
  graphSideKeys,
  jobIdOf,
  serializeError,
  type Dtype,
  type TaskJob,
  type TaskSpec,
} from '@tessera/protocol';
import type { RedisStore } from '../store/redis-store.js';
import { runScript } from '../store/redis-scripts/redis-script.js';
import { bumpSuspect } from '../store/redis-scripts/side-write-2.js';
import type { ClusterContext, ClusterState } from './cluster-state.js';
import { DeadWorkerSweep } from './dead-worker-sweep.js';
import { forgetPersisted } from './persisted-records.js';
import type { Carrier } from './job-queues.js';
import { SHARED } from './placement.js';
import type { InFlight } from './run-table.js';

/** What a worker's death cost, by graph: chunks lost, runs dropped, and which of those it had started. */
export type WorkerLosses = Map<string, { lost: string[]; dropped: string[]; running: string[] }>;

/** How often dead workers' leftover keys are looked for. */
const DEAD_SWEEP_MS = 5_000;

/** A task running on this many workers when they died is taken to be what kills them. */
const KILLED_WORKER_LIMIT = 3;

/** What resume reads besides the cluster state: the graphs in Redis, and the reports not yet read. */
export interface ResumeSources {
  store: RedisStore;
  /** Follow a graph again (the dispatcher's outputs and chains, the event log). */
  follow: (graphId: string, outputs: readonly string[]) => void;
  /** Apply every report already in the stream. */
  drainReports: () => Promise<void>;
}

/**
 * The "recover" step: runs in flight that will not complete as sent. A dead worker's (with the
 * chunks it held, and a strike against each task it was running: KilledWorkerError at the
 * third), tasks chained after a run that broke, the runs a restarted scheduler finds recorded in
 * Redis (kept where a queued job still carries them, sent again where none does, adopted when a
 * report finishes one that was never recorded), and runs whose job vanished from Redis (the sweep).
 */
export class RunRecovery {
  /** Runs restored from Redis on resume, until resendInFlight has dealt with them. */
  private readonly restored = new Set<InFlight>();
  /**
   * While resuming, a report may finish a task the last scheduler sent but died before recording
   * (Redis still says waiting): take it as that graph's run rather than recompute it.
   */
  private specs: ((graph: string, key: string) => TaskSpec | undefined) | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private sweeping = false;
  private readonly deadSweep: DeadWorkerSweep;
  private deadSweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly state: ClusterState,
    private readonly ctx: ClusterContext,
  ) {
    this.deadSweep = new DeadWorkerSweep(ctx.redis, ctx.prefix, ctx.queues, ctx.log);
  }

  /** A worker joined: once it is gone for good, its leftover keys are removed. */
  workerJoined(id: string): void {
    this.deadSweep.note(id);
  }

  /**
   * A worker died (`strikes`), or deregistered itself in a graceful shutdown (no strikes): its
   * chunks are recomputed where needed and its runs sent again; a task it was running gets a
   * strike, and fails the graph with KilledWorkerError once it has killed KILLED_WORKER_LIMIT.
   */
  async workerGone(id: string, opts: { strikes: boolean }): Promise<void> {
    const taken = await this.ctx.queues.takenBy(id).catch(() => ({ own: new Set<string>(), shared: new Set<string>() }));
    const byGraph = this.losses(id, taken.shared);
    this.ctx.frees.dropWorker(id);
    this.state.room();
    let lostN = 0;
    let droppedN = 0;
    for (const { lost, dropped } of byGraph.values()) {
      lostN += lost.length;
      droppedN += dropped.length;
    }
    this.ctx.log.warn(
      { worker: id, lostChunks: lostN, rerun: droppedN },
      'worker gone: its chunks are recomputed where needed, its tasks run again',
    );
    await this.ctx.queues.drop(id);
    const now = Date.now();
    for (const [g, { lost, dropped, running }] of byGraph) {
      const retry: string[] = [];
      const ran = new Set(running);
      for (const key of dropped) {
        // Only a run the worker said it started is suspect: a worker takes many jobs ahead of its
        // threads, and a job that only waited there when it died is innocent (it is re-run).
        if (!opts.strikes || !ran.has(key)) {
          retry.push(key);
          continue;
        }
        // Counted only while the graph is there (with its TTL): a late HINCRBY would keep a key for ever.
        const counted = await runScript(this.ctx.redis, bumpSuspect, [graphKeys(this.ctx.prefix, g).meta, graphSideKeys(this.ctx.prefix, g).suspects], [key]);
        if (counted === null) continue;
        const strikes = Number(counted);
        if (strikes >= KILLED_WORKER_LIMIT)
          this.ctx.core.taskFailed(g, key, serializeError(new KilledWorkerError(key, strikes)), { worker: id, start: now, stop: now });
        else retry.push(key);
      }
      void this.ctx.core.recover(g, lost, retry, (r) => this.state.inflight.forget(g, r.moved));
    }
  }

  /**
   * A worker died: the chunks it held are lost and the runs sent to it (or taken by it from the
   * shared queue: `took`) will not complete. Returns both, by graph, for the core to recover.
   */
  private losses(worker: string, took: ReadonlySet<string>): WorkerLosses {
    const byGraph: WorkerLosses = new Map();
    const entry = (g: string): { lost: string[]; dropped: string[]; running: string[] } => {
      let e = byGraph.get(g);
      if (!e) byGraph.set(g, (e = { lost: [], dropped: [], running: [] }));
      return e;
    };
    const unpinned: string[] = [];
    for (const [key, e] of this.state.directory.loseWorker(worker)) {
      for (const g of e.graphs) entry(g).lost.push(key);
      if (e.pinned) unpinned.push(key);
    }
    forgetPersisted(this.ctx, unpinned);
    for (const [key, f] of [...this.state.inflight]) {
      if (f.worker !== worker && !(f.worker === SHARED && took.has(key))) continue;
      this.state.inflight.settle(key, f);
      this.state.inflight.retry(key, f.attempt + 1);
      for (const g of f.graphs) {
        entry(g).dropped.push(key);
        if (f.runningOn === worker) entry(g).running.push(key);
      }
    }
    this.state.inflight.dropWorker(worker);
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
      const r = this.state.inflight.get(k);
      if (r?.jobId !== f.jobId || r.after === undefined) continue;
      this.state.inflight.settle(k, r);
      for (const g of r.graphs) byGraph.set(g, [...(byGraph.get(g) ?? []), k]);
    }
    for (const [g, keys] of byGraph) void this.ctx.core.recover(g, [], keys);
  }

  /**
   * Pick up where the last scheduler stopped: rebuild which worker holds what and what is in
   * flight from Redis, note which jobs still carry those runs, apply reports it never read, then
   * re-send what is in flight and carried by no job, and recover what died with the workers.
   * Then the sweep for vanished jobs starts, a few heartbeats apart.
   */
  async resume(src: ResumeSources, heartbeatMs: number): Promise<void> {
    const alive = (w: string): boolean => w === SHARED || this.ctx.workers.isAlive(w);
    const todo: { id: string; lost: string[]; dropped: string[]; ready: string[] }[] = [];
    const readySpecs = new Map<string, Map<string, TaskSpec>>();
    const persisted = await this.ctx.redis.hgetall(clusterKeys(this.ctx.prefix).persisted);
    for (const [key, raw] of Object.entries(persisted)) {
      const p = JSON.parse(raw) as { worker: string; nbytes: number; dtype: Dtype; shape: number[] };
      if (alive(p.worker)) this.state.directory.put(key, p, [], true);
    }
    for (const g of await src.store.listGraphs()) {
      if (g.state !== 'running' && g.state !== 'finished') continue;
      src.follow(g.id, g.outputs);
      const state = await src.store.resumeState(g.id);
      const keys = [...state.memory.map((m) => m.key), ...state.active.map((a) => a.key)];
      const specs = new Map((await src.store.getTasks(g.id, keys)).map((t) => [t.key, t]));
      const lost: string[] = [];
      for (const { key, worker } of state.memory) {
        const t = specs.get(key)!;
        if (alive(worker)) this.state.directory.put(key, { worker, nbytes: t.nbytes, dtype: t.dtype, shape: [...t.shape] }, [g.id]);
        else lost.push(key);
      }
      if (g.state !== 'running') continue;
      const dropped: string[] = [];
      for (const { key, worker } of state.active) {
        if (alive(worker)) this.restoreInFlight(g.id, specs.get(key)!, worker);
        else dropped.push(key);
      }
      todo.push({ id: g.id, lost, dropped, ready: state.ready });
      readySpecs.set(g.id, new Map((await src.store.getTasks(g.id, state.ready)).map((t) => [t.key, t])));
    }
    const carriers = await this.carriers();
    // Reports may finish tasks the last scheduler sent without recording it: adopt those runs.
    this.adoptFrom((graph, key) => readySpecs.get(graph)?.get(key));
    await src.drainReports();
    this.adoptFrom(undefined);
    this.resendInFlight(carriers);
    for (const t of todo) {
      if (t.lost.length || t.dropped.length) void this.ctx.core.recover(t.id, t.lost, t.dropped, (r) => this.state.inflight.forget(t.id, r.moved));
      this.ctx.core.resume(t.id, t.ready);
    }
    // Runs whose jobs Redis lost are found by a slow sweep (a few heartbeats apart).
    const every = Math.max(1_000, 5 * heartbeatMs);
    this.sweeper = setInterval(() => {
      if (this.sweeping) return;
      this.sweeping = true;
      this.sweep(every)
        .catch((err: unknown) => this.ctx.log.error({ err }, 'sweep failed'))
        .finally(() => (this.sweeping = false));
    }, every);
    let deadSweeping = false;
    this.deadSweeper = setInterval(() => {
      if (deadSweeping) return;
      deadSweeping = true;
      this.deadSweep
        .sweep((w) => this.ctx.workers.isAlive(w))
        .catch((err: unknown) => this.ctx.log.warn({ err }, 'sweeping dead workers\' keys failed'))
        .finally(() => (deadSweeping = false));
    }, DEAD_SWEEP_MS);
  }

  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    if (this.deadSweeper) clearInterval(this.deadSweeper);
  }

  /** While resuming: how to find the spec of a task a report names. */
  private adoptFrom(lookup: ((graph: string, key: string) => TaskSpec | undefined) | undefined): void {
    this.specs = lookup;
  }

  adopt(key: string, graph: string): InFlight | undefined {
    if (!this.specs || !this.state.follows(graph) || this.state.directory.get(key)) return undefined;
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
    this.state.inflight.add(key, f);
    return f;
  }

  /** Resume: a run the last scheduler sent is still on its way (its job id is re-added, a no-op if present). */
  private restoreInFlight(graphId: string, spec: TaskSpec, worker: string): void {
    const f = this.state.inflight.get(spec.key);
    if (f) {
      f.graphs.add(graphId);
      return;
    }
    const jobId = jobIdOf(spec.key, 0);
    const run: InFlight = { spec, graphs: new Set([graphId]), worker, attempt: 0, jobId, sentAt: Date.now(), missing: 0 };
    this.state.inflight.add(spec.key, run);
    this.restored.add(run);
  }

  /**
   * Resume, before pending reports are applied: the job (or bundle) carrying each run restored as
   * in flight, by jobIdOf(key, attempt). Looked up first: a run whose job is gone by then has its
   * report in the stream already (a job completes only once its report is written).
   */
  private async carriers(): Promise<Map<string, Carrier>> {
    const out = new Map<string, Carrier>();
    for (const worker of new Set([...this.restored].map((f) => f.worker))) {
      const found = await this.ctx.queues.carriers(worker).catch(() => new Map<string, Carrier>());
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
  private resendInFlight(carriers: ReadonlyMap<string, Carrier>): void {
    const byQueue = new Map<string, TaskJob[]>();
    const restored = [...this.restored];
    this.restored.clear();
    for (const f of restored) {
      // Settled by a pending report, or a run the drain itself just sent (under its own job).
      if (this.state.inflight.get(f.spec.key) !== f) continue;
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
      const job = this.ctx.jobs.job(f.spec, [...f.graphs][0]!, f.attempt);
      if (!job) {
        this.state.inflight.settle(f.spec.key, f);
        for (const g of f.graphs) void this.ctx.core.recover(g, [], [f.spec.key]);
        continue;
      }
      const list = byQueue.get(f.worker) ?? [];
      list.push(job);
      byQueue.set(f.worker, list);
    }
    for (const [worker, jobs] of byQueue) this.ctx.queues.add(worker, jobs);
  }

  /**
   * Re-send runs whose job vanished from BullMQ without a report (Redis lost it: a restart that
   * dropped the last writes, a failover). A job found gone twice in a row, a sweep apart, is gone:
   * a run that just finished has had its report read in between.
   */
  private async sweep(minAgeMs: number): Promise<void> {
    const now = Date.now();
    const resend = new Map<string, TaskJob[]>();
    const present = new Map<string, Promise<boolean>>();
    for (const [key, f] of [...this.state.inflight]) {
      if (now - f.sentAt < minAgeMs || f.graphs.size === 0) continue;
      // One look per job: a bundle's runs share theirs.
      let exists = present.get(f.jobId);
      if (!exists) present.set(f.jobId, (exists = this.ctx.queues.exists(f.worker, f.jobId)));
      if (await exists) {
        f.missing = 0;
        continue;
      }
      if (this.state.inflight.get(key) !== f || ++f.missing < 2) continue;
      const job = this.ctx.jobs.job(f.spec, [...f.graphs][0]!, f.attempt);
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
      this.ctx.log.warn({ queue: worker === SHARED ? 'shared' : worker, jobs: jobs.length }, 'jobs vanished from Redis; sending them again');
      this.ctx.queues.add(worker, jobs);
    }
  }
}
