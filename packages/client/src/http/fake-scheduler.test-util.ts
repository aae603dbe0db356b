import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EngineEvent, SerializedError } from '@tessera/protocol';

export interface SeenRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export type Handler = (req: SeenRequest, res: ServerResponse) => unknown;

/**
 * A node:http server that speaks a few routes of the scheduler's protocol as each test scripts
 * them, and records every request. GET /health answers ok unless a test replaces it.
 */
export class FakeScheduler {
  readonly requests: SeenRequest[] = [];
  private readonly routes: { method: string; path: string | RegExp; handler: Handler }[] = [];

  private constructor(
    readonly server: Server,
    readonly base: string,
  ) {}

  static async start(port = 0): Promise<FakeScheduler> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    const self = new FakeScheduler(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => void self.handle(req, res));
    self.on('GET', '/health', (_req, res) => json(res, 200, { ok: true, workers: 1, version: '0.1.0' }));
    return self;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Later routes win over earlier ones for the same request. */
  on(method: string, path: string | RegExp, handler: Handler): this {
    this.routes.unshift({ method, path, handler });
    return this;
  }

  seen(method: string, path: string | RegExp): SeenRequest[] {
    return this.requests.filter((r) => r.method === method && (typeof path === 'string' ? r.path === path : path.test(r.path)));
  }

  /** Close, cutting open connections (a scheduler that dies). */
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://x');
    const seen: SeenRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: Buffer.concat(chunks),
    };
    this.requests.push(seen);
    const route = this.routes.find(
      (r) => r.method === seen.method && (typeof r.path === 'string' ? r.path === seen.path : r.path.test(seen.path)),
    );
    if (!route)
      return json(res, 404, { error: { code: 'NOT_FOUND', name: 'NotFoundError', message: `no route ${seen.method} ${seen.path}` } });
    try {
      await route.handler(seen, res);
    } catch (err) {
      if (!res.headersSent) json(res, 500, { error: { code: 'INTERNAL', name: 'Error', message: String(err) } });
      else res.destroy();
    }
  }
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

export function errorAnswer(res: ServerResponse, status: number, error: SerializedError): void {
  json(res, status, { error });
}

/** Start an SSE answer. */
export function sseHead(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.flushHeaders();
}

export function sseMessage(id: string, events: EngineEvent[]): string {
  return `id: ${id}\ndata: ${JSON.stringify(events)}\n\n`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Write `text` in pieces cut at the given character offsets, pausing so each goes as its own chunk. */
export async function writeInPieces(res: ServerResponse, text: string, cuts: number[]): Promise<void> {
  const bytes = Buffer.from(text);
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    res.write(bytes.subarray(at, c));
    at = c;
    await sleep(5);
  }
}
