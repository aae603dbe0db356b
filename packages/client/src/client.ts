import {
  CancelledError,
  DEVICES,
  type DeviceRequest,
  type Engine,
  type EngineEvent,
  type Graph,
  InvalidArgumentError,
  type SubmitOptions,
  TesseraError,
  cacheableKeys,
  planDevices,
} from '@tessera/protocol';
import { ChunkedArray, type ChunkedScalar, type NDArray, makeArray } from './array.js';
import { outputKeys } from './graph/build.js';
import { type ClientDashboard, type DashboardRequest, startClientDashboard } from './dashboard.js';
import { HttpEngine } from './http-engine.js';
import { parseSchedulerAddress } from './http/address.js';
import { type GraphOptions, toGraph } from './graph/optimize.js';
import { EventFeed, Job } from './job.js';
import { ProgressBar } from './progress.js';
import { ReportRecorder } from './report.js';
import { type Result, type Results, assembleResult } from './results.js';
import { importOptional } from './optional-import.js';
import { hasUnknownChunks, resolveChunkSizes } from './deferred.js';
import { type ToZarrOptions, type ZarrArrayRef, storeArrays } from './zarr.js';

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
  /**
   * The local engine's GPU (WebGPU). true: open it now (no adapter: a warning, CPU only) and make
   * `device: 'auto'` the default of compute; 'auto' (default): open it when a computation first
   * asks for one; false: never. A cluster's GPUs are its workers' (`tessera worker --gpu`).
   */
  gpu?: boolean | 'auto';
  /** Local engine: bytes of GPU memory for chunks (past it chunks are evicted to host memory). */
  gpuMemoryLimit?: number;
  /** Local engine: mixed precision, float32 chunks stored as float16 on the GPU (float32 arithmetic). */
  gpuF16?: boolean;
  /**
   * With an address: the cluster's token, sent as `Authorization: Bearer <token>` on every
   * request. Default: the TESSERA_TOKEN environment variable, when set.
   */
  token?: string;
  /**
   * Start the live dashboard beside the client (needs @tessera/dashboard): true for
   * http://127.0.0.1:8787, or `{ port, host }` (port 0: any free port). Its address is
   * `client.dashboardLink`, printed on stderr unless `quiet`; `client.close()` stops it.
   */
  dashboard?: DashboardRequest;
  /**
   * A result cache across runs (joblib's Memory): the local engine keeps the outputs of pure
   * tasks in this folder (or `{ dir, maxBytes }`, default 4 GiB, least recently used out first)
   * and a later run, in this process or another, reads them instead of computing. With an
   * address: true marks every compute's tasks for the workers' caches (`tessera worker
   * --cache-dir`). compute's `cache` option overrides it per call.
   */
  cache?: string | { dir: string; maxBytes?: number } | boolean;
}

export interface ComputeOptions extends GraphOptions {
  /**
   * Where the work runs: 'cpu', 'gpu' (every task with a GPU kernel, float32/int32/uint8/bool; fails
   * with NoGpuError when there is no GPU), or 'auto' (a cost model moves big float32 work to a GPU
   * where there is one). Default 'cpu', or 'auto' for a client connected with `gpu: true`.
   */
  device?: DeviceRequest;
  signal?: AbortSignal;
  /** Draw a progress bar on stderr. */
  progress?: boolean;
  onEvent?: (ev: EngineEvent) => void;
  /** Read and store results in the engine's result cache (default: whether the client was connected with `cache`). */
  cache?: boolean;
  /**
   * Write a performance report of this compute (Dask's performance_report) to this path: one
   * self-contained HTML file (task stream, time per op and task group, workers, transfers, memory
   * over time, GPU copies), or its data as JSON where the path ends in .json. Written when the
   * graph ends, failed or not, before compute settles.
   */
  report?: string;
}

// Every option, checked complete against ConnectOptions by the compiler.
const CONNECT_OPTIONS = new Set(
  Object.keys({
    address: true,
    threads: true,
    kernels: true,
    connectTimeoutMs: true,
    gpu: true,
    gpuMemoryLimit: true,
    gpuF16: true,
    token: true,
    dashboard: true,
    cache: true,
  } satisfies Record<keyof ConnectOptions, true>),
);

/** TESSERA_TOKEN, where there is a process environment (not in a browser). */
function envToken(): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const t = env?.TESSERA_TOKEN;
  return t === undefined || t === '' ? undefined : t;
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
 * The embedded engine lives in @tessera/local, which the client must not depend on (it is an
 * optional peer): import it through a variable so no bundler or type check pins it.
 */
