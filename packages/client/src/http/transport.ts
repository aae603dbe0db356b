import {
  ErrorResponse,
  InvalidArgumentError,
  NotFoundError,
  RateLimitedError,
  TesseraError,
  UnavailableError,
  deserializeError,
} from '@tessera/protocol';
import { backoffMs, retryAfterMs, sleep } from './retry.js';

/** What the client needs of a protocol schema (the client imports zod only through protocol). */
export interface Schema<T> {
  safeParse(
    value: unknown,
  ): { success: true; data: T } | { success: false; error: { issues: { path: (string | number)[]; message: string }[] } };
}

/** Check an answer against its schema; a mismatch is a ProtocolError naming the field. */
export function checkAnswer<T>(schema: Schema<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new ProtocolError(`${what} is malformed: ${issue ? `${issue.path.join('.') || '(value)'}: ${issue.message}` : 'no detail'}`);
}

/** The scheduler answered something that is not the protocol: a bug or a different server, not worth retrying. */
export class ProtocolError extends TesseraError {
  constructor(message: string) {
    super('INTERNAL', message);
  }
}

/** undici's "fetch failed" hides the reason in `cause` (ECONNREFUSED, ENOTFOUND, a reset socket). */
export function describeCause(err: unknown): string {
  const e = err as { message?: unknown; cause?: { code?: unknown; message?: unknown } } | undefined;
  const cause = e?.cause;
  if (cause && (typeof cause.code === 'string' || typeof cause.message === 'string')) {
    return [cause.code, cause.message].filter((s) => typeof s === 'string' && s !== '').join(': ');
  }
  return typeof e?.message === 'string' ? e.message : String(err);
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'DELETE';
  body?: Uint8Array | string;
  contentType?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /**
   * Sending it twice does no harm (a read, a release, a gather): it is tried again after a
   * connection lost mid-request too, not only after a refused one. GET and DELETE always are.
   */
  idempotent?: boolean;
  /** false: one try, for a caller with a retry loop of its own. */
  retry?: boolean;
}

/** A refused connection: nothing reached the scheduler, so any request may be sent again. */
function refused(err: unknown): boolean {
  const cause = (err as { cause?: { code?: unknown; errors?: { code?: unknown }[] } } | undefined)?.cause;
  return cause?.code === 'ECONNREFUSED' || (cause?.errors ?? []).some((e) => e.code === 'ECONNREFUSED');
}

/**
 * The typed error of a non-2xx answer: the scheduler's own ErrorResponse when it sent one, else
 * (a proxy, or not a scheduler at all) an error by status that quotes the start of the body.
 */
export async function errorOfAnswer(res: Response, where: string): Promise<TesseraError> {
  const text = await res.text().catch(() => '');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const parsed = ErrorResponse.safeParse(body);
  if (parsed.success) return deserializeError(parsed.data.error);
  const message = `${where} answered ${res.status} ${res.statusText}${text ? `: ${text.slice(0, 200)}` : ''}`;
  if (res.status === 404) return new NotFoundError(message);
  if (res.status === 429) return new RateLimitedError(message);
  if (res.status === 502 || res.status === 503 || res.status === 504) return new UnavailableError(message);
  if (res.status >= 400 && res.status < 500) return new InvalidArgumentError(message);
  return new TesseraError('INTERNAL', message);
}

/**
 * fetch against one scheduler: a network failure is an UnavailableError naming the address, a
 * non-2xx answer its typed error, a body of the wrong shape a ProtocolError. Aborts pass through.
 */
export class HttpTransport {
  private readonly auth: Record<string, string>;

  /**
   * With a token, every request carries `Authorization: Bearer <token>`. A scheduler that is away
   * (restarting, say) or answers 429 is tried again for up to `retryWindowMs`.
   */
  constructor(
    readonly base: string,
    token?: string,
    readonly retryWindowMs = 60_000,
  ) {
    // One id per client: the scheduler's per-client rate limits tell clients on one address apart by it.
    this.auth = {
      'x-tessera-client': `c-${globalThis.crypto.randomUUID()}`,
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    };
  }

  async request(path: string, opts: RequestOptions = {}): Promise<Response> {
    const method = opts.method ?? 'GET';
    const headers: Record<string, string> = { ...opts.headers, ...this.auth };
    if (opts.contentType !== undefined) headers['content-type'] = opts.contentType;
    const repeatable = opts.idempotent ?? (method === 'GET' || method === 'DELETE');
    const deadline = Date.now() + (opts.retry === false ? 0 : this.retryWindowMs);
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(this.base + path, { method, headers, body: opts.body ?? null, ...(opts.signal ? { signal: opts.signal } : {}) });
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        const wait = backoffMs(attempt);
        if (!(repeatable || refused(err)) || Date.now() + wait > deadline) throw this.unavailable(`${method} ${path}`, err);
        await sleep(wait, opts.signal);
        continue;
      }
      if (res.status === 429) {
        const wait = retryAfterMs(res.headers.get('retry-after')) ?? backoffMs(attempt);
        if (Date.now() + wait <= deadline) {
          await res.body?.cancel().catch(() => undefined);
          await sleep(wait, opts.signal);
          continue;
        }
      }
      if (!res.ok) throw await errorOfAnswer(res, `the scheduler at ${this.base} (${method} ${path})`);
      return res;
    }
  }

  /** A JSON answer, checked against its schema. */
  async json<T>(schema: Schema<T>, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request(path, opts);
    const text = await this.read(res, path, (r) => r.text());
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new ProtocolError(`the scheduler at ${this.base} answered ${path} with a body that is not JSON`);
    }
    return checkAnswer(schema, body, `the answer of the scheduler at ${this.base} to ${path}`);
  }

  /** Read a body; a connection lost half way is an UnavailableError too. */
  async read<R>(res: Response, path: string, how: (res: Response) => Promise<R>): Promise<R> {
    try {
      return await how(res);
    } catch (err) {
      throw this.unavailable(`reading ${path}`, err);
    }
  }

  unavailable(what: string, err: unknown): UnavailableError {
    return new UnavailableError(`the scheduler at ${this.base} did not answer (${what}): ${describeCause(err)}`, { cause: err });
  }
}
