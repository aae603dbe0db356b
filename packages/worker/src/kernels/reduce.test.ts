import { describe, expect, it } from 'vitest';
import {
  REAL_DTYPES,
  isFloat,
  isWideData,
  partialComponents,
  reducedShape,
  reductionResultDtype,
  REDUCTION_KINDS,
  typedArrayCtor,
  type Chunk,
  type Dtype,
  type Instruction,
  type ReductionKind,
} from '@tessera/protocol';
import { executeTask } from './index.js';
import { flat, forEachIndex } from './reference.test-util.js';

// ---------- plain reference ----------

function storeF(dtype: Dtype, v: number): number {
  if (dtype === 'float32') return Math.fround(v);
  if (dtype === 'int32') return v | 0;
  if (dtype === 'uint8') return v & 255;
  return v;
}

/** numpy's x.<kind>(axis=axes) written as loops; argmin/argmax index as numpy reports it. */
function refReduce(x: Chunk, kind: ReductionKind, axes: number[], ddof = 0): { shape: number[]; dtype: Dtype; data: number[] } {
  const all = axes.length === x.shape.length;
  const outShape = reducedShape(x.shape, axes, false);
  const keptAxes = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const redShape = axes.map((a) => x.shape[a]!);
  const dtype = reductionResultDtype(kind, x.dtype);
  const data: number[] = [];
  const visit = (kept: number[]): void => {
    const vals: number[] = [];
    const gidx: number[] = [];
    forEachIndex(redShape, (r) => {
      const full = new Array<number>(x.shape.length);
      keptAxes.forEach((a, i) => (full[a] = kept[i]!));
      axes.forEach((a, i) => (full[a] = r[i]!));
      vals.push(Number(x.data[flat(x.shape, full)]!));
      gidx.push(all ? flat(x.shape, full) : r[0]!);
    });
    const n = vals.length;
    let v: number;
    switch (kind) {
      case 'sum': case 'isum': v = vals.reduce((a, b) => a + b, 0); break;
      case 'prod': case 'iprod': v = vals.reduce((a, b) => a * b, 1); break;
      case 'min': v = vals.some(Number.isNaN) ? NaN : Math.min(...vals); break;
      case 'max': v = vals.some(Number.isNaN) ? NaN : Math.max(...vals); break;
      case 'mean': v = n === 0 ? NaN : vals.reduce((a, b) => a + b, 0) / n; break;
      case 'var':
      case 'std': {
        const m = vals.reduce((a, b) => a + b, 0) / n;
        v = n - ddof <= 0 ? NaN : vals.reduce((a, b) => a + (b - m) * (b - m), 0) / (n - ddof);
        if (kind === 'std') v = Math.sqrt(v);
        break;
      }
      case 'argmin':
      case 'argmax': {
        let best = 0;
        for (let i = 0; i < n; i++) {
          if (Number.isNaN(vals[i]!)) { best = i; break; }
          if (kind === 'argmin' ? vals[i]! < vals[best]! : vals[i]! > vals[best]!) best = i;
        }
        v = gidx[best]!;
        break;
      }
    }
    data.push(storeF(dtype, v));
  };
  if (keptAxes.length === 0) visit([]);
  else forEachIndex(keptAxes.map((a) => x.shape[a]!), visit);
  return { shape: outShape, dtype, data };
}

// ---------- helpers that drive the kernels ----------

let n = 0;
const key = (op: string): string => `${op}-0123456789abcdef:${n++}`;

function partial(x: Chunk, kind: ReductionKind, axes: number[], offset: number[], fullShape: number[]): Chunk {
  const shape = [...reducedShape(x.shape, axes, true), partialComponents(kind)];
  const arg = kind === 'argmin' || kind === 'argmax';
  return executeTask({ key: key('reduce-partial'), op: 'reduce-partial', params: { kind, axes, ...(arg ? { offset, fullShape } : {}) }, shape, dtype: 'float64' }, [x]);
}

function merge(ps: Chunk[], kind: ReductionKind, axes: number[]): Chunk {
  return executeTask({ key: key('reduce-merge'), op: 'reduce-merge', params: { kind, axes }, shape: ps[0]!.shape, dtype: 'float64' }, ps);
}

function finish(ps: Chunk[], kind: ReductionKind, axes: number[], inDtype: Dtype, ddof = 0, keepdims = false): Chunk {
  const vshape = ps[0]!.shape.slice(0, -1);
  const shape = keepdims ? vshape : reducedShape(vshape, axes, false);
  const dtype = reductionResultDtype(kind, inDtype);
  return executeTask({ key: key('reduce-merge'), op: 'reduce-merge', params: { kind, axes, final: { dtype, keepdims, ddof } }, shape, dtype }, ps);
}

