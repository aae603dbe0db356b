import {
  CancelledError,
  type Engine,
  type EngineEvent,
  InvalidArgumentError,
  type SubmitOptions,
  TesseraError,
} from '@tessera/protocol';
import { ChunkedArray, type ChunkedScalar, type NDArray, makeArray } from './array.js';
import { outputKeys } from './graph/build.js';
import { HttpEngine } from './http-engine.js';
import { parseSchedulerAddress } from './http/address.js';
import { type GraphOptions, toGraph } from './graph/optimize.js';
import { EventFeed, Job } from './job.js';
import { ProgressBar } from './progress.js';
import { type Result, type Results, assembleResult } from './results.js';

export interface ConnectOptions {
  /**
   * Base URL of a scheduler, `http(s)://host:port` (cluster mode, over its HTTP API); omit for
   * the embedded local engine in this process.
   */
  address?: string;
  /** Worker threads of the local engine (default: the engine's choice). Local engine only. */
  threads?: number;
  /** Kernel modules (paths or package names) every worker loads, for mapBlocks. Local engine only. */
  kernels?: string[];
  /** With an address: how long to wait for the scheduler to answer GET /health (default 10 s). */
  connectTimeoutMs?: number;
}

export interface ComputeOptions extends GraphOptions {
  signal?: AbortSignal;
  /** Draw a progress bar on stderr. */
  progress?: boolean;
  onEvent?: (ev: EngineEvent) => void;
}

function isEngine(v: unknown): v is Engine {
  const e = v as Record<string, unknown> | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    ['submit', 'subscribe', 'wait', 'gather', 'cancel', 'release', 'unpersist', 'close'].every((m) => typeof e[m] === 'function')
  );
}

/**
 * The embedded engine lives in @tessera/scheduler, which the client must not depend on (it is an
 * optional peer): import it through a variable so no bundler or type check pins it.
 */
async function loadLocalEngine(opts: { threads?: number | undefined; kernels?: string[] | undefined }): Promise<Engine> {
  const spec = '@tessera/scheduler';
  let mod: unknown;
  try {
    mod = await import(spec);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new TesseraError(
        'INTERNAL',
        'the embedded local engine needs the package @tessera/scheduler: install it (npm install @tessera/scheduler), or connect to a scheduler address',
        { cause: e },
      );
    }
    throw e;
  }
  const create = (mod as { createLocalEngine?: unknown }).createLocalEngine;
  if (typeof create !== 'function') throw new TesseraError('INTERNAL', '@tessera/scheduler does not export a createLocalEngine function');
  const engine: unknown = await (create as (o: object) => unknown)({
    ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    ...(opts.kernels !== undefined ? { kernels: opts.kernels } : {}),
  });
  if (!isEngine(engine)) throw new TesseraError('INTERNAL', 'createLocalEngine from @tessera/scheduler did not return an Engine');
  return engine;
}

function checkArrays(fn: string, arrays: readonly unknown[]): ChunkedArray[] {
  if (arrays.length === 0) throw new InvalidArgumentError(`${fn}: nothing to compute`);
  arrays.forEach((a, i) => {
    if (!(a instanceof ChunkedArray)) throw new InvalidArgumentError(`${fn}: argument ${i} is not a ChunkedArray (got ${String(a)})`);
  });
  return arrays as ChunkedArray[];
}

/** Drives an Engine: builds and optimises graphs, submits them, gathers results. */
export class Client {
  private closed = false;

  /** Use an Engine directly (tests, custom engines); most code calls Client.connect(). */
  constructor(readonly engine: Engine) {}

  /**
   * With an address (`'http://host:port'` or `{address}`): the scheduler there, once it answers.
   * Without: the embedded local engine, in this process.
   */
  static async connect(address?: string | ConnectOptions): Promise<Client> {
    const opts: ConnectOptions = typeof address === 'string' ? { address } : (address ?? {});
    if (opts.address !== undefined) {
      const url = parseSchedulerAddress(opts.address);
      // Silently ignoring them would surprise: a cluster's workers get their threads and kernels when they start.
      for (const local of ['threads', 'kernels'] as const) {
        if (opts[local] !== undefined) {
          throw new InvalidArgumentError(`${local} is an option of the embedded local engine, not of the cluster at ${url}`);
        }
      }
      const timeout = opts.connectTimeoutMs !== undefined ? { connectTimeoutMs: opts.connectTimeoutMs } : {};
      return new Client(await HttpEngine.connect(url, timeout));
    }
    return new Client(await loadLocalEngine({ threads: opts.threads, kernels: opts.kernels }));
  }

