import { describe, expect, it } from 'vitest';
import {
  REAL_DTYPES,
  isFloat,
  isWide,
  itemsize,
  elementwiseDtypeError,
  elementwiseResultDtype,
  typedArrayCtor,
  type Chunk,
  type Dtype,
  type ElementwiseOp,
  type Instruction,
  type NumericArray,
} from '@tessera/protocol';
import { executeTask } from './index.js';
import { flat, forEachIndex } from './reference.test-util.js';

// ---------- plain reference: one element at a time, numpy's rules written out ----------

/** Store a mathematically exact integer (a BigInt) or a float into a dtype. */
function store(dtype: Dtype, v: number | bigint): number {
  if (dtype === 'bool') return v !== 0 && v !== 0n ? 1 : 0; // NaN is true
  if (typeof v === 'bigint') {
    if (isInt(dtype)) return Number((dtype.startsWith('u') ? BigInt.asUintN : BigInt.asIntN)(itemsize(dtype) * 8, v));
    return dtype === 'float32' ? Math.fround(Number(v)) : Number(v);
  }
  if (dtype === 'float32') return Math.fround(v);
  if (dtype === 'float64') return v;
  // float -> int: truncate toward zero, then wrap (NaN/Inf -> 0 here)
  if (!Number.isFinite(v)) return 0;
  return store(dtype, BigInt(Math.trunc(v)));
}

const isInt = (d: Dtype): boolean => !isFloat(d);
/** The dtypes of number elements (int64 / uint64 have their own tests: wide.test.ts). */
const NUMBER_DTYPES = REAL_DTYPES.filter((d) => !isWide(d));

function refOp(op: ElementwiseOp, args: number[], dtype: Dtype): number {
  const [a = 0, b = 0, c = 0] = args;
  const ints = isInt(dtype);
  switch (op) {
    case 'add': return store(dtype, ints ? BigInt(a) + BigInt(b) : a + b);
    case 'sub': return store(dtype, ints ? BigInt(a) - BigInt(b) : a - b);
    case 'mul': return store(dtype, ints ? BigInt(a) * BigInt(b) : a * b);
    case 'div': return store(dtype, a / b);
    case 'pow':
      if (ints && b >= 0) return store(dtype, BigInt(a) ** BigInt(b));
      return store(dtype, Math.pow(a, b));
    case 'maximum': return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b);
    case 'minimum': return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b);
    case 'lt': return a < b ? 1 : 0;
    case 'le': return a <= b ? 1 : 0;
    case 'gt': return a > b ? 1 : 0;
    case 'ge': return a >= b ? 1 : 0;
    case 'eq': return a === b ? 1 : 0;
    case 'ne': return a !== b ? 1 : 0;
    case 'where': return a !== 0 ? b : c;
    case 'neg': return store(dtype, ints ? -BigInt(a) : -a);
    case 'abs': return store(dtype, ints ? BigInt(Math.abs(a)) : Math.abs(a));
    case 'sqrt': return store(dtype, Math.sqrt(a));
    case 'exp': return store(dtype, Math.exp(a));
    case 'log': return store(dtype, Math.log(a));
    case 'sin': return store(dtype, Math.sin(a));
    case 'cos': return store(dtype, Math.cos(a));
    case 'tanh': return store(dtype, Math.tanh(a));
    // numpy's cast on x86-64: NaN, the infinities and values outside int32 give its minimum (8 and 16 bits: its low bits).
    case 'astype': {
      if (dtype === 'bool') return store(dtype, a);
      if (!isInt(dtype) || dtype === 'uint32' || (Number.isInteger(a) && Math.abs(a) < 2 ** 32)) return store(dtype, a);
      const t = Math.trunc(a);
      return store(dtype, t >= -2147483648 && t <= 2147483647 ? t : -2147483648);
    }
    // The rest of numpy's functions are checked against numpy itself (test/numpy-conformance.test.ts).
    default:
      throw new Error(`no reference for ${op}`);
  }
}

interface TestInput {
  chunk: Chunk;
  perm?: number[];
}

