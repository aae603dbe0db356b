import { setMaxListeners } from 'node:events';
import {
  CHUNK_FRAMES,
  CancelledError,
  type Chunk,
  type Engine,
  EngineClosedError,
  type EngineEvent,
  GraphList,
  GraphStatus,
  InvalidArgumentError,
  MAX_GATHER_KEYS,
  MSGPACK,
  OkResponse,
  type SubmitOptions,
  SubmitResponse,
  TesseraError,
  WorkerList,
  type WorkerView,
  decodeFrames,
  deserializeError,
  encodeSubmitRequest,
  type Graph,
} from '@tessera/protocol';
import { parseSchedulerAddress } from './http/address.js';
import { GraphEventStream, type StreamEnd } from './http/event-stream.js';
import { waitHealthy } from './http/health.js';
import { HttpTransport, ProtocolError } from './http/transport.js';

export interface HttpEngineOptions {
  /** How long `connect` waits for GET /health to say ok; default 10 s. */
  connectTimeoutMs?: number;
  /** How long an event stream keeps reconnecting, and a request retrying a scheduler that is away or answers 429, before it gives up; default 60 s. */
  reconnectWindowMs?: number;
  /** Reconnect a stream that was silent this long (the scheduler pings every 15 s); default 45 s. */
  streamIdleMs?: number;
  /** Gather requests in flight at once; default 4. */
  gatherConcurrency?: number;
  /** Keys per gather request; default 1024 (the scheduler takes at most MAX_GATHER_KEYS). */
  gatherBatch?: number;
}

const DEFAULTS: Required<HttpEngineOptions> = {
  connectTimeoutMs: 10_000,
  reconnectWindowMs: 60_000,
  streamIdleMs: 45_000,
  gatherConcurrency: 4,
  gatherBatch: 1024,
};

function checkOptions(options: unknown): Required<HttpEngineOptions> {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('HttpEngine options must be an object');
  const out = { ...DEFAULTS };
  for (const [name, value] of Object.entries(options)) {
    if (!(name in DEFAULTS)) throw new InvalidArgumentError(`unknown HttpEngine option ${name}`);
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new InvalidArgumentError(`HttpEngine option ${name} must be a positive integer (got ${String(value)})`);
    }
    out[name as keyof HttpEngineOptions] = value;
  }
  return out;
}

const graphPath = (id: string) => `/api/graphs/${encodeURIComponent(id)}`;

/**
 * The Engine of a Client connected to a scheduler: the same contract as the embedded local engine,
 * over the scheduler's HTTP API (msgpack graphs in, Server-Sent Events out, Arrow IPC results).
 */
export class HttpEngine implements Engine {
  private closed = false;
  private readonly streams = new Set<GraphEventStream>();
  /** Streams with task events, by graph: `wait` settles from one when there is one (see wait). */
  private readonly subscriptions = new Map<string, Set<GraphEventStream>>();

  private constructor(
    readonly address: string,
    private readonly transport: HttpTransport,
    private readonly opts: Required<HttpEngineOptions>,
  ) {}

  /**
   * Check that a scheduler answers at `address` (retrying for a short while), then use it. With
   * `token`, every request carries `Authorization: Bearer <token>` (a scheduler started with
   * --token / TESSERA_TOKEN answers 401 without it).
   */
  static async connect(address: string, options: HttpEngineOptions & { token?: string | undefined } = {}): Promise<HttpEngine> {
    const base = parseSchedulerAddress(address);
    const { token, ...numeric } = (options ?? {}) as HttpEngineOptions & { token?: unknown };
    if (token !== undefined && (typeof token !== 'string' || token === '' || /\s/.test(token))) {
      throw new InvalidArgumentError('HttpEngine option token must be a non-empty string without spaces');
    }
    const opts = checkOptions(numeric);
    await waitHealthy(base, opts.connectTimeoutMs);
    return new HttpEngine(base, new HttpTransport(base, token, opts.reconnectWindowMs), opts);
  }

  async submit(graph: Graph, options: SubmitOptions = {}): Promise<string> {
    this.open();
    const body = encodeSubmitRequest({ graph, persist: options.persist ?? false });
    const { id } = await this.transport.json(SubmitResponse, '/api/graphs', { method: 'POST', body, contentType: MSGPACK });
    // The scheduler keeps the stream from the first event, so subscribing now misses nothing.
    if (options.onEvent) this.subscribe(id, options.onEvent);
    return id;
  }

  subscribe(graphId: string, listener: (ev: EngineEvent) => void): () => void {
    this.open();
    const stream = this.stream(graphId, true, listener);
    let set = this.subscriptions.get(graphId);
    if (!set) this.subscriptions.set(graphId, (set = new Set()));
    set.add(stream);
    void stream.ended.then(() => {
      set.delete(stream);
      if (set.size === 0 && this.subscriptions.get(graphId) === set) this.subscriptions.delete(graphId);
    });
    return () => stream.close();
  }

