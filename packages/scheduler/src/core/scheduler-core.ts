import { randomBytes } from 'node:crypto';
import {
  CancelledError,
  InvalidArgumentError,
  NotFoundError,
  RedisFullError,
  deserializeError,
  isRedisOom,
  keyGroup,
  keyOp,
  serializeError,
  type EngineEvent,
  type Graph,
  type SerializedError,
  type TaskState,
  type TesseraError,
  type TransferTiming,
} from '@tessera/protocol';
import type { RecoveryResult, Store } from '../store/store.js';
import type { ExecutionListener, Executor, TaskTiming } from './executor.js';

type Listener = (ev: EngineEvent) => void;

interface Waiter {
  resolve: () => void;
  reject: (e: TesseraError) => void;
}

/** What a client hears of a graph whose state vanished from the store while it ran. */
export function graphLostError(id: string): NotFoundError {
  return new NotFoundError(`graph ${id} was running but its state in Redis is gone (lost with a Redis failover's last writes, a FLUSHALL or an eviction): submit it again`);
}

/**
 * The task state machine, independent of where state lives (Store) and where tasks run
 * (Executor): waiting → queued → processing → memory → released, or erred. It turns completions
 * into newly ready tasks, frees chunks nothing needs, and tells subscribers what happened.
 */
export class SchedulerCore implements ExecutionListener {
  private executor: Executor | undefined;
  private readonly listeners = new Map<string, Set<Listener>>();
  /** Listeners to every graph (a dashboard in this process). */
  private readonly taps = new Set<Listener>();
  private readonly waiters = new Map<string, Waiter[]>();
  /** Graphs running here (submitted or resumed, not ended): only these can be found lost. */
  private readonly running = new Set<string>();
  /** Tail of each graph's serialised store updates: completions apply in arrival order. */
  private readonly chains = new Map<string, Promise<void>>();
  /** Completions waiting for their graph's next store update: applied as one batch. */
  private readonly finishing = new Map<string, { key: string; nbytes: number; timing: TaskTiming }[]>();
  private seq = 0;
  private readonly tag = randomBytes(3).toString('hex');

  constructor(
    private readonly store: Store,
    private readonly now: () => number = () => performance.timeOrigin + performance.now(),
  ) {}

  attach(executor: Executor): void {
    this.executor = executor;
  }

  newGraphId(): string {
    // A per-process tag: a scheduler restarted within the same millisecond (kill -9, a supervisor
    // restarting at once) or a second scheduler must not hand out an id the first one gave.
    return `g${Date.now().toString(36)}-${this.tag}${(this.seq++).toString(36)}`;
  }

  async submit(id: string, graph: Graph, options: { persist: boolean }): Promise<void> {
    const { ready } = await this.store.createGraph(id, graph, { persist: options.persist, now: this.now() });
    this.emitGraph(id, 'running', graph.tasks.length, 0);
    await this.dispatch(id, ready);
  }

  subscribe(id: string, fn: Listener): () => void {
    let set = this.listeners.get(id);
    if (!set) this.listeners.set(id, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.listeners.delete(id);
    };
  }

  /** Every graph's events, from now on; returns the unsubscribe. */
  tap(fn: Listener): () => void {
    this.taps.add(fn);
    return () => this.taps.delete(fn);
  }

  async wait(id: string): Promise<void> {
    const g = await this.store.getGraph(id);
    if (!g) throw new NotFoundError(`unknown graph ${id} (never submitted, or already released)`);
    if (g.state === 'finished') return;
    if (g.state === 'erred') throw deserializeError(g.error!);
    if (g.state === 'cancelled') throw new CancelledError();
    return new Promise((resolve, reject) => {
      const list = this.waiters.get(id) ?? [];
      list.push({ resolve, reject });
      this.waiters.set(id, list);
    });
  }

  async cancel(id: string): Promise<void> {
    if (!(await this.store.cancelGraph(id, this.now()))) return;
    this.executor?.cancel(id);
    const g = await this.store.getGraph(id);
    this.emitGraph(id, 'cancelled', g?.total ?? 0, g?.done ?? 0);
    this.settle(id, new CancelledError());
  }

