import {
  ChunkLostError,
  NoGpuError,
  jobIdOf,
  serializeError,
  type InputLocation,
  type TaskJob,
  type TaskSpec,
  type WorkerInfo,
} from '@tessera/protocol';
import type { Executor } from '../core/executor.js';
import { ReadyQueue } from '../core/ready-queue.js';
import type { ClusterContext, ClusterState } from './cluster-state.js';
import { bundleJobs } from './bundles.js';
import { forgetPersisted, recordPersisted } from './persisted-records.js';
import { ChainIndex } from './chains.js';
import { queuedJobId, type QueuedJob } from './job-queues.js';
import { SHARED, placeTask } from './placement.js';
import type { InFlight } from './run-table.js';

/**
 * The cluster's Executor (the "dispatch" step): keeps the ready tasks the core hands it in
 * priority order, and turns them into BullMQ jobs only as workers have room (root tasks on the
 * shared queue, others on the queue of the worker holding most of their input bytes). What it
 * sends is recorded in the ClusterState (runs in flight, the chunk directory, waiting keys), so
 * completions (RunOutcomes) fan out to every graph that waits for a key and a dead worker's
 * losses (RunRecovery) can be recovered.
 */
export class Dispatcher implements Executor {
  private readonly ready = new ReadyQueue();
  /** tasksQueued calls gathered in one pass, by graph then worker. */
  private readonly queued = new Map<string, Map<string, string[]>>();
  private readonly chains = new ChainIndex();
  private pumpScheduled = false;
  /** Output bytes of the tasks in `ready`: the backlog autoscalers read. */
  private readyBytes = 0;

  constructor(
    private readonly state: ClusterState,
    private readonly ctx: ClusterContext,
  ) {}

  /**
   * A graph starts (or is resumed): remember its outputs so their runs report small results
   * inline, and (given its tasks, at submit) its chains of tiny tasks.
   */
  addGraph(graphId: string, outputs: readonly string[], tasks?: readonly TaskSpec[]): void {
    this.state.follow(graphId);
    if (!this.ctx.jobs.addOutputs(graphId, outputs)) return;
    if (tasks) this.chains.add(graphId, tasks);
  }

  /** Ready tasks not given to a worker yet, and the bytes they will output. */
  backlog(): { ready: number; readyBytes: number } {
    return { ready: this.ready.size, readyBytes: this.readyBytes };
  }

  run(graphId: string, tasks: readonly TaskSpec[]): void {
    const graphSeq = this.state.orderOf(graphId);
    if (graphSeq === undefined) return;
    for (const spec of tasks) {
      // Held or running for another graph: shared now, without waiting for a turn.
      if (this.share(graphId, spec)) continue;
      this.ready.push({ graphId, graphSeq, spec });
      this.readyBytes += spec.nbytes;
      this.state.wait(spec.key, graphId);
    }
    void this.flushQueued();
    this.schedulePump();
  }

  free(graphId: string, keys: readonly string[]): void {
    for (const k of keys) {
      const freed = this.state.directory.drop(k, graphId);
      if (freed) this.ctx.frees.send(freed.worker, k, freed.nbytes);
    }
  }

  cancel(graphId: string): void {
    this.state.unfollow(graphId);
    this.chains.drop(graphId);
    const orphans: InFlight[] = [];
    for (const f of this.state.inflight.values()) if (f.graphs.delete(graphId) && f.graphs.size === 0) orphans.push(f);
    // Jobs nobody waits for are taken back if still waiting (a bundle only when none of its runs
    // is waited for); a running one finishes and is freed.
    const jobs = new Map<string, InFlight[]>();
    for (const f of orphans) {
      if (jobs.has(f.jobId)) continue;
      const runs = this.state.inflight.bundled(f);
      if (runs.every((r) => r.graphs.size === 0)) jobs.set(f.jobId, runs);
    }
    for (const [jobId, runs] of jobs) {
      void this.ctx.queues.remove(runs[0]!.worker, jobId).then((removed) => {
        if (!removed) return;
        for (const f of runs) if (this.state.inflight.get(f.spec.key) === f) this.state.inflight.settle(f.spec.key, f);
      });
    }
  }

  /** A graph finished, erred or was cancelled: its chains are no longer needed. */
  graphEnded(graphId: string): void {
    this.chains.drop(graphId);
  }

  /** A graph is forgotten: chunks only it held are freed, `keep` ones are pinned (persisted). */
  releaseGraph(graphId: string, keep: readonly string[]): void {
    this.cancel(graphId);
    this.ctx.jobs.dropOutputs(graphId);
    for (const k of keep) {
      const e = this.state.directory.get(k);
      if (e) recordPersisted(this.ctx, k, e);
    }
    for (const [k, e] of this.state.directory.dropGraph(graphId, new Set(keep))) this.ctx.frees.send(e.worker, k);
  }

