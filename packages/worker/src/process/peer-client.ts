import { Agent, request, type IncomingMessage } from 'node:http';
import { decodeChunk, itemsize, sizeOf, type Chunk, type InputLocation, authHeaders } from '@tessera/protocol';
import type { ReplicaCache } from './replica-cache.js';
import { errorMessage } from './log.js';

export interface PeerClientOptions {
  /** No answer within this long fails the fetch; default 60 s. */
  timeoutMs?: number;
  /** The cluster's token, sent with every request. */
  token?: string | undefined;
  /** Told of every fetch: its bytes, or that it failed. */
  onFetched?: (bytes: number) => void;
  onFailed?: () => void;
}

/** Schema and batch headers of one chunk's stream: a few hundred bytes; this is generous. */
const HEADER_ALLOWANCE = 64 * 1024;

/** A chunk could not be had from the peer that was said to hold it. */
export class PeerFetchError extends Error {
  constructor(
    readonly key: string,
    readonly address: string,
    readonly reason: string,
  ) {
    super(`could not fetch chunk ${key} from ${address}: ${reason}`);
    this.name = 'PeerFetchError';
  }
}

/**
 * Fetches chunks from other workers' peer servers (GET /chunks/:key, Arrow IPC stream) over
 * keep-alive connections. Concurrent requests for one key share one fetch; fetched chunks go to
 * the replica cache. The body is read straight into a SharedArrayBuffer (one copy, from the
 * socket), so the decoded chunk, which views it, is posted to pool threads without another.
 */
export class PeerClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 16 });
  private readonly inflight = new Map<string, Promise<Chunk>>();

  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;

  constructor(
    private readonly cache: ReplicaCache,
    private readonly options: PeerClientOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.headers = authHeaders(options.token);
  }

  /** A copy is cached here: `get` will not go to the network. */
  has(key: string): boolean {
    return this.cache.has(key);
  }

  /** The chunk, from the cache or its holder; rejects with PeerFetchError. */
  get(loc: InputLocation): Promise<Chunk> {
    const cached = this.cache.get(loc.key);
    if (cached) return Promise.resolve(cached);
    let p = this.inflight.get(loc.key);
    if (!p) {
      p = this.fetch(loc)
        .then((c) => {
          this.cache.put(loc.key, c);
          return c;
        })
        .finally(() => this.inflight.delete(loc.key));
      this.inflight.set(loc.key, p);
    }
    return p;
  }

  close(): void {
    this.agent.destroy();
  }

  private async fetch(loc: InputLocation): Promise<Chunk> {
    const fail = (reason: string): PeerFetchError => new PeerFetchError(loc.key, loc.address, reason);
    let url: URL;
    try {
      url = new URL(`chunks/${encodeURIComponent(loc.key)}`, loc.address.endsWith('/') ? loc.address : `${loc.address}/`);
    } catch {
      throw fail('not a valid peer address');
    }
    if (url.protocol !== 'http:') throw fail(`peer servers speak http, not ${url.protocol}`);
    const limit = sizeOf(loc.shape) * itemsize(loc.dtype) + HEADER_ALLOWANCE;
    let body: Uint8Array;
    try {
      body = await this.download(url, limit);
    } catch (e) {
      this.options.onFailed?.();
      throw fail(errorMessage(e));
    }
    // Checked before use: the stream must be one chunk of exactly the dtype and shape the
    // scheduler recorded, its data as long as that shape needs (decodeChunk verifies all three).
    let chunk: Chunk;
    try {
      chunk = decodeChunk(body, { dtype: loc.dtype, shape: loc.shape });
    } catch (e) {
      this.options.onFailed?.();
      throw fail(`bad chunk bytes: ${errorMessage(e)}`);
    }
    this.options.onFetched?.(body.byteLength);
    return chunk;
  }

  private download(url: URL, limit: number): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const req = request(url, { agent: this.agent, timeout: this.timeoutMs, headers: this.headers }, (res) => {
        readBody(res, limit).then(resolve, reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', reject);
      req.end();
    });
  }
}

async function readBody(res: IncomingMessage, limit: number): Promise<Uint8Array> {
  if (res.statusCode !== 200) {
    res.resume();
    throw new Error(`HTTP ${res.statusCode ?? '?'}`);
  }
  const declared = Number(res.headers['content-length']);
  if (!Number.isSafeInteger(declared) || declared < 0) {
    res.destroy();
    throw new Error('no content-length');
  }
  if (declared > limit) {
    res.destroy();
    throw new Error(`${declared} bytes is more than a chunk of this dtype and shape can take`);
  }
  // A fresh SharedArrayBuffer starts at offset 0, so the Arrow body is 8-byte aligned and
  // decodeChunk views it instead of copying.
  const out = new Uint8Array(new SharedArrayBuffer(declared));
  let n = 0;
  for await (const part of res as AsyncIterable<Buffer>) {
    if (n + part.byteLength > declared) {
      res.destroy();
      throw new Error('body longer than its content-length');
    }
    out.set(part, n);
    n += part.byteLength;
  }
  if (n !== declared) throw new Error(`body ended after ${n} of ${declared} bytes`);
  return out;
}
