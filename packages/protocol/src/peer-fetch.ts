import { Agent, request, type IncomingMessage } from 'node:http';
import { authHeaders } from './auth.js';
import { newSharedBuffer, type Chunk } from './chunk.js';
import { batchLimit, decodeBatch, type PeerBatchRequest } from './peer-batch.js';
import { decodeChunk } from './codec-stream.js';
import { itemsize, type Dtype } from './dtype.js';
import { TesseraError } from './errors.js';
import { sizeOf } from './shape.js';

/** Where a chunk is, and what it must be: the scheduler's record of it. */
export interface PeerChunkRef {
  key: string;
  /** The holder's peer server, http://host:port */
  address: string;
  dtype: Dtype;
  shape: readonly number[];
  /** Only this box of the chunk (GET /chunks/:key?region=...): a chunk of shape region.count comes back. */
  region?: Region | undefined;
}

/** A box of a chunk: per axis its first index and its length. */
export interface Region {
  start: number[];
  count: number[];
}

/** The `region` query value: `start:count` per axis, comma-separated ("0:32,128:64"). */
export function regionQuery(r: Region): string {
  return r.start.map((s, a) => `${s}:${r.count[a]!}`).join(',');
}

/** Why a region is not a box inside a chunk of this shape, or undefined when it is. */
export function checkRegion(r: Region, shape: readonly number[]): string | undefined {
  if (r.start.length !== shape.length || r.count.length !== shape.length) return `region has ${r.start.length} axes, the chunk ${shape.length}`;
  for (let a = 0; a < shape.length; a++) {
    const s = r.start[a]!, c = r.count[a]!;
    if (!Number.isSafeInteger(s) || !Number.isSafeInteger(c) || s < 0 || c < 0 || s + c > shape[a]!) return `region axis ${a} (${s}:${c}) is not inside 0..${shape[a]!}`;
  }
  return undefined;
}

/** A `region` query value checked against the chunk's shape, or why it is not one. */
export function parseRegion(q: string, shape: readonly number[]): Region | string {
  const axes = q.split(',');
  const m = axes.map((part) => /^(\d{1,15}):(\d{1,15})$/.exec(part));
  if (m.some((x) => !x)) return `region ${JSON.stringify(q.slice(0, 200))} is not start:count per axis`;
  const r = { start: m.map((x) => Number(x![1])), count: m.map((x) => Number(x![2])) };
  return checkRegion(r, shape) ?? r;
}

export interface PeerFetcherOptions {
  /** No answer within this long fails the fetch; default 60 s. */
  timeoutMs?: number;
  /** The cluster's token, sent with every request. */
  token?: string | undefined;
  /**
   * Read bodies into SharedArrayBuffers (default), so a decoded chunk, which views its body, can
   * be posted to pool threads without a copy; false for bytes that are only passed on.
   */
  shared?: boolean;
}

/** Schema and batch headers of one chunk's stream: a few hundred bytes; this is generous. */
const HEADER_ALLOWANCE = 64 * 1024;

/** A chunk could not be had from the peer that was said to hold it. */
export class PeerFetchError extends TesseraError {
  constructor(
    readonly key: string,
    readonly address: string,
    readonly reason: string,
  ) {
    super('PEER_FETCH_FAILED', `could not fetch chunk ${key} from ${address}: ${reason}`);
  }
}

/**
 * GET /chunks/:key from a worker's peer server (an Arrow IPC stream) over keep-alive
 * connections, bounded in time and in size (no more bytes than a chunk of the recorded dtype and
 * shape can take), and checked before use: one chunk of exactly that dtype and shape. The
 * workers' peer client and the scheduler's result fetch both go through it.
 */
export class PeerFetcher {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 16 });
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;

  constructor(private readonly options: PeerFetcherOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.headers = authHeaders(options.token);
  }

  /** The chunk and the bytes it was decoded from (it views them); rejects with PeerFetchError. */
  async fetch(ref: PeerChunkRef): Promise<{ chunk: Chunk; bytes: Uint8Array }> {
    const fail = (reason: string): PeerFetchError => new PeerFetchError(ref.key, ref.address, reason);
    let url: URL;
    try {
      url = new URL(`chunks/${encodeURIComponent(ref.key)}`, ref.address.endsWith('/') ? ref.address : `${ref.address}/`);
      if (ref.region) url.search = `region=${regionQuery(ref.region)}`;
    } catch {
      throw fail('not a valid peer address');
    }
    if (url.protocol !== 'http:') throw fail(`peer servers speak http, not ${url.protocol}`);
    const shape = ref.region ? ref.region.count : ref.shape;
    const limit = sizeOf(shape) * itemsize(ref.dtype) + HEADER_ALLOWANCE;
    let bytes: Uint8Array;
    try {
      bytes = await this.download(url, limit);
    } catch (e) {
      throw fail(e instanceof Error ? e.message : String(e));
    }
    try {
      return { chunk: decodeChunk(bytes, { dtype: ref.dtype, shape }), bytes };
    } catch (e) {
      throw fail(`bad chunk bytes: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /**
   * Several chunks (or regions of them) that one peer holds, in one request (POST /chunks, see
   * peer-batch.ts), in the order asked; rejects with PeerFetchError naming the first key.
   */
  async fetchBatch(refs: readonly PeerChunkRef[]): Promise<{ chunks: Chunk[]; bytes: Uint8Array }> {
    const first = refs[0];
    if (!first) return { chunks: [], bytes: new Uint8Array(0) };
    const fail = (reason: string): PeerFetchError => new PeerFetchError(first.key, first.address, `batch of ${refs.length}: ${reason}`);
    if (refs.some((r) => r.address !== first.address)) throw fail('a batch goes to one peer');
    let url: URL;
    try {
      url = new URL('chunks', first.address.endsWith('/') ? first.address : `${first.address}/`);
    } catch {
      throw fail('not a valid peer address');
    }
    if (url.protocol !== 'http:') throw fail(`peer servers speak http, not ${url.protocol}`);
    const shapes = refs.map((r) => (r.region ? r.region.count : r.shape));
    const limit = batchLimit(
      refs.map((r, i) => sizeOf(shapes[i]!) * itemsize(r.dtype)),
      HEADER_ALLOWANCE,
    );
    const body: PeerBatchRequest = { items: refs.map((r) => (r.region ? { key: r.key, region: r.region } : { key: r.key })) };
    let bytes: Uint8Array;
    try {
      bytes = await this.download(url, limit, JSON.stringify(body));
    } catch (e) {
      throw fail(e instanceof Error ? e.message : String(e));
    }
    try {
      return { chunks: decodeBatch(bytes, refs.map((r, i) => ({ dtype: r.dtype, shape: shapes[i]! }))), bytes };
    } catch (e) {
      throw fail(`bad batch bytes: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  close(): void {
    this.agent.destroy();
  }

  private download(url: URL, limit: number, json?: string): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const headers = json === undefined ? this.headers : { ...this.headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(json)) };
      const req = request(url, { agent: this.agent, timeout: this.timeoutMs, headers, method: json === undefined ? 'GET' : 'POST' }, (res) => {
        readBody(res, limit, this.options.shared ?? true).then(resolve, reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(json);
    });
  }
}

async function readBody(res: IncomingMessage, limit: number, shared: boolean): Promise<Uint8Array> {
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
  // A fresh buffer starts at offset 0, so the Arrow body is 8-byte aligned and decodeChunk views
  // it instead of copying.
  const out = new Uint8Array(shared ? newSharedBuffer(declared) : new ArrayBuffer(declared));
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
