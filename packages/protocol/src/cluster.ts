import { Packr } from 'msgpackr';
import { z } from 'zod';
import { WorkerId } from './ids.js';
import { DTYPES } from './dtype.js';
import { GpuInfo } from './device.js';
import { TransferTiming } from './engine.js';
import { SerializedError } from './errors.js';
import { TaskKey } from './graph.js';
import { clusterBase } from './redis-keys.js';

/**
 * Messages between the scheduler and worker processes. All of them travel through Redis:
 * BullMQ job data (scheduler → worker, one task), a control list per worker (scheduler → worker:
 * free chunks), and one report stream (workers → scheduler: starts, completions, failures).
 * Each is validated where it is read.
 */


/** What a worker tells the cluster about itself when it registers. */
export const WorkerInfo = z
  .object({
    id: WorkerId,
    host: z.string().min(1),
    /** Base URL of its peer chunk server, e.g. http://10.0.0.5:43121 */
    address: z.string().url(),
    pid: z.number().int().nonnegative(),
    threads: z.number().int().min(1),
    /** Bytes of chunk memory the worker allows itself. */
    memoryLimit: z.number().int().nonnegative(),
    /** 'cpu', or the GPU adapter's name. */
    device: z.string().min(1),
    startedAt: z.number(),
    /** The WebGPU device the worker opened (`tessera worker --gpu`): tasks marked 'gpu' go only to such workers. */
    gpu: GpuInfo.optional(),
    /** The CPUs the worker's threads are pinned to (`tessera worker --cpus`); absent: not pinned. */
    cpus: z.array(z.number().int().nonnegative()).optional(),
  })
  .strict();
export type WorkerInfo = z.infer<typeof WorkerInfo>;

