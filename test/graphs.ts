import type { Dtype, Graph, TaskSpec } from '@tessera/protocol';
import { itemsize } from '@tessera/protocol';

/** Hand-built low-level graphs for engine tests (the client builds these from array code). */
export function task(key: string, op: string, params: Record<string, unknown>, deps: string[], shape: number[], dtype: Dtype = 'float64', priority = 0): TaskSpec {
  return { key, op, params, deps, shape, dtype, nbytes: shape.reduce((a, b) => a * b, 1) * itemsize(dtype), priority };
}

/** n chunks of `value` (size `len` each), each plus 1, summed by one final merge. */
export function sumGraph(n: number, len: number, value: number, token = '0123456789abcdef'): { graph: Graph; expected: number } {
  const tasks: TaskSpec[] = [];
  const partials: string[] = [];
  for (let i = 0; i < n; i++) {
    tasks.push(task(`full-${token}:${i}`, 'full', { value }, [], [len], 'float64', 3 * i));
    const p = `add-${token}:${i}`;
    tasks.push(
      task(p, 'elementwise', {
        program: [{ op: 'add', args: [{ input: 0 }, { const: 1, dtype: 'float64' }], dtype: 'float64' }],
        inputs: [{}],
        domain: [len],
        reduce: { kind: 'sum', axes: [0] },
      }, [`full-${token}:${i}`], [1, 1], 'float64', 3 * i + 1),
    );
    partials.push(p);
  }
  const out = `sum-${token}:`;
  tasks.push(task(out, 'reduce-merge', { kind: 'sum', axes: [0], final: { dtype: 'float64', keepdims: false, ddof: 0 } }, partials, [], 'float64', 3 * n));
  return { graph: { tasks, outputs: [out] }, expected: n * len * (value + 1) };
}
