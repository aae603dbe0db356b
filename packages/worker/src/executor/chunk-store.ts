import type { Chunk } from '@tessera/protocol';

/**
 * The chunks a worker holds, by task key. A chunk may serve several graphs that share keys;
 * it is dropped when no graph holds it and it is not pinned (persisted).
 */
export class ChunkStore {
  private readonly chunks = new Map<string, { chunk: Chunk; holders: Set<string>; pinned: boolean }>();
  /** Chunks per buffer: a reshape shares its input's buffer, so a buffer is free only at zero. */
  private readonly buffers = new Map<ArrayBufferLike, number>();
  private bytes = 0;

  /** `onFree` receives each SharedArrayBuffer that no held chunk uses any more (for reuse). */
  constructor(private readonly onFree?: (b: SharedArrayBuffer) => void) {}

  get nbytes(): number {
    return this.bytes;
  }

  get count(): number {
    return this.chunks.size;
  }

  /** Keys held, oldest first (live: copy it before dropping chunks while iterating). */
  keys(): IterableIterator<string> {
    return this.chunks.keys();
  }

  /** Who holds a chunk, and whether it is pinned. */
  holding(key: string): { holders: ReadonlySet<string>; pinned: boolean } | undefined {
    return this.chunks.get(key);
  }

  /** Remove a chunk whatever holds it (it moves elsewhere: to disk); its buffer is freed as on a drop. */
  take(key: string): { chunk: Chunk; holders: string[]; pinned: boolean } | undefined {
    const e = this.chunks.get(key);
    if (!e) return undefined;
    this.drop(key);
    return { chunk: e.chunk, holders: [...e.holders], pinned: e.pinned };
  }

  has(key: string): boolean {
    return this.chunks.has(key);
  }

  get(key: string): Chunk | undefined {
    return this.chunks.get(key)?.chunk;
  }

  put(key: string, chunk: Chunk, holder: string): void {
    const e = this.chunks.get(key);
    if (e) {
      e.holders.add(holder);
      return;
    }
    this.chunks.set(key, { chunk, holders: new Set([holder]), pinned: false });
    this.bytes += chunk.data.byteLength;
    const b = chunk.data.buffer;
    this.buffers.set(b, (this.buffers.get(b) ?? 0) + 1);
  }

  /** Another graph starts using a chunk already held. */
  hold(key: string, holder: string): boolean {
    const e = this.chunks.get(key);
    if (!e) return false;
    e.holders.add(holder);
    return true;
  }

  pin(key: string): void {
    const e = this.chunks.get(key);
    if (e) e.pinned = true;
  }

  unpin(key: string): void {
    const e = this.chunks.get(key);
    if (!e) return;
    e.pinned = false;
    if (e.holders.size === 0) this.drop(key);
  }

  release(key: string, holder: string): void {
    const e = this.chunks.get(key);
    if (!e) return;
    e.holders.delete(holder);
    if (e.holders.size === 0 && !e.pinned) this.drop(key);
  }

  private drop(key: string): void {
    const e = this.chunks.get(key);
    if (!e) return;
    this.bytes -= e.chunk.data.byteLength;
    this.chunks.delete(key);
    const b = e.chunk.data.buffer;
    const left = (this.buffers.get(b) ?? 1) - 1;
    if (left > 0) {
      this.buffers.set(b, left);
      return;
    }
    this.buffers.delete(b);
    if (b instanceof SharedArrayBuffer && e.chunk.data.byteOffset === 0 && e.chunk.data.byteLength === b.byteLength) this.onFree?.(b);
  }
}