/** Sent with every heartbeat: what the worker holds and runs now. */
export const WorkerHeartbeat = z
  .object({
    id: WorkerId,
    at: z.number(),
    chunks: z.number().int().nonnegative(),
    bytes: z.number().int().nonnegative(),
    running: z.number().int().nonnegative(),
    executed: z.number().int().nonnegative(),
    rss: z.number().int().nonnegative(),
    /** The worker's GPU, where it opened one (what gpustat shows): counters since start, and now. */
    gpu: z
      .object({
        /** Tasks run there since start, and running or in line for it now. */
        tasks: z.number().int().nonnegative(),
        running: z.number().int().nonnegative(),
        uploads: z.number().int().nonnegative(),
        readbacks: z.number().int().nonnegative(),
        readbackBytes: z.number().nonnegative(),
        /** Chunks held in device memory, their bytes, and the device memory Tessera may use. */
        deviceChunks: z.number().int().nonnegative(),
        deviceBytes: z.number().nonnegative(),
        memoryLimit: z.number().nonnegative(),
      })
      .strict()
      .optional(),
    /** Spilling to disk, where the worker has a spill folder: held there now, and counters since start. */
    spill: z
      .object({
        chunks: z.number().int().nonnegative(),
        bytes: z.number().nonnegative(),
        writes: z.number().int().nonnegative(),
        writeBytes: z.number().nonnegative(),
        reads: z.number().int().nonnegative(),
        readBytes: z.number().nonnegative(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type WorkerHeartbeat = z.infer<typeof WorkerHeartbeat>;

/** GET /api/cluster: what a worker needs to join (it is started with only Redis and scheduler URLs). */
export const ClusterInfo = z
  .object({
    /** Redis key prefix of this cluster. */
    prefix: z.string().min(1),
    /** BullMQ's own prefix (its keys live under it). */
    bullPrefix: z.string().min(1),
    sharedQueue: z.string().min(1),
    heartbeatMs: z.number().int().positive(),
    version: z.string(),
  })
  .strict();
export type ClusterInfo = z.infer<typeof ClusterInfo>;

export const SHARED_QUEUE = 'tasks';
export function workerQueueName(id: string): string {
  return `worker-${WorkerId.parse(id)}`;
}

/** BullMQ forbids ':' in custom job ids; task keys hold exactly one, so it maps to '@' and back. */
export function jobIdOf(key: string, attempt: number): string {
  const base = key.replace(':', '@');
  return attempt === 0 ? base : `${base}#${attempt}`;
}

export const InputLocation = z
  .object({
    key: TaskKey,
    /** Worker that holds the chunk, and its peer server's base URL. */
    worker: WorkerId,
    address: z.string().url(),
    dtype: z.enum(DTYPES),
    shape: z.array(z.number().int().nonnegative()),
  })
  .strict();
export type InputLocation = z.infer<typeof InputLocation>;

const taskJobFields = {
  graph: z.string().min(1),
  key: TaskKey,
  /** The task spec, packTaskSpec'd and base64'd (JSON would lose NaN scalars). */
  spec: z.string().min(1),
  inputs: z.array(InputLocation),
  /** The graph's output: report the bytes inline when small. */
  output: z.boolean(),
  attempt: z.number().int().nonnegative(),
};

/** Chained tasks one job carries at most (TaskJob.next). */
export const MAX_CHAIN = 64;

/**
 * A task chained after another in one job (TaskJob.next): its only input is the chunk the task
 * before it makes on the same worker, so it runs there the moment that one is done, with no
 * round trip through the scheduler.
 */
export const ChainedTask = z.object(taskJobFields).strict();
export type ChainedTask = z.infer<typeof ChainedTask>;

/** BullMQ job data of one task: ids and where its inputs live, never chunk bytes. */
export const TaskJob = z
  .object({
    ...taskJobFields,
    /** Run after this task, in order, while each one before succeeds. */
    next: z.array(ChainedTask).min(1).max(MAX_CHAIN).optional(),
  })
  .strict();
export type TaskJob = z.infer<typeof TaskJob>;

/** Tasks per bundle job at most: enough to amortize BullMQ's per-job scripts over tiny tasks. */
export const MAX_BUNDLE = 64;

/**
 * BullMQ job data of several tiny tasks sent as one job (name `bundle`): each task keeps its own
 * graph, attempt and report; only the job's round trips are shared.
 */
export const BundleJob = z.object({ tasks: z.array(TaskJob).min(2).max(MAX_BUNDLE) }).strict();
export type BundleJob = z.infer<typeof BundleJob>;

/** A bundle's job id: its first task's, marked so it never equals a task's own (keys hold no '+'). */
export function bundleJobIdOf(first: TaskJob): string {
  return `+${jobIdOf(first.key, first.attempt)}`;
}

/** Results up to this size ride along with their completion (a scalar, a small block). */
export const INLINE_RESULT_BYTES = 64 * 1024;

/** Which run of the task (TaskJob.attempt): reports of superseded runs are ignored. */
const Attempt = z.number().int().nonnegative().optional();

const Timing = {
  attempt: Attempt,
  start: z.number(),
  stop: z.number(),
  thread: z.number().int().nonnegative().optional(),
  /** Inputs fetched from peers before the run (none when all were here). */
  transfer: TransferTiming.optional(),
};

export const TaskStarted = z
  .object({
    type: z.literal('started'),
    graph: z.string().min(1),
    key: TaskKey,
    attempt: Attempt,
    start: z.number(),
    thread: z.number().int().optional(),
  })
  .strict();
export const TaskDone = z
  .object({
    type: z.literal('done'),
    graph: z.string().min(1),
    key: TaskKey,
    nbytes: z.number().int().nonnegative(),
    ...Timing,
    /** The chunk's raw bytes (an output of at most INLINE_RESULT_BYTES). */
    data: z.instanceof(Uint8Array).optional(),
  })
  .strict();
export const TaskFailed = z
  .object({ type: z.literal('failed'), graph: z.string().min(1), key: TaskKey, error: SerializedError, ...Timing })
  .strict();
export const ReportItem = z.discriminatedUnion('type', [TaskStarted, TaskDone, TaskFailed]);
export type ReportItem = z.infer<typeof ReportItem>;

/** One entry of the report stream: a batch of what one worker did. */
export const WorkerReport = z.object({ worker: WorkerId, items: z.array(ReportItem).min(1) }).strict();
export type WorkerReport = z.infer<typeof WorkerReport>;

/** Scheduler → one worker, through its control list. */
export const ControlMessage = z.discriminatedUnion('type', [
  /** Drop these chunks: no graph needs them there. */
  z.object({ type: z.literal('free'), keys: z.array(TaskKey) }).strict(),
  /** Skip queued tasks of these graphs (they were cancelled). */
  z.object({ type: z.literal('cancel'), graphs: z.array(z.string().min(1)) }).strict(),
]);
export type ControlMessage = z.infer<typeof ControlMessage>;

const packr = new Packr({ useRecords: false });

export function packMessage(m: WorkerReport | ControlMessage): Buffer {
  return packr.pack(m);
}

/** Decode and validate; a bad message is an error naming what was wrong, never a crash later. */
export function unpackMessage<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, bytes: Uint8Array, what: string): T {
  let raw: unknown;
  try {
    raw = packr.unpack(bytes);
  } catch (e) {
    throw new Error(`${what}: not msgpack (${(e as Error).message})`);
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Error(`${what}: ${i.path.join('.') || '(message)'}: ${i.message}`);
  }
  return r.data;
}

/** Redis keys of the cluster (graph keys are in redis-keys.ts). */
export function clusterKeys(prefix: string): {
  workers: string;
  heartbeats: string;
  reports: string;
  persisted: string;
  control: (worker: string) => string;
  gone: (worker: string) => string;
  queues: string;
} {
  const base = clusterBase(prefix);
  return {
    /** hash: worker id → WorkerInfo JSON */
    workers: `${base}:workers`,
    /** hash: worker id → WorkerHeartbeat JSON (liveness is its `at`) */
    heartbeats: `${base}:heartbeats`,
    /** stream of WorkerReport entries (field `m`), read by the scheduler's consumer group */
    reports: `${base}:reports`,
    /** hash: persisted task key → worker id that holds it */
    persisted: `${base}:persisted`,
    /** list of ControlMessage (msgpack) for one worker */
    control: (worker: string) => `${base}:control:${WorkerId.parse(worker)}`,
    /**
     * string, set (for a day) when the scheduler declares a worker dead: a worker that finds its
     * own there is back from the dead, drops what it held, and deletes it
     */
    gone: (worker: string) => `${base}:gone:${WorkerId.parse(worker)}`,
    /**
     * set: ids of workers that joined, whose BullMQ queue and control list may exist; the
     * scheduler removes a dead one's keys (and its id) a while after it died, restarts included
     */
    queues: `${base}:queues`,
  };
}
