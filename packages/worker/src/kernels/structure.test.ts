import { describe, expect, it } from 'vitest';
import { DTYPES, lanes, typedArrayCtor, type Chunk, type Dtype, type Piece } from '@tessera/protocol';
import { executeTask } from './index.js';
import { flat, forEachIndex, setNumber } from './reference.test-util.js';

function iota(dtype: Dtype, shape: number[]): Chunk {
  const data = new (typedArrayCtor(dtype))(shape.reduce((a, b) => a * b, 1) * lanes(dtype));
  for (let i = 0; i < data.length; i++) setNumber(data, i, dtype === 'uint8' ? (i * 7 + 3) & 255 : i * 1.5 - 40);
  return { dtype, shape, data };
}

/** Copy element `s` of src to element `d` of dst: both halves of a complex one. */
function copyElement(dtype: Dtype, dst: Chunk['data'], d: number, src: Chunk['data'], s: number): void {
  const l = lanes(dtype);
  for (let k = 0; k < l; k++) dst[d * l + k] = src[s * l + k]!;
}

let n = 0;
const task = (op: string, params: Record<string, unknown>, shape: number[], dtype: Dtype) => ({ key: `${op}-0123456789abcdef:${n++}`, op, params, shape, dtype });

describe('transpose', () => {
  const cases: { shape: number[]; axes: number[] }[] = [
    { shape: [7, 5], axes: [1, 0] },
    { shape: [70, 33], axes: [1, 0] },
    { shape: [3, 4, 5], axes: [2, 0, 1] },
    { shape: [3, 4, 5], axes: [0, 2, 1] },
    { shape: [2, 3, 4, 5], axes: [3, 1, 0, 2] },
    { shape: [1], axes: [0] },
    { shape: [], axes: [] },
    { shape: [0, 3], axes: [1, 0] },
    { shape: [6, 1, 4], axes: [1, 2, 0] },
  ];
  for (const dt of DTYPES) {
    it(`matches index arithmetic (${dt})`, () => {
      for (const c of cases) {
        const x = iota(dt, c.shape);
        const outShape = c.axes.map((a) => c.shape[a]!);
        const out = executeTask(task('transpose', { axes: c.axes }, outShape, dt), [x]);
        expect(out.shape).toEqual(outShape);
        const want = new (typedArrayCtor(dt))(out.data.length);
        forEachIndex(outShape, (o) => {
          const src = new Array<number>(c.shape.length);
          c.axes.forEach((a, i) => (src[a] = o[i]!));
          copyElement(dt, want, flat(outShape, o), x.data, flat(c.shape, src));
        });
        expect(out.data).toEqual(want);
      }
    });
  }
});

describe('reshape', () => {
  it('is a zero-copy view with the new shape', () => {
    for (const dt of DTYPES) {
      const x = iota(dt, [6, 4]);
      const out = executeTask(task('reshape', { shape: [2, 3, 4] }, [2, 3, 4], dt), [x]);
      expect(out.shape).toEqual([2, 3, 4]);
      expect(out.data).toBe(x.data);
    }
    expect(() => executeTask(task('reshape', { shape: [5] }, [5], 'float64'), [iota('float64', [6])])).toThrow(/cannot reshape|expected/);
  });
});

describe('assemble', () => {
  /** The reference: loops over each piece's region. */
  function ref(pieces: Piece[], inputs: Chunk[], shape: number[], dtype: Dtype): Chunk {
    const data = new (typedArrayCtor(dtype))(shape.reduce((a, b) => a * b, 1) * lanes(dtype));
    for (const p of pieces) {
      const x = inputs[p.input]!;
      forEachIndex(p.src.map((s) => s.count), (i) => {
        copyElement(dtype, data, flat(shape, i.map((v, k) => v + p.dst[k]!)), x.data, flat(x.shape, i.map((v, k) => p.src[k]!.start + v * p.src[k]!.step)));
      });
    }
    return { dtype, shape, data };
  }
  for (const dt of DTYPES) {
    it(`slices, negative steps, concatenation, zero fill (${dt})`, () => {
      const a = iota(dt, [7, 5]);
      const b = iota(dt, [3, 5]);
      const cases: { pieces: Piece[]; shape: number[] }[] = [
        // a[1:6:2, ::-1]
        { shape: [3, 5], pieces: [{ input: 0, src: [{ start: 1, step: 2, count: 3 }, { start: 4, step: -1, count: 5 }], dst: [0, 0] }] },
        // concatenate a and b along axis 0
        { shape: [10, 5], pieces: [
          { input: 0, src: [{ start: 0, step: 1, count: 7 }, { start: 0, step: 1, count: 5 }], dst: [0, 0] },
          { input: 1, src: [{ start: 0, step: 1, count: 3 }, { start: 0, step: 1, count: 5 }], dst: [7, 0] },
        ] },
        // a[::-3, 1:3] into the middle of a bigger zeroed output
        { shape: [5, 6], pieces: [{ input: 0, src: [{ start: 6, step: -3, count: 3 }, { start: 1, step: 1, count: 2 }], dst: [1, 3] }] },
        // empty piece and a single element
        { shape: [2, 2], pieces: [
          { input: 1, src: [{ start: 0, step: 1, count: 0 }, { start: 0, step: 1, count: 2 }], dst: [0, 0] },
          { input: 1, src: [{ start: 2, step: 1, count: 1 }, { start: 4, step: 1, count: 1 }], dst: [1, 1] },
        ] },
        { shape: [0, 5], pieces: [] },
      ];
      for (const c of cases) {
        const out = executeTask(task('assemble', { pieces: c.pieces }, c.shape, dt), [a, b]);
        expect(out.data).toEqual(ref(c.pieces, [a, b], c.shape, dt).data);
      }
    });
  }

  it('3-D with a negative middle step', () => {
    const x = iota('float32', [4, 5, 6]);
    const pieces: Piece[] = [{ input: 0, src: [{ start: 1, step: 1, count: 3 }, { start: 4, step: -2, count: 3 }, { start: 0, step: 1, count: 6 }], dst: [0, 0, 0] }];
    const out = executeTask(task('assemble', { pieces }, [3, 3, 6], 'float32'), [x]);
    expect(out.data).toEqual(ref(pieces, [x], [3, 3, 6], 'float32').data);
  });

  it('rejects an out-of-bounds piece', () => {
    const x = iota('float64', [3]);
    const pieces: Piece[] = [{ input: 0, src: [{ start: 1, step: 1, count: 3 }], dst: [0] }];
    expect(() => executeTask(task('assemble', { pieces }, [3], 'float64'), [x])).toThrow(/out of bounds/);
  });
});