  /** Check that a graph finished and that `keys` are among its outputs, before its chunks are read. */
  async checkGather(id: string, keys: readonly string[]): Promise<void> {
    const g = await this.store.getGraph(id);
    if (!g) throw new NotFoundError(`unknown graph ${id} (never submitted, or already released)`);
    if (g.state === 'erred') throw deserializeError(g.error!);
    if (g.state !== 'finished')
      throw new InvalidArgumentError(`graph ${id} is ${g.state}: its results can be gathered once it has finished`);
    const outputs = new Set(g.outputs);
    const bad = keys.find((k) => !outputs.has(k));
    if (bad !== undefined) throw new InvalidArgumentError(`${bad} is not an output of graph ${id}`);
  }

  /**
   * Forget a graph (cancelling it if it still runs). Returns the outputs to keep, those of a
   * graph submitted to persist, so the executor pins them while it frees the rest.
   */
  async release(id: string): Promise<{ keep: string[] }> {
    const g = await this.store.getGraph(id);
    if (!g) return { keep: [] };
    if (g.state === 'running') await this.cancel(id);
    await this.store.deleteGraph(id);
    this.forget(id);
    return { keep: g.persist ? g.outputs : [] };
  }

  /** Drop what this process keeps of a graph (its listeners; a submission that failed leaves nothing else). */
  forget(id: string): void {
    this.listeners.delete(id);
    this.running.delete(id);
    this.chains.delete(id);
    this.finishing.delete(id);
  }

  tasksQueued(id: string, keys: readonly string[], worker: string, onSent?: () => void): Promise<void> {
    this.serial(id, async () => {
      const written = this.store.markQueued(id, keys, worker);
      onSent?.();
      await written;
      if (this.watched(id)) for (const k of keys) this.emitTask(id, k, 'queued', { worker });
    });
    return this.chains.get(id)!;
  }

  taskStarted(id: string, keys: readonly string[], worker: string, thread?: number): void {
    this.serial(id, async () => {
      await this.store.markProcessing(id, keys, worker);
      if (!this.watched(id)) return;
      const start = this.now();
      for (const key of keys) this.emitTask(id, key, 'processing', { worker, thread, start });
    });
  }

  taskFinished(id: string, key: string, nbytes: number, timing: TaskTiming): void {
    let batch = this.finishing.get(id);
    if (!batch) {
      this.finishing.set(id, (batch = []));
      this.serial(id, () => this.applyFinished(id));
    }
    batch.push({ key, nbytes, timing });
  }

  taskFailed(id: string, key: string, error: SerializedError, timing: TaskTiming): void {
    this.serial(id, async () => {
      if (!(await this.store.failTask(id, key, error, this.now()))) return this.endIfLost(id);
      this.executor?.cancel(id);
      this.emitTask(id, key, 'erred', { ...timing, error });
      const g = await this.store.getGraph(id);
      this.emitGraph(id, 'erred', g?.total ?? 0, g?.done ?? 0, error);
      this.settle(id, deserializeError(error));
    });
  }

  /**
   * Chunks of `lost` are gone and `dropped` tasks will not complete where they were sent (their
   * worker died): recompute what is still needed and dispatch what is ready again. Resolves to
   * what moved (undefined when the graph no longer runs); `beforeDispatch` sees it first, so the
   * executor can void runs of moved tasks before new ones start.
   */
  recover(
    id: string,
    lost: readonly string[],
    dropped: readonly string[],
    beforeDispatch?: (r: RecoveryResult) => void,
  ): Promise<RecoveryResult | undefined> {
    let result: RecoveryResult | undefined;
    this.serial(id, async () => {
      result = await this.store.recoverTasks(id, lost, dropped);
      if (!result) return;
      beforeDispatch?.(result);
      if (this.watched(id)) for (const k of new Set([...result.moved, ...result.ready])) this.emitTask(id, k, 'waiting', {});
      await this.dispatch(id, result.ready);
    });
    return this.chains.get(id)!.then(() => result);
  }

  /** Resolves once every store update queued so far (for any graph) is applied. */
  async settled(): Promise<void> {
    await Promise.all(this.chains.values());
  }

  /** Pick up a running graph after a scheduler restart: dispatch its ready tasks. */
  resume(id: string, ready: readonly string[]): void {
    this.running.add(id);
    this.serial(id, () => this.dispatch(id, ready));
  }

