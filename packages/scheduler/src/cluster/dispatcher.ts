import type { Redis } from 'ioredis';
import {
  ChunkLostError,
  NoGpuError,
  clusterKeys,
  jobIdOf,
  packTaskSpec,
  serializeError,
  type InputLocation,
  type TaskJob,
  type TaskSpec,
  type TransferTiming,
  type WorkerInfo,
} from '@tessera/protocol';
import type { Executor, TaskTiming } from '../core/executor.js';
import type { SchedulerCore } from '../core/scheduler-core.js';
import { ReadyQueue } from '../local/ready-queue.js';
import { ChunkDirectory } from './chunk-directory.js';
import { FreeSender } from './free-sender.js';
import { bundleJobs } from './bundles.js';
import { ChainIndex } from './chains.js';
import { queuedJobId, type Carrier, type JobQueues, type QueuedJob } from './job-queues.js';
import { defaultClusterLog, type ClusterLog } from './log.js';
import { SHARED, placeTask } from './placement.js';

export interface InFlight {
  spec: TaskSpec;
  /** When its job was (last) sent, and how many sweeps in a row found the job gone. */
  sentAt: number;
  missing: number;
  /** Graphs waiting for this key: graphs that share keys share the run. */
  graphs: Set<string>;
  worker: string;
  attempt: number;
  /** The BullMQ job carrying the run: its own (jobIdOf), or its bundle's or chain's, with their keys. */
  jobId: string;
  bundle?: readonly string[];
  /** A chained run (TaskJob.next): the task before it in its job, whose chunk is its only input. */
  after?: string;
  /** The worker that reported this run started (a death there strikes it; a queued run is innocent). */
  runningOn?: string;
}

/**
 * The cluster's Executor: keeps the ready tasks the core hands it in priority order, and turns
 * them into BullMQ jobs only as workers have room (root tasks on the shared queue, others on the
 * queue of the worker holding most of their input bytes). It tracks every run in flight and
 * every chunk held (ChunkDirectory), so completions fan out to every graph that waits for a key,
 * freed chunks are dropped on their worker, and a dead worker's losses can be recovered.
 */
export class Dispatcher implements Executor {
  readonly directory = new ChunkDirectory();
  readonly inflight = new Map<string, InFlight>();
  private readonly ready = new ReadyQueue();
  private readonly graphSeq = new Map<string, number>();
  private readonly outputs = new Map<string, Set<string>>();
  /** How many followed graphs have each key as an output: a job's `output` flag in O(1). */
  private readonly outputCount = new Map<string, number>();
  /** Runs after a loss get a new job id: a stalled copy of the old job must not block them. */
  private readonly attempts = new Map<string, number>();
  private readonly outstanding = new Map<string, number>();
  private readonly frees: FreeSender;
  /** Graphs with a ready (not yet sent) task per key: a run finishing for another graph is held for them too. */
  private readonly waiting = new Map<string, Set<string>>();
  /** tasksQueued calls gathered in one pass, by graph then worker. */
  private readonly queued = new Map<string, Map<string, string[]>>();
  /** Runs restored from Redis on resume, until resendInFlight has dealt with them. */
  private readonly restored = new Set<InFlight>();
  private readonly chains = new ChainIndex();
  private seq = 0;
  private pumpScheduled = false;

  constructor(
    private readonly core: SchedulerCore,
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly queues: JobQueues,
    private readonly workers: { alive(): WorkerInfo[]; get(id: string): WorkerInfo | undefined },
    private readonly log: ClusterLog = defaultClusterLog,
  ) {
    this.frees = new FreeSender(redis, prefix, log);
  }

  /**
   * A graph starts (or is resumed): remember its outputs so their runs report small results
   * inline, and (given its tasks, at submit) its chains of tiny tasks.
   */
  addGraph(graphId: string, outputs: readonly string[], tasks?: readonly TaskSpec[]): void {
    if (!this.graphSeq.has(graphId)) this.graphSeq.set(graphId, this.seq++);
    if (this.outputs.has(graphId)) return;
    if (tasks) this.chains.add(graphId, tasks);
    const set = new Set(outputs);
    this.outputs.set(graphId, set);
    for (const k of set) this.outputCount.set(k, (this.outputCount.get(k) ?? 0) + 1);
  }

