import { describe, expect, it } from 'vitest';
import { allocChunk, type Chunk, type Dtype, type Instruction } from '@tessera/protocol';
import { executeTask } from './index.js';

// int64 / uint64: the float64 fast path where it is exact, the BigInt path where it is not, both
// held to a plain BigInt reference that wraps modulo 2^64 as numpy's integer loops do.

let n = 0;
const key = (op: string): string => `${op}-0123456789abcdef:${n++}`;

function wide(dtype: 'int64' | 'uint64', values: bigint[], shape: number[] = [values.length]): Chunk {
  const c = allocChunk(dtype, shape);
  values.forEach((v, i) => (c.data[i] = dtype === 'int64' ? BigInt.asIntN(64, v) : BigInt.asUintN(64, v)));
  return c;
}

function ew(program: Instruction[], inputs: Chunk[], domain: number[], reduce?: object, shape?: number[]): Chunk {
  return executeTask(
    {
      key: key('elementwise'),
      op: 'elementwise',
      params: { program, inputs: inputs.map(() => ({})), domain, ...(reduce ? { reduce } : {}) },
      shape: shape ?? domain,
      dtype: reduce ? 'float64' : program[program.length - 1]!.dtype,
    },
    inputs,
  );
}

/** reduce-partial of one chunk over `axes`: the float64 partial with its component axis. */
function partial(kind: string, x: Chunk, axes: number[]): Chunk {
  const shape = [...x.shape.map((d, a) => (axes.includes(a) ? 1 : d)), 2];
  return executeTask({ key: key('reduce-partial'), op: 'reduce-partial', params: { kind, axes }, shape, dtype: 'float64' }, [x]);
}

function merge(kind: string, partial: Chunk, dtype: Dtype, shape: number[] = []): Chunk {
  return executeTask(
    { key: key('reduce-merge'), op: 'reduce-merge', params: { kind, axes: [0], final: { dtype, keepdims: false, ddof: 0 } }, shape, dtype },
    [partial],
  );
}

// Values straddling 2^53, both signs, and the ends of the range: tiles of both paths.
const EDGES = [0n, 1n, -1n, 7n, -7n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, -(2n ** 53n) - 3n, 2n ** 62n + 12345n, 2n ** 63n - 1n, -(2n ** 63n), 3037000500n, -3037000499n];
function spread(count: number, seed: number): bigint[] {
  const out: bigint[] = [];
  let s = BigInt(seed) * 0x9e3779b97f4a7c15n;
  for (let i = 0; i < count; i++) {
    s = BigInt.asUintN(64, s * 6364136223846793005n + 1442695040888963407n);
    // Mostly small values (the fast path), some huge ones.
    out.push(i % 5 === 0 ? BigInt.asIntN(64, s) : BigInt.asIntN(64, s >> 40n) - (1n << 23n));
  }
  return out;
}

const wrapS = (v: bigint): bigint => BigInt.asIntN(64, v);
const wrapU = (v: bigint): bigint => BigInt.asUintN(64, v);

