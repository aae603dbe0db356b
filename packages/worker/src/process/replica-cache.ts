import type { Chunk } from '@tessera/protocol';

/**
 * Copies of other workers' chunks, fetched for a task here, kept (least recently used first out,
 * within a byte budget) so the next task that needs the same input does not fetch it again.
 * Kept apart from the chunks this worker owns: the scheduler does not know about replicas, never
 * frees them, and never sends another worker here for them.
 */
export class ReplicaCache {
  private readonly chunks = new Map<string, Chunk>();
  private held = 0;

  constructor(readonly capacity: number) {}

  get bytes(): number {
    return this.held;
  }

  get count(): number {
    return this.chunks.size;
  }

  has(key: string): boolean {
    return this.chunks.has(key);
  }

  get(key: string): Chunk | undefined {
    const c = this.chunks.get(key);
    if (c) {
      // Map order is insertion order: re-inserting makes it the most recently used.
      this.chunks.delete(key);
      this.chunks.set(key, c);
    }
    return c;
  }

  put(key: string, chunk: Chunk): void {
    const n = chunk.data.byteLength;
    if (n > this.capacity) return;
    this.delete(key);
    for (const [k, c] of this.chunks) {
      if (this.held + n <= this.capacity) break;
      this.chunks.delete(k);
      this.held -= c.data.byteLength;
    }
    this.chunks.set(key, chunk);
    this.held += n;
  }

  delete(key: string): void {
    const c = this.chunks.get(key);
    if (!c) return;
    this.chunks.delete(key);
    this.held -= c.data.byteLength;
  }
}
