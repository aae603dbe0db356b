import { RateLimitedError } from '@tessera/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { formatBytes } from './error-reply.js';

/** Each client's share of the scheduler's HTTP API. */
export interface RateLimits {
  /** Requests per second one client may keep up. */
  requestsPerSecond: number;
  /** Requests one client may send at once above that rate (a burst, then the rate). */
  burst: number;
  /** Body bytes per second one client may keep up (a graph of `bytesBurst` at once). */
  bytesPerSecond: number;
  bytesBurst: number;
  /** Requests of one client being served at once; event streams are not counted (they stay open). */
  inFlight: number;
  /** How each limit is set, quoted in 429 answers. */
  names?: Partial<Record<'requestsPerSecond' | 'bytesPerSecond' | 'inFlight', string>>;
}

/** What a client that reaches none of these looks like: 50 clients each submitting and fetching stay far under them. */
export const DEFAULT_RATE_LIMITS: RateLimits = {
  requestsPerSecond: 500,
  burst: 1_000,
  bytesPerSecond: 256 * 2 ** 20,
  bytesBurst: 512 * 2 ** 20,
  inFlight: 64,
};

/** Probes and scrapes come from the orchestrator, not from a client. */
const EXEMPT: ReadonlySet<string> = new Set(['/health', '/ready', '/metrics']);
/** The header the TS client sends: one id per Client, so clients behind one address are told apart. */
export const CLIENT_HEADER = 'x-tessera-client';
const CLIENT_ID = /^[A-Za-z0-9_.-]{1,64}$/;
/** Idle clients' buckets are forgotten past this many (a sweep drops the full, idle ones). */
const SWEEP_AT = 10_000;

interface Bucket {
  requests: number;
  bytes: number;
  at: number;
  inFlight: number;
}

/**
 * Token buckets per client (its X-Tessera-Client id, else its address), charged in onRequest
 * before any body is read: a client over its rate or with too many requests open gets a 429 with
 * Retry-After at once, and everyone else is served as before. Costs one map lookup per request.
 */
export class ClientRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  limited = 0;

  constructor(
    readonly limits: RateLimits,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Charge one request of `bytes`; a refusal says how long to wait. */
  admit(
    client: string,
    bytes: number,
    counted: boolean,
  ): { ok: true; release: () => void } | { ok: false; retryAfterS: number; reason: string } {
    const b = this.bucket(client);
    const l = this.limits;
    const why = (reason: string, waitS: number) => {
      this.limited++;
      return { ok: false as const, retryAfterS: Math.max(1, Math.ceil(waitS)), reason };
    };
    if (counted && b.inFlight >= l.inFlight) return why(`more than ${l.inFlight} requests open at once${label(l, 'inFlight')}`, 1);
    if (b.requests < 1) {
      return why(
        `more than ${l.requestsPerSecond} requests per second (bursts of ${l.burst})${label(l, 'requestsPerSecond')}`,
        (1 - b.requests) / l.requestsPerSecond,
      );
    }
    // A body larger than the whole burst could never pass: let it through on a full bucket (the body limits bound it).
    const cost = Math.min(bytes, l.bytesBurst);
    if (cost > b.bytes) {
      return why(
        `more than ${formatBytes(l.bytesPerSecond)} of request bodies per second${label(l, 'bytesPerSecond')}`,
        (cost - b.bytes) / l.bytesPerSecond,
      );
    }
    b.requests -= 1;
    b.bytes -= cost;
    if (!counted) return { ok: true, release: () => undefined };
    b.inFlight++;
    let done = false;
    return {
      ok: true,
      release: () => {
        if (done) return;
        done = true;
        b.inFlight--;
      },
    };
  }

  get clients(): number {
    return this.buckets.size;
  }

  private bucket(client: string): Bucket {
    const t = this.now();
    const l = this.limits;
    let b = this.buckets.get(client);
    if (!b) {
      if (this.buckets.size >= SWEEP_AT) this.sweep();
      b = { requests: l.burst, bytes: l.bytesBurst, at: t, inFlight: 0 };
      this.buckets.set(client, b);
      return b;
    }
    const dt = (t - b.at) / 1000;
    b.requests = Math.min(l.burst, b.requests + dt * l.requestsPerSecond);
    b.bytes = Math.min(l.bytesBurst, b.bytes + dt * l.bytesPerSecond);
    b.at = t;
    return b;
  }

  /** A full bucket with nothing open is the same as no bucket. */
  private sweep(): void {
    const t = this.now();
    const l = this.limits;
    for (const [k, b] of this.buckets) {
      const dt = (t - b.at) / 1000;
      const full = b.requests + dt * l.requestsPerSecond >= l.burst && b.bytes + dt * l.bytesPerSecond >= l.bytesBurst;
      if (full && b.inFlight === 0) this.buckets.delete(k);
    }
  }
}

function label(l: RateLimits, which: keyof NonNullable<RateLimits['names']>): string {
  const name = l.names?.[which];
  return name ? ` (${name})` : '';
}

/** Who a request is from: the client's own id where it sent a valid one, with its address. */
export function clientOf(request: FastifyRequest): string {
  const id = request.headers[CLIENT_HEADER];
  return typeof id === 'string' && CLIENT_ID.test(id) ? `${request.ip} ${id}` : request.ip;
}

/** Charge every API request to its client; over the limit: 429, Retry-After, a RateLimitedError. */
export function enforceRateLimits(app: FastifyInstance, limiter: ClientRateLimiter, onLimited?: (client: string) => void): void {
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    if (EXEMPT.has(path)) return;
    const length = Number(request.headers['content-length'] ?? 0);
    const stream = request.headers.accept?.includes('text/event-stream') ?? false;
    const client = clientOf(request);
    const verdict = limiter.admit(client, Number.isFinite(length) && length > 0 ? length : 0, !stream);
    if (verdict.ok) {
      reply.raw.once('close', verdict.release);
      return;
    }
    onLimited?.(client);
    reply.header('retry-after', String(verdict.retryAfterS));
    throw new RateLimitedError(`this client sent ${verdict.reason}: retry after ${verdict.retryAfterS} s`);
  });
}
