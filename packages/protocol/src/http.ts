import { Packr } from 'msgpackr';
import { z } from 'zod';
import { GraphState, TaskState } from './engine.js';
import { SerializedError } from './errors.js';
import { TaskKey } from './graph.js';
import { WorkerHeartbeat, WorkerInfo } from './cluster.js';

/**
 * Bodies of the scheduler's HTTP API (routes under /api/). Graphs go as msgpack
 * (`application/msgpack`), everything else as JSON; results come back as Arrow IPC streams
 * (`application/vnd.apache.arrow.stream`), events as Server-Sent Events whose data is a JSON
 * array of EngineEvent. Every error answer is `{ error: SerializedError }` with a 4xx/5xx status.
 */

export const MSGPACK = 'application/msgpack';
export const ARROW_STREAM = 'application/vnd.apache.arrow.stream';

/** POST /api/graphs (msgpack). The graph is checked by validateGraph on arrival. */
export const SubmitRequest = z
  .object({
    graph: z.unknown(),
    persist: z.boolean().optional(),
  })
  .strict();
export type SubmitRequest = z.infer<typeof SubmitRequest>;

export const SubmitResponse = z.object({ id: z.string().min(1) }).strict();
export type SubmitResponse = z.infer<typeof SubmitResponse>;

/** GET /api/graphs/:id, and each entry of GET /api/graphs. */
export const GraphStatus = z
  .object({
    id: z.string(),
    state: GraphState,
    total: z.number().int().nonnegative(),
    done: z.number().int().nonnegative(),
    counts: z.record(TaskState, z.number().int()),
    outputs: z.number().int().nonnegative(),
    persist: z.boolean(),
    submittedAt: z.number(),
    finishedAt: z.number().optional(),
    error: SerializedError.optional(),
  })
  .strict();
export type GraphStatus = z.infer<typeof GraphStatus>;

export const GraphList = z.object({ graphs: z.array(GraphStatus) }).strict();
export type GraphList = z.infer<typeof GraphList>;

/** GET /api/workers */
export const WorkerView = z
  .object({
    info: WorkerInfo,
    heartbeat: WorkerHeartbeat.optional(),
    /** Milliseconds since the last heartbeat, as the scheduler sees it. */
    age: z.number().nonnegative(),
    alive: z.boolean(),
  })
  .strict();
export type WorkerView = z.infer<typeof WorkerView>;

export const WorkerList = z.object({ workers: z.array(WorkerView) }).strict();
export type WorkerList = z.infer<typeof WorkerList>;

/**
 * GET /api/backlog: the work waiting, for autoscalers (KEDA's metrics-api scaler reads `pending`;
 * the same numbers are gauges on /metrics for a Prometheus scaler or an HPA).
 */
export const Backlog = z
  .object({
    /** Ready tasks no worker was given yet (held back by placement, or waiting for a thread). */
    ready: z.number().int().nonnegative(),
    /** Bytes those ready tasks will output. */
    readyBytes: z.number().nonnegative(),
    /** Tasks sent to workers and not yet reported done (queued there or running). */
    inFlight: z.number().int().nonnegative(),
    /** ready + inFlight: what a scaler divides by the tasks one worker should have. */
    pending: z.number().int().nonnegative(),
    workers: z.number().int().nonnegative(),
    /** Pool threads of the workers alive. */
    threads: z.number().int().nonnegative(),
  })
  .strict();
export type Backlog = z.infer<typeof Backlog>;

/** POST /api/unpersist */
export const UnpersistRequest = z.object({ keys: z.array(TaskKey).max(1_000_000) }).strict();
export type UnpersistRequest = z.infer<typeof UnpersistRequest>;

export const ErrorResponse = z.object({ error: SerializedError }).strict();
export type ErrorResponse = z.infer<typeof ErrorResponse>;

export const OkResponse = z.object({ ok: z.literal(true) }).strict();
export type OkResponse = z.infer<typeof OkResponse>;

/** GET /health */
export const HealthResponse = z.object({ ok: z.boolean(), workers: z.number().int().nonnegative(), version: z.string() }).strict();
export type HealthResponse = z.infer<typeof HealthResponse>;

const packr = new Packr({ useRecords: false });

export function encodeSubmitRequest(req: SubmitRequest): Uint8Array {
  return packr.pack(req);
}

export function decodeMsgpack(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}

