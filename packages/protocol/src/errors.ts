import { z } from 'zod';

/** Stable codes: clients switch on these, so never rename one. */
export const ERROR_CODES = [
  'SHAPE_ERROR',
  'DTYPE_ERROR',
  'CHUNK_ERROR',
  'INVALID_ARGUMENT',
  'GRAPH_INVALID',
  'TASK_FAILED',
  'KERNEL_NOT_FOUND',
  'CANCELLED',
  'ENGINE_CLOSED',
  'CHUNK_LOST',
  'CHUNK_DECODE',
  'KILLED_WORKER',
  'NOT_FOUND',
  'UNAVAILABLE',
  'INTERNAL',
  'GPU_UNAVAILABLE',
  'GPU_TASK_FAILED',
  'PEER_FETCH_FAILED',
  'POOL_INIT_FAILED',
  'WORKER_START_FAILED',
  'FILE_FORMAT',
  'REDIS_FULL',
  'RATE_LIMITED',
] as const;
export const ErrorCode = z.enum(ERROR_CODES);
export type ErrorCode = z.infer<typeof ErrorCode>;

export class TesseraError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Shape, chunk or broadcasting mismatch found while building an expression. */
export class ShapeError extends TesseraError {
  constructor(message: string) {
    super('SHAPE_ERROR', message);
  }
}

export class DtypeError extends TesseraError {
  constructor(message: string) {
    super('DTYPE_ERROR', message);
  }
}

/** An operation that cannot be expressed with the array's current chunks (e.g. reshape). */
export class ChunkError extends TesseraError {
  constructor(message: string) {
    super('CHUNK_ERROR', message);
  }
}

export class InvalidArgumentError extends TesseraError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

export interface GraphIssue {
  /** Task key the issue is about, when there is one. */
  key?: string;
  message: string;
}

export class GraphValidationError extends TesseraError {
  readonly issues: GraphIssue[];
  constructor(issues: GraphIssue[]) {
    const head = issues
      .slice(0, 5)
      .map((i) => (i.key ? `${i.key}: ${i.message}` : i.message))
      .join('; ');
    const more = issues.length > 5 ? ` (and ${issues.length - 5} more)` : '';
    super('GRAPH_INVALID', `invalid graph: ${head}${more}`);
    this.issues = issues;
  }
}

/** A kernel threw (or returned a malformed chunk) while running one task. */
export class TaskError extends TesseraError {
  readonly key: string;
  readonly op: string;
  readonly remote: { name: string; message: string; stack?: string | undefined };
  /** The worker the task failed on, where one is known (a path it could not read is its own). */
  readonly worker: string | undefined;
  constructor(key: string, op: string, remote: { name: string; message: string; stack?: string | undefined }, worker?: string) {
    super('TASK_FAILED', `task ${key} (op ${op}) failed${worker ? ` on worker ${worker}` : ''}: ${remote.name}: ${remote.message}`);
    this.key = key;
    this.op = op;
    this.remote = remote;
    this.worker = worker;
  }
}

export class KernelNotFoundError extends TesseraError {
  readonly kernel: string;
  constructor(kernel: string) {
    super(
      'KERNEL_NOT_FOUND',
      `no kernel registered under the name "${kernel}" (register it with registerKernel in a module the worker loads)`,
    );
    this.kernel = kernel;
  }
}

export class CancelledError extends TesseraError {
  constructor(message = 'the computation was cancelled') {
    super('CANCELLED', message);
  }
}

export class EngineClosedError extends TesseraError {
  constructor() {
    super('ENGINE_CLOSED', 'the engine is closed');
  }
}

export class ChunkLostError extends TesseraError {
  readonly key: string;
  constructor(key: string) {
    super('CHUNK_LOST', `chunk ${key} is no longer held by the engine (persisted data released or lost)`);
    this.key = key;
  }
}

/** Bytes that are not a valid encoded chunk (Arrow IPC stream), or an Arrow value that is not a chunk. */
export class CodecError extends TesseraError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CHUNK_DECODE', message, options);
  }
}

/** A task was running on workers that died, `count` times: it is taken to be what kills them. */
export class KilledWorkerError extends TesseraError {
  readonly key: string;
  constructor(key: string, count: number, message?: string) {
    super('KILLED_WORKER', message ?? `task ${key} was running on ${count} workers when they died; it is not retried again`);
    this.key = key;
  }
}

/** A graph, task, chunk or worker the caller named does not exist (HTTP 404). */
export class NotFoundError extends TesseraError {
  constructor(message: string) {
    super('NOT_FOUND', message);
  }
}

/** A file's bytes that are not what its format says (a .npy header, a truncated body): named in the message. */
export class FileFormatError extends TesseraError {
  constructor(message: string) {
    super('FILE_FORMAT', message);
  }
}

/** A scheduler, worker or Redis that should answer does not (HTTP 503, or a refused connection). */
export class UnavailableError extends TesseraError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('UNAVAILABLE', message, options);
  }
}