/** Evaluate a program per domain element by walking each input's view explicitly. */
function refEval(program: Instruction[], inputs: TestInput[], domain: number[], dtype: Dtype): NumericArray {
  const n = domain.reduce((a, b) => a * b, 1);
  const out = new (typedArrayCtor(dtype))(n) as NumericArray;
  forEachIndex(domain, (idx) => {
    const read = (i: number): number => {
      const { chunk, perm } = inputs[i]!;
      const r = chunk.shape.length;
      const vshape = perm ? perm.map((p) => chunk.shape[p]!) : chunk.shape;
      const cidx = new Array<number>(r).fill(0);
      for (let k = 0; k < r; k++) {
        const di = idx[domain.length - r + k]!;
        const vi = vshape[k] === 1 ? 0 : di;
        cidx[perm ? perm[k]! : k] = vi;
      }
      return Number(chunk.data[flat(chunk.shape, cidx)]!);
    };
    const vals: number[] = [];
    for (const ins of program) {
      const args = ins.args.map((o) => ('input' in o ? read(o.input) : 'const' in o ? store(o.dtype, o.const) : vals[o.ref]!));
      vals.push(refOp(ins.op, args, ins.dtype));
    }
    out[flat(domain, idx)] = vals[vals.length - 1]!;
  });
  return out;
}

// ---------- data ----------

let seed = 12345;
function rnd(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 4294967296;
}

/** A chunk of one of the number dtypes (the 64-bit ones are wide.test.ts's). */
type NumChunk = Chunk & { data: NumericArray };

function makeChunk(dtype: Dtype, shape: number[], special = true): NumChunk {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new (typedArrayCtor(dtype))(n) as NumericArray;
  const specials: Partial<Record<Dtype, number[]>> = {
    float64: [NaN, Infinity, -Infinity, 0, -0, 1e300, -2.5],
    float32: [NaN, Infinity, -0, 3.4e38, 1.5],
    int32: [-2147483648, 2147483647, 0, -1, 65536],
    int16: [-32768, 32767, 0, -1, 256],
    int8: [-128, 127, 0, -1],
    uint32: [0, 4294967295, 1, 2147483648],
    uint16: [0, 65535, 1, 32768],
    uint8: [0, 255, 1, 128],
    bool: [0, 1],
  };
  const sp = specials[dtype]!;
  for (let i = 0; i < n; i++) {
    if (special && rnd() < 0.15) data[i] = sp[Math.floor(rnd() * sp.length)]!;
    else if (dtype === 'int32' || dtype === 'int16') data[i] = Math.floor(rnd() * 2001) - 1000;
    else if (dtype === 'int8') data[i] = Math.floor(rnd() * 256) - 128;
    else if (dtype === 'bool') data[i] = rnd() < 0.5 ? 0 : 1;
    else if (isInt(dtype)) data[i] = Math.floor(rnd() * 256);
    else data[i] = (rnd() - 0.5) * 10;
  }
  return { dtype, shape, data };
}

/** Distance in units in the last place of the array's float type (0 for equal values). */
function ulps(a: number, b: number, f32: boolean): number {
  const v = new DataView(new ArrayBuffer(16));
  if (f32) {
    v.setFloat32(0, a);
    v.setFloat32(4, b);
    return Math.abs(v.getInt32(0) - v.getInt32(4));
  }
  v.setFloat64(0, a);
  v.setFloat64(8, b);
  const d = v.getBigInt64(0) - v.getBigInt64(8);
  return Number(d < 0n ? -d : d);
}

/** Equal values; `ulp` > 0 allows that many units in the last place (sin and cos are SIMD, not Math). */
function sameValues(got: NumericArray, want: NumericArray, ulp = 0): void {
  expect(got.constructor).toBe(want.constructor);
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!, w = want[i]!;
    const near = ulp > 0 && Math.sign(g) === Math.sign(w) && ulps(g, w, got instanceof Float32Array) <= ulp;
    if (!(Object.is(g, w) || (g === w) || (Number.isNaN(g) && Number.isNaN(w)) || near)) {
      expect.fail(`element ${i}: got ${g}, want ${w}`);
    }
  }
}

let counter = 0;
function run(program: Instruction[], inputs: TestInput[], domain: number[]): NumChunk {
  const dtype = program[program.length - 1]!.dtype;
  return executeTask(
    {
      key: `elementwise-0123456789abcdef:${counter++}`,
      op: 'elementwise',
      params: { program, inputs: inputs.map((i) => (i.perm ? { perm: i.perm } : {})), domain },
      shape: domain,
      dtype,
    },
    inputs.map((i) => i.chunk),
  ) as NumChunk;
}

