import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { isAbsolute } from 'node:path';
import { setGemmThreads } from '../kernels/index.js';
import { ASYNC_OPS } from '@tessera/protocol';
import { runAsyncTask, runTask } from './run-task.js';
import { CANCEL_SLOTS, type RunBatch, type TaskOutcome, type ThreadInit, type ThreadMessage } from './messages.js';

// One pool thread: loads the user kernel modules it was started with, then runs batches of
// tasks. Results are sent back in small batches so tiny tasks do not pay one message each,
// while a long task's result is never held back behind the next one.
const port = parentPort!;
const init = workerData as ThreadInit;
const now = (): number => performance.timeOrigin + performance.now();
const FLUSH_AFTER_MS = 0.5;
const cancelled = new Int32Array(init.cancelFlags);

function errorInfo(e: unknown): { name: string; message: string; stack?: string | undefined } {
  const err = e instanceof Error ? e : new Error(String(e));
  return { name: err.name, message: err.message, stack: err.stack };
}

function post(msg: ThreadMessage): void {
  port.postMessage(msg);
}

async function start(): Promise<void> {
  try {
    setGemmThreads(init.threads);
    for (const spec of init.kernels) {
      await import(isAbsolute(spec) ? pathToFileURL(spec).href : spec);
    }
  } catch (e) {
    post({ type: 'init-failed', error: errorInfo(e) });
    return;
  }
  port.on('message', (msg: RunBatch) => {
    let out: TaskOutcome[] = [];
    let lastFlush = now();
    for (const t of msg.tasks) {
      const start = now();
      if (Atomics.load(cancelled, t.id & (CANCEL_SLOTS - 1)) !== 0) {
        out.push(t.out ? { id: t.id, ok: false, skipped: true, start, stop: start, unused: t.out } : { id: t.id, ok: false, skipped: true, start, stop: start });
        continue;
      }
      if (ASYNC_OPS.has(t.op)) {
        // Not awaited: the thread goes on with the batch, the outcome is posted when the store answers.
        void runAsyncTask(t, t.inputs, t.out).then(
          (r): TaskOutcome => ({ id: t.id, ok: true, chunk: r.chunk, start, stop: now(), ...(r.unused && { unused: r.unused }) }),
          (e: unknown): TaskOutcome => ({ id: t.id, ok: false, error: errorInfo(e), start, stop: now(), ...(t.out && { unused: t.out }) }),
        ).then((o) => post({ type: 'done', outcomes: [o] }));
        continue;
      }
      let o: TaskOutcome;
      try {
        const r = runTask(t, t.inputs, t.out);
        o = { id: t.id, ok: true, chunk: r.chunk, start, stop: now() };
        if (r.unused) o.unused = r.unused;
      } catch (e) {
        o = { id: t.id, ok: false, error: errorInfo(e), start, stop: now() };
        // A failed task did not keep its output buffer: hand it back for reuse.
        if (t.out) o.unused = t.out;
      }
      out.push(o);
      const stop = now();
      if (stop - lastFlush >= FLUSH_AFTER_MS) {
        post({ type: 'done', outcomes: out });
        out = [];
        lastFlush = stop;
      }
    }
    if (out.length) post({ type: 'done', outcomes: out });
  });
  post({ type: 'ready' });
}

void start();
