import type { Backlog, Chunk, ClusterInfo, EngineEvent, GraphStatus, GraphStructure, HealthResponse, WorkerView } from '@tessera/protocol';

/** A slice of one graph's event stream; `id` resumes after it (SSE Last-Event-ID). */
export interface EventBatch {
  id: string;
  events: EngineEvent[];
}

/** A small chunk the scheduler holds, or a worker's chunk as Arrow IPC stream parts (not concatenated). */
export type ResultData = { chunk: Chunk } | { arrow: Uint8Array[] };

/**
 * What the HTTP layer asks of the cluster scheduler. Methods validate their own arguments and
 * throw typed errors (NotFoundError, InvalidArgumentError, GraphValidationError, ...), which the
 * server maps to HTTP statuses.
 */
export interface ClusterApi {
  readonly info: ClusterInfo;
  health(): Promise<HealthResponse>;
  /** `graph` is untrusted (decoded msgpack): validated here. Returns the new graph id. */
  submit(graph: unknown, options: { persist: boolean }): Promise<string>;
  status(id: string): Promise<GraphStatus>;
  graphs(): Promise<GraphStatus[]>;
  /**
   * The graph's events after `after` (from the start when undefined), as they come; ends after
   * the graph's terminal event or when `signal` aborts. `tasks: false` keeps only graph events.
   */
  events(id: string, after: string | undefined, options: { tasks: boolean; signal: AbortSignal }): AsyncIterable<EventBatch>;
  /** One output chunk of a finished graph: held here, or a worker's as Arrow IPC parts. */
  result(id: string, key: string): Promise<ResultData>;
  cancel(id: string): Promise<void>;
  /** Forget the graph: its keys leave Redis, chunks only it held are freed on the workers. */
  release(id: string): Promise<void>;
  unpersist(keys: readonly string[]): Promise<void>;
  workers(): Promise<WorkerView[]>;
  /** The work waiting (GET /api/backlog), for autoscalers; a server without it answers 404. */
  backlog?(): Backlog;
  // The dashboard's feed (issue 5): optional, a server without them answers 404 on those routes.
  /** Every graph's event batches as written, as their JSON array text (made once, shared); returns the unsubscribe. */
  tapEvents?(listener: (json: string, events: readonly EngineEvent[]) => void): () => void;
  /** A graph's task groups, and every task when it has at most `maxTasks`. */
  structure?(id: string, maxTasks: number): Promise<GraphStructure>;
  /** Ended graphs' summaries, newest first, kept after their keys expire. */
  history?(limit: number): Promise<GraphStatus[]>;
}
