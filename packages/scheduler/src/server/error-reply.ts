import { type ErrorCode, type ErrorResponse, RedisFullError, TesseraError, UnavailableError, isRedisAway, isRedisOom, serializeError } from '@tessera/protocol';

/**
 * HTTP status of each error code. A Record over every code, so adding a code to protocol without
 * deciding its status here is a compile error.
 */
const STATUS_OF: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: 400,
  GRAPH_INVALID: 400,
  SHAPE_ERROR: 400,
  DTYPE_ERROR: 400,
  CHUNK_ERROR: 400,
  // A file a client or worker read is not in the format it claims.
  FILE_FORMAT: 400,
  NOT_FOUND: 404,
  CANCELLED: 409,
  TASK_FAILED: 409,
  KILLED_WORKER: 409,
  CHUNK_LOST: 409,
  UNAVAILABLE: 503,
  // Redis at its maxmemory: no new graph until memory frees.
  REDIS_FULL: 503,
  // One client over its rate: it waits Retry-After, the others go on.
  RATE_LIMITED: 429,
  // A scheduler that is shutting down cannot serve the request: same as unavailable.
  ENGINE_CLOSED: 503,
  // No worker with a GPU (or its device was lost): the cluster cannot serve it now.
  GPU_UNAVAILABLE: 503,
  KERNEL_NOT_FOUND: 500,
  CHUNK_DECODE: 500,
  INTERNAL: 500,
  // Failures inside a worker or the scheduler's fetch from one: the request could not be served now.
  PEER_FETCH_FAILED: 503,
  WORKER_START_FAILED: 500,
  POOL_INIT_FAILED: 500,
  GPU_TASK_FAILED: 500,
};

export function statusOfCode(code: ErrorCode): number {
  return STATUS_OF[code];
}

/** A typed error that also fixes its HTTP status (415, 413: statuses no error code maps to). */
export class HttpError extends TesseraError {
  constructor(
    readonly status: number,
    code: ErrorCode,
    message: string,
  ) {
    super(code, message);
  }
}

/** Errors fastify itself raises (body parsing, limits, media types) carry a 4xx statusCode. */
function fastifyClientError(err: unknown): { status: number; message: string; code?: string } | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { statusCode?: unknown; message?: unknown; code?: unknown };
  if (typeof e.statusCode !== 'number' || e.statusCode < 400 || e.statusCode >= 500) return undefined;
  return {
    status: e.statusCode,
    message: typeof e.message === 'string' ? e.message : 'bad request',
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
  };
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB (${n} bytes)`;
  return `${n} bytes`;
}

/**
 * The one place an error becomes an answer: `{error: SerializedError}` with the status of its
 * code. Anything unexpected is a 500 with code INTERNAL that says nothing of the server's insides.
 */
export function errorReply(err: unknown, opts: { bodyLimit: number; tooLarge?: string }): { status: number; body: ErrorResponse } {
  if (err instanceof HttpError) return { status: err.status, body: { error: serializeError(err) } };
  if (err instanceof TesseraError) return { status: statusOfCode(err.code), body: { error: serializeError(err) } };
  const client = fastifyClientError(err);
  if (client) {
    const message =
      client.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? (opts.tooLarge ?? `request body is larger than the limit of ${formatBytes(opts.bodyLimit)}`)
        : client.message;
    const notFound = client.status === 404;
    const error = notFound
      ? { code: 'NOT_FOUND' as const, name: 'NotFoundError', message }
      : { code: 'INVALID_ARGUMENT' as const, name: 'InvalidArgumentError', message };
    return { status: client.status, body: { error } };
  }
  // Redis restarting or at its maxmemory mid-request: say so (a 503 is worth another try), not "internal".
  if (isRedisAway(err)) return errorReply(new UnavailableError('Redis is unavailable (restarting or unreachable): try again shortly'), opts);
  if (isRedisOom(err)) return errorReply(new RedisFullError('Redis is full (its maxmemory is reached): try again once running graphs have freed memory'), opts);
  return {
    status: 500,
    body: { error: { code: 'INTERNAL', name: 'InternalError', message: 'internal scheduler error (see the scheduler log)' } },
  };
}
