import { describe, expect, it } from 'vitest';
import { MAX_CHAIN, type TaskSpec } from '@tessera/protocol';
import { ChainIndex } from './chains.js';

const key = (name: string, i: number): string => `${name}-0123456789abcdef:${i}`;
function spec(k: string, deps: string[], over: Partial<TaskSpec> = {}): TaskSpec {
  return { key: k, op: 'elementwise', params: {}, deps, shape: [1], dtype: 'float64', nbytes: 8, priority: 0, ...over };
}

describe('ChainIndex', () => {
  it('chains tiny built-in tasks whose only input is the one before, up to MAX_CHAIN, while each is free', () => {
    const n = MAX_CHAIN + 10;
    const tasks = [spec(key('x', 0), [])];
    for (let i = 1; i <= n; i++) tasks.push(spec(key('x', i), [key('x', i - 1)]));
    const index = new ChainIndex();
    index.add('g', tasks);
    const all = index.after('g', tasks[0]!, () => true);
    expect(all.map((t) => t.key)).toEqual(tasks.slice(1, MAX_CHAIN + 1).map((t) => t.key));
    // Stops at the first task that is taken (running, or held for another graph).
    const taken = key('x', 5);
    expect(index.after('g', tasks[0]!, (t) => t.key !== taken)).toHaveLength(4);
    // Another graph, or after the graph is dropped: nothing.
    expect(index.after('h', tasks[0]!, () => true)).toEqual([]);
    index.drop('g');
    expect(index.after('g', tasks[0]!, () => true)).toEqual([]);
  });

  it('leaves out tasks with two inputs, user kernels, GPU tasks and big chunks; an input named twice is one', () => {
    const a = key('a', 0);
    const index = new ChainIndex();
    const twice = spec(key('twice', 0), [a, a]);
    index.add('g', [
      spec(a, []),
      spec(key('two', 0), [a, key('b', 0)]),
      spec(key('kernel', 0), [key('twice', 0)], { op: 'map-blocks' }),
      twice,
    ]);
    expect(index.after('g', spec(a, []), () => true)).toEqual([twice]);
    // What follows `twice` is a user kernel: not chained.
    expect(index.after('g', twice, () => true)).toEqual([]);
    const gpu = new ChainIndex();
    gpu.add('g', [spec(key('on-gpu', 0), [a], { device: 'gpu' }), spec(key('big', 0), [a], { nbytes: 2 ** 20 })]);
    expect(gpu.after('g', spec(a, []), () => true)).toEqual([]);
  });

  it('chains a tiny task after a big head (a chunk read, then its partial reduction), but not after a user kernel or a GPU task', () => {
    const index = new ChainIndex();
    const partial = spec(key('partial', 0), [key('read', 0)]);
    index.add('g', [partial]);
    expect(index.after('g', spec(key('read', 0), [], { op: 'read-zarr', nbytes: 2 ** 23 }), () => true)).toEqual([partial]);
    expect(index.after('g', spec(key('read', 0), [], { op: 'map-blocks' }), () => true)).toEqual([]);
    expect(index.after('g', spec(key('read', 0), [], { device: 'gpu' }), () => true)).toEqual([]);
  });
});
