import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ARROW_STREAM,
  ChunkLostError,
  InvalidArgumentError,
  NotFoundError,
  TaskKey,
  encodeChunk,
  PEER_BATCH_REQUEST_LIMIT,
  PeerBatchRequest,
  checkRegion,
  encodeBatch,
  parseRegion,
  partsByteLength,
  serializeError,
  type Chunk,
  type Region,
  bearerMatches,
} from '@tessera/protocol';
import type { WorkerChunks } from '../executor/worker-chunks.js';
import { assemble } from '../kernels/structure.js';
import type { WorkerMetrics } from './worker-metrics.js';

export interface PeerServer {
  readonly port: number;
  /** Stops listening; transfers still running get `graceMs` to finish. */
  close(graceMs?: number): Promise<void>;
}

export interface PeerServerOptions {
  bind: string;
  port: number;
  worker: string;
  chunks: WorkerChunks;
  /** When set, /chunks and /metrics need `Authorization: Bearer <token>` (/health stays open). */
  token?: string | undefined;
  /** Served at /metrics, and told of the bytes served. */
  metrics?: WorkerMetrics | undefined;
}

/**
 * Serves the chunks this worker owns to other workers: `GET /chunks/:key` answers the chunk as an
 * Arrow IPC stream, written part by part from the chunk's own memory (no concatenation);
 * `?region=start:count,...` only that box of it (a copy), for a task that reads a piece. Also
 * `GET /health` (open) and `GET /metrics` (Prometheus). No request has a body: any is refused.
 */
export async function startPeerServer(o: PeerServerOptions): Promise<PeerServer> {
  let lease = 0;
  const server = createServer((req, res) => {
    route(req, res).catch((e: unknown) => {
      if (!res.headersSent) sendError(res, 500, e);
      else res.destroy();
    });
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const [path = '/', query] = (req.url ?? '/').split('?', 2);
    const batch = path === '/chunks' && req.method === 'POST';
    if (req.method !== 'GET' && req.method !== 'HEAD' && !batch)
      return sendError(res, 405, new InvalidArgumentError(`${req.method ?? '?'} is not served here; use GET (POST for /chunks)`));
    if (path === '/health') return sendJson(res, 200, { ok: true, worker: o.worker, chunks: o.chunks.count, bytes: o.chunks.nbytes });
    if (path !== '/metrics' && !path.startsWith('/chunks/') && !batch)
      return sendError(res, 404, new NotFoundError(`no route ${path.slice(0, 200)}`));
    if (o.token !== undefined && !bearerMatches(req.headers.authorization, o.token)) {
      res.setHeader('www-authenticate', 'Bearer realm="tessera"');
      return sendError(
        res,
        401,
        new InvalidArgumentError('this worker requires the cluster token: Authorization: Bearer <token> (TESSERA_TOKEN)'),
      );
    }
    if (path === '/metrics') return void serveMetrics(res);
    if (batch) return serveBatch(req, res);
    let key: string;
    try {
      key = decodeURIComponent(path.slice('/chunks/'.length));
    } catch {
      return sendError(res, 400, new InvalidArgumentError('the chunk key is not valid URL encoding'));
    }
    if (!TaskKey.safeParse(key).success)
      return sendError(res, 400, new InvalidArgumentError(`not a task key: ${JSON.stringify(key.slice(0, 200))}`));
    const got = await holdAndRead(res, key);
    if (!('data' in got)) return sendError(res, got.status, got.error);
    let chunk: Chunk = got;
    const regionQ = query === undefined ? null : new URLSearchParams(query).get('region');
    if (regionQ !== null) {
      const region = parseRegion(regionQ, chunk.shape);
      if (typeof region === 'string') return sendError(res, 400, new InvalidArgumentError(`chunk ${key}: ${region}`));
      chunk = cut(chunk, region);
    }
    const parts = encodeChunk(chunk);
    res.writeHead(200, { 'content-type': ARROW_STREAM, 'content-length': partsByteLength(parts) });
    if (req.method === 'HEAD') return void res.end();
    for (const p of parts) res.write(p);
    res.end();
    o.metrics?.servedBytes(partsByteLength(parts));
  }

  /**
   * The chunk under `key`, held until the response is done: a `free` meanwhile must not recycle
   * its buffer for another task's output while the socket still reads from it (nor drop it
   * mid-readback). A GPU result is read back to the host now, on its first request.
   */
  async function holdAndRead(res: ServerResponse, key: string): Promise<Chunk | { status: number; error: unknown }> {
    const holder = `peer-server:${lease++}`;
    if (!o.chunks.hold(key, holder)) return { status: 404, error: new ChunkLostError(key) };
    res.once('close', () => o.chunks.release(key, holder));
    try {
      return (await o.chunks.read(key)) ?? { status: 404, error: new ChunkLostError(key) };
    } catch (e) {
      return { status: 500, error: e };
    }
  }

  /** POST /chunks: several chunks or regions in one answer (protocol's peer-batch.ts). */
  async function serveBatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let text: string;
    try {
      text = await readJson(req, PEER_BATCH_REQUEST_LIMIT);
    } catch (e) {
      return sendError(res, 413, new InvalidArgumentError(e instanceof Error ? e.message : String(e)));
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return sendError(res, 400, new InvalidArgumentError('the batch request is not JSON'));
    }
    const parsed = PeerBatchRequest.safeParse(raw);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      return sendError(res, 400, new InvalidArgumentError(`bad batch request: ${i.path.join('.') || '(body)'}: ${i.message}`));
    }
    const chunks: Chunk[] = [];
    for (const { key, region } of parsed.data.items) {
      const got = await holdAndRead(res, key);
      if (!('data' in got)) return sendError(res, got.status, got.error);
      let chunk: Chunk = got;
      if (region) {
        const bad = checkRegion(region, chunk.shape);
        if (bad) return sendError(res, 400, new InvalidArgumentError(`chunk ${key}: ${bad}`));
        chunk = cut(chunk, region);
      }
      chunks.push(chunk);
    }
    const parts = encodeBatch(chunks);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': partsByteLength(parts) });
    for (const p of parts) res.write(p);
    res.end();
    o.metrics?.servedBytes(partsByteLength(parts));
  }

  async function serveMetrics(res: ServerResponse): Promise<void> {
    if (!o.metrics) return sendError(res, 404, new NotFoundError('metrics are off on this worker'));
    try {
      const { contentType, body } = await o.metrics.render();
      res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    } catch (e) {
      sendError(res, 500, e);
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.bind, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return { port, close: (graceMs = 1_000) => closeServer(server, graceMs) };
}

/** A copy of one box of a chunk. */
function cut(chunk: Chunk, region: Region): Chunk {
  const pieces = [{ input: 0, src: region.start.map((start, a) => ({ start, step: 1, count: region.count[a]! })), dst: region.start.map(() => 0) }];
  return assemble({ pieces }, [chunk], region.count, chunk.dtype);
}

/** A request body as text, refused past `limit` bytes. */
async function readJson(req: IncomingMessage, limit: number): Promise<string> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const part of req as AsyncIterable<Buffer>) {
    n += part.byteLength;
    if (n > limit) throw new Error(`the batch request is larger than ${limit} bytes`);
    parts.push(part);
  }
  return Buffer.concat(parts).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, err: unknown): void {
  sendJson(res, status, { error: serializeError(err) });
}

async function closeServer(server: Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearTimeout(timer);
}