  run(graphId: string, tasks: readonly TaskSpec[]): void {
    const graphSeq = this.graphSeq.get(graphId);
    if (graphSeq === undefined) return;
    for (const spec of tasks) {
      // Held or running for another graph: shared now, without waiting for a turn.
      if (this.share(graphId, spec)) continue;
      this.ready.push({ graphId, graphSeq, spec });
      let w = this.waiting.get(spec.key);
      if (!w) this.waiting.set(spec.key, (w = new Set()));
      w.add(graphId);
    }
    void this.flushQueued();
    this.schedulePump();
  }

  free(graphId: string, keys: readonly string[]): void {
    for (const k of keys) {
      const freed = this.directory.drop(k, graphId);
      if (freed) this.sendFree(freed.worker, k, freed.nbytes);
    }
  }

  cancel(graphId: string): void {
    this.graphSeq.delete(graphId);
    this.chains.drop(graphId);
    const orphans: InFlight[] = [];
    for (const f of this.inflight.values()) if (f.graphs.delete(graphId) && f.graphs.size === 0) orphans.push(f);
    // Jobs nobody waits for are taken back if still waiting (a bundle only when none of its runs
    // is waited for); a running one finishes and is freed.
    const jobs = new Map<string, InFlight[]>();
    for (const f of orphans) {
      if (jobs.has(f.jobId)) continue;
      const runs = this.bundled(f);
      if (runs.every((r) => r.graphs.size === 0)) jobs.set(f.jobId, runs);
    }
    for (const [jobId, runs] of jobs) {
      void this.queues.remove(runs[0]!.worker, jobId).then((removed) => {
        if (!removed) return;
        for (const f of runs) if (this.inflight.get(f.spec.key) === f) this.settle(f.spec.key, f);
      });
    }
  }

  /**
   * A run failed or will not complete: the worker runs none of the tasks chained after it in its
   * job, so those go back to waiting (their input is not there) and are sent again once it is.
   */
  private unchain(f: InFlight): void {
    if (!f.bundle) return;
    const byGraph = new Map<string, string[]>();
    for (const k of f.bundle.slice(f.bundle.indexOf(f.spec.key) + 1)) {
      const r = this.inflight.get(k);
      if (r?.jobId !== f.jobId || r.after === undefined) continue;
      this.settle(k, r);
      for (const g of r.graphs) byGraph.set(g, [...(byGraph.get(g) ?? []), k]);
    }
    for (const [g, keys] of byGraph) void this.core.recover(g, [], keys);
  }

  /** A graph finished, erred or was cancelled: its chains are no longer needed. */
  graphEnded(graphId: string): void {
    this.chains.drop(graphId);
  }

  /** The runs still in flight of f's bundle. */
  private bundled(f: InFlight): InFlight[] {
    return (f.bundle ?? [f.spec.key]).flatMap((k) => {
      const g = this.inflight.get(k);
      return g?.jobId === f.jobId ? [g] : [];
    });
  }

  /** A graph is forgotten: chunks only it held are freed, `keep` ones are pinned (persisted). */
  releaseGraph(graphId: string, keep: readonly string[]): void {
    this.cancel(graphId);
    for (const k of this.outputs.get(graphId) ?? []) {
      const n = (this.outputCount.get(k) ?? 1) - 1;
      if (n > 0) this.outputCount.set(k, n);
      else this.outputCount.delete(k);
    }
    this.outputs.delete(graphId);
    for (const k of keep) {
      const e = this.directory.get(k);
      if (e)
        void this.redis.hset(
          clusterKeys(this.prefix).persisted,
          k,
          JSON.stringify({ worker: e.worker, nbytes: e.nbytes, dtype: e.dtype, shape: e.shape }),
        );
    }
    for (const [k, e] of this.directory.dropGraph(graphId, new Set(keep))) this.sendFree(e.worker, k);
  }

