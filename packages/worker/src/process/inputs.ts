import { ChunkLostError, type Chunk, type InputLocation, type TransferTiming } from '@tessera/protocol';
import { PeerFetchError, type PeerClient } from './peer-client.js';
import type { Held } from '../executor/task-runner.js';
import type { WorkerChunks } from '../executor/worker-chunks.js';

export interface GatheredInputs {
  /** In the order of the task's deps (a key may repeat); owned GPU results stay in device memory. */
  inputs: Held[];
  /** Let go of the owned inputs held for the task. */
  release(): void;
  /** The inputs fetched from peers for this task (the dashboard draws it before the task's bar). */
  transfer?: TransferTiming;
}

const now = (): number => performance.timeOrigin + performance.now();

/**
 * A task's inputs: the chunks this worker owns, else copies fetched from the peers the job names.
 * Owned inputs are held for the task's duration, so a `free` that arrives meanwhile cannot hand
 * their buffers to another task's output while a kernel still reads them.
 */
export class InputGatherer {
  private lease = 0;

  constructor(
    private readonly self: string,
    private readonly chunks: WorkerChunks,
    private readonly peers: PeerClient,
  ) {}

  /** Rejects with ChunkLostError (and the reason as its cause) when an input cannot be had. */
  async gather(deps: readonly string[], locations: readonly InputLocation[]): Promise<GatheredInputs> {
    const holder = `task-input:${this.lease++}`;
    const held = new Set<string>();
    const release = (): void => {
      for (const k of held) this.chunks.release(k, holder);
    };
    const inputs: (Held | Promise<Chunk>)[] = [];
    // What came over the network: from the first fetch's start to the last one's end.
    const fetched = new Set<string>();
    const from = new Set<string>();
    let start: number | undefined;
    let stop = 0;
    let nbytes = 0;
    for (const key of deps) {
      if (this.chunks.hold(key, holder)) {
        held.add(key);
        // In memory (host or device) as it is; from disk, read back first.
        const here = this.chunks.get(key);
        inputs.push(here ?? this.chunks.read(key).then((c) => c ?? Promise.reject(new ChunkLostError(key))));
        continue;
      }
      const loc = locations.find((l) => l.key === key);
      if (!loc || loc.worker === this.self) {
        release();
        throw new ChunkLostError(key);
      }
      if (this.peers.has(key) || fetched.has(key)) {
        inputs.push(this.peers.get(loc));
        continue;
      }
      fetched.add(key);
      from.add(loc.worker);
      start ??= now();
      inputs.push(
        this.peers.get(loc).then((c) => {
          nbytes += c.data.byteLength;
          stop = Math.max(stop, now());
          return c;
        }),
      );
    }
    try {
      const all = await Promise.all(inputs);
      if (start === undefined) return { inputs: all, release };
      return { inputs: all, release, transfer: { start, stop, nbytes, from: [...from] } };
    } catch (e) {
      release();
      if (e instanceof PeerFetchError) throw Object.assign(new ChunkLostError(e.key), { cause: e });
      throw e;
    }
  }
}
