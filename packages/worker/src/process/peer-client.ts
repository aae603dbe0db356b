import { PeerFetcher, regionQuery, type Chunk, type InputLocation, type PeerChunkRef, type Region } from '@tessera/protocol';
import type { ReplicaCache } from './replica-cache.js';

export { PeerFetchError } from '@tessera/protocol';

export interface PeerClientOptions {
  /** No answer within this long fails the fetch; default 60 s. */
  timeoutMs?: number;
  /** The cluster's token, sent with every request. */
  token?: string | undefined;
  /** Told of every fetch: its bytes, or that it failed. */
  onFetched?: (bytes: number) => void;
  onFailed?: () => void;
}

/**
 * Fetches chunks from other workers' peer servers through protocol's PeerFetcher (bounded,
 * checked, keep-alive). Concurrent requests for one key share one fetch; fetched chunks go to
 * the replica cache. Bodies are read into SharedArrayBuffers, so the decoded chunk, which views
 * its body, is posted to pool threads without another copy.
 */
export class PeerClient {
  private readonly fetcher: PeerFetcher;
  private readonly inflight = new Map<string, Promise<Chunk>>();

  constructor(
    private readonly cache: ReplicaCache,
    private readonly options: PeerClientOptions = {},
  ) {
    this.fetcher = new PeerFetcher({ ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}), token: options.token });
  }

  /** A copy is cached here: `get` will not go to the network. */
  has(key: string): boolean {
    return this.cache.has(key);
  }

  /** The chunk, from the cache or its holder; rejects with PeerFetchError. */
  get(loc: InputLocation): Promise<Chunk> {
    const cached = this.cache.get(loc.key);
    if (cached) return Promise.resolve(cached);
    return this.fetchOnce(loc.key, loc, (chunk) => this.cache.put(loc.key, chunk));
  }

  /** Only `region` of the chunk, cut out by its holder; not cached (another task reads another piece). */
  getRegion(loc: InputLocation, region: Region): Promise<Chunk> {
    return this.fetchOnce(`${loc.key}?${regionQuery(region)}`, { ...loc, region });
  }

  /** One fetch per id at a time, counted in the metrics; `got` sees the chunk first. */
  private fetchOnce(id: string, ref: PeerChunkRef, got?: (chunk: Chunk) => void): Promise<Chunk> {
    let p = this.inflight.get(id);
    if (!p) {
      p = this.fetcher
        .fetch(ref)
        .then(
          ({ chunk, bytes }) => {
            this.options.onFetched?.(bytes.byteLength);
            got?.(chunk);
            return chunk;
          },
          (e: unknown) => {
            this.options.onFailed?.();
            throw e;
          },
        )
        .finally(() => this.inflight.delete(id));
      this.inflight.set(id, p);
    }
    return p;
  }

  /** Regions of several chunks that one peer holds, in one request (the order kept); not cached. */
  async getRegions(items: readonly { loc: InputLocation; region: Region }[]): Promise<Chunk[]> {
    if (items.length === 1) return [await this.getRegion(items[0]!.loc, items[0]!.region)];
    try {
      const { chunks, bytes } = await this.fetcher.fetchBatch(items.map(({ loc, region }) => ({ ...loc, region })));
      this.options.onFetched?.(bytes.byteLength);
      return chunks;
    } catch (e) {
      this.options.onFailed?.();
      throw e;
    }
  }

  close(): void {
    this.fetcher.close();
  }
}