/** Slice [start, start+size) per axis, by loops. */
function slice(x: Chunk, start: number[], size: number[]): Chunk {
  const data = new (typedArrayCtor(x.dtype))(size.reduce((a, b) => a * b, 1));
  forEachIndex(size, (i) => (data[flat(size, i)] = x.data[flat(x.shape, i.map((v, k) => v + start[k]!))]!));
  return { dtype: x.dtype, shape: size, data };
}

/** Split x along `axis` at the given cut points; returns chunks with their offsets. */
function split(x: Chunk, axis: number, cuts: number[]): { chunk: Chunk; offset: number[] }[] {
  const bounds = [0, ...cuts, x.shape[axis]!];
  const out: { chunk: Chunk; offset: number[] }[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const start = x.shape.map((_, k) => (k === axis ? bounds[i]! : 0));
    const size = x.shape.map((d, k) => (k === axis ? bounds[i + 1]! - bounds[i]! : d));
    out.push({ chunk: slice(x, start, size), offset: start });
  }
  return out;
}

let seed = 99;
function rnd(): number {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 4294967296;
}

function makeChunk(dtype: Dtype, shape: number[], ties = false): Chunk {
  const data = new (typedArrayCtor(dtype))(shape.reduce((a, b) => a * b, 1));
  const span: Partial<Record<Dtype, number>> = { int64: 2e6, int32: 2e6, int16: 2000, int8: 200 };
  for (let i = 0; i < data.length; i++) {
    const r = rnd();
    const v = ties ? Math.floor(r * 4) : dtype.startsWith('uint') ? Math.floor(r * 256) : span[dtype] ? Math.floor(r * span[dtype]) - span[dtype] / 2 : (r - 0.3) * 100;
    if (isWideData(data)) data[i] = BigInt(v);
    else data[i] = v;
  }
  return { dtype, shape, data };
}

