import { MAX_CHAIN, type TaskSpec } from '@tessera/protocol';
import { TINY_BYTES } from './placement.js';

/** A built-in op on the CPU: what a worker may run straight after another task, in its job. */
function isCpuBuiltin(spec: TaskSpec): boolean {
  return spec.op !== 'map-blocks' && spec.device !== 'gpu';
}

/** A task cheaper to run than a trip through BullMQ: a tiny output of a built-in op on the CPU. */
export function isTinyBuiltin(spec: TaskSpec): boolean {
  return spec.nbytes <= TINY_BYTES && isCpuBuiltin(spec);
}

/**
 * Chains of tiny tasks each of whose only input is the task before (`x.add(1).mul(2)…` unfused,
 * a step applied n times, a chunk read then its partial reduction): per graph, the first such
 * dependent of each task. A chain rides in its first task's job (TaskJob.next), so its hops cost
 * no scheduler round trip. The head may be big: a tiny task of one big input runs where that input
 * is anyway (bench --zarr: 18% faster with reads' partial sums chained). Known from the graph
 * as submitted: a scheduler that resumes a graph runs the rest of it without chains.
 */
export class ChainIndex {
  private readonly next = new Map<string, Map<string, TaskSpec>>();

  add(graphId: string, tasks: readonly TaskSpec[]): void {
    let byInput: Map<string, TaskSpec> | undefined;
    for (const t of tasks) {
      if (!isTinyBuiltin(t)) continue;
      // One input, maybe named more than once (x + x).
      const input = t.deps[0];
      if (input === undefined || t.deps.some((d) => d !== input)) continue;
      byInput ??= new Map();
      if (!byInput.has(input)) byInput.set(input, t);
    }
    if (byInput) this.next.set(graphId, byInput);
  }

  drop(graphId: string): void {
    this.next.delete(graphId);
  }

  /** The tasks to chain after `head`, in order, while `free` says each may still be taken. */
  after(graphId: string, head: TaskSpec, free: (spec: TaskSpec) => boolean): TaskSpec[] {
    const byInput = this.next.get(graphId);
    const out: TaskSpec[] = [];
    if (!byInput || !isCpuBuiltin(head)) return out;
    for (let next = byInput.get(head.key); next && out.length < MAX_CHAIN && free(next); next = byInput.get(next.key)) out.push(next);
    return out;
  }
}
