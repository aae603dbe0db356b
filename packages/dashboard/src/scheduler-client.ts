import { EngineEvent, GraphHistory, SseParser, TesseraError, GraphList, GraphStatus, GraphStructure, WorkerList } from '@tessera/protocol';
import type { z } from 'zod';

/**
 * The dashboard server's only way to the cluster: the scheduler's HTTP API and its event feed
 * (GET /api/events). Never Redis.
 */
export class SchedulerClient {
  constructor(
    readonly url: string,
    private readonly token?: string,
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.token ? { ...extra, authorization: `Bearer ${this.token}` } : extra;
  }

  async get<T extends z.ZodTypeAny>(path: string, schema: T, signal?: AbortSignal): Promise<z.output<T>> {
    const res = await fetch(`${this.url}${path}`, {
      headers: this.headers({ accept: 'application/json' }),
      signal: signal ?? AbortSignal.timeout(10_000),
    });
    if (!res.ok) {
      const body = await res.text().catch(() => '');
      throw new SchedulerHttpError(res.status, `GET ${path}: ${res.status} ${body.slice(0, 300)}`);
    }
    return schema.parse(await res.json()) as z.output<T>;
  }

  workers(): Promise<WorkerList> {
    return this.get('/api/workers', WorkerList);
  }

  graphs(): Promise<GraphList> {
    return this.get('/api/graphs', GraphList);
  }

  status(id: string): Promise<GraphStatus> {
    return this.get(`/api/graphs/${encodeURIComponent(id)}`, GraphStatus);
  }

  history(): Promise<GraphHistory> {
    return this.get('/api/history', GraphHistory);
  }

  structure(id: string, maxTasks: number): Promise<GraphStructure> {
    return this.get(`/api/graphs/${encodeURIComponent(id)}/structure?maxTasks=${maxTasks}`, GraphStructure, AbortSignal.timeout(60_000));
  }

  /**
   * Follow GET /api/events until `signal` aborts, reconnecting after a pause when it drops.
   * `onConnect` runs each time the stream (re)opens: what happened while it was down must be
   * read anew, from the graph list and structures.
   */
  async follow(
    onBatch: (events: EngineEvent[]) => void,
    onConnect: () => void,
    signal: AbortSignal,
    onError?: (e: unknown) => void,
  ): Promise<void> {
    while (!signal.aborted) {
      try {
        const res = await fetch(`${this.url}/api/events`, { headers: this.headers({ accept: 'text/event-stream' }), signal });
        if (!res.ok || !res.body) throw new SchedulerHttpError(res.status, `GET /api/events: ${res.status}`);
        onConnect();
        const parser = new SseParser();
        for await (const piece of res.body as unknown as AsyncIterable<Uint8Array>) {
          for (const m of parser.feed(piece)) {
            const raw = JSON.parse(m.data) as unknown[];
            // The feed is the scheduler's own JSON of validated events: a shape check, not a zod parse
            // per event (10^5-task graphs send 3 x 10^5 of them).
            onBatch(raw.filter(isEvent));
          }
        }
      } catch (e) {
        if (signal.aborted) return;
        onError?.(e);
      }
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
}

function isEvent(e: unknown): e is EngineEvent {
  if (typeof e !== 'object' || e === null) return false;
  const o = e as { type?: unknown; graph?: unknown; key?: unknown; state?: unknown };
  if (typeof o.graph !== 'string' || typeof o.state !== 'string') return false;
  return o.type === 'graph' || (o.type === 'task' && typeof o.key === 'string');
}

/** The scheduler answered with an error status: its code says which kind (404 NOT_FOUND, 503 UNAVAILABLE, ...). */
export class SchedulerHttpError extends TesseraError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(
      status === 404 ? 'NOT_FOUND' : status === 503 ? 'UNAVAILABLE' : status >= 400 && status < 500 ? 'INVALID_ARGUMENT' : 'INTERNAL',
      message,
    );
  }
}
