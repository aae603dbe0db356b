import { Redis } from 'ioredis';
import {
  ChunkLostError,
  KilledWorkerError,
  NotFoundError,
  SHARED_QUEUE,
  clusterKeys,
  decodeChunk,
  graphSideKeys,
  serializeError,
  validateGraph,
  type ClusterInfo,
  type Dtype,
  type EngineEvent,
  type GraphStructure,
  type GraphStatus,
  type HealthResponse,
  type TaskSpec,
  type WorkerReport,
  type WorkerView,
} from '@tessera/protocol';
import { SchedulerCore } from '../core/scheduler-core.js';
import { RedisStore } from '../store/redis-store.js';
import type { GraphRecord } from '../store/store.js';
import type { ClusterApi, EventBatch, ResultData } from './cluster-api.js';
import { Dispatcher } from './dispatcher.js';
import { SHARED } from './placement.js';
import { EventLog } from './event-log.js';
import { GraphHistory } from './graph-history.js';
import { readGraphStructure } from './graph-structure.js';
import { JobQueues } from './job-queues.js';
import { ReportConsumer } from './report-consumer.js';
import { ResultStore } from './result-store.js';
import { WorkerRegistry } from './worker-registry.js';
import { defaultClusterLog, type ClusterLog } from './log.js';
import { graphStatus } from '../core/graph-status.js';

export const VERSION = '0.1.0';
/** A task running on this many workers when they died is taken to be what kills them. */
const KILLED_WORKER_LIMIT = 3;

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
 * The scheduler process's brain: the scheduler core over the Redis store, dispatching through
 * BullMQ, reading worker reports and heartbeats, recovering from lost workers, and resuming every
 * unfinished graph when it starts on a Redis that already holds some.
 */
export class ClusterScheduler implements ClusterApi {
  readonly info: ClusterInfo;
  private readonly store: RedisStore;
  private readonly core: SchedulerCore;
  private readonly queues: JobQueues;
  private readonly registry: WorkerRegistry;
  private readonly dispatcher: Dispatcher;
  private readonly log: ClusterLog;
  private readonly eventLog: EventLog;
  private readonly results: ResultStore;
  private readonly reports: ReportConsumer;
  private readonly history_: GraphHistory;
  private ready = false;
  private sweeper: NodeJS.Timeout | undefined;
  /** Output keys of finished graphs whose results are being fetched. */
  private readonly finishedOutputs = new Map<string, Promise<Set<string>>>();
  private sweeping = false;

  private constructor(
    private readonly redis: Redis,
    reportRedis: Redis,
    private readonly options: ClusterSchedulerOptions,
  ) {
    const prefix = options.prefix;
    this.info = { prefix, bullPrefix: `${prefix}:bull`, sharedQueue: SHARED_QUEUE, heartbeatMs: options.heartbeatMs, version: VERSION };
    this.store = new RedisStore(redis, { prefix, endedGraphTtlMs: options.endedGraphTtlMs });
    this.core = new SchedulerCore(this.store, () => Date.now());
    const log = (this.log = options.log ?? defaultClusterLog);
    this.queues = new JobQueues(redis, this.info.bullPrefix, log);
    this.registry = new WorkerRegistry(
      redis,
      prefix,
      { heartbeatMs: options.heartbeatMs, timeoutMs: options.workerTimeoutMs },
      {
        joined: () => this.dispatcher.schedulePump(),
        died: (id) => void this.workerDied(id).catch((err: unknown) => log.error({ err, worker: id }, 'recovering from the worker failed')),
        // A worker that deregistered itself (graceful shutdown): a death without strikes.
        left: (id) =>
          void this.workerDied(id, { strikes: false }).catch((err: unknown) =>
            log.error({ err, worker: id }, 'recovering from the worker failed'),
          ),
      },
      log,
    );
    this.dispatcher = new Dispatcher(this.core, redis, prefix, this.queues, this.registry, log);
    this.core.attach(this.dispatcher);
    this.eventLog = new EventLog(redis, prefix, log);
    // Ended graphs' summaries outlive their keys (the dashboard's history).
    this.history_ = new GraphHistory(redis, prefix, (id) => this.status(id).catch(() => undefined), log);
    this.eventLog.tap((_graph, _id, events) => this.history_.observe(events));
    this.results = new ResultStore(redis, prefix);
    this.reports = new ReportConsumer(reportRedis, prefix, (r) => this.onReports(r), log);
  }

