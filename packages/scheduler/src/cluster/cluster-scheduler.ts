import type { Redis } from 'ioredis';
import {
  ChunkLostError,
  NotFoundError,
  PeerFetcher,
  SHARED_QUEUE,
  clusterBase,
  RedisGate,
  UnavailableError,
  redactRedisUrl,
  tlsHandshakeError,
  validateGraph,
  watchRedisErrors,
  type Backlog,
  type ClusterInfo,
  type EngineEvent,
  type GraphEvent,
  type GraphStructure,
  type GraphStatus,
  type HealthResponse,
  type ShutdownOutcome,
  type TaskSpec,
  type WorkerView,
} from '@tessera/protocol';
import { SchedulerCore, graphLostError } from '../core/scheduler-core.js';
import { RedisStore } from '../store/redis-store.js';
import type { GraphRecord } from '../store/store.js';
import type { ClusterApi, EventBatch, ResultData } from './cluster-api.js';
import { ClusterState, type ClusterContext } from './cluster-state.js';
import { Dispatcher } from './dispatcher.js';
import { EventLog } from './event-log.js';
import { GraphHistory } from './graph-history.js';
import { readGraphStructure } from './graph-structure.js';
import { JobQueues } from './job-queues.js';
import { FreeSender } from './free-sender.js';
import { ReportConsumer } from './report-consumer.js';
import { ResultStore } from './result-store.js';
import { RunOutcomes } from './run-outcomes.js';
import { RunRecovery } from './run-recovery.js';
import { TaskJobs } from './task-jobs.js';
import { WorkerRegistry } from './worker-registry.js';
import { defaultClusterLog, type ClusterLog } from './log.js';
import { connectRedis } from './redis-connection.js';
import { graphStatus } from '../core/graph-status.js';

export const VERSION = '0.1.0';
/** close() waits this long for Redis in all (and not at all while it is down). */
export const CLOSE_REDIS_MS = 2_000;

export interface ClusterSchedulerOptions {
  /** redis://host:port */
  redis: string;
  /** Key prefix of this cluster in Redis. */
  prefix: string;
  heartbeatMs: number;
  /** A worker silent this long is dead. */
  workerTimeoutMs: number;
  /** An ended graph's keys expire after this long, if its client never releases it. */
  endedGraphTtlMs: number;
  /** The cluster's token: sent to workers' peer servers when fetching a result chunk. */
  token?: string | undefined;
  /** The process's logger (JSON lines); default: one of its own on stderr. */
  log?: ClusterLog | undefined;
}

/**
 * The scheduler process's brain, as a facade over the flow of a graph through the cluster:
 *
 *   submit   the core (SchedulerCore over RedisStore) takes the graph and readies its roots
 *   dispatch Dispatcher turns ready tasks into BullMQ jobs (JobQueues) as workers have room
 *   run      workers run them and append reports to a Redis stream
 *   report   ReportConsumer reads the stream; RunOutcomes applies each report
 *   recover  RunRecovery: dead workers (strikes), broken chains, a restart (resume), lost jobs
 *
 * The parts share one ClusterState (runs in flight, the chunk directory, waiting keys) and one
 * ClusterContext (the core, Redis, queues, workers, jobs, frees); this class only wires them and
 * answers the ClusterApi.
 */
/** Lost graphs remembered, so that a client asking again hears why (not "unknown graph"). */
const LOST_KEPT = 1_000;

export class ClusterScheduler implements ClusterApi {
  readonly info: ClusterInfo;
  private readonly store: RedisStore;
  private readonly core: SchedulerCore;
  private readonly queues: JobQueues;
  private readonly registry: WorkerRegistry;
  private readonly state: ClusterState;
  /** Graphs that were running here when their keys vanished from Redis (the latest LOST_KEPT). */
  private readonly lost = new Set<string>();
  private readonly dispatcher: Dispatcher;
  private readonly recovery: RunRecovery;
  private readonly eventLog: EventLog;
  private readonly results: ResultStore;
  private readonly reports: ReportConsumer;
  private readonly history_: GraphHistory;
  private readonly log: ClusterLog;
  /** Result chunks from the workers that hold them (bodies only passed on: no SharedArrayBuffers). */
  private readonly peers: PeerFetcher;
  private ready = false;
  /** Output keys of finished graphs whose results are being fetched. */
  private readonly finishedOutputs = new Map<string, Promise<Set<string>>>();

