import type { Chunk, TaskSpec } from '@tessera/protocol';
import type { BufferPool } from '../buffer-pool.js';
import type { PoolTask, RemoteErrorInfo, TaskOutcome } from '../pool/messages.js';
import { runTask } from '../pool/run-task.js';
import { ThreadPool } from '../pool/thread-pool.js';
import { leastLoadedThread, runsInline } from '../pool/thread-choice.js';

export type RunResult =
  | { ok: true; chunk: Chunk; start: number; stop: number; thread?: number }
  | { ok: false; error: RemoteErrorInfo; start: number; stop: number; thread?: number };

interface Waiting {
  id: number;
  spec: TaskSpec;
  inputs: Chunk[];
  onStart: (thread: number, start: number) => void;
  resolve: (r: RunResult) => void;
}

const now = (): number => performance.timeOrigin + performance.now();

/**
 * Runs tasks the way the embedded engine does: tiny ones inline, `reshape` as a view of its
 * input (same buffer object, so the chunk store can tell when that buffer is free), the rest on
 * the least loaded pool thread, outputs written into recycled buffers. One key runs once at a
 * time: a second request for a key already running shares the first one's result.
 */
export class TaskRunner {
  private pool!: ThreadPool;
  private readonly waiting: Waiting[] = [];
  private readonly posted = new Map<number, Waiting>();
  private readonly byKey = new Map<string, Promise<RunResult>>();
  private pumpQueued = false;
  private nextId = 0;
  /** Kernel executions (reshape views included, shared results not). */
  executed = 0;

  private constructor(private readonly buffers: BufferPool) {}

  /** Rejects with PoolInitError when a kernel module does not load. */
  static async start(options: { threads: number; kernels: string[] }, buffers: BufferPool): Promise<TaskRunner> {
    const r = new TaskRunner(buffers);
    r.pool = await ThreadPool.start(options, (thread, o) => r.onOutcome(thread, o));
    return r;
  }

  get threads(): number {
    return this.pool.size;
  }

  /** Tasks executing or waiting for a thread. */
  get running(): number {
    return this.byKey.size;
  }

  /** `onStart` is called when the task is posted to a pool thread (not for inline tasks). */
  run(spec: TaskSpec, inputs: Chunk[], onStart: (thread: number, start: number) => void): Promise<RunResult> {
    const shared = this.byKey.get(spec.key);
    if (shared) return shared;
    const p = this.execute(spec, inputs, onStart).finally(() => this.byKey.delete(spec.key));
    this.byKey.set(spec.key, p);
    return p;
  }

  async close(): Promise<void> {
    await this.pool.close();
    for (const w of [...this.waiting, ...this.posted.values()]) {
      w.resolve({ ok: false, error: { name: 'Error', message: 'the worker is closing' }, start: now(), stop: now() });
    }
    this.waiting.length = 0;
    this.posted.clear();
  }

  private async execute(spec: TaskSpec, inputs: Chunk[], onStart: (thread: number, start: number) => void): Promise<RunResult> {
    if (spec.op === 'reshape' && inputs[0]) {
      const t = now();
      this.executed++;
      return { ok: true, chunk: { dtype: inputs[0].dtype, shape: [...spec.shape], data: inputs[0].data }, start: t, stop: t };
    }
    if (runsInline(spec, inputs)) return this.runInline(spec, inputs);
    return new Promise((resolve) => {
      this.waiting.push({ id: this.nextId++, spec, inputs, onStart, resolve });
      this.schedulePump();
    });
  }

  private runInline(spec: TaskSpec, inputs: Chunk[]): RunResult {
    const out = this.buffers.take(spec.nbytes);
    const start = now();
    try {
      // Trusted: the scheduler ran validateGraph on the graph; kernels still check what they index with.
      const r = runTask(spec, inputs, out);
      if (r.unused) this.buffers.give(r.unused);
      this.executed++;
      return { ok: true, chunk: r.chunk, start, stop: now() };
    } catch (e) {
      if (out) this.buffers.give(out);
      this.executed++;
      const err = e instanceof Error ? e : new Error(String(e));
      return { ok: false, error: { name: err.name, message: err.message, stack: err.stack }, start, stop: now() };
    }
  }

  /** Tasks of one macrotask go out together, one message per thread. */
  private schedulePump(): void {
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    queueMicrotask(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  private pump(): void {
    const batches = new Map<number, PoolTask[]>();
    while (this.waiting.length > 0) {
      const w = this.waiting[0]!;
      const thread = leastLoadedThread(this.pool, w.spec, (t) => batches.get(t)?.length ?? 0);
      if (thread < 0) break;
      this.waiting.shift();
      this.posted.set(w.id, w);
      const { spec } = w;
      const batch = batches.get(thread) ?? [];
      batch.push({
        id: w.id,
        key: spec.key,
        op: spec.op,
        params: spec.params,
        shape: spec.shape,
        dtype: spec.dtype,
        inputs: w.inputs,
        out: this.buffers.take(spec.nbytes),
      });
      batches.set(thread, batch);
    }
    const start = now();
    for (const [thread, tasks] of batches) {
      this.pool.post(thread, tasks);
      for (const t of tasks) this.posted.get(t.id)?.onStart(thread, start);
    }
  }

  private onOutcome(thread: number, o: TaskOutcome): void {
    if (o.unused) this.buffers.give(o.unused);
    const w = this.posted.get(o.id);
    if (!w) return;
    this.posted.delete(o.id);
    if (o.ok) {
      this.executed++;
      w.resolve({ ok: true, chunk: o.chunk, start: o.start, stop: o.stop, thread });
    } else if ('skipped' in o) {
      // Never cancelled here; kept total so a waiting job cannot hang.
      w.resolve({ ok: false, error: { name: 'Error', message: 'skipped by the pool' }, start: o.start, stop: o.stop, thread });
    } else {
      this.executed++;
      w.resolve({ ok: false, error: o.error, start: o.start, stop: o.stop, thread });
    }
    this.schedulePump();
  }
}