  static async start(options: ClusterSchedulerOptions): Promise<ClusterScheduler> {
    // Commands wait through a Redis restart instead of failing: the graph goes on once it is back.
    const connect = (): Redis => {
      const r = new Redis(options.redis, { maxRetriesPerRequest: null, lazyConnect: true });
      let last = 0;
      r.on('error', (e: Error) => {
        // Reconnects are automatic; say so once a few seconds, not once per retry.
        if (Date.now() - last < 5_000) return;
        last = Date.now();
        (options.log ?? defaultClusterLog).warn({ err: e }, 'redis connection lost; reconnecting');
      });
      return r;
    };
    const redis = connect();
    const reportRedis = connect();
    await Promise.all([redis.connect(), reportRedis.connect()]);
    const s = new ClusterScheduler(redis, reportRedis, options);
    await s.resume();
    return s;
  }

  async health(): Promise<HealthResponse> {
    return { ok: this.ready && this.redis.status === 'ready', workers: this.registry.alive().length, version: VERSION };
  }

  async submit(graph: unknown, options: { persist: boolean }): Promise<string> {
    const g = validateGraph(graph);
    const id = this.core.newGraphId();
    this.follow(id, g.outputs, g.tasks);
    await this.core.submit(id, g, { persist: options.persist });
    return id;
  }

  async status(id: string): Promise<GraphStatus> {
    const g = await this.store.getGraph(id);
    if (!g) throw new NotFoundError(`unknown graph ${id} (never submitted, released, or expired)`);
    return this.statusOf(g);
  }

  async graphs(): Promise<GraphStatus[]> {
    const all = await this.store.listGraphs();
    return Promise.all(all.map((g) => this.statusOf(g)));
  }

