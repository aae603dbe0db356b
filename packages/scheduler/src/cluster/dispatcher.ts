import type { Redis } from 'ioredis';
import {
  ChunkLostError,
  clusterKeys,
  jobIdOf,
  packMessage,
  packTaskSpec,
  serializeError,
  type InputLocation,
  type TaskJob,
  type TaskSpec,
  type WorkerInfo,
} from '@tessera/protocol';
import type { Executor } from '../core/executor.js';
import type { SchedulerCore } from '../core/scheduler-core.js';
import { ReadyQueue } from '../local/ready-queue.js';
import { ChunkDirectory } from './chunk-directory.js';
import type { JobQueues } from './job-queues.js';

/** Where a task was sent: a worker's own queue, or the shared queue any worker takes from. */
export const SHARED = '*';

/**
 * Tasks queued ahead per worker thread. Enough to hide the Redis round trips of tiny tasks; few
 * enough that ready work stays in the scheduler (where priority orders it and placement can still
 * follow the data) rather than in queues.
 */
const DEPTH_PER_THREAD = 4;
/** Tiny tasks (a few KiB) are all round trip: keep many more of them in flight. */
const DEPTH_PER_THREAD_TINY = 32;
const TINY_BYTES = 64 * 1024;
/** Input bytes on one worker above which a task may queue twice as deep there rather than move. */
const LOCALITY_BYTES = 2 ** 20;

export interface InFlight {
  spec: TaskSpec;
  /** When its job was (last) sent, and how many sweeps in a row found the job gone. */
  sentAt: number;
  missing: number;
  /** Graphs waiting for this key: graphs that share keys share the run. */
  graphs: Set<string>;
  worker: string;
  attempt: number;
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
  /** Runs after a loss get a new job id: a stalled copy of the old job must not block them. */
  private readonly attempts = new Map<string, number>();
  private readonly outstanding = new Map<string, number>();
  private readonly frees = new Map<string, string[]>();
  /** Graphs with a ready (not yet sent) task per key: a run finishing for another graph is held for them too. */
  private readonly waiting = new Map<string, Set<string>>();
  /** tasksQueued calls gathered in one pass, by graph then worker. */
  private readonly queued = new Map<string, Map<string, string[]>>();
  private seq = 0;
  private pumpScheduled = false;
  private freeScheduled = false;

  constructor(
    private readonly core: SchedulerCore,
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly queues: JobQueues,
    private readonly workers: { alive(): WorkerInfo[]; get(id: string): WorkerInfo | undefined },
  ) {}