  unpersist(keys: readonly string[]): void {
    forgetPersisted(this.ctx, keys);
    for (const k of keys) {
      const freed = this.state.directory.unpin(k);
      if (freed) this.ctx.frees.send(freed.worker, k);
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

  private pump(): void {
    const sent = new Map<string, TaskJob[]>();
    const alive = this.ctx.workers.alive();
    for (;;) {
      const item = this.ready.peek();
      if (!item) break;
      const { graphId, spec } = item;
      if (!this.state.follows(graphId)) {
        this.pop();
        continue;
      }
      if (this.share(graphId, spec)) {
        this.pop();
        continue;
      }
      const missing = spec.deps.find((d) => !this.state.directory.get(d));
      if (missing !== undefined) {
        // The state machine says it is in memory, but no live worker holds it: lost.
        this.pop();
        void this.ctx.core.recover(graphId, [missing], []);
        continue;
      }
      if (spec.device === 'gpu' && alive.length > 0 && !alive.some((w) => w.gpu)) {
        // It must run on a GPU and no worker reported one: the graph fails now, saying why.
        this.pop();
        const now = Date.now();
        const error = new NoGpuError(
          `task ${spec.key} needs a GPU (device: 'gpu') and no worker of the cluster has one (start workers with --gpu)`,
        );
        this.ctx.core.taskFailed(graphId, spec.key, serializeError(error), { worker: SHARED, start: now, stop: now });
        continue;
      }
      const target = this.place(spec, alive);
      if (target === undefined) break;
      const attempt = this.state.inflight.attempt(spec.key);
      // No job when an input's worker just died: wait for its recovery to run.
      const job = this.ctx.jobs.job(spec, graphId, attempt);
      if (!job) break;
      this.pop();
      const jobId = jobIdOf(spec.key, attempt);
      const run: InFlight = { spec, graphs: new Set([graphId]), worker: target, attempt, jobId, sentAt: Date.now(), missing: 0 };
      this.state.inflight.add(spec.key, run);
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
    void written.then(() => bundled.forEach((jobs, worker) => this.ctx.queues.add(worker, jobs)));
  }

  /**
   * The tiny tasks whose only input is this run's chunk (and so on down the chain) ride in its
   * job: the worker runs each the moment the one before is done. They are in flight, queued on
   * the same worker, from now on, though still waiting for their input: a completion of the head
   * does not make them ready again (completeTasks only readies waiting tasks).
   */
  private chain(graphId: string, head: InFlight, job: TaskJob): void {
    const worker = head.worker;
    const address = this.ctx.workers.get(worker)?.address;
    if (address === undefined) return;
    const specs = this.chains.after(graphId, head.spec, (s) => !this.state.inflight.has(s.key) && !this.state.directory.get(s.key));
    if (specs.length === 0) return;
    const keys = [head.spec.key, ...specs.map((s) => s.key)];
    head.bundle = keys;
    let before = head.spec;
    job.next = specs.map((spec) => {
      const attempt = this.state.inflight.attempt(spec.key);
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
      this.state.inflight.add(spec.key, run);
      this.note(graphId, worker, spec.key);
      const input: InputLocation = { key: before.key, worker, address, dtype: before.dtype, shape: [...before.shape] };
      before = spec;
      return this.ctx.jobs.taskJob(spec, graphId, attempt, [input]);
    });
  }

  /** Cut a pass's jobs for one queue into bundles; their runs learn which job carries them. */
  private bundle(worker: string, jobs: TaskJob[], alive: readonly WorkerInfo[]): QueuedJob[] {
    const threads = worker === SHARED ? alive.reduce((n, w) => n + w.threads, 0) : (this.ctx.workers.get(worker)?.threads ?? 1);
    const out = bundleJobs(jobs, (k) => this.state.inflight.get(k)?.spec, threads);
    for (const j of out) {
      if (!('tasks' in j)) continue;
      const jobId = queuedJobId(j);
      const keys = j.tasks.map((t) => t.key);
      for (const k of keys) {
        const f = this.state.inflight.get(k);
        if (f) Object.assign(f, { jobId, bundle: keys });
      }
    }
    return out;
  }

  /** Take the head of the ready queue, and its entry in the waiting index. */
  private pop(): void {
    const item = this.ready.pop();
    if (!item) return;
    this.readyBytes -= item.spec.nbytes;
    this.state.unwait(item.spec.key, item.graphId);
  }

  /**
   * A task whose key is held (computed for another graph, or persisted) completes at once; one
   * whose key is running joins that run. False: it must be sent.
   */
  private share(graphId: string, spec: TaskSpec): boolean {
    const held = this.state.directory.get(spec.key);
    const now = Date.now();
    if (held) {
      // Straight from waiting to memory: no queued step that could trail the graph's end.
      this.state.directory.hold(spec.key, graphId);
      this.ctx.core.taskFinished(graphId, spec.key, held.nbytes, { worker: held.worker, start: now, stop: now });
      return true;
    }
    if (spec.op === 'persisted') {
      this.ctx.core.taskFailed(graphId, spec.key, serializeError(new ChunkLostError(spec.key)), { worker: SHARED, start: now, stop: now });
      return true;
    }
    const running = this.state.inflight.get(spec.key);
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
        writes.push(new Promise<void>((sent) => void this.ctx.core.tasksQueued(graph, keys, worker, sent).finally(sent)));
      }
    }
    this.queued.clear();
    return Promise.all(writes);
  }

  private place(spec: TaskSpec, alive: WorkerInfo[]): string | undefined {
    return placeTask(
      spec,
      alive,
      (w) => this.state.inflight.load(w),
      (deps) => this.state.directory.bytesByWorker(deps),
    );
  }
}
