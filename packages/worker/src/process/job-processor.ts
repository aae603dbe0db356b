import type { Job } from 'bullmq';
import {
  BundleJob,
  ChunkLostError,
  type ChainedTask,
  INLINE_RESULT_BYTES,
  InvalidArgumentError,
  TaskError,
  TaskJob,
  TaskKey,
  TaskSpec,
  serializeError,
  unpackTaskSpec,
  type ReportItem,
} from '@tessera/protocol';
import type { CancelledGraphs } from './control-loop.js';
import type { InputGatherer } from './inputs.js';
import { inputRegions, rebaseOnRegions } from './regions.js';
import { errorMessage, type Log } from './log.js';
import type { Reporter } from './reporter.js';
import type { InProcessExecutor } from '../executor/executor.js';
import type { WorkerChunks } from '../executor/worker-chunks.js';

/** The one holder of owned chunks: the scheduler decides when a chunk goes (a `free` message). */
export const CLUSTER_HOLDER = 'cluster';

export interface JobProcessorDeps {
  /** This worker's id: failed tasks name it. */
  worker: string;
  chunks: WorkerChunks;
  executor: InProcessExecutor;
  inputs: InputGatherer;
  reporter: Reporter;
  cancelled: CancelledGraphs;
  log: Log;
}

const now = (): number => performance.timeOrigin + performance.now();

/**
 * The BullMQ processor of a task job or a bundle of them. Every outcome is a report item; the
 * processor resolves once the items are in the report stream, so a completed BullMQ job always
 * has its reports. It throws only for a job too malformed to report on (no graph or key): BullMQ
 * fails that job.
 */
export function createJobProcessor(d: JobProcessorDeps): (job: Job) => Promise<void> {
  const one = taskProcessor(d);
  return async (job) => {
    if (job.name !== 'bundle') return one(job.id, job.data);
    const parsed = BundleJob.safeParse(job.data);
    if (parsed.success) {
      // Together: the runner spreads them over its threads, the reporter writes them as one entry.
      await Promise.all(parsed.data.tasks.map((t) => runAndReport(d, t)));
      return;
    }
    // Each task that is well formed still gets its run (or its own failure report).
    const tasks = (job.data as { tasks?: unknown } | undefined)?.tasks;
    if (!Array.isArray(tasks) || tasks.length === 0) throw new InvalidArgumentError(`bad bundle job ${job.id ?? '?'}: no tasks`);
    const outcomes = await Promise.allSettled(tasks.map((t) => one(job.id, t)));
    const thrown = outcomes.find((o) => o.status === 'rejected');
    if (thrown) throw thrown.reason;
  };
}

/**
 * Run a job's task, then the tasks chained after it (TaskJob.next) one by one while each succeeds:
 * each starts as soon as the one before is done, while that one's report is still being written.
 * Resolves once every report is written. A chained task after a failure is not run: the scheduler
 * takes the failure report as the end of the chain.
 */
async function runAndReport(d: JobProcessorDeps, job: TaskJob): Promise<void> {
  const written: Promise<void>[] = [];
  for (const task of [job, ...(job.next ?? [])]) {
    const item = await runJob(d, task);
    if (!item) break;
    written.push(d.reporter.report(item));
    if (item.type !== 'done') break;
  }
  await Promise.all(written);
}

function taskProcessor(d: JobProcessorDeps): (jobId: string | undefined, data: unknown) => Promise<void> {
  return async (jobId, data) => {
    const parsed = TaskJob.safeParse(data);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      const why = `bad task job ${jobId ?? '?'}: ${i.path.join('.') || '(data)'}: ${i.message}`;
      d.log.warn('jobs', why);
      const { graph, key, attempt } = (data ?? {}) as { graph?: unknown; key?: unknown; attempt?: unknown };
      if (typeof graph !== 'string' || graph === '' || !TaskKey.safeParse(key).success) throw new InvalidArgumentError(why);
      const t = now();
      const error = serializeError(new InvalidArgumentError(why));
      const run = Number.isSafeInteger(attempt) && (attempt as number) >= 0 ? { attempt: attempt as number } : {};
      return d.reporter.report({ type: 'failed', graph, key: key as string, ...run, error, start: t, stop: t });
    }
    await runAndReport(d, parsed.data);
  };
}

