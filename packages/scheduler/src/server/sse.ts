import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { ErrorResponse } from '@tessera/protocol';
import type { EventBatch } from '../cluster/cluster-api.js';

/**
 * Server-Sent Events framing of a graph's event stream: one message per EventBatch,
 * `id: <batch id>\ndata: <JSON array of EngineEvent>\n\n`, so a client that reconnects with
 * Last-Event-ID resumes after the last batch it got. JSON.stringify escapes newlines, so the data
 * is always one line.
 */

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  // Reverse proxies (nginx) buffer responses unless told not to; events must arrive as they happen.
  'x-accel-buffering': 'no',
} as const;

/** An id with a line break would end the field early and break the framing; ids never need one. */
function oneLine(s: string): string {
  return s.replace(/[\r\n]/g, '');
}

export function formatBatch(batch: EventBatch): string {
  return `id: ${oneLine(String(batch.id))}\ndata: ${JSON.stringify(batch.events)}\n\n`;
}

/** A failure after the stream started cannot change the status: it goes as an `error` event. */
export function formatError(body: ErrorResponse): string {
  return `event: error\ndata: ${JSON.stringify(body)}\n\n`;
}

export const HEARTBEAT = ': ping\n\n';

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