  private constructor(
    private readonly redis: Redis,
    reportRedis: Redis,
    private readonly options: ClusterSchedulerOptions,
  ) {
    const prefix = options.prefix;
    this.info = { prefix, bullPrefix: `${clusterBase(prefix)}:bull`, sharedQueue: SHARED_QUEUE, heartbeatMs: options.heartbeatMs, version: VERSION };
    this.store = new RedisStore(redis, { prefix, endedGraphTtlMs: options.endedGraphTtlMs });
    this.core = new SchedulerCore(this.store, () => Date.now());
    const log = options.log ?? defaultClusterLog;
    this.log = log;
    this.queues = new JobQueues(redis, this.info.bullPrefix, log);
    const gone = (id: string, strikes: boolean): void =>
      void this.recovery
        .workerGone(id, { strikes })
        .catch((err: unknown) => log.error({ err, worker: id }, 'recovering from the worker failed'));
    this.registry = new WorkerRegistry(
      redis,
      prefix,
      { heartbeatMs: options.heartbeatMs, timeoutMs: options.workerTimeoutMs },
      // A worker that deregistered itself (graceful shutdown) leaves: a death without strikes.
      {
        joined: (info) => {
          this.recovery.workerJoined(info.id);
          this.state.room();
        },
        died: (id) => gone(id, true), left: (id) => gone(id, false) },
      log,
    );
    this.state = new ClusterState(() => this.dispatcher.schedulePump());
    const ctx: ClusterContext = {
      core: this.core,
      redis,
      prefix,
      queues: this.queues,
      workers: this.registry,
      jobs: new TaskJobs(this.state.directory, this.registry),
      frees: new FreeSender(redis, prefix, (w) => this.registry.get(w) !== undefined, log),
      log,
    };
    this.dispatcher = new Dispatcher(this.state, ctx);
    this.core.attach(this.dispatcher);
    this.recovery = new RunRecovery(this.state, ctx);
    this.results = new ResultStore(redis, prefix);
    this.peers = new PeerFetcher({ token: options.token, shared: false });
    const outcomes = new RunOutcomes(this.state, this.recovery, this.results, ctx);
    this.reports = new ReportConsumer(reportRedis, prefix, (r) => outcomes.apply(r), log);
    this.eventLog = new EventLog(redis, prefix, log);
    // Ended graphs' summaries outlive their keys (the dashboard's history).
    this.history_ = new GraphHistory(redis, prefix, (id) => this.status(id).catch(() => undefined), log);
    this.eventLog.tap((_graph, _id, events) => this.history_.observe(events));
  }

  static async start(options: ClusterSchedulerOptions): Promise<ClusterScheduler> {
    // Commands wait through a Redis restart instead of failing: the graph goes on once it is back.
    const failed: ((e: unknown) => string)[] = [];
    const connect = (): Redis => {
      const r = connectRedis(options.redis, { maxRetriesPerRequest: null, lazyConnect: true });
      let last = 0;
      failed.push(
        watchRedisErrors(r, (reason) => {
          // Reconnects are automatic; say so once a few seconds, not once per retry.
          if (Date.now() - last < 5_000) return;
          last = Date.now();
          (options.log ?? defaultClusterLog).warn({ reason }, 'redis connection lost; reconnecting');
        }),
      );
      return r;
    };
    const redis = connect();
    const reportRedis = connect();
    await Promise.all([redis.connect(), reportRedis.connect()]).catch(async (e: unknown) => {
      redis.disconnect();
      reportRedis.disconnect();
      const tls = await tlsHandshakeError(options.redis);
      throw new UnavailableError(`Redis at ${redactRedisUrl(options.redis)} refused the scheduler or did not answer: ${tls ?? failed[0]!(e)}`);
    });
    const s = new ClusterScheduler(redis, reportRedis, options);
    await s.registry.start();
    await s.recovery.resume(
      { store: s.store, follow: (id, outputs) => s.follow(id, outputs), drainReports: () => s.reports.drain() },
      options.heartbeatMs,
    );
    s.reports.start();
    s.ready = true;
    return s;
  }

