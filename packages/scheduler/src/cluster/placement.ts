import type { TaskSpec, WorkerInfo } from '@tessera/protocol';

/** Where a task was sent: a worker's own queue, or the shared queue any worker takes from. */
export const SHARED = '*';

/**
 * Tasks queued ahead per worker thread. Enough to hide the Redis round trips of tiny tasks; few
 * enough that ready work stays in the scheduler (where priority orders it and placement can still
 * follow the data) rather than in queues.
 */
const DEPTH_PER_THREAD = 4;
/**
 * Tiny tasks (a few KiB) of built-in ops are all round trip, and travel in bundles: keep many more
 * of them in flight (a few ms of work per thread). User kernels may be slow whatever their output.
 */
const DEPTH_PER_THREAD_TINY = 256;
/** User kernels with tiny outputs: still many in flight, but a kernel may take seconds. */
const DEPTH_PER_THREAD_TINY_KERNEL = 32;
export const TINY_BYTES = 64 * 1024;
/** Input bytes on one worker above which a task may queue twice as deep there rather than move. */
const LOCALITY_BYTES = 2 ** 20;

/**
 * Tiny root tasks go to the shared queue (whichever worker is free takes them), bigger ones to the
 * least loaded worker; others to the worker holding most of their input bytes, among those with
 * room. Undefined: no room anywhere now.
 */
export function placeTask(
  spec: TaskSpec,
  alive: WorkerInfo[],
  load: (worker: string) => number,
  bytesByWorker: (deps: readonly string[]) => Map<string, number>,
): string | undefined {
  if (alive.length === 0) return undefined;
  const tiny = spec.nbytes <= TINY_BYTES;
  const depth = !tiny ? DEPTH_PER_THREAD : spec.op === 'map-blocks' ? DEPTH_PER_THREAD_TINY_KERNEL : DEPTH_PER_THREAD_TINY;
  // GPU tasks only go to workers that reported a device, never to the shared queue (any worker
  // takes from it).
  if (spec.device === 'gpu') alive = alive.filter((w) => w.gpu !== undefined);
  if (spec.deps.length === 0) {
    if (spec.device !== 'gpu' && tiny) {
      const room = alive.reduce((n, w) => n + w.threads * depth, 0);
      return load(SHARED) < room ? SHARED : undefined;
    }
    // A worker takes up to threads x 32 jobs from the shared queue at once, so bigger roots sent
    // there would pile up on whichever worker polled first: the scheduler spreads them itself.
    let best: WorkerInfo | undefined;
    for (const w of alive) if (load(w.id) < w.threads * depth && (!best || load(w.id) < load(best.id))) best = w;
    return best?.id;
  }
  const bytes = bytesByWorker(spec.deps);
  const room = (w: WorkerInfo, factor: number): boolean => load(w.id) < w.threads * depth * factor;
  let best: WorkerInfo | undefined;
  let bestBytes = -1;
  for (const w of alive) {
    const b = bytes.get(w.id) ?? 0;
    // Big inputs are worth queueing deeper for; small ones move faster than they wait.
    if (!room(w, b >= LOCALITY_BYTES ? 2 : 1)) continue;
    if (b > bestBytes || (b === bestBytes && best && load(w.id) < load(best.id))) {
      best = w;
      bestBytes = b;
    }
  }
  return best?.id;
}