  /** A number for a 0-d array, an NDArray otherwise; a list of them for a list of arrays. */
  compute(a: ChunkedScalar, opts?: ComputeOptions): Promise<number>;
  compute(a: ChunkedArray, opts?: ComputeOptions): Promise<NDArray>;
  compute<T extends readonly ChunkedArray[]>(arrays: readonly [...T], opts?: ComputeOptions): Promise<Results<T>>;
  async compute(target: ChunkedArray | readonly ChunkedArray[], opts: ComputeOptions = {}): Promise<unknown> {
    const arrays = checkArrays('compute', Array.isArray(target) ? target : [target]);
    const job = await this.start(arrays, opts, { buffer: false, pick: Array.isArray(target) ? undefined : 0 });
    return job.result();
  }

  /** Submit without waiting: the Job streams events and resolves to the results. */
  submit<T extends ChunkedArray>(a: T, opts?: ComputeOptions): Promise<Job<Result<T>>>;
  submit<T extends readonly ChunkedArray[]>(arrays: readonly [...T], opts?: ComputeOptions): Promise<Job<Results<T>>>;
  async submit(target: ChunkedArray | readonly ChunkedArray[], opts: ComputeOptions = {}): Promise<Job<unknown>> {
    const arrays = checkArrays('submit', Array.isArray(target) ? target : [target]);
    return this.start(arrays, opts, { buffer: true, pick: Array.isArray(target) ? undefined : 0 });
  }

  /**
   * Compute and keep the blocks on the engine. The returned array has the same name, keys, shape
   * and chunks, but its tasks are `persisted` (no dependencies), so later graphs start from them.
   */
  async persist<T extends ChunkedArray>(a: T, opts: ComputeOptions = {}): Promise<T> {
    const [x] = checkArrays('persist', [a]);
    const job = await this.start([x!], opts, { buffer: false, persist: true });
    await job.result();
    return makeArray({
      name: a.name,
      label: 'persisted',
      op: 'persisted',
      shape: a.shape,
      dtype: a.dtype,
      chunks: a.chunks,
      inputs: [],
      token: null,
      block: () => ({ params: {}, deps: [] }),
    }) as T;
  }

  /** Drop the persisted blocks of an array. */
  async unpersist(a: ChunkedArray): Promise<void> {
    const [x] = checkArrays('unpersist', [a]);
    await this.engine.unpersist(x!.keys());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.engine.close();
  }

  /**
   * Build, optimise and submit; the Job gathers the outputs (unless persisting) and resolves to
   * the list of results, or to result number `pick`.
   */
  private async start(
    arrays: ChunkedArray[],
    opts: ComputeOptions,
    how: { buffer: boolean; pick?: number | undefined; persist?: boolean },
  ): Promise<Job<unknown>> {
    if (this.closed) throw new TesseraError('ENGINE_CLOSED', 'the client is closed');
    if (opts.signal?.aborted) throw new CancelledError();
    const graph = toGraph(arrays, opts);
    const keys = outputKeys(arrays);
    const bar = opts.progress ? new ProgressBar(graph.tasks.length) : undefined;
    const done = new Set<string>();
    const listener = (ev: EngineEvent): void => {
      opts.onEvent?.(ev);
      if (!bar) return;
      if (ev.type === 'task' && ev.state === 'memory') done.add(ev.key);
      if (ev.type === 'graph') {
        bar.update(ev.done, ev.total);
        if (ev.state !== 'running') bar.finish(ev.state);
      } else bar.update(done.size);
    };
    const feed = new EventFeed(listener, how.buffer);
    // Task events cost the engine an object per state change: ask for them only when read.
    const wantEvents = how.buffer || opts.onEvent !== undefined || bar !== undefined;
    const submitOpts: SubmitOptions = { ...(wantEvents ? { onEvent: feed.push } : {}), ...(how.persist ? { persist: true } : {}) };
    const id = await this.engine.submit(graph, submitOpts);
    const collect = async (): Promise<unknown> => {
      if (how.persist) return undefined;
      const chunks = await this.engine.gather(id, keys);
      const byKey = new Map(keys.map((k, i) => [k, chunks[i]!]));
      const results = arrays.map((a) => assembleResult(a, a.keys().map((k) => byKey.get(k)!)));
      return how.pick === undefined ? results : results[how.pick];
    };
    const job = new Job<unknown>(this.engine, id, collect, feed, opts.signal);
    if (bar) {
      job.result().then(
        () => bar.finish('finished'),
        (e: unknown) => bar.finish(e instanceof CancelledError ? 'cancelled' : 'erred'),
      );
    }
    return job;
  }
}
