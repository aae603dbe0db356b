import { type Graph, type TaskSpec, validateGraph } from '@tessera/protocol';
import type { ChunkedArray, NDArray } from '../src/array.js';
import { assembleResult } from '../src/results.js';
import { type TestKernel, interpret } from './interpret.js';
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

/** Compute arrays with the test interpreter: what the engine should give. */
export function run(a: ChunkedArray, kernels: Record<string, TestKernel> = {}, opts: { fuse?: boolean } = {}): NDArray | number {
  const g = graphOf(a, opts);
  const chunks = interpret(g, kernels);
  return assembleResult(a, a.keys().map((k) => chunks.get(k)!));
}

/** Run and return the data as a plain number list (0-d gives [value]). */
export function values(a: ChunkedArray, kernels: Record<string, TestKernel> = {}, opts: { fuse?: boolean } = {}): number[] {
  const r = run(a, kernels, opts);
  return typeof r === 'number' ? [r] : [...r.data];
}
