import { setBufferSource, type Chunk } from '@tessera/protocol';
import { executeAsyncTask, executeTask, type KernelTask } from '../kernels/index.js';

/**
 * Run one task of a validated graph, letting its output reuse `spare` (a freed buffer of the
 * output's exact size). Returns `spare` back when the kernel did not take it.
 */
export function runTask(task: KernelTask, inputs: Chunk[], spare: SharedArrayBuffer | undefined): { chunk: Chunk; unused?: SharedArrayBuffer } {
  let left = spare;
  setBufferSource((n) => {
    if (!left || left.byteLength !== n) return undefined;
    const b = left;
    left = undefined;
    return b;
  });
  try {
    const chunk = executeTask(task, inputs, { trusted: true });
    return left ? { chunk, unused: left } : { chunk };
  } finally {
    setBufferSource(undefined);
  }
}

/** Run one task of an ASYNC_OPS op; `spare` is offered to its decode (returned when not taken). */
export async function runAsyncTask(task: KernelTask, inputs: Chunk[], spare: SharedArrayBuffer | undefined): Promise<{ chunk: Chunk; unused?: SharedArrayBuffer }> {
  const chunk = await executeAsyncTask(task, inputs, { trusted: true, ...(spare && { spare }) });
  return !spare || chunk.data.buffer === spare ? { chunk } : { chunk, unused: spare };
}