  async health(): Promise<HealthResponse> {
    return { ok: this.ready && this.redis.status === 'ready', workers: this.registry.alive().length, version: VERSION };
  }

  async submit(graph: unknown, options: { persist: boolean }): Promise<string> {
    const g = validateGraph(graph);
    const id = this.core.newGraphId();
    this.follow(id, g.outputs, g.tasks);
    try {
      await this.core.submit(id, g, { persist: options.persist });
    } catch (e) {
      // Not accepted (Redis full): nothing of it stays followed here either.
      const written = await this.store.getGraph(id).then(
        (r) => r !== undefined,
        () => false,
      );
      // Accepted all the same: its jobs go out with recovery's next pass, and the client that
      // gets its id waits for it as for any graph (an error here would leave it running unknown).
      if (written) {
        this.log.warn({ graph: id, err: e }, 'graph written, its first dispatch failed: recovery sends its jobs');
        return id;
      }
      this.core.forget(id);
      this.dispatcher.graphEnded(id);
      this.dispatcher.releaseGraph(id, []);
      throw e;
    }
    return id;
  }

  async status(id: string): Promise<GraphStatus> {
    const g = await this.store.getGraph(id);
    if (g) return this.statusOf(g);
    const gone = (): NotFoundError => graphLostError(id);
    if (this.lost.has(id)) throw gone();
    if (this.state.orderOf(id) === undefined) throw new NotFoundError(`unknown graph ${id} (never submitted, released, or expired)`);
    // Followed here, gone from Redis: its work stops, and every later ask gets the same answer
    // (the client is told to submit it again: the at-least-once contract).
    this.lost.add(id);
    if (this.lost.size > LOST_KEPT) this.lost.delete(this.lost.values().next().value!);
    this.core.forget(id);
    this.dispatcher.releaseGraph(id, []);
    this.dispatcher.graphEnded(id);
    throw gone();
  }

  async graphs(): Promise<GraphStatus[]> {
    const all = await this.store.listGraphs();
    return Promise.all(all.map((g) => this.statusOf(g)));
  }

  async *events(id: string, after: string | undefined, options: { tasks: boolean; signal: AbortSignal }): AsyncIterable<EventBatch> {
    const s = await this.status(id);
    let endOf: GraphEvent | undefined;
    if (s.state !== 'running') {
      endOf = { type: 'graph', graph: id, state: s.state, total: s.total, done: s.done };
      if (s.error) endOf.error = s.error;
    }
    for await (const b of this.eventLog.read(id, after, options.signal, endOf)) {
      const events = options.tasks ? b.events : b.events.filter((e) => e.type === 'graph');
      if (events.length) yield { id: b.id, events };
    }
  }

  async result(id: string, key: string): Promise<ResultData> {
    // A finished graph stays finished until released: check it once, not once per output (a
    // graph of 10^4 outputs would re-read its whole output list 10^4 times).
    // The promise is what is cached: a gather's many concurrent first fetches share one read.
    let outputs = this.finishedOutputs.get(id);
    if (!outputs) {
      const read = this.core.checkGather(id, []).then(async () => new Set((await this.store.getGraph(id))?.outputs ?? []));
      this.finishedOutputs.set(id, (outputs = read));
      read.catch(() => this.finishedOutputs.get(id) === read && this.finishedOutputs.delete(id));
    }
    if (!(await outputs).has(key)) await this.core.checkGather(id, [key]);
    const inline = await this.results.get(id, key);
    if (inline) return { chunk: inline };
    const held = this.state.directory.get(key);
    const worker = held && this.registry.get(held.worker);
    if (!held || !worker) throw new ChunkLostError(key);
    // Bounded and checked like a worker's input fetch: one chunk of the recorded dtype and shape.
    const ref = { key, address: worker.address, dtype: held.dtype, shape: held.shape };
    const { bytes } = await this.peers.fetch(ref).catch((e: unknown) => {
      throw Object.assign(new ChunkLostError(key), { cause: e });
    });
    return { arrow: [bytes] };
  }