/** The report item of one job, or nothing for a job of a cancelled graph. */
async function runJob(d: JobProcessorDeps, job: ChainedTask): Promise<ReportItem | undefined> {
  // Every item names the run it is about: the scheduler ignores reports of superseded runs.
  const { graph, key, attempt } = job;
  if (d.cancelled.has(graph)) return undefined;
  const failed = (error: unknown, start = now(), stop = now(), thread?: number): ReportItem => ({
    type: 'failed',
    graph,
    key,
    attempt,
    error: serializeError(error),
    start,
    stop,
    ...(thread === undefined ? {} : { thread }),
  });

  // Already here (computed for another graph that shares the key): nothing to run.
  if (d.chunks.has(key)) {
    const t = now();
    return done(d, job, t, t);
  }

  const spec = decodeSpec(job);
  if (typeof spec === 'string') return failed(new InvalidArgumentError(spec));
  // A persisted chunk is never computed: if it is not here, it is lost.
  if (spec.op === 'persisted') return failed(new ChunkLostError(key));

  // User kernels may kill the worker: their start is written at once (see Reporter.noteNow).
  const note = spec.op === 'map-blocks' ? (i: ReportItem) => d.reporter.noteNow(i) : (i: ReportItem) => d.reporter.note(i);
  const onStart = (thread: number, start: number): void => note({ type: 'started', graph, key, attempt, start, thread });
  // A result cache hit needs no inputs: looked up before any is fetched.
  const hit = await d.executor.fromCache(spec, onStart);
  if (hit?.ok) {
    d.executor.keep(key, hit.chunk, CLUSTER_HOLDER);
    return done(d, job, hit.start, hit.stop, hit.thread);
  }

  let gathered;
  try {
    gathered = await d.inputs.gather(spec.deps, job.inputs, inputRegions(spec, job.inputs));
  } catch (e) {
    const lost = e instanceof ChunkLostError ? e : new ChunkLostError(key);
    const why = lost.cause instanceof Error ? lost.cause.message : `input ${lost.key} is not held here`;
    d.log.warn('inputs', `task ${key}: ${why}`);
    return failed(lost);
  }
  try {
    // Narrowed to the regions fetched, the task keeps its cache entry: the one of the task as submitted.
    const run = gathered.regions ? rebaseOnRegions(spec, gathered.regions) : spec;
    const r = await d.executor.run(run, gathered.inputs, onStart, undefined, spec);
    const transfer = gathered.transfer ? { transfer: gathered.transfer } : {};
    if (!r.ok) return { ...failed(new TaskError(key, spec.op, r.error, d.worker), r.start, r.stop, r.thread), ...transfer };
    d.executor.keep(key, r.chunk, CLUSTER_HOLDER);
    return { ...(await done(d, job, r.start, r.stop, r.thread)), ...transfer };
  } catch (e) {
    // The runner itself failed (not the kernel): still a failed task, never a stuck job.
    const err = e instanceof Error ? e : new Error(String(e));
    return failed(new TaskError(key, spec.op, { name: err.name, message: err.message, stack: err.stack }, d.worker));
  } finally {
    gathered.release();
  }
}

/** The done item of a chunk now held here; a small output's bytes ride along (read back from the GPU if need be). */
async function done(d: JobProcessorDeps, job: ChainedTask, start: number, stop: number, thread?: number): Promise<ReportItem> {
  const nbytes = d.chunks.meta(job.key)?.nbytes ?? 0;
  const data = job.output && nbytes <= INLINE_RESULT_BYTES ? (await d.chunks.read(job.key))?.data : undefined;
  return {
    type: 'done',
    graph: job.graph,
    key: job.key,
    attempt: job.attempt,
    nbytes,
    start,
    stop,
    ...(thread === undefined ? {} : { thread }),
    // A copy: the chunk's buffer is recycled for another output once the chunk is freed.
    ...(data ? { data: new Uint8Array(data.buffer, data.byteOffset, nbytes).slice() } : {}),
  };
}

/** The job's task spec, checked; or what is wrong with it. */
function decodeSpec(job: ChainedTask): TaskSpec | string {
  let raw: unknown;
  try {
    raw = unpackTaskSpec(job.key, Buffer.from(job.spec, 'base64'));
  } catch (e) {
    return `task ${job.key}: the job's spec is not a packed task spec (${errorMessage(e)})`;
  }
  const parsed = TaskSpec.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    return `task ${job.key}: bad task spec: ${i.path.join('.') || '(spec)'}: ${i.message}`;
  }
  return parsed.data;
}
