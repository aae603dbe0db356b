import {
  EngineEvent,
  ErrorResponse,
  type GraphEvent,
  GraphStatus,
  SseParser,
  TesseraError,
  UnavailableError,
  deserializeError,
} from '@tessera/protocol';
import { backoffMs, sleep } from './retry.js';
import { type HttpTransport, ProtocolError, checkAnswer } from './transport.js';

/** What carries over from one connection to the next. */
interface ConnectionState {
  /** Id of the last batch delivered whole: sent as Last-Event-ID. */
  lastId: string | undefined;
  /** Since when no connection worked; undefined while one does. */
  failingSince: number | undefined;
  /** Reconnections since data last flowed (the backoff grows with it). */
  attempt: number;
}

/** How a stream ended: the graph's terminal event, an error it could not get past, or close(). */
export type StreamEnd = { kind: 'terminal'; event: GraphEvent } | { kind: 'error'; error: TesseraError } | { kind: 'closed' };

export interface EventStreamOptions {
  graphId: string;
  /** Task events too (tasks=1), or graph events only. */
  tasks: boolean;
  onEvent: (ev: EngineEvent) => void;
  /** Give up after this long without a working connection (a scheduler restart fits in it). */
  reconnectWindowMs: number;
  /** Reconnect when nothing, not even a heartbeat, came for this long (a silently dead socket). */
  idleMs: number;
}

const EventList = EngineEvent.array();

function isTerminal(ev: EngineEvent): ev is GraphEvent {
  return ev.type === 'graph' && ev.state !== 'running';
}

/** Errors worth another connection: the scheduler or the network is away, or hiccuped. */
function retryable(err: unknown): boolean {
  if (err instanceof ProtocolError) return false;
  return !(err instanceof TesseraError) || err.code === 'UNAVAILABLE' || err.code === 'INTERNAL' || err.code === 'RATE_LIMITED';
}

/**
 * One graph's event stream (GET /api/graphs/:id/events), kept open across dropped connections and
 * scheduler restarts: it reconnects with Last-Event-ID, so each batch is delivered once, in order.
 * `ended` never rejects.
 */
export class GraphEventStream {
  readonly ended: Promise<StreamEnd>;
  private readonly aborter = new AbortController();

  constructor(
    private readonly transport: HttpTransport,
    private readonly opts: EventStreamOptions,
  ) {
    this.ended = this.run().catch((err: unknown) => ({
      kind: 'error' as const,
      error: err instanceof TesseraError ? err : new TesseraError('INTERNAL', String(err)),
    }));
  }

  close(): void {
    this.aborter.abort();
  }

  private get path(): string {
    return `/api/graphs/${encodeURIComponent(this.opts.graphId)}/events?tasks=${this.opts.tasks ? 1 : 0}`;
  }

  private async run(): Promise<StreamEnd> {
    const signal = this.aborter.signal;
    const state: ConnectionState = { lastId: undefined, failingSince: undefined, attempt: 0 };
    let lastError: unknown;
    while (!signal.aborted) {
      try {
        const end = await this.connectOnce(state);
        if (end) return end;
        // The server ended the stream without a terminal event (it is shutting down, say):
        // if the graph is over anyway, say how; else connect again.
        const status = await this.transport.json(GraphStatus, `/api/graphs/${encodeURIComponent(this.opts.graphId)}`, { signal });
        if (status.state !== 'running') {
          const event: GraphEvent = { type: 'graph', graph: status.id, state: status.state, total: status.total, done: status.done };
          if (status.error) event.error = status.error;
          this.deliver(event);
          return { kind: 'terminal', event };
        }
      } catch (err) {
        if (signal.aborted) break;
        if (!retryable(err)) return { kind: 'error', error: err as TesseraError };
        lastError = err;
        state.failingSince ??= Date.now();
      }
      if (state.failingSince !== undefined && Date.now() - state.failingSince > this.opts.reconnectWindowMs) {
        const why = lastError instanceof Error ? lastError.message : String(lastError);
        const error = new UnavailableError(
          `lost the event stream of graph ${this.opts.graphId} from the scheduler at ${this.transport.base} for over ${Math.round(this.opts.reconnectWindowMs / 1000)} s: ${why}`,
          { cause: lastError },
        );
        return { kind: 'error', error };
      }
      await sleep(backoffMs(state.attempt++), signal);
    }
    return { kind: 'closed' };
  }

  /** One connection: deliver batches until the terminal event (returned) or the end of the body (undefined). */
  private async connectOnce(state: ConnectionState): Promise<StreamEnd | undefined> {
    const conn = new AbortController();
    const stop = () => conn.abort();
    this.aborter.signal.addEventListener('abort', stop, { once: true });
    let idle: NodeJS.Timeout | undefined;
    let timedOut = false;
    const touch = () => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        timedOut = true;
        conn.abort();
      }, this.opts.idleMs);
    };
    try {
      touch();
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (state.lastId !== undefined) headers['last-event-id'] = state.lastId;
      // One try per connection: this loop is the stream's retry, with its own window.
      const res = await this.transport.request(this.path, { headers, signal: conn.signal, retry: false });
      state.failingSince = undefined;
      if (!res.body) throw new ProtocolError(`the scheduler at ${this.transport.base} answered ${this.path} without a body`);
      const parser = new SseParser(state.lastId);
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return undefined;
        touch();
        for (const m of parser.feed(value)) {
          if (m.event === 'error') throw this.streamError(m.data);
          if (m.event !== 'message') continue;
          const events = checkAnswer(EventList, this.json(m.data), `an event of graph ${this.opts.graphId}`);
          for (const ev of events) {
            if (this.aborter.signal.aborted) return { kind: 'closed' };
            this.deliver(ev);
            if (isTerminal(ev)) return { kind: 'terminal', event: ev };
          }
          // Only now: a batch cut off half way is asked for again.
          state.lastId = m.id;
          state.attempt = 0; // data flowed: a later drop starts its backoff afresh
        }
      }
    } catch (err) {
      if (this.aborter.signal.aborted) throw err;
      if (timedOut) throw new UnavailableError(`no data on the event stream of graph ${this.opts.graphId} for ${this.opts.idleMs} ms`);
      if (err instanceof TesseraError) throw err;
      throw this.transport.unavailable(`reading the events of graph ${this.opts.graphId}`, err);
    } finally {
      clearTimeout(idle);
      this.aborter.signal.removeEventListener('abort', stop);
      conn.abort();
    }
  }

  private json(data: string): unknown {
    try {
      return JSON.parse(data);
    } catch {
      throw new ProtocolError(`an event of graph ${this.opts.graphId} is not JSON`);
    }
  }

  /** An `event: error` message: the typed error the scheduler hit after the stream began. */
  private streamError(data: string): TesseraError {
    return deserializeError(checkAnswer(ErrorResponse, this.json(data), `the error event of graph ${this.opts.graphId}`).error);
  }

  /** A listener that throws must not end the stream; its error surfaces as an uncaught one, as from an EventEmitter. */
  private deliver(ev: EngineEvent): void {
    try {
      this.opts.onEvent(ev);
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
    }
  }
}
