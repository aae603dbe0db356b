import { packTaskSpec, type InputLocation, type TaskJob, type TaskSpec, type WorkerInfo } from '@tessera/protocol';
import type { ChunkDirectory } from './chunk-directory.js';

/**
 * Builds a task's BullMQ job: its packed spec, where each of its inputs is held, and whether its
 * key is an output of a followed graph (a run of one reports a small result inline).
 */
export class TaskJobs {
  private readonly outputs = new Map<string, Set<string>>();
  /** How many followed graphs have each key as an output: a job's `output` flag in O(1). */
  private readonly outputCount = new Map<string, number>();

  constructor(
    private readonly directory: ChunkDirectory,
    private readonly workers: { get(id: string): WorkerInfo | undefined },
  ) {}

  /** A graph's outputs, remembered once: false if they were already. */
  addOutputs(graphId: string, outputs: readonly string[]): boolean {
    if (this.outputs.has(graphId)) return false;
    const set = new Set(outputs);
    this.outputs.set(graphId, set);
    for (const k of set) this.outputCount.set(k, (this.outputCount.get(k) ?? 0) + 1);
    return true;
  }

  dropOutputs(graphId: string): void {
    for (const k of this.outputs.get(graphId) ?? []) {
      const n = (this.outputCount.get(k) ?? 1) - 1;
      if (n > 0) this.outputCount.set(k, n);
      else this.outputCount.delete(k);
    }
    this.outputs.delete(graphId);
  }

  /** A task's job, its inputs where the directory says they are; undefined if one is nowhere. */
  job(spec: TaskSpec, graphId: string, attempt: number): TaskJob | undefined {
    const inputs: InputLocation[] = [];
    for (const d of new Set(spec.deps)) {
      const e = this.directory.get(d);
      const info = e && this.workers.get(e.worker);
      if (!e || !info) return undefined;
      inputs.push({ key: d, worker: e.worker, address: info.address, dtype: e.dtype, shape: e.shape });
    }
    return this.taskJob(spec, graphId, attempt, inputs);
  }

  taskJob(spec: TaskSpec, graphId: string, attempt: number, inputs: InputLocation[]): TaskJob {
    const packed = packTaskSpec(spec);
    const output = this.outputCount.has(spec.key);
    return {
      graph: graphId,
      key: spec.key,
      spec: Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength).toString('base64'),
      inputs,
      output,
      attempt,
    };
  }
}
