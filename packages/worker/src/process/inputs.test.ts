import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ChunkLostError, type InputLocation } from '@tessera/protocol';
import { ChunkStore } from '../executor/chunk-store.js';
import { WorkerChunks } from '../executor/worker-chunks.js';
import { InputGatherer } from './inputs.js';
import { PeerClient } from './peer-client.js';
import { ReplicaCache } from './replica-cache.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

describe('InputGatherer', () => {
  it("an input with no holder fails the task, and a fetch already under way that fails later is nobody's unhandled rejection", async () => {
    // A peer that answers 404 a little later (the chunk was freed there meanwhile).
    const server = createServer((_req, res) => setTimeout(() => res.writeHead(404).end(), 50));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers.push(server);
    const address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const peers = new PeerClient(new ReplicaCache(1 << 20));
      const gatherer = new InputGatherer(
        'w0',
        new WorkerChunks(
          new ChunkStore(),
          () => undefined,
          () => 0,
        ),
        peers,
      );
      const remote: InputLocation = { key: 'a-0123456789abcdef:0', worker: 'w1', address, dtype: 'float64', shape: [4] };
      // The second input's only copy was on this worker and is gone.
      const gone: InputLocation = { ...remote, key: 'b-0123456789abcdef:0', worker: 'w0' };
      await expect(gatherer.gather([remote.key, gone.key], [remote, gone])).rejects.toThrow(ChunkLostError);
      await new Promise((r) => setTimeout(r, 200));
      expect(unhandled).toEqual([]);
      peers.close();
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