  unpersist(keys: readonly string[]): void {
    if (keys.length) void this.redis.hdel(clusterKeys(this.prefix).persisted, ...keys);
    for (const k of keys) {
      const freed = this.directory.unpin(k);
      if (freed) this.sendFree(freed.worker, k);
    }
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
    const f = this.inflight.get(key) ?? this.adopt(key, graph);
    if (!f || f.attempt !== attempt || (f.worker !== SHARED && f.worker !== worker)) {
      // A stale run (cancelled, or superseded after a loss): drop its chunk unless it is the one we use.
      if (this.directory.get(key)?.worker !== worker) this.sendFree(worker, key);
      return;
    }
    this.settle(key, f);
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
    this.settle(key, f);
    this.unchain(f);
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

  /**
   * A worker died: the chunks it held are lost and the runs sent to it (or taken by it from the
   * shared queue: `took`) will not complete. Returns both, by graph, for the core to recover.
   */
  workerDied(worker: string, took: ReadonlySet<string>): Map<string, { lost: string[]; dropped: string[]; running: string[] }> {
    const byGraph = new Map<string, { lost: string[]; dropped: string[]; running: string[] }>();
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
      this.settle(key, f);
      this.attempts.set(key, f.attempt + 1);
      for (const g of f.graphs) {
        entry(g).dropped.push(key);
        if (f.runningOn === worker) entry(g).running.push(key);
      }
    }
    this.outstanding.delete(worker);
    this.frees.dropWorker(worker);
    this.schedulePump();
    return byGraph;
  }

  /**
   * While resuming, a report may finish a task the last scheduler sent but died before recording
   * (Redis still says waiting): take it as that graph's run rather than recompute it.
   */
  private specs: ((graph: string, key: string) => TaskSpec | undefined) | undefined;

  /** While resuming: how to find the spec of a task a report names. */
  adoptFrom(lookup: ((graph: string, key: string) => TaskSpec | undefined) | undefined): void {
    this.specs = lookup;
  }

  private adopt(key: string, graph: string): InFlight | undefined {
    if (!this.specs || !this.graphSeq.has(graph) || this.directory.get(key)) return undefined;
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
    this.inflight.set(key, f);
    this.outstanding.set(SHARED, (this.outstanding.get(SHARED) ?? 0) + 1);
    return f;
  }

