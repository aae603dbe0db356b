/**
 * Ops whose output a result cache may keep: pure functions of their parameters and inputs. Not
 * the file readers (the file may change) and writers (their point is the side effect), user
 * kernels (the engine cannot tell a pure one yet), and ops cheaper to redo than to read back
 * (constant sources, views, data that travels in the graph). The client marks such tasks
 * (`TaskSpec.cache`) and the worker checks again before it reads or writes an entry.
 */
const NOT_CACHED = new Set(['full', 'arange', 'from-bytes', 'persisted', 'reshape', 'map-blocks']);

export function isCacheableOp(op: string): boolean {
  return !NOT_CACHED.has(op) && !op.startsWith('read-') && !op.startsWith('write-');
}
