import { ASYNC_OPS, itemsize, paramsOf, sizeOf, type Chunk, type TaskSpec } from '@tessera/protocol';
import type { ThreadPool } from './thread-pool.js';

/**
 * Where a task runs, the same rule for the embedded engine and the worker process.
 *
 * Tasks touching at most INLINE_BYTES run on the calling thread: posting one to a pool thread and
 * back costs 10-20 µs, more than the work. User kernels never run inline (their cost is unknown).
 */
const INLINE_BYTES = 64 * 1024;
/** Tasks queued ahead on a thread: many tiny ones hide message latency, few big ones keep memory low. */
const SMALL_TASK_BYTES = 256 * 1024;
const DEPTH_SMALL = 32;
const DEPTH_LARGE = 2;
const DEPTH_ASYNC = 4;

/** Bytes a task touches (inputs, output, generated sources, domain) are few enough to run inline. */
export function runsInline(spec: TaskSpec, inputs: readonly (Chunk | undefined)[]): boolean {
  if (spec.op === 'map-blocks' || spec.op === 'persisted' || ASYNC_OPS.has(spec.op)) return false;
  let bytes = spec.nbytes;
  for (const c of inputs) bytes += c?.data.byteLength ?? Infinity;
  if (spec.op === 'elementwise') {
    try {
      const p = paramsOf(spec, 'elementwise');
      bytes += sizeOf(p.domain) * 8;
      for (const v of p.inputs) if (v.source) bytes += sizeOf(v.source.shape) * itemsize(v.source.dtype);
    } catch {
      return false; // malformed params: the kernel says what is wrong, on a pool thread
    }
  }
  return bytes <= INLINE_BYTES;
}

/** The least loaded thread with room for this task (`batched(t)`: tasks about to be posted to t), or -1. */
export function leastLoadedThread(pool: ThreadPool, spec: TaskSpec, batched: (thread: number) => number): number {
  // A user kernel goes only to an idle thread: its cost is unknown, and a worker that dies under
  // it must not take the tasks queued behind it down as suspects (they count as started).
  // Store reads and writes overlap on a thread (they wait on files or the network): more at once.
  const depth = spec.op === 'map-blocks' ? 1 : ASYNC_OPS.has(spec.op) ? DEPTH_ASYNC : spec.nbytes <= SMALL_TASK_BYTES ? DEPTH_SMALL : DEPTH_LARGE;
  let best = -1;
  let bestLoad = Infinity;
  for (let t = 0; t < pool.size; t++) {
    const load = pool.load(t) + batched(t);
    if (load < depth && load < bestLoad) {
      best = t;
      bestLoad = load;
    }
  }
  return best;
}
