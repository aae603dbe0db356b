import { AsyncLocalStorage } from 'node:async_hooks';
import { newSharedBuffer } from '../chunk.js';

/**
 * Recycled memory for one chunk read. Freshly allocated megabytes cost page faults on first
 * touch (several ms per MiB on this project's VMs), which dominated Zarr reads: so inside a
 * read's scope, the store reads the compressed bytes into a buffer kept from earlier reads of
 * this thread, and the decoder writes into the buffer the worker offered (a freed chunk's). The
 * scope follows the read through zarrita's awaits (AsyncLocalStorage), so reads that overlap on
 * a thread never share a buffer.
 */

interface Scope {
  output: SharedArrayBuffer | undefined;
  leases: ArrayBuffer[];
}

const scope = new AsyncLocalStorage<Scope>();
/** Compressed-read buffers of this thread, free for the next read (a few: reads overlap). */
const free: ArrayBuffer[] = [];
const FREE_MAX = 8;

/** A buffer of `n` bytes for a store read inside a scope (kept for later reads when it ends); undefined outside one. */
export function scratchBytes(n: number): Uint8Array | undefined {
  const s = scope.getStore();
  if (!s || n < 1 << 16) return undefined;
  let best = -1;
  for (let i = 0; i < free.length; i++) if (free[i]!.byteLength >= n && (best < 0 || free[i]!.byteLength < free[best]!.byteLength)) best = i;
  // Some room over the size: compressed chunks of one array differ by a little.
  const buf = best >= 0 ? free.splice(best, 1)[0]! : new ArrayBuffer(Math.ceil((n * 1.125) / 4096) * 4096);
  s.leases.push(buf);
  return new Uint8Array(buf, 0, n);
}

/** The scope's offered output buffer, taken (once) by a decode of exactly its size, else a fresh one. */
export function outputBuffer(n: number): SharedArrayBuffer {
  const s = scope.getStore();
  if (s?.output?.byteLength === n) {
    const b = s.output;
    s.output = undefined;
    return b;
  }
  return newSharedBuffer(n);
}

/**
 * Run one chunk read in a scope: `output` is offered to its decode. When it ends, its store
 * buffers go back to the thread's free list, except one the result still views (an
 * uncompressed chunk). Gives whether `output` was taken.
 */
export async function withChunkScope<T>(output: SharedArrayBuffer | undefined, read: () => Promise<T>): Promise<{ value: T; taken: boolean }> {
  const s: Scope = { output, leases: [] };
  try {
    const value = await scope.run(s, read);
    const held = (value as { data?: { buffer?: unknown } } | undefined)?.data?.buffer;
    s.leases = s.leases.filter((b) => b !== held);
    return { value, taken: output !== undefined && s.output === undefined };
  } finally {
    for (const b of s.leases) if (free.length < FREE_MAX) free.push(b);
  }
}
