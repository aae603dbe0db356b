import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeChunkBytes, type Chunk, type InputLocation } from '@tessera/protocol';
import { PeerClient, PeerFetchError } from './peer-client.js';
import { ReplicaCache } from './replica-cache.js';

/** A peer that answers every request with `body` (and records what it was sent). */
async function fakePeer(body: Uint8Array | ((req: IncomingMessage) => Uint8Array), headers: Record<string, string> = {}) {
  const seen: IncomingMessage[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(req);
    const b = typeof body === 'function' ? body(req) : body;
    res.writeHead(200, { 'content-type': 'application/vnd.apache.arrow.stream', 'content-length': String(b.byteLength), ...headers });
    res.end(b);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return { address: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

const KEY = 'add-0123456789abcdef:0';
const chunk = (dtype: Chunk['dtype'], shape: number[]): Chunk => {
  const n = shape.reduce((a, b) => a * b, 1);
  const data =
    dtype === 'float64' ? new Float64Array(n).fill(1.5) : dtype === 'int32' ? new Int32Array(n).fill(7) : new Float32Array(n).fill(2);
  return { dtype, shape, data } as Chunk;
};
const loc = (address: string, dtype: InputLocation['dtype'], shape: number[]): InputLocation => ({
  key: KEY,
  worker: 'w1',
  address,
  dtype,
  shape,
});

describe('PeerClient: chunk bytes are checked before use', () => {
  it('a chunk of the recorded dtype and shape is used, and the token is sent', async () => {
    const peer = await fakePeer(encodeChunkBytes(chunk('float64', [4, 3])));
    const client = new PeerClient(new ReplicaCache(1 << 20), { token: 'peer-test-token-0123456789' });
    const got = await client.get(loc(peer.address, 'float64', [4, 3]));
    expect(got.shape).toEqual([4, 3]);
    expect(Array.from(got.data as ArrayLike<number | bigint>)).toEqual(new Array(12).fill(1.5));
    expect(peer.seen[0]!.headers.authorization).toBe('Bearer peer-test-token-0123456789');
    client.close();
  });

  it('a wrong dtype, a wrong shape, bytes that are no Arrow stream, a body longer than the shape allows: each a PeerFetchError', async () => {
    const cases: [Uint8Array, InputLocation['dtype'], number[], RegExp][] = [
      [encodeChunkBytes(chunk('int32', [4, 3])), 'float64', [4, 3], /expected dtype float64, got int32/],
      [encodeChunkBytes(chunk('float64', [3, 4])), 'float64', [4, 3], /expected shape/],
      [new Uint8Array(200).fill(0x41), 'float64', [4, 3], /bad chunk bytes/],
      [encodeChunkBytes(chunk('float64', [400, 300])), 'float64', [4, 3], /more than a chunk of this dtype and shape can take/],
    ];
    for (const [body, dtype, shape, why] of cases) {
      const peer = await fakePeer(body);
      const client = new PeerClient(new ReplicaCache(1 << 20));
      const err = await client.get(loc(peer.address, dtype, shape)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PeerFetchError);
      expect((err as Error).message).toMatch(why);
      client.close();
    }
  });

  it('a stream cut short (content-length says more) is refused', async () => {
    const full = encodeChunkBytes(chunk('float32', [64]));
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-length': String(full.byteLength) });
      res.write(full.subarray(0, 40));
      res.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers.push(server);
    const client = new PeerClient(new ReplicaCache(1 << 20));
    const err = await client
      .get(loc(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'float32', [64]))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PeerFetchError);
    client.close();
  });
});