  /** After a recovery: runs of `moved` tasks still in flight are void for `graphId`. */
  forget(graphId: string, moved: readonly string[]): void {
    for (const k of moved) this.inflight.get(k)?.graphs.delete(graphId);
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
    this.inflight.set(spec.key, run);
    this.restored.add(run);
    this.outstanding.set(worker, (this.outstanding.get(worker) ?? 0) + 1);
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
      const job = this.job(f.spec, [...f.graphs][0]!, f.attempt);
      if (!job) {
        this.settle(f.spec.key, f);
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
      const job = this.job(f.spec, [...f.graphs][0]!, f.attempt);
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

  schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private settle(key: string, f: InFlight): void {
    this.inflight.delete(key);
    const n = (this.outstanding.get(f.worker) ?? 1) - 1;
    if (n > 0) this.outstanding.set(f.worker, n);
    else this.outstanding.delete(f.worker);
    this.schedulePump();
  }

  private pump(): void {
    const sent = new Map<string, TaskJob[]>();
    const alive = this.workers.alive();
    for (;;) {
      const item = this.ready.peek();
      if (!item) break;
      const { graphId, spec } = item;
      if (!this.graphSeq.has(graphId)) {
        this.pop();
        continue;
      }
      if (this.share(graphId, spec)) {
        this.pop();
        continue;
      }
      const missing = spec.deps.find((d) => !this.directory.get(d));
      if (missing !== undefined) {
        // The state machine says it is in memory, but no live worker holds it: lost.
        this.pop();
        void this.core.recover(graphId, [missing], []);
        continue;
      }
      if (spec.device === 'gpu' && alive.length > 0 && !alive.some((w) => w.gpu)) {
        // It must run on a GPU and no worker reported one: the graph fails now, saying why.
        this.pop();
        const now = Date.now();
        const error = new NoGpuError(
          `task ${spec.key} needs a GPU (device: 'gpu') and no worker of the cluster has one (start workers with --gpu)`,
        );
        this.core.taskFailed(graphId, spec.key, serializeError(error), { worker: SHARED, start: now, stop: now });
        continue;
      }
      const target = this.place(spec, alive);
      if (target === undefined) break;
      const attempt = this.attempts.get(spec.key) ?? 0;
      // No job when an input's worker just died: wait for its recovery to run.
      const job = this.job(spec, graphId, attempt);
      if (!job) break;
      this.pop();
      const jobId = jobIdOf(spec.key, attempt);
      const run: InFlight = { spec, graphs: new Set([graphId]), worker: target, attempt, jobId, sentAt: Date.now(), missing: 0 };
      this.inflight.set(spec.key, run);
      this.outstanding.set(target, (this.outstanding.get(target) ?? 0) + 1);
      const list = sent.get(target) ?? [];
      list.push(job);
      sent.set(target, list);
      this.note(graphId, target, spec.key);
      if (target !== SHARED) this.chain(graphId, run, job);
    }
    // Where each task goes is in Redis before its job exists: a scheduler that dies in between
    // finds it queued there on restart (and re-sends the same job id), never sends it twice.
    // The store and the queues share one connection, so the adds need only follow the writes,
    // not wait for their answers: a round trip less per hop.
    const written = this.flushQueued();
    if (sent.size === 0) return;
    const bundled = new Map<string, QueuedJob[]>();
    for (const [worker, jobs] of sent) bundled.set(worker, this.bundle(worker, jobs, alive));
    void written.then(() => bundled.forEach((jobs, worker) => this.queues.add(worker, jobs)));
  }

  /**
   * The tiny tasks whose only input is this run's chunk (and so on down the chain) ride in its
   * job: the worker runs each the moment the one before is done. They are in flight, queued on
   * the same worker, from now on, though still waiting for their input: a completion of the head
   * does not make them ready again (completeTasks only readies waiting tasks).
   */
  private chain(graphId: string, head: InFlight, job: TaskJob): void {
    const worker = head.worker;
    const address = this.workers.get(worker)?.address;
    if (address === undefined) return;
    const specs = this.chains.after(graphId, head.spec, (s) => !this.inflight.has(s.key) && !this.directory.get(s.key));
    if (specs.length === 0) return;
    const keys = [head.spec.key, ...specs.map((s) => s.key)];
    head.bundle = keys;
    let before = head.spec;
    job.next = specs.map((spec) => {
      const attempt = this.attempts.get(spec.key) ?? 0;
      const run: InFlight = {
        spec,
        graphs: new Set([graphId]),
        worker,
        attempt,
        jobId: head.jobId,
        bundle: keys,
        after: before.key,
        sentAt: head.sentAt,
        missing: 0,
      };
      this.inflight.set(spec.key, run);
      this.outstanding.set(worker, (this.outstanding.get(worker) ?? 0) + 1);
      this.note(graphId, worker, spec.key);
      const input: InputLocation = { key: before.key, worker, address, dtype: before.dtype, shape: [...before.shape] };
      before = spec;
      return this.taskJob(spec, graphId, attempt, [input]);
    });
  }

  /** Cut a pass's jobs for one queue into bundles; their runs learn which job carries them. */
  private bundle(worker: string, jobs: TaskJob[], alive: readonly WorkerInfo[]): QueuedJob[] {
    const threads = worker === SHARED ? alive.reduce((n, w) => n + w.threads, 0) : (this.workers.get(worker)?.threads ?? 1);
    const out = bundleJobs(jobs, (k) => this.inflight.get(k)?.spec, threads);
    for (const j of out) {
      if (!('tasks' in j)) continue;
      const jobId = queuedJobId(j);
      const keys = j.tasks.map((t) => t.key);
      for (const k of keys) {
        const f = this.inflight.get(k);
        if (f) Object.assign(f, { jobId, bundle: keys });
      }
    }
    return out;
  }

  /** Take the head of the ready queue, and its entry in the waiting index. */
  private pop(): void {
    const item = this.ready.pop();
    if (!item) return;
    const w = this.waiting.get(item.spec.key);
    w?.delete(item.graphId);
    if (w?.size === 0) this.waiting.delete(item.spec.key);
  }

  /**
   * A task whose key is held (computed for another graph, or persisted) completes at once; one
   * whose key is running joins that run. False: it must be sent.
   */
  private share(graphId: string, spec: TaskSpec): boolean {
    const held = this.directory.get(spec.key);
    const now = Date.now();
    if (held) {
      // Straight from waiting to memory: no queued step that could trail the graph's end.
      this.directory.hold(spec.key, graphId);
      this.core.taskFinished(graphId, spec.key, held.nbytes, { worker: held.worker, start: now, stop: now });
      return true;
    }
    if (spec.op === 'persisted') {
      this.core.taskFailed(graphId, spec.key, serializeError(new ChunkLostError(spec.key)), { worker: SHARED, start: now, stop: now });
      return true;
    }
    const running = this.inflight.get(spec.key);
    if (running) {
      running.graphs.add(graphId);
      this.note(graphId, running.worker, spec.key);
      return true;
    }
    return false;
  }

  private note(graph: string, worker: string, key: string): void {
    let byWorker = this.queued.get(graph);
    if (!byWorker) this.queued.set(graph, (byWorker = new Map()));
    const list = byWorker.get(worker) ?? [];
    list.push(key);
    byWorker.set(worker, list);
  }

  /** Resolves once every tasksQueued write is sent (or its graph's update chain gave up). */
  private flushQueued(): Promise<unknown> {
    const writes: Promise<void>[] = [];
    for (const [graph, byWorker] of this.queued) {
      for (const [worker, keys] of byWorker) {
        writes.push(new Promise<void>((sent) => void this.core.tasksQueued(graph, keys, worker, sent).finally(sent)));
      }
    }
    this.queued.clear();
    return Promise.all(writes);
  }

  private place(spec: TaskSpec, alive: WorkerInfo[]): string | undefined {
    return placeTask(
      spec,
      alive,
      (w) => this.outstanding.get(w) ?? 0,
      (deps) => this.directory.bytesByWorker(deps),
    );
  }

  /** A task's job, its inputs where the directory says they are; undefined if one is nowhere. */
  private job(spec: TaskSpec, graphId: string, attempt: number): TaskJob | undefined {
    const inputs: InputLocation[] = [];
    for (const d of new Set(spec.deps)) {
      const e = this.directory.get(d);
      const info = e && this.workers.get(e.worker);
      if (!e || !info) return undefined;
      inputs.push({ key: d, worker: e.worker, address: info.address, dtype: e.dtype, shape: e.shape });
    }
    return this.taskJob(spec, graphId, attempt, inputs);
  }

  private taskJob(spec: TaskSpec, graphId: string, attempt: number, inputs: InputLocation[]): TaskJob {
    const packed = packTaskSpec(spec);
    const output = this.outputCount.has(spec.key);
    return {
      graph: graphId,
      key: spec.key,
      spec: Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength).toString('base64'),
      inputs,
      output,
      attempt,
    };
  }

  /** Tell a worker to drop a chunk (nbytes: when known, small frees may wait a moment). */
  private sendFree(worker: string, key: string, nbytes?: number): void {
    if (this.workers.get(worker)) this.frees.send(worker, key, nbytes);
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
