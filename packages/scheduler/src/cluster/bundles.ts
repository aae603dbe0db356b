import { MAX_BUNDLE, type TaskJob, type TaskSpec } from '@tessera/protocol';
import type { QueuedJob } from './job-queues.js';
import { isTinyBuiltin } from './chains.js';

/**
 * Tiny tasks cost less to run than their job costs BullMQ (three Lua scripts: add, take, finish),
 * so the tiny tasks of one dispatch pass that go to the same queue travel as bundles. Bundles are
 * cut small enough that every thread taking from the queue gets some (two per thread), and user
 * kernels (map-blocks: slow, may kill their worker), GPU tasks and jobs carrying a chain always
 * travel alone.
 */
export function bundleJobs(jobs: readonly TaskJob[], specOf: (key: string) => TaskSpec | undefined, threads: number): QueuedJob[] {
  const out: QueuedJob[] = [];
  const tiny: TaskJob[] = [];
  for (const j of jobs) {
    const spec = specOf(j.key);
    if (spec && isTinyBuiltin(spec) && !j.next) tiny.push(j);
    else out.push(j);
  }
  const size = Math.min(MAX_BUNDLE, Math.max(1, Math.floor(tiny.length / (2 * Math.max(1, threads)))));
  for (let i = 0; i < tiny.length; i += size) {
    const tasks = tiny.slice(i, i + size);
    out.push(tasks.length === 1 ? tasks[0]! : { tasks });
  }
  return out;
}