/**
 * Redis is at its `maxmemory` (with `noeviction`, as the scheduler wants it) and refused a write:
 * a new graph is not accepted until running graphs finish and free memory (HTTP 503).
 */
export class RedisFullError extends TesseraError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('REDIS_FULL', message, options);
  }
}

/**
 * One client sent more than its share of requests or bytes (HTTP 429 with Retry-After): the
 * scheduler keeps serving everyone else. The client waits and tries again by itself while its
 * retry window lasts; this error reaches a caller only past it.
 */
export class RateLimitedError extends TesseraError {
  constructor(message: string) {
    super('RATE_LIMITED', message);
  }
}

/**
 * Whether an error is Redis being away for a moment (restarting, loading its data, a connection
 * dropped or given up on): worth a 503 and another try, not an internal error.
 */
export function isRedisAway(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if (e.name === 'MaxRetriesPerRequestError') return true;
  return /\b(LOADING|Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|EPIPE)\b/.test(e.message);
}

/** Whether an error is Redis refusing a write at its maxmemory (a command's reply, or a script's). */
export function isRedisOom(e: unknown): boolean {
  return e instanceof Error && /\bOOM command not allowed\b/.test(e.message);
}

/**
 * Work marked `device: 'gpu'` and no GPU to run it: the engine was started without one, no
 * WebGPU adapter was found, or no worker of the cluster reported a device. The graph fails at
 * submission, before anything runs.
 */
export class NoGpuError extends TesseraError {
  constructor(message = 'this graph needs a GPU (device: "gpu") and none is available') {
    super('GPU_UNAVAILABLE', message);
  }
}

/** The one wire shape of every error. */
export const SerializedError = z.object({
  code: ErrorCode,
  name: z.string(),
  message: z.string(),
  key: z.string().optional(),
  op: z.string().optional(),
  remote: z.object({ name: z.string(), message: z.string(), stack: z.string().optional() }).optional(),
  worker: z.string().optional(),
  issues: z.array(z.object({ key: z.string().optional(), message: z.string() })).optional(),
});
export type SerializedError = z.infer<typeof SerializedError>;

export function serializeError(err: unknown): SerializedError {
  if (err instanceof TaskError) {
    return { code: err.code, name: err.name, message: err.message, key: err.key, op: err.op, remote: err.remote, ...(err.worker !== undefined && { worker: err.worker }) };
  }
  if (err instanceof GraphValidationError) {
    return { code: err.code, name: err.name, message: err.message, issues: err.issues };
  }
  if (err instanceof ChunkLostError) return { code: err.code, name: err.name, message: err.message, key: err.key };
  if (err instanceof KilledWorkerError) return { code: err.code, name: err.name, message: err.message, key: err.key };
  if (err instanceof KernelNotFoundError) return { code: err.code, name: err.name, message: err.message, key: err.kernel };
  if (err instanceof TesseraError) return { code: err.code, name: err.name, message: err.message };
  const e = err instanceof Error ? err : new Error(String(err));
  return { code: 'INTERNAL', name: e.name, message: e.message };
}

/** Rebuild the typed error class from its wire shape, so `instanceof` works across processes. */
export function deserializeError(s: SerializedError): TesseraError {
  switch (s.code) {
    case 'TASK_FAILED':
      return new TaskError(s.key ?? '?', s.op ?? '?', s.remote ?? { name: 'Error', message: s.message }, s.worker);
    case 'GRAPH_INVALID':
      return new GraphValidationError(s.issues ?? [{ message: s.message }]);
    case 'SHAPE_ERROR':
      return new ShapeError(s.message);
    case 'DTYPE_ERROR':
      return new DtypeError(s.message);
    case 'CHUNK_ERROR':
      return new ChunkError(s.message);
    case 'INVALID_ARGUMENT':
      return new InvalidArgumentError(s.message);
    case 'CANCELLED':
      return new CancelledError(s.message);
    case 'ENGINE_CLOSED':
      return new EngineClosedError();
    case 'CHUNK_DECODE':
      return new CodecError(s.message);
    case 'FILE_FORMAT':
      return new FileFormatError(s.message);
    case 'KERNEL_NOT_FOUND':
      return new KernelNotFoundError(s.key ?? '?');
    case 'CHUNK_LOST':
      return new ChunkLostError(s.key ?? '?');
    case 'KILLED_WORKER':
      return new KilledWorkerError(s.key ?? '?', 3, s.message);
    case 'NOT_FOUND':
      return new NotFoundError(s.message);
    case 'UNAVAILABLE':
      return new UnavailableError(s.message);
    case 'REDIS_FULL':
      return new RedisFullError(s.message);
    case 'RATE_LIMITED':
      return new RateLimitedError(s.message);
    case 'GPU_UNAVAILABLE':
      return new NoGpuError(s.message);
    case 'GPU_TASK_FAILED':
    case 'PEER_FETCH_FAILED':
    case 'POOL_INIT_FAILED':
    case 'WORKER_START_FAILED':
    case 'INTERNAL':
      return new TesseraError(s.code, s.message);
  }
}
