import { type Graph, type TaskSpec, validateGraph } from '@tessera/protocol';
import type { ChunkedArray } from '../src/array.js';
import { toGraph } from '../src/graph/optimize.js';

/** The optimised graph of some arrays, asserted valid. */
export function graphOf(arrays: ChunkedArray | ChunkedArray[], opts: { fuse?: boolean } = {}): Graph {
  const g = toGraph(Array.isArray(arrays) ? arrays : [arrays], opts);
  validateGraph(g);
  return g;
}

export function countOps(g: Graph): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of g.tasks) out[t.op] = (out[t.op] ?? 0) + 1;
  return out;
}

export function taskByKey(g: Graph, key: string): TaskSpec {
  const t = g.tasks.find((x) => x.key === key);
  if (!t) throw new Error(`no task ${key}`);
  return t;
}
