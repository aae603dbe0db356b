import { type Graph, type TaskSpec, itemsize, keyGroup, keyIndex, sizeOf } from '@tessera/protocol';
import type { ChunkedArray } from '../array.js';

/** Every array the outputs depend on, by name (the same expression built twice is one array). */
export function collectArrays(outputs: readonly ChunkedArray[]): Map<string, ChunkedArray> {
  const byName = new Map<string, ChunkedArray>();
  const stack = [...outputs];
  while (stack.length) {
    const a = stack.pop()!;
    if (byName.has(a.name)) continue;
    byName.set(a.name, a);
    stack.push(...a.inputs);
  }
  return byName;
}

function taskOf(a: ChunkedArray, index: readonly number[]): TaskSpec {
  const { params, deps } = a.blockTask(index);
  const shape = a.blockShape(index);
  return { key: a.key(index), op: a.op, params, deps, shape, dtype: a.dtype, nbytes: sizeOf(shape) * itemsize(a.dtype), priority: 0 };
}

/** The output keys of some arrays, each once, in C order of their blocks. */
export function outputKeys(outputs: readonly ChunkedArray[]): string[] {
  return [...new Set(outputs.flatMap((a) => a.keys()))];
}

/**
 * The low-level graph of some arrays. By default only the tasks the outputs need are made
 * (walking back from the output keys), which culls as it goes: slicing a huge array never
 * materialises the blocks it does not touch. `{ cull: false }` makes every block of every
 * array involved (for tests of `cull`).
 */
export function buildGraph(outputs: readonly ChunkedArray[], opts: { cull?: boolean } = {}): Graph {
  const arrays = collectArrays(outputs);
  const outs = outputKeys(outputs);
  if (opts.cull === false) {
    const tasks = [...arrays.values()].flatMap((a) => a.keys().map((k) => taskOf(a, keyIndex(k))));
    return { tasks, outputs: outs };
  }
  const tasks = new Map<string, TaskSpec>();
  const stack = [...outs];
  while (stack.length) {
    const key = stack.pop()!;
    if (tasks.has(key)) continue;
    const t = taskOf(arrays.get(keyGroup(key))!, keyIndex(key));
    tasks.set(key, t);
    for (const d of t.deps) if (!tasks.has(d)) stack.push(d);
  }
  return { tasks: [...tasks.values()].reverse(), outputs: outs };
}
