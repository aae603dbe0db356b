/**
 * Freed chunk buffers kept for reuse, by exact size, up to a byte budget (oldest dropped first).
 * The engine decides when a buffer is free (no chunk, task or client holds it), so memory is
 * returned at once instead of whenever the garbage collectors of all threads get to it.
 */
export class BufferPool {
  private readonly bySize = new Map<number, SharedArrayBuffer[]>();
  private readonly order: SharedArrayBuffer[] = [];
  private held = 0;

  constructor(readonly capacity: number) {}

  get bytes(): number {
    return this.held;
  }

  take(byteLength: number): SharedArrayBuffer | undefined {
    const list = this.bySize.get(byteLength);
    const b = list?.pop();
    if (!b) return undefined;
    this.order.splice(this.order.indexOf(b), 1);
    this.held -= byteLength;
    return b;
  }

  give(b: SharedArrayBuffer): void {
    if (b.byteLength === 0 || b.byteLength > this.capacity) return;
    while (this.held + b.byteLength > this.capacity) {
      const old = this.order.shift()!;
      const list = this.bySize.get(old.byteLength)!;
      list.splice(list.indexOf(old), 1);
      this.held -= old.byteLength;
    }
    let list = this.bySize.get(b.byteLength);
    if (!list) this.bySize.set(b.byteLength, (list = []));
    list.push(b);
    this.order.push(b);
    this.held += b.byteLength;
  }
}
