import { Heap, type TaskSpec } from '@tessera/protocol';

export interface ReadyItem {
  graphId: string;
  /** Submission order of the graph: earlier graphs go first. */
  graphSeq: number;
  spec: TaskSpec;
}

/** Ready tasks by (graph submission order, static priority): a min-heap. */
export class ReadyQueue extends Heap<ReadyItem> {
  constructor() {
    super((a, b) => (a.graphSeq !== b.graphSeq ? a.graphSeq < b.graphSeq : a.spec.priority < b.spec.priority));
  }
}