  /**
   * Settles from the graph's terminal event. When this engine already streams the graph's task
   * events (a submit with onEvent), it waits on that stream, so every event reached the listener
   * before `wait` resolves, as with the local engine; else it opens a stream of graph events only.
   */
  async wait(graphId: string): Promise<void> {
    this.open();
    const tried = new Set<GraphEventStream>();
    for (;;) {
      const live = [...(this.subscriptions.get(graphId) ?? [])].find((s) => !tried.has(s));
      if (!live) break;
      tried.add(live);
      const end = await live.ended;
      if (end.kind !== 'closed') return settle(graphId, end);
      this.open(); // closed by unsubscribe: try another, or a stream of our own
    }
    return settle(graphId, await this.stream(graphId, false, () => undefined).ended);
  }

  async gather(graphId: string, keys: readonly string[]): Promise<Chunk[]> {
    this.open();
    const out: Chunk[] = new Array<Chunk>(keys.length);
    if (keys.length === 0) return out;
    const stop = new AbortController();
    // Every fetch listens on this one signal, and fetch lets go of its listener late (at GC).
    setMaxListeners(0, stop.signal);
    // Batches of keys, one request each (POST .../gather); a few in flight overlap the
    // scheduler's peer fetches with our decoding.
    const size = Math.max(1, Math.min(this.opts.gatherBatch, MAX_GATHER_KEYS, Math.ceil(keys.length / this.opts.gatherConcurrency)));
    let next = 0;
    const fetchSome = async (): Promise<void> => {
      while (next < keys.length && !stop.signal.aborted) {
        const from = next;
        next = Math.min(keys.length, from + size);
        const chunks = await this.gatherBatch(graphId, keys.slice(from, next), stop.signal);
        for (let i = 0; i < chunks.length; i++) out[from + i] = chunks[i]!;
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(this.opts.gatherConcurrency, Math.ceil(keys.length / size)) }, fetchSome));
    } finally {
      stop.abort(); // the first failure stops the other fetches
    }
    return out;
  }

  async cancel(graphId: string): Promise<void> {
    this.open();
    await this.transport.json(OkResponse, `${graphPath(graphId)}/cancel`, { method: 'POST', idempotent: true });
  }

  async release(graphId: string): Promise<void> {
    this.open();
    await this.transport.json(OkResponse, graphPath(graphId), { method: 'DELETE' });
  }

  async unpersist(keys: readonly string[]): Promise<void> {
    this.open();
    if (keys.length === 0) return;
    const body = JSON.stringify({ keys });
    await this.transport.json(OkResponse, '/api/unpersist', { method: 'POST', body, contentType: 'application/json', idempotent: true });
  }

  /** One graph's state and progress. */
  async status(graphId: string): Promise<GraphStatus> {
    this.open();
    return this.transport.json(GraphStatus, graphPath(graphId));
  }

  async graphs(): Promise<GraphStatus[]> {
    this.open();
    return (await this.transport.json(GraphList, '/api/graphs')).graphs;
  }

  async workers(): Promise<WorkerView[]> {
    this.open();
    return (await this.transport.json(WorkerList, '/api/workers')).workers;
  }

  /** Ends every open stream; pending waits reject with EngineClosedError, later calls throw it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const open = [...this.streams];
    for (const s of open) s.close();
    await Promise.all(open.map((s) => s.ended));
  }

  private stream(graphId: string, tasks: boolean, onEvent: (ev: EngineEvent) => void): GraphEventStream {
    const { reconnectWindowMs, streamIdleMs: idleMs } = this.opts;
    const s = new GraphEventStream(this.transport, { graphId, tasks, onEvent, reconnectWindowMs, idleMs });
    this.streams.add(s);
    void s.ended.then(() => this.streams.delete(s));
    return s;
  }

  private async gatherBatch(graphId: string, keys: string[], signal: AbortSignal): Promise<Chunk[]> {
    const path = `${graphPath(graphId)}/gather`;
    const body = JSON.stringify({ keys });
    const res = await this.transport.request(path, { method: 'POST', body, contentType: 'application/json', signal, headers: { accept: CHUNK_FRAMES }, idempotent: true });
    const type = res.headers.get('content-type')?.split(';')[0]?.trim();
    if (type !== CHUNK_FRAMES) {
      await res.body?.cancel().catch(() => undefined);
      throw new ProtocolError(`the scheduler at ${this.address} answered ${path} with ${type ?? 'no content type'}, not ${CHUNK_FRAMES}`);
    }
    // A fresh ArrayBuffer starts 8-byte aligned and frames keep payloads aligned, so each
    // chunk is a view of the answer, not a copy.
    const bytes = new Uint8Array(await this.transport.read(res, path, (r) => r.arrayBuffer()));
    return decodeFrames(bytes, keys).map((f) => f.chunk);
  }

  private open(): void {
    if (this.closed) throw new EngineClosedError();
  }
}

/** The outcome of `wait` from how the graph's stream ended. */
function settle(graphId: string, end: StreamEnd): void {
  if (end.kind === 'closed') throw new EngineClosedError();
  if (end.kind === 'error') throw end.error;
  const ev = end.event;
  if (ev.state === 'finished') return;
  if (ev.error) throw deserializeError(ev.error);
  if (ev.state === 'cancelled') throw new CancelledError();
  throw new TesseraError('INTERNAL', `graph ${graphId} ${ev.state} without saying why`);
}
