import { describe, expect, it } from 'vitest';
import { KernelNotFoundError, setBufferSource, type Chunk } from '@tessera/protocol';
import { executeTask, getKernel, registerKernel, type UserKernel } from './index.js';

let n = 0;
const key = (op: string): string => `${op}-0123456789abcdef:${n++}`;
const mb = (kernel: string, shape: number[], params: Record<string, unknown> = {}) => ({
  key: key('map-blocks'), op: 'map-blocks', params: { kernel, params, blockIndex: [1, 2] }, shape, dtype: 'float64' as const,
});

describe('user kernels (map-blocks)', () => {
  const x: Chunk = { dtype: 'float64', shape: [2, 3], data: new Float64Array([1, 2, 3, 4, 5, 6]) };

  it('runs a registered kernel with params and context; a bare typed array becomes the chunk', () => {
    let seen: unknown;
    const k: UserKernel = (inputs, params, ctx) => {
      seen = ctx;
      return (inputs[0]!.data as Float64Array).map((v) => v * (params.factor as number));
    };
    registerKernel('test.scale', k);
    registerKernel('test.scale', k); // same function again: fine
    expect(getKernel('test.scale')).toBe(k);
    const out = executeTask(mb('test.scale', [2, 3], { factor: 3 }), [x]);
    expect([...out.data]).toEqual([3, 6, 9, 12, 15, 18]);
    expect(out.data.buffer).toBeInstanceOf(SharedArrayBuffer); // copied off the private buffer
    expect(seen).toMatchObject({ blockIndex: [1, 2], shape: [2, 3], dtype: 'float64' });
  });

  it('ctx.alloc() hands the kernel the recycled output buffer, zeroed, and keeps it without a copy', () => {
    const dirty = new SharedArrayBuffer(6 * 8);
    new Float64Array(dirty).fill(7);
    registerKernel('test.alloc', ([c], _p, ctx) => {
      const out = ctx.alloc() as Float64Array;
      expect([...out]).toEqual([0, 0, 0, 0, 0, 0]);
      c!.data.forEach((v, i) => (out[i] = (v as number) + 1));
      return out;
    });
    let handed = dirty as SharedArrayBuffer | undefined;
    setBufferSource((bytes) => {
      const b = handed?.byteLength === bytes ? handed : undefined;
      if (b) handed = undefined;
      return b;
    });
    try {
      const out = executeTask(mb('test.alloc', [2, 3]), [x]);
      expect(out.data.buffer).toBe(dirty);
      expect([...out.data]).toEqual([2, 3, 4, 5, 6, 7]);
    } finally {
      setBufferSource(undefined);
    }
  });

  it('rejects a wrong shape, dtype or length with a message naming the kernel', () => {
    registerKernel('test.badshape', () => ({ dtype: 'float64', shape: [3, 2], data: new Float64Array(6) }));
    expect(() => executeTask(mb('test.badshape', [2, 3]), [x])).toThrow(/kernel "test.badshape".*expected float64\(2, 3\), got float64\(3, 2\)/);
    registerKernel('test.badtype', () => new Float32Array(6));
    expect(() => executeTask(mb('test.badtype', [2, 3]), [x])).toThrow(/kernel "test.badtype".*does not match/);
    registerKernel('test.badlen', () => new Float64Array(5));
    expect(() => executeTask(mb('test.badlen', [2, 3]), [x])).toThrow(/kernel "test.badlen".*5 elements/);
    registerKernel('test.notarray', () => [1, 2, 3] as unknown as Float64Array);
    expect(() => executeTask(mb('test.notarray', [3]), [x])).toThrow(/kernel "test.notarray"/);
  });

  it('unknown names throw KernelNotFoundError; names are validated; no silent replacement', () => {
    expect(() => executeTask(mb('test.nope', [1]), [])).toThrow(KernelNotFoundError);
    expect(() => getKernel('test.nope')).toThrow(KernelNotFoundError);
    registerKernel('test.once', () => new Float64Array(1));
    expect(() => registerKernel('test.once', () => new Float64Array(1))).toThrow(/already registered/);
    expect(() => registerKernel('', () => new Float64Array(1))).toThrow(/non-empty/);
    expect(() => registerKernel('x'.repeat(201), () => new Float64Array(1))).toThrow(/200/);
  });
});

describe('executeTask', () => {
  it('rejects bad params with the op and path, unknown ops, and persisted', () => {
    const t = { key: key('full'), op: 'full', params: { value: 'x' }, shape: [1], dtype: 'float64' as const };
    expect(() => executeTask(t, [])).toThrow(/bad full params: value/);
    expect(() => executeTask({ ...t, op: 'nope' }, [])).toThrow(/unknown op/);
    expect(() => executeTask({ ...t, op: 'persisted', params: {} }, [])).toThrow(/persisted/);
  });

  it('checks the kernel output against the declared dtype and shape', () => {
    const t = { key: key('full'), op: 'full', params: { value: 1 }, shape: [2], dtype: 'float64' as const };
    expect(executeTask(t, []).data.length).toBe(2);
    const x: Chunk = { dtype: 'float64', shape: [4], data: new Float64Array(4) };
    const bad = { key: key('reshape'), op: 'reshape', params: { shape: [2, 2] }, shape: [4], dtype: 'float64' as const };
    expect(() => executeTask(bad, [x])).toThrow(/produced a bad chunk: expected float64\(4,\), got float64\(2, 2\)/);
  });

  it('trusted mode skips parsing and gives the same result', () => {
    const t = { key: key('arange'), op: 'arange', params: { start: 1, step: 2 }, shape: [4], dtype: 'int32' as const };
    expect([...executeTask(t, [], { trusted: true }).data]).toEqual([...executeTask(t, []).data]);
  });
});