async function loadLocalEngine(
  opts: Pick<ConnectOptions, 'threads' | 'kernels' | 'gpu' | 'gpuMemoryLimit' | 'gpuF16'> & { cache?: { dir: string; maxBytes?: number } },
): Promise<Engine> {
  const create = await importOptional(
    '@tessera/local',
    'createLocalEngine',
    'the embedded local engine needs the package @tessera/local: install it (npm install @tessera/local), or connect to a scheduler address',
  );
  const engine: unknown = await (create as (o: object) => unknown)({
    ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    ...(opts.kernels !== undefined ? { kernels: opts.kernels } : {}),
    ...(opts.gpu !== undefined ? { gpu: opts.gpu } : {}),
    ...(opts.gpuMemoryLimit !== undefined ? { gpuMemoryLimit: opts.gpuMemoryLimit } : {}),
    ...(opts.gpuF16 !== undefined ? { gpuF16: opts.gpuF16 } : {}),
    ...(opts.cache !== undefined ? { cache: opts.cache } : {}),
  });
  if (!isEngine(engine)) throw new TesseraError('INTERNAL', 'createLocalEngine from @tessera/local did not return an Engine');
  return engine;
}

/** The local engine's cache folder from ConnectOptions.cache. */
function localCache(c: ConnectOptions['cache']): { dir: string; maxBytes?: number } | undefined {
  if (c === undefined || c === false) return undefined;
  if (c === true) throw new InvalidArgumentError('cache: the local engine needs a folder, Client.connect({ cache: dir }) or { cache: { dir, maxBytes } }');
  if (typeof c === 'string') return { dir: c };
  if (typeof c !== 'object' || c === null || typeof c.dir !== 'string') throw new InvalidArgumentError(`cache must be a folder or { dir, maxBytes }, got ${JSON.stringify(c)}`);
  return c;
}

