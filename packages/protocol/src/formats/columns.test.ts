import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { arrowDtype, columnInto, numericColumns, tableOfColumns } from './columns.js';
import { hdf5Dtype } from './hdf5.js';

describe('Arrow columns as chunks', () => {
  it('maps every numeric Arrow type to its dtype and names why others have none', () => {
    const cases: [arrow.DataType, string][] = [
      [new arrow.Float64(), 'float64'], [new arrow.Float32(), 'float32'], [new arrow.Int64(), 'int64'], [new arrow.Int8(), 'int8'],
      [new arrow.Uint64(), 'uint64'], [new arrow.Uint16(), 'uint16'], [new arrow.Bool(), 'bool'],
    ];
    for (const [t, d] of cases) expect(arrowDtype(t), String(t)).toBe(d);
    expect(arrowDtype(new arrow.Float16())).toMatch(/float16, which Tessera lacks/);
    expect(arrowDtype(new arrow.Utf8())).toBe('Utf8 (not a numeric type)');
  });

  it('picks numeric columns, or checks the named ones', () => {
    const t = arrow.tableFromArrays({ a: Float64Array.of(1), s: ['x'], b: Int32Array.of(2) });
    expect(numericColumns(t.schema.fields, undefined, 'f')).toEqual([{ name: 'a', dtype: 'float64' }, { name: 'b', dtype: 'int32' }]);
    expect(() => numericColumns(t.schema.fields, ['s'], 'f')).toThrow(/f: column "s" is Dictionary<Int32, Utf8> \(not a numeric type\)/);
    expect(() => numericColumns(t.schema.fields, ['z'], 'f')).toThrow(/f has no column "z" \(it has a, s, b\)/);
  });

  it('copies columns of several pieces, at a bit offset, with float nulls as NaN; integer nulls refused', () => {
    const v = arrow.vectorFromArray([1.5, null, 3, 4, null], new arrow.Float64()).concat(arrow.vectorFromArray([7], new arrow.Float64()));
    const out = new Float64Array(6);
    columnInto(v, out, 'float64', 'x');
    expect(Array.from(out)).toEqual([1.5, NaN, 3, 4, NaN, 7]);
    const bools = arrow.vectorFromArray([true, false, true, true, false, false, true, false, true, true], new arrow.Bool()).slice(3);
    const bo = new Uint8Array(7);
    columnInto(bools, bo, 'bool', 'b');
    expect(Array.from(bo)).toEqual([1, 0, 0, 1, 0, 1, 1]);
    expect(() => columnInto(arrow.vectorFromArray([1, null], new arrow.Int32()), new Int32Array(2), 'int32', 'where')).toThrow(/where: 1 nulls in a int32 column/);
    expect(() => columnInto(v, new Float64Array(5), 'float64', 'w')).toThrow(/w: 6 values where 5 were expected/);
  });

  it('builds a table that views the chunks (bools packed into bits) and reads back the same', () => {
    const f = Float64Array.of(1, 2, 3);
    const b = Uint8Array.of(1, 0, 1);
    const i = BigUint64Array.of(2n ** 64n - 1n, 0n, 5n);
    const t = tableOfColumns([{ name: 'f', dtype: 'float64', data: f }, { name: 'b', dtype: 'bool', data: b }, { name: 'u', dtype: 'uint64', data: i }]);
    expect(t.getChild('f')!.data[0]!.values).toBe(f);
    expect(t.getChild('b')!.toArray()).toEqual([true, false, true].map(Boolean) as never);
    const back = arrow.tableFromIPC(arrow.tableToIPC(t));
    const u = new BigUint64Array(3);
    columnInto(back.getChild('u')!, u, 'uint64', 'u');
    expect(u).toEqual(i);
  });
});

describe('HDF5 types', () => {
  it('maps integer, float and h5py bool types; names the rest', () => {
    expect(hdf5Dtype({ type: 0, size: 8, signed: true })).toBe('int64');
    expect(hdf5Dtype({ type: 0, size: 2, signed: false })).toBe('uint16');
    expect(hdf5Dtype({ type: 1, size: 4, signed: false })).toBe('float32');
    expect(hdf5Dtype({ type: 8, size: 1, signed: true, enum_type: { members: { FALSE: 0, TRUE: 1 } } })).toBe('bool');
    expect(hdf5Dtype({ type: 8, size: 1, signed: true, enum_type: { members: { RED: 0, GREEN: 1 } } })).toMatch(/enum of 1 bytes/);
    expect(hdf5Dtype({ type: 1, size: 2, signed: false })).toMatch(/float16/);
    expect(hdf5Dtype({ type: 6, size: 16, signed: false })).toMatch(/compound of 16 bytes/);
  });
});