  async cancel(id: string): Promise<void> {
    await this.status(id);
    await this.core.cancel(id);
  }

  async release(id: string): Promise<void> {
    await this.eventLog.forget(id);
    this.finishedOutputs.delete(id);
    // Before the keys go: a result copy still to be written must not recreate them.
    this.results.dropGraph(id);
    const { keep } = await this.core.release(id);
    this.dispatcher.releaseGraph(id, keep);
  }

  async unpersist(keys: readonly string[]): Promise<void> {
    this.dispatcher.unpersist(keys);
  }

  tapEvents(listener: (json: string, events: readonly EngineEvent[]) => void): () => void {
    return this.eventLog.tap((_graph, _id, events, json) => listener(json, events));
  }

  async structure(id: string, maxTasks: number): Promise<GraphStructure> {
    return readGraphStructure(this.redis, this.options.prefix, id, maxTasks);
  }

  async history(limit: number): Promise<GraphStatus[]> {
    return this.history_.list(limit);
  }

  async workers(): Promise<WorkerView[]> {
    return this.registry.views();
  }

  /** The work waiting, for autoscalers (GET /api/backlog and the gauges on /metrics). */
  backlog(): Backlog {
    const { ready, readyBytes } = this.dispatcher.backlog();
    const inFlight = this.state.inflight.size;
    const alive = this.registry.alive();
    return { ready, readyBytes, inFlight, pending: ready + inFlight, workers: alive.length, threads: alive.reduce((s, w) => s + w.threads, 0) };
  }

  /**
   * Stop every loop and let go of Redis; every graph stays there for the next scheduler. Nothing
   * waits on a Redis that is down: what was not written is in the outcome's `undone`.
   */
  async close(): Promise<ShutdownOutcome> {
    this.ready = false;
    this.recovery.stop();
    this.registry.stop();
    // One deadline for all of it; and once a wait runs out (or Redis is down), no more waits.
    const end = Date.now() + CLOSE_REDIS_MS;
    const gate = new RedisGate(this.redis);
    // A batch of reports being applied is finished first: its entries are then acknowledged.
    await gate.wait(this.reports.stop(), end - Date.now());
    await gate.wait(this.eventLog.flush(), end - Date.now());
    this.eventLog.close();
    const events = this.eventLog.unwritten();
    const jobs = this.queues.unsent;
    await gate.wait(this.queues.close(), end - Date.now());
    const reachable = gate.up;
    this.peers.close();
    this.redis.disconnect();
    // With Redis there, what is still in flight is what any stop leaves: the next scheduler
    // resumes it. Without, say what did not get there. (Reports are acknowledged only once
    // applied, so the next scheduler reads again those it did not apply.)
    if (reachable) return { undone: [] };
    const undone: string[] = [];
    if (events > 0) undone.push(`${events} event${events === 1 ? '' : 's'} not written`);
    if (jobs > 0) undone.push(`${jobs} job${jobs === 1 ? '' : 's'} not queued`);
    undone.push('last writes not confirmed (the next scheduler resumes from what Redis holds)');
    return { undone };
  }

  private follow(id: string, outputs: readonly string[], tasks?: readonly TaskSpec[]): void {
    this.dispatcher.addGraph(id, outputs, tasks);
    this.core.subscribe(id, (ev) => {
      this.eventLog.push(ev);
      if (ev.type === 'graph' && ev.state !== 'running') this.dispatcher.graphEnded(id);
    });
  }

  private statusOf(g: GraphRecord): Promise<GraphStatus> {
    return graphStatus(this.store, g);
  }
}