function check(program: Instruction[], inputs: TestInput[], domain: number[]): void {
  const dtype = program[program.length - 1]!.dtype;
  const out = run(program, inputs, domain);
  expect(out.shape).toEqual(domain);
  expect(out.dtype).toBe(dtype);
  expect(out.data.buffer).toBeInstanceOf(SharedArrayBuffer);
  const trig = program.some((ins) => ins.op === 'sin' || ins.op === 'cos');
  sameValues(out.data, refEval(program, inputs, domain, dtype), trig ? 1 : 0);
}

const UNARY: ElementwiseOp[] = ['neg', 'abs', 'sqrt', 'exp', 'log', 'sin', 'cos', 'tanh'];
const BINARY: ElementwiseOp[] = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'lt', 'le', 'gt', 'ge', 'eq', 'ne'];
const SHAPES = [[7, 5], [1], [], [0, 3], [3, 4, 5], [5000]];

describe('elementwise: every op, every dtype, against the element-at-a-time reference', () => {
  for (const dt of NUMBER_DTYPES) {
    for (const op of UNARY) {
      if (elementwiseDtypeError(op, [dt])) continue; // numpy has no bool negative
      it(`${op} ${dt}`, () => {
        for (const shape of SHAPES) {
          const x = makeChunk(dt, shape);
          check([{ op, args: [{ input: 0 }], dtype: elementwiseResultDtype(op, [dt]) }], [{ chunk: x }], shape);
        }
      });
    }
    for (const dt2 of NUMBER_DTYPES) {
      it(`binary ops ${dt} x ${dt2}`, () => {
        for (const op of BINARY) {
          if (isWide(elementwiseResultDtype(op, [dt, dt2]))) continue; // uint32 with a signed type: int64 (wide.test.ts)
          if (elementwiseDtypeError(op, [dt, dt2])) continue; // bool - bool
          for (const shape of SHAPES) {
            const x = makeChunk(dt, shape);
            // pow: keep exponents small so int results stay meaningful
            const y = op === 'pow' ? makeChunk(dt2, shape, false) : makeChunk(dt2, shape);
            if (op === 'pow') for (let i = 0; i < y.data.length; i++) y.data[i] = isInt(dt2) ? y.data[i]! % 13 : y.data[i]! / 3;
            check([{ op, args: [{ input: 0 }, { input: 1 }], dtype: elementwiseResultDtype(op, [dt, dt2]) }], [{ chunk: x }, { chunk: y }], shape);
          }
        }
      });
    }
    for (const to of NUMBER_DTYPES) {
      it(`astype ${dt} -> ${to}`, () => {
        const x = makeChunk(dt, [9, 11]);
        if (isInt(to) && !isInt(dt)) for (let i = 0; i < x.data.length; i++) if (!Number.isFinite(x.data[i]!)) x.data[i] = 7.9;
        check([{ op: 'astype', args: [{ input: 0 }], dtype: to }], [{ chunk: x }], [9, 11]);
      });
    }
    it(`where with ${dt} branches`, () => {
      const c = makeChunk('uint8', [6, 7]);
      for (let i = 0; i < c.data.length; i++) c.data[i] = c.data[i]! % 2;
      const a = makeChunk(dt, [6, 7]);
      const bt = dt === 'uint32' ? 'uint16' : 'int32';
      const b = makeChunk(bt, [7]);
      check([{ op: 'where', args: [{ input: 0 }, { input: 1 }, { input: 2 }], dtype: elementwiseResultDtype('where', ['uint8', dt, bt]) }],
        [{ chunk: c }, { chunk: a }, { chunk: b }], [6, 7]);
    });
  }

  it('int32 wraps exactly: mul overflow, add overflow, neg/abs of INT_MIN, pow beyond 2^53', () => {
    const x: Chunk = { dtype: 'int32', shape: [4], data: new Int32Array([2147483647, -2147483648, 123456789, 3]) };
    const y: Chunk = { dtype: 'int32', shape: [4], data: new Int32Array([2147483647, -1, 987654321, 40]) };
    const mul = run([{ op: 'mul', args: [{ input: 0 }, { input: 1 }], dtype: 'int32' }], [{ chunk: x }, { chunk: y }], [4]);
    expect(Array.from(mul.data as ArrayLike<number>)).toEqual([1, -2147483648, Number(BigInt.asIntN(32, 123456789n * 987654321n)), 120]);
    const add = run([{ op: 'add', args: [{ input: 0 }, { input: 1 }], dtype: 'int32' }], [{ chunk: x }, { chunk: y }], [4]);
    expect(Array.from(add.data as ArrayLike<number>)).toEqual([-2, 2147483647, 1111111110, 43]);
    const neg = run([{ op: 'neg', args: [{ input: 0 }], dtype: 'int32' }], [{ chunk: x }], [4]);
    expect(Array.from(neg.data as ArrayLike<number>)).toEqual([-2147483647, -2147483648, -123456789, -3]);
    const abs = run([{ op: 'abs', args: [{ input: 0 }], dtype: 'int32' }], [{ chunk: x }], [4]);
    expect(abs.data[1]).toBe(-2147483648);
    const pow = run([{ op: 'pow', args: [{ input: 0 }, { input: 1 }], dtype: 'int32' }], [{ chunk: x }, { chunk: y }], [4]);
    expect(pow.data[3]).toBe(Number(BigInt.asIntN(32, 3n ** 40n)));
  });

  it('uint8 wraps, comparisons give uint8 0/1, NaN compares unequal', () => {
    const x: Chunk = { dtype: 'uint8', shape: [3], data: new Uint8Array([250, 0, 16]) };
    const add = run([{ op: 'add', args: [{ input: 0 }, { const: 10, dtype: 'uint8' }], dtype: 'uint8' }], [{ chunk: x }], [3]);
    expect(Array.from(add.data as ArrayLike<number>)).toEqual([4, 10, 26]);
    const sq = run([{ op: 'pow', args: [{ input: 0 }, { const: 2, dtype: 'uint8' }], dtype: 'uint8' }], [{ chunk: x }], [3]);
    expect(Array.from(sq.data as ArrayLike<number>)).toEqual([(250 * 250) & 255, 0, 0]);
    const neg = run([{ op: 'neg', args: [{ input: 0 }], dtype: 'uint8' }], [{ chunk: x }], [3]);
    expect(Array.from(neg.data as ArrayLike<number>)).toEqual([6, 0, 240]);
    const f: Chunk = { dtype: 'float64', shape: [2], data: new Float64Array([NaN, 1]) };
    const ne = run([{ op: 'ne', args: [{ input: 0 }, { input: 0 }], dtype: 'uint8' }], [{ chunk: f }], [2]);
    expect(ne.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(ne.data as ArrayLike<number>)).toEqual([1, 0]);
  });

  it('maximum/minimum propagate NaN from either side', () => {
    const a: Chunk = { dtype: 'float64', shape: [3], data: new Float64Array([NaN, 1, 2]) };
    const b: Chunk = { dtype: 'float64', shape: [3], data: new Float64Array([0, NaN, 1]) };
    const mx = run([{ op: 'maximum', args: [{ input: 0 }, { input: 1 }], dtype: 'float64' }], [{ chunk: a }, { chunk: b }], [3]);
    expect(Array.from(mx.data as ArrayLike<number>)).toEqual([NaN, NaN, 2]);
    const mn = run([{ op: 'minimum', args: [{ input: 0 }, { input: 1 }], dtype: 'float64' }], [{ chunk: a }, { chunk: b }], [3]);
    expect(Array.from(mn.data as ArrayLike<number>)).toEqual([NaN, NaN, 1]);
  });

  it('float32 rounds after every instruction, not only at the end', () => {
    const x: Chunk = { dtype: 'float32', shape: [1], data: new Float32Array([16777216]) };
    // (x + 1) - x in float32 is 0 (16777217 is not a float32); in float64 it would be 1.
    const out = run([
      { op: 'add', args: [{ input: 0 }, { const: 1, dtype: 'float32' }], dtype: 'float32' },
      { op: 'sub', args: [{ ref: 0 }, { input: 0 }], dtype: 'float32' },
    ], [{ chunk: x }], [1]);
    expect(out.data[0]).toBe(0);
  });

  it('multi-instruction programs with refs, constants and mixed dtypes', () => {
    const x = makeChunk('float32', [13, 17]);
    const k = makeChunk('int32', [13, 1]);
    const prog: Instruction[] = [
      { op: 'mul', args: [{ input: 0 }, { const: 2.5, dtype: 'float32' }], dtype: 'float32' },
      { op: 'add', args: [{ ref: 0 }, { input: 1 }], dtype: 'float64' },
      { op: 'sin', args: [{ ref: 1 }], dtype: 'float64' },
      { op: 'gt', args: [{ ref: 2 }, { const: 0, dtype: 'float64' }], dtype: 'uint8' },
      { op: 'where', args: [{ ref: 3 }, { ref: 2 }, { ref: 0 }], dtype: 'float64' },
      { op: 'maximum', args: [{ ref: 4 }, { ref: 1 }], dtype: 'float64' },
    ];
    check(prog, [{ chunk: x }, { chunk: k }], [13, 17]);
  });

  it('a float64 astype of an input is the input itself: as the result, reduced, and next to other reads of the input', () => {
    for (const dt of NUMBER_DTYPES) {
      const x = makeChunk(dt, [3, 4500]); // rows longer than a tile
      check([{ op: 'astype', args: [{ input: 0 }], dtype: 'float64' }], [{ chunk: x }], [3, 4500]);
      check([{ op: 'astype', args: [{ input: 0 }], dtype: 'float64' }], [{ chunk: x, perm: [1, 0] }], [4500, 3]);
      check([
        { op: 'astype', args: [{ input: 0 }], dtype: 'float64' },
        { op: 'mul', args: [{ ref: 0 }, { const: 3, dtype: 'float64' }], dtype: 'float64' },
        { op: 'neg', args: [{ input: 0 }], dtype: dt === 'uint8' ? 'uint8' : dt },
        { op: 'sub', args: [{ ref: 1 }, { ref: 2 }], dtype: 'float64' },
      ], [{ chunk: x }], [3, 4500]);
    }
  });

  it('sin and cos of one operand are computed together, whichever comes first, with values live in between', () => {
    const x = makeChunk('float64', [9000]); // more than one tile
    const f = makeChunk('float32', [9000]);
    /** Within 1e-15 (relative above 1) of the Math reference: the SIMD sin and cos are within 1 ulp. */
    const near = (prog: Instruction[], c: Chunk): NumericArray => {
      const got = run(prog, [{ chunk: c }], [9000]).data, want = refEval(prog, [{ chunk: c }], [9000], prog[prog.length - 1]!.dtype);
      want.forEach((w, i) => {
        const g = got[i]!;
        if (!(g === w || (g !== g && w !== w) || Math.abs(g - w) <= 1e-15 * Math.max(1, Math.abs(w)))) expect.fail(`element ${i}: got ${g}, want ${w}`);
      });
      return got;
    };
    const sq = (ref: number): Instruction => ({ op: 'pow', args: [{ ref }, { const: 2, dtype: 'float64' }], dtype: 'float64' });
    const sin0: Instruction = { op: 'sin', args: [{ input: 0 }], dtype: 'float64' };
    // sin(y)**2 + cos(y)**2 (the benchmark's): fused, the same bits as sin and cos apart (cos of y + 0 is not paired).
    const fused = near([sin0, sq(0), { op: 'cos', args: [{ input: 0 }], dtype: 'float64' }, sq(2), { op: 'add', args: [{ ref: 1 }, { ref: 3 }], dtype: 'float64' }], x);
    const apart = run([
      { op: 'add', args: [{ input: 0 }, { const: 0, dtype: 'float64' }], dtype: 'float64' },
      sin0, sq(1), { op: 'cos', args: [{ ref: 0 }], dtype: 'float64' }, sq(3), { op: 'add', args: [{ ref: 2 }, { ref: 4 }], dtype: 'float64' },
    ], [{ chunk: x }], [9000]).data;
    expect(Array.from(fused)).toEqual(Array.from(apart));
    // cos first, its value live until the end, and a second sin that is computed on its own.
    near([
      { op: 'exp', args: [{ input: 0 }], dtype: 'float64' },
      { op: 'cos', args: [{ ref: 0 }], dtype: 'float64' },
      { op: 'neg', args: [{ ref: 1 }], dtype: 'float64' },
      { op: 'sin', args: [{ ref: 0 }], dtype: 'float64' },
      { op: 'sin', args: [{ ref: 0 }], dtype: 'float64' },
      { op: 'sub', args: [{ ref: 2 }, { ref: 3 }], dtype: 'float64' },
      { op: 'mul', args: [{ ref: 5 }, { ref: 4 }], dtype: 'float64' },
      { op: 'add', args: [{ ref: 6 }, { ref: 1 }], dtype: 'float64' },
    ], x);
    // float32: both results rounded (a float32 division of unrounded values would differ).
    const r32 = near([{ op: 'cos', args: [{ input: 0 }], dtype: 'float32' }, { op: 'sin', args: [{ input: 0 }], dtype: 'float32' },
      { op: 'div', args: [{ ref: 1 }, { ref: 0 }], dtype: 'float32' }], f);
    expect(r32).toBeInstanceOf(Float32Array);
  });
});