function close(data: ArrayLike<number | bigint>, want: number[], dtype: Dtype, kind: ReductionKind): void {
  const got = Array.from(data, Number);
  expect(got.length).toBe(want.length);
  const tol = kind === 'argmin' || kind === 'argmax' || kind === 'min' || kind === 'max' ? 0 : dtype === 'float32' ? 1e-6 : 1e-12;
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!, w = want[i]!;
    if (Number.isNaN(w)) expect(g, `element ${i}`).toBeNaN();
    else if (tol === 0 || !Number.isFinite(w)) expect(g === w, `element ${i}: got ${g}, want ${w}`).toBe(true);
    else expect(Math.abs(g - w), `element ${i}: got ${g}, want ${w}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(w)));
  }
}

const AXES_CASES: { shape: number[]; axes: number[]; splitAxis: number; cuts: number[] }[] = [
  { shape: [7, 5], axes: [0, 1], splitAxis: 0, cuts: [2, 3, 6] },
  { shape: [7, 5], axes: [0], splitAxis: 0, cuts: [1, 4] },
  { shape: [7, 5], axes: [1], splitAxis: 1, cuts: [2] },
  { shape: [3, 4, 5], axes: [1], splitAxis: 1, cuts: [1, 3] },
  { shape: [3, 4, 5], axes: [0, 2], splitAxis: 2, cuts: [2, 4] },
  { shape: [3, 4, 5], axes: [0, 1, 2], splitAxis: 1, cuts: [2] },
  { shape: [1], axes: [0], splitAxis: 0, cuts: [] },
  { shape: [6000], axes: [0], splitAxis: 0, cuts: [4097, 4100] },
];

describe('reduce-partial + reduce-merge against loops, every kind and dtype', () => {
  for (const kind of REDUCTION_KINDS) {
    for (const dt of REAL_DTYPES) {
      // isum / iprod are the integer sum and prod (the client picks them); products of 1e6-sized
      // integers leave the exact range of the reference's doubles.
      if ((kind === 'isum' || kind === 'iprod') && isFloat(dt)) continue;
      if ((kind === 'prod' || kind === 'iprod') && !isFloat(dt)) continue; // exact wrapping products: wide.test.ts
      it(`${kind} ${dt}`, () => {
        for (const c of AXES_CASES) {
          if ((kind === 'argmin' || kind === 'argmax') && c.axes.length !== 1 && c.axes.length !== c.shape.length) continue;
          const x = makeChunk(dt, c.shape, kind.startsWith('arg'));
          const want = refReduce(x, kind, c.axes, kind === 'var' || kind === 'std' ? 1 : 0);
          const ddof = kind === 'var' || kind === 'std' ? 1 : 0;
          const zeros = c.shape.map(() => 0);
          // one pass
          const one = finish([partial(x, kind, c.axes, zeros, c.shape)], kind, c.axes, dt, ddof);
          expect(one.shape).toEqual(want.shape);
          expect(one.dtype).toBe(want.dtype);
          close(one.data, want.data, dt, kind);
          // chunked, merged in several groupings (what a tree reduction does)
          const parts = split(x, c.splitAxis, c.cuts).map((p) => partial(p.chunk, kind, c.axes, p.offset, c.shape));
          const flatMerge = finish(parts, kind, c.axes, dt, ddof);
          close(flatMerge.data, want.data, dt, kind);
          const rev = finish([...parts].reverse(), kind, c.axes, dt, ddof);
          close(rev.data, want.data, dt, kind);
          let tree = parts;
          while (tree.length > 1) {
            const next: Chunk[] = [];
            for (let i = 0; i < tree.length; i += 2) next.push(i + 1 < tree.length ? merge([tree[i + 1]!, tree[i]!], kind, c.axes) : tree[i]!);
            tree = next;
          }
          close(finish(tree, kind, c.axes, dt, ddof).data, want.data, dt, kind);
        }
      });
    }
  }

  it('keepdims keeps the reduced axes as size 1', () => {
    const x = makeChunk('float64', [3, 4, 5]);
    const out = finish([partial(x, 'sum', [1], [0, 0, 0], [3, 4, 5])], 'sum', [1], 'float64', 0, true);
    expect(out.shape).toEqual([3, 1, 5]);
    close(out.data, refReduce(x, 'sum', [1]).data, 'float64', 'sum');
  });
});

describe('reductions: NaN, ties, empties', () => {
  it('min/max propagate NaN; argmin/argmax return the first NaN, across chunks and orders', () => {
    const x: Chunk = { dtype: 'float64', shape: [8], data: new Float64Array([3, 1, 2, NaN, 0, NaN, -1, 5]) };
    const fs = [8];
    const parts = split(x, 0, [2, 5]).map((p) => ({ ...p }));
    for (const [kind, want] of [['min', NaN], ['max', NaN], ['argmin', 3], ['argmax', 3]] as const) {
      const ps = parts.map((p) => partial(p.chunk, kind, [0], p.offset, fs));
      for (const order of [ps, [...ps].reverse(), [ps[2]!, ps[0]!, ps[1]!]]) {
        const r = finish(order, kind, [0], 'float64');
        if (Number.isNaN(want)) expect(r.data[0]).toBeNaN();
        else expect(Number(r.data[0])).toBe(want);
      }
    }
  });

  it('ties: the first occurrence (smallest global index) wins, whatever the merge order', () => {
    const x: Chunk = { dtype: 'int32', shape: [2, 6], data: new Int32Array([5, 0, 7, 0, 9, 9, 0, 3, 9, 1, 0, 9]) };
    const parts = split(x, 1, [1, 3]);
    for (const [kind, want] of [['argmin', 1], ['argmax', 4]] as const) {
      const ps = parts.map((p) => partial(p.chunk, kind, [0, 1], p.offset, [2, 6]));
      for (const order of [ps, [...ps].reverse()]) expect(Number(finish(order, kind, [0, 1], 'int32').data[0])).toBe(want);
    }
    // along one axis: index along that axis, per row
    const ps = parts.map((p) => partial(p.chunk, 'argmin', [1], p.offset, [2, 6]));
    const r = finish([...ps].reverse(), 'argmin', [1], 'int32');
    expect(r.dtype).toBe('int64');
    expect([...r.data]).toEqual([1n, 0n]);
  });

  it('a global index uses the chunk offset inside fullShape', () => {
    const x: Chunk = { dtype: 'float32', shape: [2, 3], data: new Float32Array([4, 5, 6, 7, -1, 9]) };
    const p = partial(x, 'argmin', [0, 1], [10, 20], [100, 50]);
    expect([...p.data]).toEqual([-1, (11) * 50 + 21]);
  });

  it('empty chunks give identity partials that merge away', () => {
    for (const kind of REDUCTION_KINDS.filter((k) => k !== 'isum' && k !== 'iprod')) {
      const x = makeChunk('float64', [0, 4]);
      const y = makeChunk('float64', [3, 4]);
      const pe = partial(x, kind, [0], [0, 0], [3, 4]);
      const py = partial(y, kind, [0], [0, 0], [3, 4]);
      const want = refReduce(y, kind, [0]);
      close(finish([pe, py], kind, [0], 'float64').data, want.data, 'float64', kind);
      close(finish([py, pe], kind, [0], 'float64').data, want.data, 'float64', kind);
    }
    // sum/prod/mean of nothing
    const e = makeChunk('float64', [0]);
    expect(finish([partial(e, 'sum', [0], [0], [0])], 'sum', [0], 'float64').data[0]).toBe(0);
    expect(finish([partial(e, 'prod', [0], [0], [0])], 'prod', [0], 'float64').data[0]).toBe(1);
    expect(finish([partial(e, 'mean', [0], [0], [0])], 'mean', [0], 'float64').data[0]).toBeNaN();
    expect(finish([partial(e, 'var', [0], [0], [0])], 'var', [0], 'float64').data[0]).toBeNaN();
  });

  it('var with ddof >= count is NaN; float32 sum is float32, an integer sum is exact int64 / uint64', () => {
    const x: Chunk = { dtype: 'float64', shape: [2], data: new Float64Array([1, 3]) };
    expect(finish([partial(x, 'var', [0], [0], [2])], 'var', [0], 'float64', 2).data[0]).toBeNaN();
    expect(finish([partial(x, 'std', [0], [0], [2])], 'std', [0], 'float64', 1).data[0]).toBeCloseTo(Math.SQRT2, 15);
    const f = makeChunk('float32', [10]);
    expect(finish([partial(f, 'sum', [0], [0], [10])], 'sum', [0], 'float32').data).toBeInstanceOf(Float32Array);
    const u: Chunk = { dtype: 'uint8', shape: [3], data: new Uint8Array([255, 255, 255]) };
    const s = finish([partial(u, 'isum', [0], [0], [3])], 'isum', [0], 'uint8');
    expect(s.data).toBeInstanceOf(BigUint64Array);
    expect(s.data[0]).toBe(765n);
    const e = makeChunk('int8', [0]);
    expect(finish([partial(e, 'isum', [0], [0], [0])], 'isum', [0], 'int8').data[0]).toBe(0n);
    expect(finish([partial(e, 'iprod', [0], [0], [0])], 'iprod', [0], 'int8').data[0]).toBe(1n);
  });

  it('var stays accurate with a large mean (Welford/Chan, not sum of squares)', () => {
    const x: Chunk = { dtype: 'float64', shape: [1000], data: new Float64Array(1000).map((_, i) => 1e9 + (i % 2)) };
    const ps = split(x, 0, [333, 500]).map((p) => partial(p.chunk, 'var', [0], p.offset, [1000]));
    expect(finish(ps, 'var', [0], 'float64').data[0]).toBeCloseTo(0.25, 9);
  });
});

describe('elementwise with a fused reduction', () => {
  const ew = (program: Instruction[], inputs: { chunk: Chunk; perm?: number[] }[], domain: number[], reduce?: object, shape?: number[]): Chunk =>
    executeTask(
      {
        key: key('elementwise'),
        op: 'elementwise',
        params: { program, inputs: inputs.map((i) => (i.perm ? { perm: i.perm } : {})), domain, ...(reduce ? { reduce } : {}) },
        shape: shape ?? domain,
        dtype: reduce ? 'float64' : program[program.length - 1]!.dtype,
      },
      inputs.map((i) => i.chunk),
    );

  it('sum(sin(y)**2 + cos(y)**2) is the element count', () => {
    const y = makeChunk('float64', [1000, 37]);
    const prog: Instruction[] = [
      { op: 'sin', args: [{ input: 0 }], dtype: 'float64' },
      { op: 'pow', args: [{ ref: 0 }, { const: 2, dtype: 'float64' }], dtype: 'float64' },
      { op: 'cos', args: [{ input: 0 }], dtype: 'float64' },
      { op: 'pow', args: [{ ref: 2 }, { const: 2, dtype: 'float64' }], dtype: 'float64' },
      { op: 'add', args: [{ ref: 1 }, { ref: 3 }], dtype: 'float64' },
    ];
    const p = ew(prog, [{ chunk: y }], [1000, 37], { kind: 'sum', axes: [0, 1] }, [1, 1, 1]);
    expect(p.data[0]).toBeCloseTo(37000, 8);
  });

  it('fused = materialise then reduce, for every kind, with perm and broadcast inputs', () => {
    const x = makeChunk('float64', [9, 70]);
    const b = makeChunk('int32', [9, 1], true);
    const prog: Instruction[] = [{ op: 'mul', args: [{ input: 0 }, { input: 1 }], dtype: 'float64' }];
    const ins = [{ chunk: x, perm: [1, 0] }, { chunk: b, perm: [1, 0] }];
    const dom = [70, 9];
    const mat = ew(prog, ins, dom);
    for (const kind of REDUCTION_KINDS.filter((k) => k !== 'isum' && k !== 'iprod')) {
      for (const axes of [[0, 1], [0], [1]]) {
        const arg = kind === 'argmin' || kind === 'argmax';
        const spec = { kind, axes, ...(arg ? { offset: [0, 0], fullShape: dom } : {}) };
        const fused = ew(prog, ins, dom, spec, [...reducedShape(dom, axes, true), partialComponents(kind)]);
        const want = refReduce(mat, kind, axes);
        close(finish([fused], kind, axes, 'float64').data, want.data, 'float64', kind);
      }
    }
  });
});
