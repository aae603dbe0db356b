import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeChunkBytes } from './codec-stream.js';
import { deserializeError, serializeError } from './errors.js';
import { PeerFetchError, PeerFetcher } from './peer-fetch.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** A peer server that answers with `body` at once, or never (`hang`). */
async function peer(body: Uint8Array | 'hang', contentLength?: number): Promise<string> {
  const server = createServer((_req, res) => {
    if (body === 'hang') return;
    res.writeHead(200, { 'content-length': String(contentLength ?? body.byteLength) });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const KEY = 'x-0123456789abcdef:0';
const bytes = encodeChunkBytes({ dtype: 'float32', shape: [3, 5], data: new Float32Array(15).fill(2.5) });

describe('PeerFetcher: bounded, checked chunk fetches (the workers and the scheduler share it)', () => {
  it('decodes one chunk of the recorded dtype and shape; shared: false gives plain ArrayBuffers', async () => {
    const address = await peer(bytes);
    for (const shared of [true, false]) {
      const f = new PeerFetcher({ shared });
      const got = await f.fetch({ key: KEY, address, dtype: 'float32', shape: [3, 5] });
      expect(Array.from(got.chunk.data as ArrayLike<number | bigint>)).toEqual(new Array(15).fill(2.5));
      expect(got.bytes.buffer instanceof SharedArrayBuffer).toBe(shared);
      f.close();
    }
  });

  it('a body larger than the recorded shape allows, a wrong shape, and no answer in time: coded PeerFetchErrors', async () => {
    const f = new PeerFetcher({ timeoutMs: 200 });
    const big = await peer(new Uint8Array(200_000));
    const e1 = await f.fetch({ key: KEY, address: big, dtype: 'float32', shape: [3, 5] }).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(PeerFetchError);
    expect((e1 as PeerFetchError).code).toBe('PEER_FETCH_FAILED');
    expect(String(e1)).toMatch(/more than a chunk of this dtype and shape can take/);
    const good = await peer(bytes);
    await expect(f.fetch({ key: KEY, address: good, dtype: 'float32', shape: [5, 3] })).rejects.toThrow(/bad chunk bytes/);
    const slow = await peer('hang');
    await expect(f.fetch({ key: KEY, address: slow, dtype: 'float32', shape: [3, 5] })).rejects.toThrow(/no answer within 200 ms/);
    await expect(f.fetch({ key: KEY, address: 'ftp://127.0.0.1:1', dtype: 'float32', shape: [3, 5] })).rejects.toThrow(/speak http/);
    // Its code crosses a process boundary.
    expect(deserializeError(serializeError(e1)).code).toBe('PEER_FETCH_FAILED');
    f.close();
  });
});