  async *events(id: string, after: string | undefined, options: { tasks: boolean; signal: AbortSignal }): AsyncIterable<EventBatch> {
    await this.status(id);
    for await (const b of this.eventLog.read(id, after, options.signal)) {
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
    const held = this.dispatcher.directory.get(key);
    const worker = held && this.registry.get(held.worker);
    if (!held || !worker) throw new ChunkLostError(key);
    return { arrow: [await fetchChunk(worker.address, key, held.dtype, held.shape, this.options.token)] };
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

  async close(): Promise<void> {
    this.ready = false;
    if (this.sweeper) clearInterval(this.sweeper);
    this.registry.stop();
    await this.reports.stop();
    await this.eventLog.flush().catch(() => undefined);
    this.eventLog.close();
    await this.queues.close();
    this.redis.disconnect();
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

  private async onReports(reports: WorkerReport[]): Promise<void> {
    for (const r of reports) {
      // A worker that registered since our last look: look again before ignoring it.
      if (!this.registry.isAlive(r.worker)) await this.registry.refresh();
      if (!this.registry.isAlive(r.worker)) continue;
      for (const item of r.items) {
        const attempt = item.attempt ?? 0;
        if (item.type === 'started') this.dispatcher.outcomes.started(r.worker, item.key, attempt, item.thread);
        else if (item.type === 'done') {
          const f = this.dispatcher.inflight.get(item.key);
          if (item.data && f && f.attempt === attempt) this.results.put(f.graphs, item.key, f.spec.dtype, [...f.spec.shape], item.data);
          this.dispatcher.outcomes.finished(r.worker, item.graph, item.key, attempt, item.nbytes, item);
        } else this.dispatcher.outcomes.failed(r.worker, item.key, attempt, item.error, item);
      }
    }
    await this.core.settled();
  }

  private async workerDied(id: string, opts: { strikes: boolean } = { strikes: true }): Promise<void> {
    const taken = await this.queues.takenBy(id).catch(() => ({ own: new Set<string>(), shared: new Set<string>() }));
    const byGraph = this.dispatcher.workerDied(id, taken.shared);
    let lostN = 0;
    let droppedN = 0;
    for (const { lost, dropped } of byGraph.values()) {
      lostN += lost.length;
      droppedN += dropped.length;
    }
    this.log.warn(
      { worker: id, lostChunks: lostN, rerun: droppedN },
      'worker gone: its chunks are recomputed where needed, its tasks run again',
    );
    await this.queues.drop(id);
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
        // It was running when the worker died: one strike.
        const strikes = await this.redis.hincrby(graphSideKeys(this.options.prefix, g).suspects, key, 1);
        if (strikes >= KILLED_WORKER_LIMIT)
          this.core.taskFailed(g, key, serializeError(new KilledWorkerError(key, strikes)), { worker: id, start: now, stop: now });
        else retry.push(key);
      }
      void this.core.recover(g, lost, retry, (r) => this.dispatcher.inflight.forget(g, r.moved));
    }
  }

  /**
   * Pick up where the last scheduler stopped: rebuild which worker holds what and what is in
   * flight from Redis, note which jobs still carry those runs, apply reports it never read, then
   * re-send what is in flight and carried by no job, and recover what died with the workers.
   */
  private async resume(): Promise<void> {
    await this.registry.start();
    const alive = (w: string): boolean => w === SHARED || this.registry.isAlive(w);
    const todo: { id: string; lost: string[]; dropped: string[]; ready: string[] }[] = [];
    const readySpecs = new Map<string, Map<string, TaskSpec>>();
    const persisted = await this.redis.hgetall(clusterKeys(this.options.prefix).persisted);
    for (const [key, raw] of Object.entries(persisted)) {
      const p = JSON.parse(raw) as { worker: string; nbytes: number; dtype: Dtype; shape: number[] };
      if (alive(p.worker)) this.dispatcher.directory.put(key, p, [], true);
    }
    for (const g of await this.store.listGraphs()) {
      if (g.state !== 'running' && g.state !== 'finished') continue;
      this.follow(g.id, g.outputs);
      const state = await this.store.resumeState(g.id);
      const specs = new Map(
        (await this.store.getTasks(g.id, [...state.memory.map((m) => m.key), ...state.active.map((a) => a.key)])).map((t) => [t.key, t]),
      );
      const lost: string[] = [];
      for (const { key, worker } of state.memory) {
        const t = specs.get(key)!;
        if (alive(worker)) this.dispatcher.directory.put(key, { worker, nbytes: t.nbytes, dtype: t.dtype, shape: [...t.shape] }, [g.id]);
        else lost.push(key);
      }
      if (g.state !== 'running') continue;
      const dropped: string[] = [];
      for (const { key, worker } of state.active) {
        if (alive(worker)) this.dispatcher.recovery.restoreInFlight(g.id, specs.get(key)!, worker);
        else dropped.push(key);
      }
      todo.push({ id: g.id, lost, dropped, ready: state.ready });
      readySpecs.set(g.id, new Map((await this.store.getTasks(g.id, state.ready)).map((t) => [t.key, t])));
    }
    const carriers = await this.dispatcher.recovery.carriers();
    // Reports may finish tasks the last scheduler sent without recording it: adopt those runs.
    this.dispatcher.recovery.adoptFrom((graph, key) => readySpecs.get(graph)?.get(key));
    await this.reports.drain();
    this.dispatcher.recovery.adoptFrom(undefined);
    this.dispatcher.recovery.resendInFlight(carriers);
    for (const t of todo) {
      if (t.lost.length || t.dropped.length)
        void this.core.recover(t.id, t.lost, t.dropped, (r) => this.dispatcher.inflight.forget(t.id, r.moved));
      this.core.resume(t.id, t.ready);
    }
    this.reports.start();
    // Runs whose jobs Redis lost are found by a slow sweep (a few heartbeats apart).
    const every = Math.max(1_000, 5 * this.options.heartbeatMs);
    this.sweeper = setInterval(() => {
      if (this.sweeping) return;
      this.sweeping = true;
      this.dispatcher.recovery
        .sweep(every)
        .catch((err: unknown) => this.log.error({ err }, 'sweep failed'))
        .finally(() => (this.sweeping = false));
    }, every);
    this.ready = true;
  }
}

/** A chunk from a worker's peer server, checked against what it should be before it is passed on. */
async function fetchChunk(address: string, key: string, dtype: Dtype, shape: number[], token?: string): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(`${address}/chunks/${encodeURIComponent(key)}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  } catch {
    throw new ChunkLostError(key);
  }
  if (!res.ok) throw new ChunkLostError(key);
  const bytes = new Uint8Array(await res.arrayBuffer());
  decodeChunk(bytes, { dtype, shape });
  return bytes;
}