describe('elementwise: views', () => {
  it('broadcasts size-1 axes and lower ranks (stride 0), scalar inputs too', () => {
    for (const dt of NUMBER_DTYPES) {
      const a = makeChunk(dt, [4, 1, 6]);
      const b = makeChunk(dt, [5, 1]);
      const c = makeChunk(dt, []);
      const prog: Instruction[] = [
        { op: 'add', args: [{ input: 0 }, { input: 1 }], dtype: dt },
        { op: 'sub', args: [{ ref: 0 }, { input: 2 }], dtype: dt },
      ];
      check(prog, [{ chunk: a }, { chunk: b }, { chunk: c }], [4, 5, 6]);
      check(prog, [{ chunk: makeChunk(dt, [1, 1, 1]) }, { chunk: makeChunk(dt, [1]) }, { chunk: c }], [2, 3, 1]);
    }
  });

  it('transposed inputs (x + x.T) at sizes that straddle the 64x64 tiles', () => {
    for (const n of [1, 7, 64, 65, 130]) {
      for (const dt of ['float64', 'int32', 'uint8'] as Dtype[]) {
        const x = makeChunk(dt, [n, n]);
        check([{ op: 'add', args: [{ input: 0 }, { input: 1 }], dtype: dt }], [{ chunk: x }, { chunk: x, perm: [1, 0] }], [n, n]);
      }
    }
    const wide = makeChunk('float32', [1030, 20]);
    check([{ op: 'sub', args: [{ input: 0 }, { input: 1 }], dtype: 'float64' }], [{ chunk: wide, perm: [1, 0] }, { chunk: makeChunk('int32', [1030]) }], [20, 1030]);
    const r = makeChunk('float64', [70, 3]);
    check([{ op: 'mul', args: [{ input: 0 }, { input: 1 }], dtype: 'float64' }], [{ chunk: makeChunk('float64', [3, 70]) }, { chunk: r, perm: [1, 0] }], [3, 70]);
  });

  it('3-D perms combined with broadcasting', () => {
    const x = makeChunk('float64', [3, 4, 5]);
    const y = makeChunk('float32', [5, 1, 3]);
    check([{ op: 'sub', args: [{ input: 0 }, { input: 1 }], dtype: 'float64' }], [{ chunk: x, perm: [2, 0, 1] }, { chunk: y, perm: [0, 2, 1] }], [5, 3, 4]);
    const z = makeChunk('int32', [4, 1]);
    check([{ op: 'add', args: [{ input: 0 }, { input: 1 }], dtype: 'int32' }], [{ chunk: z, perm: [1, 0] }, { chunk: makeChunk('int32', [6, 1, 4]) }], [6, 1, 4]);
  });

  it('large 1-D and ragged 2-D domains cross block boundaries', () => {
    const x = makeChunk('float64', [3, 5000]);
    const y = makeChunk('float64', [5000]);
    check([{ op: 'div', args: [{ input: 0 }, { input: 1 }], dtype: 'float64' }], [{ chunk: x }, { chunk: y }], [3, 5000]);
    const t = makeChunk('float32', [3000, 3]);
    check([{ op: 'exp', args: [{ input: 0 }], dtype: 'float32' }], [{ chunk: t }], [3000, 3]);
  });

  it('rejects inputs that do not broadcast to the domain', () => {
    const x = makeChunk('float64', [3, 4]);
    expect(() => run([{ op: 'neg', args: [{ input: 0 }], dtype: 'float64' }], [{ chunk: x }], [4, 3])).toThrow(/does not broadcast/);
  });
});
