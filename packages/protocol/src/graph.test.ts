import { describe, expect, it } from 'vitest';
import { decodeGraph, encodeGraph, validateGraph, type Graph, type TaskSpec } from './graph.js';
import { GraphValidationError } from './errors.js';
import { itemsize } from './dtype.js';

const T = '0123456789abcdef';
function t(name: string, op: string, params: Record<string, unknown>, deps: string[], shape: number[], dtype: TaskSpec['dtype'] = 'float64'): TaskSpec {
  const size = itemsize(dtype);
  return { key: `${name}-${T}:0`, op, params, deps: deps.map((d) => `${d}-${T}:0`), shape, dtype, nbytes: shape.reduce((a, b) => a * b, 1) * size, priority: 0 };
}
const add = (dtype: TaskSpec['dtype'] = 'float64') => ({
  program: [{ op: 'add', args: [{ input: 0 }, { input: 1 }], dtype }],
  inputs: [{}, {}],
  domain: [2, 3],
});

function issues(g: unknown): string[] {
  try {
    validateGraph(g);
  } catch (e) {
    expect(e).toBeInstanceOf(GraphValidationError);
    return (e as GraphValidationError).issues.map((i) => (i.key ? `${i.key}: ${i.message}` : i.message));
  }
  return [];
}

describe('validateGraph', () => {
  const ok: Graph = {
    tasks: [t('a', 'full', { value: 1 }, [], [2, 3]), t('b', 'full', { value: 2 }, [], [1, 3]), t('c', 'elementwise', add(), ['a', 'b'], [2, 3])],
    outputs: [`c-${T}:0`],
  };

  it('accepts a well-formed graph and round-trips it through msgpack', () => {
    expect(issues(ok)).toEqual([]);
    expect(decodeGraph(encodeGraph(ok))).toEqual(ok);
  });

  it('names a missing dependency', () => {
    const g = { ...ok, tasks: ok.tasks.slice(1) };
    expect(issues(g)).toEqual([`c-${T}:0: depends on a-${T}:0, which is not in the graph`]);
  });

  it('names an unknown op and bad parameters', () => {
    const g = { tasks: [t('a', 'frobnicate', {}, [], [1]), t('b', 'full', { value: 'x' }, [], [1])], outputs: [`a-${T}:0`] };
    const got = issues(g);
    expect(got[0]).toBe(`a-${T}:0: unknown op "frobnicate"`);
    expect(got[1]).toMatch(new RegExp(`^b-${T}:0: bad full params: value: Expected a number`));
  });

  it('finds a cycle and prints it', () => {
    const g = { tasks: [t('a', 'transpose', { axes: [0] }, ['b'], [2]), t('b', 'transpose', { axes: [0] }, ['a'], [2])], outputs: [`a-${T}:0`] };
    expect(issues(g)[0]).toMatch(/dependency cycle: (a|b)-\w+:0 -> (a|b)-\w+:0 -> (a|b)-\w+:0/);
  });

  it('checks shapes against the op rule', () => {
    const g = { tasks: [t('a', 'full', { value: 1 }, [], [2, 3]), t('b', 'full', { value: 2 }, [], [4, 3]), t('c', 'elementwise', add(), ['a', 'b'], [2, 3])], outputs: [`c-${T}:0`] };
    expect(issues(g)).toEqual([`c-${T}:0: elementwise: inputs (2, 3), (4, 3) do not broadcast to domain (2, 3)`]);
    const tr = { tasks: [t('a', 'full', { value: 1 }, [], [2, 3]), t('b', 'transpose', { axes: [1, 0] }, ['a'], [2, 3])], outputs: [`b-${T}:0`] };
    expect(issues(tr)[0]).toMatch(/transposing \(2, 3\) gives \(3, 2\), declared \(2, 3\)/);
  });

  it('checks declared dtypes against promotion rules', () => {
    const g = { ...ok, tasks: [ok.tasks[0]!, ok.tasks[1]!, t('c', 'elementwise', add('int32'), ['a', 'b'], [2, 3], 'int32')] };
    expect(issues(g)[0]).toMatch(/instruction 0 \(add\) of float64, float64 gives float64, declared int32/);
  });

  it('checks nbytes, key format, duplicates and outputs', () => {
    const bad = { ...t('a', 'full', { value: 1 }, [], [2]), nbytes: 3 };
    expect(issues({ tasks: [bad], outputs: [bad.key] })[0]).toMatch(/nbytes 3 but float64 of shape \[2\] is 16 bytes/);
    expect(issues({ tasks: [{ ...bad, key: 'no key' }], outputs: ['no key'] }).join()).toMatch(/task key must look like/);
    const a = t('a', 'full', { value: 1 }, [], [2]);
    expect(issues({ tasks: [a, a], outputs: [a.key] })).toContain(`${a.key}: duplicate task key`);
    expect(issues({ tasks: [a], outputs: [`z-${T}:0`] })).toEqual([`z-${T}:0: output is not a task of the graph`]);
    expect(issues({ tasks: [a], outputs: [] })[0]).toMatch(/outputs/);
  });

  it('checks from-bytes length and partial shapes', () => {
    const fb = t('a', 'from-bytes', { bytes: new Uint8Array(5) }, [], [1]);
    expect(issues({ tasks: [fb], outputs: [fb.key] })[0]).toMatch(/5 bytes cannot hold float64\(1,\)/);
    const g = { tasks: [t('a', 'full', { value: 1 }, [], [4, 6]), t('s', 'reduce-partial', { kind: 'mean', axes: [1] }, ['a'], [4, 1, 1])], outputs: [`s-${T}:0`] };
    expect(issues(g)[0]).toMatch(/partial of mean over \(4, 6\) has shape \(4, 1, 2\), declared \(4, 1, 1\)/);
  });

  it('rejects garbage bytes as msgpack with a validation error', () => {
    expect(() => decodeGraph(new Uint8Array([0xc1, 0xff, 0x00]))).toThrow(GraphValidationError);
    expect(() => decodeGraph(encodeGraph({ hello: 1 } as unknown as Graph))).toThrow(/tasks: Required/);
  });

  it('caps the issue list and summarises the rest in the message', () => {
    const tasks = Array.from({ length: 80 }, (_, i) => ({ ...t('a', 'nope', {}, [], [1]), key: `a-${T}:${i}` }));
    let err: GraphValidationError | undefined;
    try {
      validateGraph({ tasks, outputs: [tasks[0]!.key] });
    } catch (e) {
      err = e as GraphValidationError;
    }
    expect(err!.issues.length).toBeLessThanOrEqual(50);
    expect(err!.message).toMatch(/and \d+ more/);
  });
});