describe('int64 and uint64 elementwise', () => {
  const a = [...EDGES, ...spread(9000, 1)];
  const b = [...EDGES.slice().reverse(), ...spread(9000, 2)];
  const cases: [string, (x: bigint, y: bigint) => bigint][] = [
    ['add', (x, y) => x + y],
    ['sub', (x, y) => x - y],
    ['mul', (x, y) => x * y],
    ['bitwise_and', (x, y) => x & y],
    ['bitwise_or', (x, y) => x | y],
    ['bitwise_xor', (x, y) => x ^ y],
    ['maximum', (x, y) => (x > y ? x : y)],
    ['floor_divide', (x, y) => (y === 0n ? 0n : x / y - ((x % y !== 0n && (x < 0n) !== (y < 0n)) ? 1n : 0n))],
    ['remainder', (x, y) => { if (y === 0n) return 0n; const r = x % y; return r !== 0n && (r < 0n) !== (y < 0n) ? r + y : r; }],
  ];
  for (const [op, ref] of cases) {
    it(`${op} matches BigInt arithmetic wrapped to int64, on both paths`, () => {
      const out = ew([{ op: op as Instruction['op'], args: [{ input: 0 }, { input: 1 }], dtype: 'int64' }], [wide('int64', a), wide('int64', b)], [a.length]);
      expect(out.data).toBeInstanceOf(BigInt64Array);
      for (let i = 0; i < a.length; i++) {
        const want = wrapS(ref(a[i]!, b[i]!));
        if (out.data[i] !== want) expect.fail(`${op}: element ${i}: ${a[i]} and ${b[i]} gave ${out.data[i]}, want ${want}`);
      }
    });
  }

  it('floor_divide and remainder by a constant (the reciprocal kernel) match BigInt, for every divisor sign and size', () => {
    const divisors = [1, -1, 2, 3, -3, 49, -49, 7919, -7919, 2 ** 31 + 1, -(2 ** 40 + 3), 2 ** 51 - 1, -(2 ** 52 - 3)];
    // Below 2^52 the kernel runs; past it, the exact path; near multiples, the correction steps.
    // Tiles holding only values below 2^52 run the kernel; `a` holds some past it in every tile.
    const near = divisors.flatMap((d) => [-1n, 0n, 1n].flatMap((e) => [1n, 3n, -3n, 41n, 1000003n, 99991n * 99991n, (2n ** 52n - 1n) / BigInt(Math.abs(d)), -(2n ** 52n - 1n) / BigInt(Math.abs(d)) + 5n].map((m) => BigInt(d) * m + e)));
    const small = [...near, ...Array.from({ length: 5000 }, (_, i) => BigInt(i * 7 - 17000)), 2n ** 52n - 1n, -(2n ** 52n) + 1n].filter((v) => v < 2n ** 52n && v > -(2n ** 52n));
    const xs = [...small, ...Array.from({ length: 4096 - (small.length % 4096) }, () => 1n), ...a].map(wrapS);
    const [fd, rem] = [cases.find((c) => c[0] === 'floor_divide')![1], cases.find((c) => c[0] === 'remainder')![1]];
    for (const d of divisors) {
      for (const [op, ref] of [['floor_divide', fd], ['remainder', rem]] as const) {
        const out = ew([{ op, args: [{ input: 0 }, { const: d, dtype: 'int64' }], dtype: 'int64' }], [wide('int64', xs)], [xs.length]);
        for (let i = 0; i < xs.length; i++) {
          const want = wrapS(ref(xs[i]!, BigInt(d)));
          if (out.data[i] !== want) expect.fail(`${op} by ${d}: element ${i}: ${xs[i]} gave ${out.data[i]}, want ${want}`);
        }
      }
    }
    // int32 and uint64 take the same kernel (int32: numpy's wrap of INT_MIN // -1).
    const i32 = allocChunk('int32', [6]);
    (i32.data as Int32Array).set([-2147483648, -7, -1, 0, 6, 2147483647]);
    for (const d of [-1, 2, -3]) {
      const q = ew([{ op: 'floor_divide', args: [{ input: 0 }, { const: d, dtype: 'int32' }], dtype: 'int32' }], [i32], [6]);
      const r = ew([{ op: 'remainder', args: [{ input: 0 }, { const: d, dtype: 'int32' }], dtype: 'int32' }], [i32], [6]);
      const xs32 = [...(i32.data as Int32Array)].map(BigInt);
      expect([...q.data], `int32 // ${d}`).toEqual(xs32.map((x) => Number(BigInt.asIntN(32, fd(x, BigInt(d))))));
      expect([...r.data], `int32 % ${d}`).toEqual(xs32.map((x) => Number(rem(x, BigInt(d)))));
    }
    const u = wide('uint64', [0n, 5n, 2n ** 52n - 1n, 2n ** 63n + 7n, 2n ** 64n - 1n]);
    const uq = ew([{ op: 'floor_divide', args: [{ input: 0 }, { const: 7, dtype: 'uint64' }], dtype: 'uint64' }], [u], [5]);
    expect([...uq.data]).toEqual([0n, 5n, 2n ** 52n - 1n, 2n ** 63n + 7n, 2n ** 64n - 1n].map((x) => x / 7n));
    // Division by a constant zero is 0, as numpy's integer loops give (with a warning).
    const z = ew([{ op: 'remainder', args: [{ input: 0 }, { const: 0, dtype: 'int64' }], dtype: 'int64' }], [wide('int64', [5n, -5n])], [2]);
    expect([...z.data]).toEqual([0n, 0n]);
  });

  it('uint64 subtraction and negation wrap modulo 2^64', () => {
    const x = wide('uint64', [0n, 1n, 5n, 2n ** 64n - 1n, 2n ** 63n]);
    const out = ew([
      { op: 'sub', args: [{ input: 0 }, { const: 3, dtype: 'uint64' }], dtype: 'uint64' },
      { op: 'neg', args: [{ ref: 0 }], dtype: 'uint64' },
    ], [x], [5]);
    expect([...out.data]).toEqual([0n, 1n, 5n, 2n ** 64n - 1n, 2n ** 63n].map((v) => wrapU(-(v - 3n))));
  });

  it('mixes int64 with float64 and int32 operands as numpy promotes them', () => {
    const x = wide('int64', [2n ** 60n, -3n, 10n]);
    const f = allocChunk('float64', [3]);
    (f.data as Float64Array).set([0.5, 0.5, 0.5]);
    const out = ew([
      { op: 'astype', args: [{ input: 0 }], dtype: 'float64' },
      { op: 'add', args: [{ ref: 0 }, { input: 1 }], dtype: 'float64' },
    ], [x, f], [3]);
    expect([...out.data]).toEqual([2 ** 60 + 0.5, -2.5, 10.5]);
    const cmp = ew([{ op: 'gt', args: [{ input: 0 }, { const: 2 ** 60, dtype: 'int64' }], dtype: 'uint8' }], [wide('int64', [2n ** 60n + 1n, 2n ** 60n, 5n])], [3]);
    expect([...cmp.data]).toEqual([1, 0, 0]);
  });

  it('casts floats to int64 as numpy does on x86-64 (invalid values give the minimum)', () => {
    const f = allocChunk('float64', [6]);
    (f.data as Float64Array).set([NaN, Infinity, -1.9, 2 ** 62, 1e19, -(2 ** 63)]);
    const out = ew([{ op: 'astype', args: [{ input: 0 }], dtype: 'int64' }], [f], [6]);
    expect([...out.data]).toEqual([-(2n ** 63n), -(2n ** 63n), -1n, 2n ** 62n, -(2n ** 63n), -(2n ** 63n)]);
  });

  it('casts int64 to narrower integers by keeping the low bits', () => {
    const x = wide('int64', [2n ** 40n + 5n, -1n, 2n ** 31n]);
    for (const [dtype, bits, signed] of [['int32', 32n, true], ['int16', 16n, true], ['uint16', 16n, false], ['uint8', 8n, false]] as const) {
      const out = ew([{ op: 'astype', args: [{ input: 0 }], dtype }], [x], [3]);
      expect([...out.data], dtype).toEqual([2n ** 40n + 5n, -1n, 2n ** 31n].map((v) => Number(signed ? BigInt.asIntN(Number(bits), v) : BigInt.asUintN(Number(bits), v))));
    }
  });
});