/** Tasks whose output a result cache may keep (pure, on pure inputs), marked so; a worker without a cache ignores the mark. */
function markCached(graph: Graph, on: boolean): Graph {
  if (!on) return graph;
  const keep = cacheableKeys(graph.tasks);
  return { ...graph, tasks: graph.tasks.map((t) => (keep.has(t.key) ? { ...t, cache: true as const } : t)) };
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
  /** The report each reporting job writes when it ends (ComputeOptions.report). */
  private readonly reports = new WeakMap<Job<unknown>, Promise<void>>();
  private dashboard: ClientDashboard | undefined;

  /** Where compute runs when its options do not say (see ComputeOptions.device). */
  readonly device: DeviceRequest;
  /** Whether computes use the result cache when their options do not say (ConnectOptions.cache). */
  readonly cache: boolean;

  /** Use an Engine directly (tests, custom engines); most code calls Client.connect(). */
  constructor(
    readonly engine: Engine,
    opts: { device?: DeviceRequest; cache?: boolean } = {},
  ) {
    this.device = opts.device ?? 'cpu';
    this.cache = opts.cache ?? false;
  }

  /**
   * With an address (`'http://host:port'` or `{address}`): the scheduler there, once it answers.
   * Without: the embedded local engine, in this process. Options may also follow the address:
   * `Client.connect(url, { token })`.
   */
  static async connect(address?: string | ConnectOptions, options: Omit<ConnectOptions, 'address'> = {}): Promise<Client> {
    const opts: ConnectOptions = typeof address === 'string' ? { ...options, address } : { ...options, ...(address ?? {}) };
    // A misspelt option (`scheduler:` for `address:`) would otherwise quietly run the local engine.
    const unknown = Object.keys(opts).filter((k) => !CONNECT_OPTIONS.has(k));
    if (unknown.length > 0) {
      throw new InvalidArgumentError(`unknown Client.connect option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')}; known: ${[...CONNECT_OPTIONS].join(', ')}`);
    }
    if (opts.address !== undefined) {
      const url = parseSchedulerAddress(opts.address);
      // Silently ignoring them would surprise: a cluster's workers get their threads and kernels when they start.
      for (const local of ['threads', 'kernels', 'gpu', 'gpuMemoryLimit', 'gpuF16'] as const) {
        if (opts[local] !== undefined) {
          throw new InvalidArgumentError(`${local} is an option of the embedded local engine, not of the cluster at ${url}`);
        }
      }
      const timeout = opts.connectTimeoutMs !== undefined ? { connectTimeoutMs: opts.connectTimeoutMs } : {};
      const token = opts.token ?? envToken();
      if (opts.cache !== undefined && typeof opts.cache !== 'boolean')
        throw new InvalidArgumentError(`cache: a cluster's result caches are its workers' (tessera worker --cache-dir); give true or false, got ${JSON.stringify(opts.cache)}`);
      const client = new Client(await HttpEngine.connect(url, { ...timeout, ...(token !== undefined ? { token } : {}) }), { cache: opts.cache === true });
      return client.withDashboard(opts.dashboard, { scheduler: url, token });
    }
    if (opts.token !== undefined)
      throw new InvalidArgumentError('token is an option of a connection to a scheduler address, not of the embedded local engine');
    if (opts.gpu !== undefined && opts.gpu !== true && opts.gpu !== false && opts.gpu !== 'auto') {
      throw new InvalidArgumentError(`gpu must be true, false or 'auto', got ${JSON.stringify(opts.gpu)}`);
    }
    const { threads, kernels, gpu, gpuMemoryLimit, gpuF16 } = opts;
    const cache = localCache(opts.cache);
    const engine = await loadLocalEngine({ threads, kernels, gpu, gpuMemoryLimit, gpuF16, ...(cache ? { cache } : {}) });
    return new Client(engine, { device: gpu === true ? 'auto' : 'cpu', cache: cache !== undefined }).withDashboard(opts.dashboard, { engine });
  }

  /** The dashboard's address, when the client started one (`Client.connect({ dashboard: true })`). */
  get dashboardLink(): string | undefined {
    return this.dashboard?.url;
  }

  private async withDashboard(request: DashboardRequest | undefined, target: Parameters<typeof startClientDashboard>[1]): Promise<Client> {
    if (request === undefined || request === false) return this;
    try {
      this.dashboard = await startClientDashboard(request, target);
    } catch (e) {
      await this.close();
      throw e;
    }
    return this;
  }

  /** A number for a 0-d array, an NDArray otherwise; a list of them for a list of arrays. */
  compute(a: ChunkedScalar, opts?: ComputeOptions): Promise<number>;
  compute(a: ChunkedArray, opts?: ComputeOptions): Promise<NDArray>;
  compute<T extends readonly ChunkedArray[]>(arrays: readonly [...T], opts?: ComputeOptions): Promise<Results<T>>;
  async compute(target: ChunkedArray | readonly ChunkedArray[], opts: ComputeOptions = {}): Promise<unknown> {
    const arrays = await this.known(checkArrays('compute', Array.isArray(target) ? target : [target]), opts);
    const job = await this.start(arrays, opts, { buffer: false, pick: Array.isArray(target) ? undefined : 0 });
    try {
      return await job.result();
    } finally {
      await this.reports.get(job);
    }
  }

  /** Submit without waiting: the Job streams events and resolves to the results. */
  submit<T extends ChunkedArray>(a: T, opts?: ComputeOptions): Promise<Job<Result<T>>>;
  submit<T extends readonly ChunkedArray[]>(arrays: readonly [...T], opts?: ComputeOptions): Promise<Job<Results<T>>>;
  async submit(target: ChunkedArray | readonly ChunkedArray[], opts: ComputeOptions = {}): Promise<Job<unknown>> {
    const arrays = await this.known(checkArrays('submit', Array.isArray(target) ? target : [target]), opts);
    return this.start(arrays, opts, { buffer: true, pick: Array.isArray(target) ? undefined : 0 });
  }

  /**
   * Compute and keep the blocks on the engine. The returned array has the same name, keys, shape
   * and chunks, but its tasks are `persisted` (no dependencies), so later graphs start from them.
   */
  async persist<T extends ChunkedArray>(a: T, opts: ComputeOptions = {}): Promise<T> {
    const [x] = await this.known(checkArrays('persist', [a]), opts);
    const job = await this.start([x!], opts, { buffer: false, persist: true });
    try {
      await job.result();
    } finally {
      await this.reports.get(job);
    }
    return makeArray({
      name: x!.name,
      label: 'persisted',
      op: 'persisted',
      shape: x!.shape,
      dtype: x!.dtype,
      chunks: x!.chunks,
      inputs: [],
      token: null,
      block: () => ({ params: {}, deps: [] }),
    }) as T;
  }

  /**
   * The array with its unknown chunk sizes (a boolean mask's result, shape entries NaN) computed:
   * Dask's compute_chunk_sizes(). The result has the same values and known shape and chunks, so
   * every function accepts it. Known arrays come back as they are.
   */
  async computeChunkSizes<T extends ChunkedArray>(a: T, opts: ComputeOptions = {}): Promise<T> {
    const [x] = await this.known(checkArrays('computeChunkSizes', [a]), opts);
    return x as T;
  }

  /** `arrays` with every unknown chunk size computed (the counts run as graphs of their own first). */
  private async known(arrays: ChunkedArray[], opts: ComputeOptions): Promise<ChunkedArray[]> {
    if (!arrays.some(hasUnknownChunks)) return arrays;
    const { onEvent: _e, progress: _p, ...quiet } = opts;
    return resolveChunkSizes(arrays, async (counts) => (await (await this.start(counts, quiet, { buffer: false })).result()) as NDArray[]);
  }

  /**
   * Write arrays into Zarr arrays (Dask's da.store): `targets` from openZarr or createZarr, one per
   * source, each written where `regions` says (default the whole array). One graph; each block is
   * written by the worker that holds it.
   */
  async store(
    sources: ChunkedArray | readonly ChunkedArray[],
    targets: ZarrArrayRef | readonly ZarrArrayRef[],
    opts: { regions?: readonly (ToZarrOptions['region'] | undefined)[] } = {},
  ): Promise<void> {
    const xs = Array.isArray(sources) ? sources : [sources as ChunkedArray];
    const ts = Array.isArray(targets) ? targets : [targets as ZarrArrayRef];
    await storeArrays({ compute: (arrays) => this.compute(arrays) }, xs, ts, opts.regions ?? ts.map(() => undefined));
  }

  /** Drop the persisted blocks of an array. */
  async unpersist(a: ChunkedArray): Promise<void> {
    const [x] = checkArrays('unpersist', [a]);
    await this.engine.unpersist(x!.keys());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.dashboard?.close();
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
    const device = opts.device ?? this.device;
    if (!(DEVICES as readonly string[]).includes(device))
      throw new InvalidArgumentError(`device must be one of ${DEVICES.join(', ')}, got ${JSON.stringify(device)}`);
    const graph = markCached(planDevices(toGraph(arrays, opts), device), opts.cache ?? this.cache);
    const keys = outputKeys(arrays);
    const bar = opts.progress ? new ProgressBar(graph.tasks.length) : undefined;
    if (opts.report !== undefined && (typeof opts.report !== 'string' || opts.report.length === 0))
      throw new InvalidArgumentError(`report must be a file path (.html, or .json for the data), got ${JSON.stringify(opts.report)}`);
    const recorder = opts.report !== undefined ? new ReportRecorder(this.engine, graph.tasks.length) : undefined;
    const done = new Set<string>();
    const listener = (ev: EngineEvent): void => {
      opts.onEvent?.(ev);
      recorder?.onEvent(ev);
      if (!bar) return;
      if (ev.type === 'task' && ev.state === 'memory') done.add(ev.key);
      if (ev.type === 'graph') {
        bar.update(ev.done, ev.total);
        if (ev.state !== 'running') bar.finish(ev.state);
      } else bar.update(done.size);
    };
    const feed = new EventFeed(listener, how.buffer);
    // Task events cost the engine an object per state change: ask for them only when read.
    const wantEvents = how.buffer || opts.onEvent !== undefined || bar !== undefined || recorder !== undefined;
    const submitOpts: SubmitOptions = { ...(wantEvents ? { onEvent: feed.push } : {}), ...(how.persist ? { persist: true } : {}) };
    const id = await this.engine.submit(graph, submitOpts);
    const collect = async (): Promise<unknown> => {
      if (how.persist) return undefined;
      const chunks = await this.engine.gather(id, keys);
      const byKey = new Map(keys.map((k, i) => [k, chunks[i]!]));
      const results = arrays.map((a) =>
        assembleResult(
          a,
          a.keys().map((k) => byKey.get(k)!),
        ),
      );
      return how.pick === undefined ? results : results[how.pick];
    };
    const job = new Job<unknown>(this.engine, id, collect, feed, opts.signal);
    if (recorder) {
      const path = opts.report!;
      this.reports.set(
        job,
        job.result().then(
          () => recorder.write(path, id, 'finished'),
          (e: unknown) => recorder.write(path, id, e instanceof CancelledError ? 'cancelled' : 'erred', (e as Error).message),
        ),
      );
    }
    if (bar) {
      job.result().then(
        () => bar.finish('finished'),
        (e: unknown) => bar.finish(e instanceof CancelledError ? 'cancelled' : 'erred'),
      );
    }
    return job;
  }
}
