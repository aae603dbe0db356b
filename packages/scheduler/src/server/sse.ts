import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { HEARTBEAT, SSE_HEADERS, sseMessage, type ErrorResponse } from '@tessera/protocol';
import type { EventBatch } from '../cluster/cluster-api.js';

/**
 * A graph's event stream: one message per EventBatch, its id the batch id and its data the JSON
 * array of EngineEvent, so a client that reconnects with Last-Event-ID resumes after the last
 * batch it got. The framing is protocol's (sse.ts).
 */
export function formatBatch(batch: EventBatch): string {
  return sseMessage({ id: batch.id, data: JSON.stringify(batch.events) });
}

/** A failure after the stream started cannot change the status: it goes as an `error` event. */
export function formatError(body: ErrorResponse): string {
  return sseMessage({ event: 'error', data: JSON.stringify(body) });
}

/** Write, and wait for the socket to drain when its buffer is full (a slow reader holds us back). */
async function write(res: ServerResponse, text: string, signal: AbortSignal): Promise<void> {
  if (res.writableEnded || res.destroyed) return;
  if (res.write(text)) return;
  await once(res, 'drain', { signal }).catch(() => undefined);
}

export interface SseOptions {
  heartbeatMs: number;
  /** Aborted when the client goes away (or the server closes): stops reading `batches`. */
  signal: AbortSignal;
  /** The answer for an error thrown by `batches` (typed errors keep their code, others are hidden). */
  describe: (err: unknown) => ErrorResponse;
  onError?: (err: unknown) => void;
}

/** Stream `batches` to `res` until they end or the signal aborts; always ends `res`. */
export async function pipeSse(res: ServerResponse, batches: () => AsyncIterable<EventBatch>, opts: SseOptions): Promise<void> {
  const { signal } = opts;
  res.writeHead(200, SSE_HEADERS);
  res.flushHeaders();
  // Proxies and the client's idle timer see a live connection even when the graph is quiet.
  const ping = setInterval(() => {
    if (!res.writableEnded && !res.destroyed) res.write(HEARTBEAT);
  }, opts.heartbeatMs);
  const aborted = new Promise<'aborted'>((resolve) => {
    if (signal.aborted) resolve('aborted');
    else signal.addEventListener('abort', () => resolve('aborted'), { once: true });
  });
  let it: AsyncIterator<EventBatch> | undefined;
  try {
    it = batches()[Symbol.asyncIterator]();
    for (;;) {
      const next = it.next();
      // When the abort wins the race this promise is left behind: it must not reject unhandled.
      next.catch(() => undefined);
      const r = await Promise.race([next, aborted]);
      if (r === 'aborted' || r.done) break;
      await write(res, formatBatch(r.value), signal);
    }
  } catch (err) {
    if (!signal.aborted) {
      opts.onError?.(err);
      await write(res, formatError(opts.describe(err)), signal);
    }
  } finally {
    clearInterval(ping);
    // The producer is told through the signal; return() also ends a generator that is between yields.
    if (signal.aborted) void it?.return?.().catch(() => undefined);
    if (!res.writableEnded) res.end();
  }
}
