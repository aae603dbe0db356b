import type { DeviceChunk } from '@tessera/worker';

interface Entry {
  chunk: DeviceChunk;
  holders: Set<string>;
  pinned: boolean;
  /** Last time a task read or made it: eviction takes the least recently used first. */
  used: number;
}

/**
 * The chunks the local engine holds in GPU memory, by key, with the same holder and pin rules as
 * the host ChunkStore (a key may be in both: a device chunk read back for a CPU task, or a host
 * chunk uploaded for a GPU task, keeps both copies while both are useful). A chunk's device
 * buffer goes back to the pool when no graph holds it and it is not pinned.
 */
export class DeviceStore {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private clock = 0;

  constructor(private readonly free: (c: DeviceChunk) => void) {}

  get nbytes(): number {
    return this.bytes;
  }

  get count(): number {
    return this.entries.size;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  get(key: string): DeviceChunk | undefined {
    const e = this.entries.get(key);
    if (e) e.used = ++this.clock;
    return e?.chunk;
  }

  holders(key: string): { holders: string[]; pinned: boolean } | undefined {
    const e = this.entries.get(key);
    return e && { holders: [...e.holders], pinned: e.pinned };
  }

  /** Add a chunk (or another holder of one already here; the new chunk is then freed). */
  put(key: string, chunk: DeviceChunk, holder: string): void {
    const e = this.entries.get(key);
    if (e) {
      e.holders.add(holder);
      if (e.chunk !== chunk) this.free(chunk);
      return;
    }
    this.entries.set(key, { chunk, holders: new Set([holder]), pinned: false, used: ++this.clock });
    this.bytes += chunk.nbytes;
  }

  /** A copy of a chunk the host already holds, with the same holders and pin. */
  mirror(key: string, chunk: DeviceChunk, holders: readonly string[], pinned: boolean): void {
    if (this.entries.has(key) || (holders.length === 0 && !pinned)) {
      this.free(chunk);
      return;
    }
    this.entries.set(key, { chunk, holders: new Set(holders), pinned, used: ++this.clock });
    this.bytes += chunk.nbytes;
  }

  hold(key: string, holder: string): boolean {
    const e = this.entries.get(key);
    if (!e) return false;
    e.holders.add(holder);
    return true;
  }

  pin(key: string): void {
    const e = this.entries.get(key);
    if (e) e.pinned = true;
  }

  unpin(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    e.pinned = false;
    if (e.holders.size === 0) this.drop(key);
  }

  release(key: string, holder: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    e.holders.delete(holder);
    if (e.holders.size === 0 && !e.pinned) this.drop(key);
  }

  /** Forget a key whatever holds it (eviction, once the host has its own copy). */
  drop(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.bytes -= e.chunk.nbytes;
    this.free(e.chunk);
  }

  /** Keys from least to most recently used, except `busy` ones. */
  lru(busy: ReadonlySet<string>): string[] {
    return [...this.entries.entries()]
      .filter(([k]) => !busy.has(k))
      .sort((a, b) => a[1].used - b[1].used)
      .map(([k]) => k);
  }

  clear(): void {
    for (const k of [...this.entries.keys()]) this.drop(k);
  }
}
