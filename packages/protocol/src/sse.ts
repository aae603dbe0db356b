/**
 * Server-Sent Events, both ends, written once: the framing every stream of ours writes (the
 * scheduler's graph streams and event feed, the dashboard's browser stream) and the incremental
 * parser every Node reader uses (the client's graph streams, the dashboard's feed reader).
 */

/** The response headers of every event stream. */
export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  // Reverse proxies (nginx) buffer responses unless told not to; events must arrive as they happen.
  'x-accel-buffering': 'no',
} as const;

/** A comment line: keeps idle connections open through proxies and the reader's idle timer. */
export const HEARTBEAT = ': ping\n\n';

/** An id or event name with a line break would end the field early and break the framing. */
function oneLine(s: string): string {
  return s.replace(/[\r\n]/g, '');
}

/** A comment (ignored by readers), e.g. to say what a stream is when it opens. */
export function sseComment(text: string): string {
  return `: ${oneLine(text)}\n\n`;
}

/**
 * One message. `data` is one line (JSON.stringify escapes newlines); one with line breaks is
 * sent as several `data:` lines, which the reader joins back with \n.
 */
export function sseMessage(m: { data: string; event?: string; id?: string | number }): string {
  const id = m.id === undefined ? '' : `id: ${oneLine(String(m.id))}\n`;
  const event = m.event === undefined ? '' : `event: ${oneLine(m.event)}\n`;
  const data = m.data.includes('\n') || m.data.includes('\r') ? m.data.split(/\r\n|\r|\n/).join('\ndata: ') : m.data;
  return `${id}${event}data: ${data}\n\n`;
}

/**
 * An incremental Server-Sent Events parser (the WHATWG "event stream interpretation"): bytes go
 * in as they arrive, in pieces cut anywhere (inside a UTF-8 character, between \r and \n), and
 * whole messages come out. Comments (`: ping`) and `retry:` are skipped.
 */

export interface SseMessage {
  /** The last event id in effect when this message was dispatched. */
  id: string | undefined;
  /** `message` unless the message named another type (`event: error`). */
  event: string;
  data: string;
}

export class SseParser {
  private readonly decoder = new TextDecoder('utf-8');
  private buf = '';
  /** The previous piece ended in \r: a \n that starts the next one belongs to the same line end. */
  private skipLf = false;
  private data: string[] = [];
  private event = '';
  /** Set by `id:` lines, committed when the message is dispatched (not before: see feed). */
  private pendingId: string | undefined;

  /** `lastEventId` starts at the id a reconnection resumed from. */
  constructor(public lastEventId?: string) {
    this.pendingId = lastEventId;
  }

  /**
   * Parse a piece of the stream. An id only becomes `lastEventId` with its message's blank line,
   * so a connection cut inside a message resumes before it, not after.
   */
  feed(bytes: Uint8Array | string): SseMessage[] {
    let text = typeof bytes === 'string' ? bytes : this.decoder.decode(bytes, { stream: true });
    if (text.length === 0) return [];
    if (this.skipLf && text.charCodeAt(0) === 10) text = text.slice(1);
    this.skipLf = false;
    // What was kept had no line end: only the new text is scanned (a long data line comes in
    // many pieces, and re-scanning it from its start for each would be quadratic).
    const scanned = this.buf.length;
    const buf = this.buf + text;
    const out: SseMessage[] = [];
    let start = 0;
    for (let i = scanned; i < buf.length; i++) {
      const c = buf.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.line(buf.slice(start, i), out);
      if (c === 13) {
        if (i + 1 < buf.length) {
          if (buf.charCodeAt(i + 1) === 10) i++;
        } else {
          this.skipLf = true;
        }
      }
      start = i + 1;
    }
    this.buf = buf.slice(start);
    return out;
  }

  private line(line: string, out: SseMessage[]): void {
    if (line === '') {
      this.dispatch(out);
      return;
    }
    if (line.charCodeAt(0) === 58 /* ':' */) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.pendingId = value;
  }

  private dispatch(out: SseMessage[]): void {
    this.lastEventId = this.pendingId;
    if (this.data.length > 0) out.push({ id: this.lastEventId, event: this.event || 'message', data: this.data.join('\n') });
    this.data = [];
    this.event = '';
  }
}
