import type { TaskSpec } from '@tessera/protocol';

export interface ReadyItem {
  graphId: string;
  /** Submission order of the graph: earlier graphs go first. */
  graphSeq: number;
  spec: TaskSpec;
}

function before(a: ReadyItem, b: ReadyItem): boolean {
  return a.graphSeq !== b.graphSeq ? a.graphSeq < b.graphSeq : a.spec.priority < b.spec.priority;
}

/** Binary min-heap of ready tasks by (graph, static priority). */
export class ReadyQueue {
  private readonly heap: ReadyItem[] = [];

  get size(): number {
    return this.heap.length;
  }

  peek(): ReadyItem | undefined {
    return this.heap[0];
  }

  push(item: ReadyItem): void {
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  pop(): ReadyItem | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