  private async applyFinished(id: string): Promise<void> {
    const batch = this.finishing.get(id) ?? [];
    this.finishing.delete(id);
    const completions = batch.map((b) => ({ key: b.key, worker: b.timing.worker }));
    const r = await this.store.completeTasks(id, completions, this.now());
    if (r.applied.length === 0) return this.endIfLost(id);
    if (this.watched(id)) {
      // Each task in memory, then what its completion freed: the order a watcher counts by.
      const byKey = new Map(batch.map((b) => [b.key, b]));
      let next = 0;
      r.applied.forEach((k, i) => {
        const b = byKey.get(k)!;
        this.emitTask(id, k, 'memory', { ...b.timing, nbytes: b.nbytes });
        const end = next + (r.freed[i] ?? 0);
        for (; next < end; next++) this.emitTask(id, r.releasable[next]!, 'released', {});
      });
    }
    if (r.releasable.length) this.executor?.free(id, r.releasable);
    if (r.readySpecs.length) this.executor?.run(id, r.readySpecs);
    if (r.finished) {
      const g = await this.store.getGraph(id);
      this.emitGraph(id, 'finished', g?.total ?? 0, g?.done ?? 0);
      this.settle(id);
    }
  }

  /**
   * A report changed nothing: where the graph is still followed here but its record is gone from
   * the store (lost with a Redis failover's last writes, a flush), it ends erred, saying so, or
   * its client would wait for ever.
   */
  private async endIfLost(id: string): Promise<void> {
    if (!this.running.has(id) || (await this.store.getGraph(id))) return;
    const error = serializeError(graphLostError(id));
    this.executor?.cancel(id);
    this.emitGraph(id, 'erred', 0, 0, error);
    this.settle(id, deserializeError(error));
  }

  /** Hand ready tasks to the executor, which says where it queued them (tasksQueued). */
  private async dispatch(id: string, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    this.executor?.run(id, await this.store.getTasks(id, keys));
  }

  /** Store updates of one graph run one after another, in the order events arrived. */
  private serial(id: string, fn: () => Promise<void>): void {
    const prev = this.chains.get(id) ?? Promise.resolve();
    const next = prev.then(fn).catch((e: unknown) => this.internalError(id, e));
    this.chains.set(id, next);
  }

  private internalError(id: string, e: unknown): void {
    const err = e instanceof Error ? e : new Error(String(e));
    // Redis at its maxmemory refused an update of this graph: a typed REDIS_FULL, not "internal".
    const s: SerializedError = isRedisOom(err)
      ? serializeError(new RedisFullError(`Redis is full (its maxmemory is reached): an update of graph ${id} was refused, so the graph cannot go on; submit it again once memory frees`))
      : { code: 'INTERNAL', name: err.name, message: `scheduler error: ${err.message}` };
    void this.store.failTask(id, undefined, s, this.now()).catch(() => undefined);
    this.settle(id, deserializeError(s));
  }

  private settle(id: string, error?: TesseraError): void {
    const list = this.waiters.get(id);
    if (!list) return;
    this.waiters.delete(id);
    for (const w of list) {
      if (error) w.reject(error);
      else w.resolve();
    }
  }

  /** Someone listens to this graph's events: only then are they made. */
  private watched(id: string): boolean {
    return this.taps.size > 0 || this.listeners.has(id);
  }

  private emit(id: string, ev: EngineEvent): void {
    const set = this.listeners.get(id);
    if (set) for (const fn of set) fn(ev);
    for (const fn of this.taps) fn(ev);
  }

  private emitTask(
    id: string,
    key: string,
    state: TaskState,
    extra: {
      worker?: string;
      thread?: number | undefined;
      start?: number;
      stop?: number;
      nbytes?: number;
      error?: SerializedError;
      transfer?: TransferTiming | undefined;
    },
  ): void {
    if (!this.watched(id)) return;
    const group = keyGroup(key);
    const ev: EngineEvent = { type: 'task', graph: id, key, group, op: keyOp(key), state };
    if (extra.worker !== undefined) ev.worker = extra.worker;
    if (extra.thread !== undefined) ev.thread = extra.thread;
    if (extra.start !== undefined) ev.start = extra.start;
    if (extra.stop !== undefined) ev.stop = extra.stop;
    if (extra.nbytes !== undefined) ev.nbytes = extra.nbytes;
    if (extra.error !== undefined) ev.error = extra.error;
    if (extra.transfer !== undefined) ev.transfer = extra.transfer;
    this.emit(id, ev);
  }

  private emitGraph(
    id: string,
    state: 'running' | 'finished' | 'erred' | 'cancelled',
    total: number,
    done: number,
    error?: SerializedError,
  ): void {
    if (state === 'running') this.running.add(id);
    else this.running.delete(id);
    if (!this.watched(id)) return;
    const ev: EngineEvent = { type: 'graph', graph: id, state, total, done };
    if (error) ev.error = error;
    this.emit(id, ev);
  }
}