  /** A graph starts (or is resumed): remember its outputs so their runs report small results inline. */
  addGraph(graphId: string, outputs: readonly string[]): void {
    if (!this.graphSeq.has(graphId)) this.graphSeq.set(graphId, this.seq++);
    this.outputs.set(graphId, new Set(outputs));
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
      if (freed) this.sendFree(freed.worker, k);
    }
  }

  cancel(graphId: string): void {
    this.graphSeq.delete(graphId);
    const orphans: [string, InFlight][] = [];
    for (const [key, f] of this.inflight) {
      if (f.graphs.delete(graphId) && f.graphs.size === 0) orphans.push([key, f]);
    }
    // Jobs nobody waits for are taken back if still waiting; a running one finishes and is freed.
    for (const [key, f] of orphans) {
      void this.queues.remove(f.worker, jobIdOf(key, f.attempt)).then((removed) => {
        if (removed && this.inflight.get(key) === f) this.settle(key, f);
      });
    }
  }

  /** A graph is forgotten: chunks only it held are freed, `keep` ones are pinned (persisted). */
  releaseGraph(graphId: string, keep: readonly string[]): void {
    this.cancel(graphId);
    this.outputs.delete(graphId);
    for (const k of keep) {
      const e = this.directory.get(k);
      if (e) void this.redis.hset(clusterKeys(this.prefix).persisted, k, JSON.stringify({ worker: e.worker, nbytes: e.nbytes, dtype: e.dtype, shape: e.shape }));
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
    timing: { start: number; stop: number; thread?: number | undefined },
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
    this.directory.put(key, { worker, nbytes, dtype: f.spec.dtype, shape: [...f.spec.shape] }, [...f.graphs, ...(this.waiting.get(key) ?? [])]);
    const t = { worker, start: timing.start, stop: timing.stop, ...(timing.thread !== undefined ? { thread: timing.thread } : {}) };
    for (const g of f.graphs) this.core.taskFinished(g, key, nbytes, t);
  }

  started(worker: string, key: string, attempt: number, thread: number | undefined): void {
    const f = this.inflight.get(key);
    if (!f || f.attempt !== attempt) return;
    for (const g of f.graphs) this.core.taskStarted(g, [key], worker, thread);
  }

  /** A run failed. A lost input is recovered (recomputed), anything else errs the graphs. */
  failed(worker: string, key: string, attempt: number, error: ReturnType<typeof serializeError>, timing: { start: number; stop: number }): void {
    const f = this.inflight.get(key);
    if (!f || f.attempt !== attempt) return;
    this.settle(key, f);
    if (error.code === 'CHUNK_LOST' && error.key !== undefined && error.key !== key) {
      const lost = this.directory.lose(error.key);
      if (lost) this.sendFree(lost.worker, error.key);
      const graphs = new Set([...f.graphs, ...(lost?.graphs ?? [])]);
      for (const g of graphs) void this.core.recover(g, lost ? [error.key] : [], f.graphs.has(g) ? [key] : []);
      return;
    }
    for (const g of f.graphs) this.core.taskFailed(g, key, error, { worker, start: timing.start, stop: timing.stop });
  }

  /**
   * A worker died: the chunks it held are lost and the runs sent to it (or taken by it from the
   * shared queue: `took`) will not complete. Returns both, by graph, for the core to recover.
   */
  workerDied(worker: string, took: ReadonlySet<string>): Map<string, { lost: string[]; dropped: string[] }> {
    const byGraph = new Map<string, { lost: string[]; dropped: string[] }>();
    const entry = (g: string): { lost: string[]; dropped: string[] } => {
      let e = byGraph.get(g);
      if (!e) byGraph.set(g, (e = { lost: [], dropped: [] }));
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
      for (const g of f.graphs) entry(g).dropped.push(key);
    }
    this.outstanding.delete(worker);
    this.frees.delete(worker);
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
    const f: InFlight = { spec, graphs: new Set([graph]), worker: SHARED, attempt: 0, sentAt: Date.now(), missing: 0 };
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
    this.inflight.set(spec.key, { spec, graphs: new Set([graphId]), worker, attempt: 0, sentAt: Date.now(), missing: 0 });
    this.outstanding.set(worker, (this.outstanding.get(worker) ?? 0) + 1);
  }

  /** Re-add the jobs of every run restored as in flight (after pending reports were applied). */
  resendInFlight(): void {
    const byQueue = new Map<string, TaskJob[]>();
    for (const f of this.inflight.values()) {
      const job = this.job(f.spec, [...f.graphs][0]!, f.attempt);
      if (!job) continue;
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
    for (const [key, f] of [...this.inflight]) {
      if (now - f.sentAt < minAgeMs || f.graphs.size === 0) continue;
      if (await this.queues.exists(f.worker, jobIdOf(key, f.attempt))) {
        f.missing = 0;
        continue;
      }
      if (this.inflight.get(key) !== f || ++f.missing < 2) continue;
      const job = this.job(f.spec, [...f.graphs][0]!, f.attempt);
      if (!job) continue;
      f.missing = 0;
      f.sentAt = now;
      const list = resend.get(f.worker) ?? [];
      list.push(job);
      resend.set(f.worker, list);
    }
    for (const [worker, jobs] of resend) {
      console.error(`tessera scheduler: ${jobs.length} jobs on ${worker === SHARED ? 'the shared queue' : worker} vanished from Redis; sending them again`);
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
      const target = this.place(spec, alive);
      if (target === undefined) break;
      const attempt = this.attempts.get(spec.key) ?? 0;
      // No job when an input's worker just died: wait for its recovery to run.
      const job = this.job(spec, graphId, attempt);
      if (!job) break;
      this.pop();
      this.inflight.set(spec.key, { spec, graphs: new Set([graphId]), worker: target, attempt, sentAt: Date.now(), missing: 0 });
      this.outstanding.set(target, (this.outstanding.get(target) ?? 0) + 1);
      const list = sent.get(target) ?? [];
      list.push(job);
      sent.set(target, list);
      this.note(graphId, target, spec.key);
    }
    // Where each task goes is in Redis before its job exists: a scheduler that dies in between
    // finds it queued there on restart (and re-sends the same job id), never sends it twice.
    const recorded = this.flushQueued();
    if (sent.size) void recorded.then(() => sent.forEach((jobs, worker) => this.queues.add(worker, jobs)));
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

  private flushQueued(): Promise<unknown> {
    const writes: Promise<void>[] = [];
    for (const [graph, byWorker] of this.queued) for (const [worker, keys] of byWorker) writes.push(this.core.tasksQueued(graph, keys, worker));
    this.queued.clear();
    return Promise.all(writes);
  }

  /**
   * Root tasks go to the shared queue (whichever worker is free takes them); others to the worker
   * holding most of their input bytes, among those with room. Undefined: no room anywhere now.
   */
  private place(spec: TaskSpec, alive: WorkerInfo[]): string | undefined {
    if (alive.length === 0) return undefined;
    const load = (w: string): number => this.outstanding.get(w) ?? 0;
    const depth = spec.nbytes <= TINY_BYTES ? DEPTH_PER_THREAD_TINY : DEPTH_PER_THREAD;
    if (spec.deps.length === 0) {
      const room = alive.reduce((n, w) => n + w.threads * depth, 0);
      return load(SHARED) < room ? SHARED : undefined;
    }
    const bytes = this.directory.bytesByWorker(spec.deps);
    const room = (w: WorkerInfo, factor: number): boolean => load(w.id) < w.threads * depth * factor;
    let best: WorkerInfo | undefined;
    let bestBytes = -1;
    for (const w of alive) {
      const b = bytes.get(w.id) ?? 0;
      // Big inputs are worth queueing deeper for; small ones move faster than they wait.
      if (!room(w, b >= LOCALITY_BYTES ? 2 : 1)) continue;
      if (b > bestBytes || (b === bestBytes && best && load(w.id) < load(best.id))) {
        best = w;
        bestBytes = b;
      }
    }
    return best?.id;
  }

  private job(spec: TaskSpec, graphId: string, attempt: number): TaskJob | undefined {
    const inputs: InputLocation[] = [];
    for (const d of new Set(spec.deps)) {
      const e = this.directory.get(d);
      const info = e && this.workers.get(e.worker);
      if (!e || !info) return undefined;
      inputs.push({ key: d, worker: e.worker, address: info.address, dtype: e.dtype, shape: e.shape });
    }
    const packed = packTaskSpec(spec);
    let output = false;
    for (const [, outs] of this.outputs) if (outs.has(spec.key)) output = true;
    return { graph: graphId, key: spec.key, spec: Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength).toString('base64'), inputs, output, attempt };
  }

  private sendFree(worker: string, key: string): void {
    if (!this.workers.get(worker)) return;
    const list = this.frees.get(worker) ?? [];
    list.push(key);
    this.frees.set(worker, list);
    if (this.freeScheduled) return;
    this.freeScheduled = true;
    setImmediate(() => {
      this.freeScheduled = false;
      const pipe = this.redis.pipeline();
      for (const [w, keys] of this.frees) pipe.lpush(clusterKeys(this.prefix).control(w), packMessage({ type: 'free', keys }));
      this.frees.clear();
      pipe.exec().catch((e: unknown) => console.error(`tessera scheduler: sending frees failed: ${String(e)}`));
    });
  }
}