describe('exact integer sums and products (isum / iprod)', () => {
  it('sums int64 exactly past 2^53 and wraps past 2^63, with one value per slot too', () => {
    const xs = [...EDGES, ...spread(10000, 3)];
    const want = wrapS(xs.reduce((s, v) => s + v, 0n));
    const all = partial('isum', wide('int64', xs), [0]);
    expect(merge('isum', all, 'int64').data[0]).toBe(want);
    // axis 1 of [n, 2]: each row's own slot (the per-slot feed).
    const pairs = partial('isum', wide('int64', xs.slice(0, 2 * 5000), [5000, 2]), [1]);
    const m = executeTask(
      { key: key('reduce-merge'), op: 'reduce-merge', params: { kind: 'isum', axes: [1], final: { dtype: 'int64', keepdims: false, ddof: 0 } }, shape: [5000], dtype: 'int64' },
      [pairs],
    );
    for (let i = 0; i < 5000; i++) expect(m.data[i]).toBe(wrapS(xs[2 * i]! + xs[2 * i + 1]!));
  });

  it('multiplies int64 exactly modulo 2^64 (numpy: prod(arange(1, 30)) wraps)', () => {
    const xs = Array.from({ length: 29 }, (_, i) => BigInt(i + 1));
    const p = partial('iprod', wide('int64', xs), [0]);
    expect(merge('iprod', p, 'int64').data[0]).toBe(-7055958792655077376n);
  });

  it('merges partials of both paths, and int32 inputs sum into int64 without overflow', () => {
    const i32 = allocChunk('int32', [3000]);
    for (let i = 0; i < 3000; i++) i32.data[i] = 2147483647 - i;
    const p = partial('isum', i32, [0]);
    const want = Array.from({ length: 3000 }, (_, i) => 2147483647n - BigInt(i)).reduce((s, v) => s + v, 0n);
    expect(merge('isum', p, 'int64').data[0]).toBe(want);
  });
});

describe('data movement of 64-bit integers', () => {
  it('transposes and assembles bit for bit, NaN-like patterns included', () => {
    const vals = [-1n, 0x7ff0000000000001n, 0x7ff4000000000000n, -(2n ** 63n), 0xfff8000000000001n, 12n];
    const x = wide('int64', vals, [2, 3]);
    const t = executeTask({ key: key('transpose'), op: 'transpose', params: { axes: [1, 0] }, shape: [3, 2], dtype: 'int64' }, [x]);
    expect([...t.data]).toEqual([0, 3, 1, 4, 2, 5].map((i) => BigInt.asIntN(64, vals[i]!)));
  });
});

describe('64-bit creation', () => {
  it('full wraps from the integer itself: -1 as uint64 is 2^64 - 1, as numpy gives', () => {
    const u = executeTask({ key: key('full'), op: 'full', params: { value: -1 }, shape: [3], dtype: 'uint64' }, []);
    expect([...u.data]).toEqual([2n ** 64n - 1n, 2n ** 64n - 1n, 2n ** 64n - 1n]);
    const s = executeTask({ key: key('full'), op: 'full', params: { value: -(2 ** 62) }, shape: [2], dtype: 'int64' }, []);
    expect([...s.data]).toEqual([-(2n ** 62n), -(2n ** 62n)]);
  });
});
