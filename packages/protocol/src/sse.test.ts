import { describe, expect, it } from 'vitest';
import { SseParser, sseMessage, type SseMessage } from './sse.js';

const enc = new TextEncoder();

/** Feed `text` cut at every position in `cuts` (byte offsets), collecting messages. */
function feedCut(text: string, cuts: number[]): { parser: SseParser; out: SseMessage[] } {
  const bytes = enc.encode(text);
  const parser = new SseParser();
  const out: SseMessage[] = [];
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    out.push(...parser.feed(bytes.subarray(at, c)));
    at = c;
  }
  return { parser, out };
}

describe('SseParser', () => {
  const stream = 'id: 1\ndata: ["é",1]\n\n: ping\n\nevent: error\ndata: a\ndata: b\n\nid: 7\r\ndata:x\r\n\r\n';
  const want: SseMessage[] = [
    { id: '1', event: 'message', data: '["é",1]' },
    { id: '1', event: 'error', data: 'a\nb' },
    { id: '7', event: 'message', data: 'x' },
  ];

  it('parses messages, multi-line data, named events, comments and CRLF', () => {
    const { parser, out } = feedCut(stream, []);
    expect(out).toEqual(want);
    expect(parser.lastEventId).toBe('7');
  });

  it('gives the same messages however the bytes are cut (inside UTF-8 characters, between CR and LF)', () => {
    const n = enc.encode(stream).length;
    for (let a = 0; a <= n; a++) {
      for (const b of [a + 1, a + 3, n]) {
        if (b > n) continue;
        expect(feedCut(stream, [a, b]).out).toEqual(want);
      }
    }
    // byte by byte
    expect(
      feedCut(
        stream,
        Array.from({ length: n }, (_, i) => i),
      ).out,
    ).toEqual(want);
  });

  it('an id counts only once its message is complete', () => {
    const parser = new SseParser('3');
    expect(parser.feed('id: 4\ndata: [1]\n')).toEqual([]);
    expect(parser.lastEventId).toBe('3');
    expect(parser.feed('\n')).toEqual([{ id: '4', event: 'message', data: '[1]' }]);
    expect(parser.lastEventId).toBe('4');
  });

  it('ignores messages without data, unknown fields and retry', () => {
    const parser = new SseParser();
    expect(parser.feed('event: x\n\nretry: 10\nfoo: bar\ndata\n\n')).toEqual([{ id: undefined, event: 'message', data: '' }]);
  });

  it('reads back what sseMessage writes: ids, event names, multi-line data; a long line fed in many pieces', () => {
    const parser = new SseParser();
    const text =
      sseMessage({ id: 7, data: '[1,2]' }) +
      sseMessage({ event: 'error', data: 'line one\nline two' }) +
      sseMessage({ id: 'a\nb', event: 'ti\rck', data: '{}' });
    expect(parser.feed(text)).toEqual([
      { id: '7', event: 'message', data: '[1,2]' },
      { id: '7', event: 'error', data: 'line one\nline two' },
      { id: 'ab', event: 'tick', data: '{}' },
    ]);
    const long = JSON.stringify(Array.from({ length: 50_000 }, (_, i) => i));
    const bytes = enc.encode(sseMessage({ data: long }));
    const out: SseMessage[] = [];
    for (let at = 0; at < bytes.length; at += 1000) out.push(...parser.feed(bytes.subarray(at, at + 1000)));
    expect(out).toEqual([{ id: 'ab', event: 'message', data: long }]);
  });
});
