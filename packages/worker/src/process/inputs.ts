import { ChunkLostError, type Chunk, type InputLocation, type Region, type TransferTiming } from '@tessera/protocol';
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
  /** Per input, the region it came as (a piece of the chunk), where one did; see regions.ts. */
  regions?: (Region | undefined)[];
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

  /**
   * Rejects with ChunkLostError (and the reason as its cause) when an input cannot be had. An
   * input with a region in `regions` that must come from a peer comes as that region only.
   */
  async gather(deps: readonly string[], locations: readonly InputLocation[], regions?: readonly (Region | undefined)[]): Promise<GatheredInputs> {
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
    const used: (Region | undefined)[] = [];
    const batches = new Map<string, { loc: InputLocation; region: Region; resolve: (c: Chunk) => void; reject: (e: unknown) => void }[]>();
    const timed = (p: Promise<Chunk>): Promise<Chunk> =>
      p.then((c) => {
        nbytes += c.data.byteLength;
        stop = Math.max(stop, now());
        return c;
      });
    for (const [i, key] of deps.entries()) {
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
        // Fetches already under way are nobody's now: a failure of theirs must not be an
        // unhandled rejection (it killed the worker process).
        for (const p of inputs) if (p instanceof Promise) p.catch(() => undefined);
        throw new ChunkLostError(key);
      }
      const region = regions?.[i];
      if (this.peers.has(key) || fetched.has(key)) {
        inputs.push(this.peers.get(loc));
        continue;
      }
      from.add(loc.worker);
      start ??= now();
      if (region) {
        // Fetched below, with the other regions from the same peer in one request.
        used[i] = region;
        const group = batches.get(loc.address) ?? [];
        batches.set(loc.address, group);
        inputs.push(new Promise<Chunk>((resolve, reject) => group.push({ loc, region, resolve, reject })));
        continue;
      }
      fetched.add(key);
      inputs.push(timed(this.peers.get(loc)));
    }
    for (const group of batches.values()) {
      this.peers.getRegions(group).then(
        (cs) => {
          stop = Math.max(stop, now());
          cs.forEach((c, k) => {
            nbytes += c.data.byteLength;
            group[k]!.resolve(c);
          });
        },
        (e: unknown) => {
          for (const g of group) g.reject(e);
        },
      );
    }
    try {
      const all = await Promise.all(inputs);
      const pieces = used.length > 0 ? { regions: used } : {};
      if (start === undefined) return { inputs: all, release, ...pieces };
      return { inputs: all, release, transfer: { start, stop, nbytes, from: [...from] }, ...pieces };
    } catch (e) {
      release();
      if (e instanceof PeerFetchError) throw Object.assign(new ChunkLostError(e.key), { cause: e });
      throw e;
    }
  }
}
