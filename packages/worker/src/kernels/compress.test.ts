import { describe, expect, it } from 'vitest';
import { OPS, type Chunk } from '@tessera/protocol';
import { executeTask } from './index.js';

const task = (op: string, params: Record<string, unknown>, shape: number[], dtype: Chunk['dtype']) => ({ key: `${op}-00000000000000ff:0`, op, params, shape, dtype });
const bools = (v: number[]): Chunk => ({ dtype: 'bool', shape: [v.length], data: new Uint8Array(v) });

describe('compress and count-nonzero kernels', () => {
  it('select slices along any axis, of any dtype, and count the condition', () => {
    const x: Chunk = { dtype: 'int64', shape: [2, 3, 2], data: BigInt64Array.from([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n, -(2n ** 62n)]) };
    const mid = executeTask(task('compress', { axis: 1 }, [2, 2, 2], 'int64'), [x, bools([1, 0, 1])]);
    expect([...mid.data]).toEqual([0n, 1n, 4n, 5n, 6n, 7n, 10n, -(2n ** 62n)]);
    const first = executeTask(task('compress', { axis: 0 }, [1, 3, 2], 'int64'), [x, bools([0, 1])]);
    expect([...first.data]).toEqual([6n, 7n, 8n, 9n, 10n, -(2n ** 62n)]);
    const f: Chunk = { dtype: 'float32', shape: [5], data: Float32Array.from([1, NaN, -0, 4, 5]) };
    expect([...executeTask(task('compress', { axis: 0 }, [0], 'float32'), [f, bools([0, 0, 0, 0, 0])]).data]).toEqual([]);
    expect(executeTask(task('compress', { axis: 0 }, [3], 'float32'), [f, bools([0, 1, 1, 0, 1])]).data).toEqual(Float32Array.from([NaN, -0, 5]));
    expect([...executeTask(task('count-nonzero', {}, [1], 'int64'), [bools([1, 0, 1, 1])]).data]).toEqual([3n]);
  });

  it('refuse a declared count the condition does not give, and the validator refuses bad declarations', () => {
    const f: Chunk = { dtype: 'float64', shape: [3], data: Float64Array.from([1, 2, 3]) };
    expect(() => executeTask(task('compress', { axis: 0 }, [1], 'float64'), [f, bools([1, 1, 0])])).toThrow(/keeps 2 of 3 along axis 0, the task declares 1/);
    const check = OPS.compress.check;
    const x = { shape: [4, 5], dtype: 'float64' as const };
    expect(check({ axis: 1 }, [x, { shape: [5], dtype: 'bool' }], { shape: [4, 2], dtype: 'float64' })).toBeUndefined();
    expect(check({ axis: 1 }, [x, { shape: [4], dtype: 'bool' }], { shape: [4, 2], dtype: 'float64' })).toMatch(/1-D bool of the input's extent 5 along axis 1/);
    expect(check({ axis: 1 }, [x, { shape: [5], dtype: 'uint8' }], { shape: [4, 2], dtype: 'float64' })).toMatch(/must be a 1-D bool/);
    expect(check({ axis: 1 }, [x, { shape: [5], dtype: 'bool' }], { shape: [4, 6], dtype: 'float64' })).toMatch(/not a selection/);
    expect(check({ axis: 2 }, [x, { shape: [5], dtype: 'bool' }], { shape: [4, 2], dtype: 'float64' })).toMatch(/axis 2 of a 2-D input/);
    expect(OPS['count-nonzero'].check({}, [{ shape: [3], dtype: 'bool' }], { shape: [1], dtype: 'int32' })).toMatch(/gives int64\[1\]/);
  });
});
