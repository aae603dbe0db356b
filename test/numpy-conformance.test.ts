// numpy is the oracle: the client's elementwise functions against Debian's numpy (/usr/bin/python3,
// python3-numpy; TESSERA_NUMPY_PYTHON to change), on an odd shape in odd chunks, for every dtype
// each accepts, through the embedded local engine and through a real cluster. Tolerances, per
// result dtype: integers and booleans exact; float64 4 ulp (V8's fdlibm against glibc's libm);
// float32 2 ulp (computed in float64 and rounded once, numpy computes in float32); uint8 inputs of
// float functions give float32 here where numpy gives float16: within float16's 1e-3. NaN, the
// infinities and the sign of zero must match.
import { describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';
import type { Dtype } from '@tessera/protocol';
import { engineClient } from './cluster.test-util.js';
import { CHUNKS, DTYPES, SHAPE, expectMatch, numpyAnswers, shifts, values, wireArray, typedFrom, type WireArray } from './numpy-oracle.test-util.js';

// ---- the cases ----------------------------------------------------------------------------------
interface Case {
  label: string;
  /** numpy's function and arguments. */
  np: string;
  args: (WireArray | number)[];
  kwargs?: Record<string, unknown>;
  /** Ours: the expression over the same inputs. */
  build: (...xs: ta.ChunkedArray[]) => ta.ChunkedArray;
  inputs: { dtype: Dtype; data: number[] }[];
}

const UNARY: [keyof typeof ta, string][] = [
  ['floor', 'floor'], ['ceil', 'ceil'], ['trunc', 'trunc'], ['rint', 'rint'], ['sign', 'sign'],
  ['square', 'square'], ['reciprocal', 'reciprocal'], ['log1p', 'log1p'], ['expm1', 'expm1'],
  ['log2', 'log2'], ['log10', 'log10'], ['exp2', 'exp2'], ['tan', 'tan'], ['arcsin', 'arcsin'],
  ['arccos', 'arccos'], ['arctan', 'arctan'], ['sinh', 'sinh'], ['cosh', 'cosh'], ['arcsinh', 'arcsinh'],
  ['arccosh', 'arccosh'], ['arctanh', 'arctanh'], ['degrees', 'degrees'], ['radians', 'radians'],
  ['isnan', 'isnan'], ['isinf', 'isinf'], ['isfinite', 'isfinite'], ['isposinf', 'isposinf'],
  ['isneginf', 'isneginf'], ['logicalNot', 'logical_not'], ['invert', 'invert'], ['nanToNum', 'nan_to_num'],
];
const BINARY: [keyof typeof ta, string][] = [
  ['floorDivide', 'floor_divide'], ['remainder', 'remainder'], ['fmod', 'fmod'], ['arctan2', 'arctan2'],
  ['hypot', 'hypot'], ['copysign', 'copysign'], ['logicalAnd', 'logical_and'], ['logicalOr', 'logical_or'],
  ['logicalXor', 'logical_xor'], ['bitwiseAnd', 'bitwise_and'], ['bitwiseOr', 'bitwise_or'],
  ['bitwiseXor', 'bitwise_xor'], ['leftShift', 'left_shift'], ['rightShift', 'right_shift'],
];
/** numpy refuses floats for these (TypeError); we refuse them when the expression is built. */
const INTEGER_ONLY = new Set(['invert', 'bitwise_and', 'bitwise_or', 'bitwise_xor', 'left_shift', 'right_shift']);

function cases(): Case[] {
  const out: Case[] = [];
  const fnOf = (name: keyof typeof ta) => ta[name] as unknown as (...a: unknown[]) => ta.ChunkedArray;
  for (const dtype of DTYPES) {
    const a = values(dtype, 0);
    for (const [name, np] of UNARY) {
      if (INTEGER_ONLY.has(np) && (dtype === 'float64' || dtype === 'float32')) continue;
      out.push({ label: `${name}(${dtype})`, np, args: [wireArray(dtype, a)], build: (x) => fnOf(name)(x), inputs: [{ dtype, data: a }] });
    }
    for (const [name, np] of BINARY) {
      if (INTEGER_ONLY.has(np) && (dtype === 'float64' || dtype === 'float32')) continue;
      const b = np.endsWith('_shift') ? shifts(dtype) : values(dtype, 1);
      out.push({
        label: `${name}(${dtype}, ${dtype})`,
        np,
        args: [wireArray(dtype, a), wireArray(dtype, b)],
        build: (x, y) => fnOf(name)(x, y),
        inputs: [{ dtype, data: a }, { dtype, data: b }],
      });
    }
    // Composites, defined as numpy defines them.
    out.push({ label: `clip(${dtype}, 2, 100)`, np: 'clip', args: [wireArray(dtype, a), 2, 100], build: (x) => ta.clip(x, 2, 100), inputs: [{ dtype, data: a }] });
    for (const d of [0, 2, -1]) {
      // numpy rounds a uint32 to tens through a double; 4294967295 -> 4294967300.0 then leaves
      // uint32's range, a cast whose result depends on the CPU's vector unit (C leaves it undefined).
      if (d < 0 && dtype === 'uint32') continue;
      out.push({ label: `round(${dtype}, ${d})`, np: 'round', args: [wireArray(dtype, a), d], build: (x) => ta.round(x, d), inputs: [{ dtype, data: a }] });
    }
    const b = values(dtype, 0).map((v, i) => (i % 3 === 0 ? v : dtype === 'float32' ? Math.fround(v * (1 + 1e-6)) : v + (i % 2)));
    out.push({
      label: `isclose(${dtype}, ${dtype})`,
      np: 'isclose',
      args: [wireArray(dtype, a), wireArray(dtype, b)],
      build: (x, y) => ta.isclose(x, y),
      inputs: [{ dtype, data: a }, { dtype, data: b }],
    });
    out.push({
      label: `isclose(${dtype}, ${dtype}, equalNan)`,
      np: 'isclose',
      args: [wireArray(dtype, a), wireArray(dtype, b)],
      kwargs: { equal_nan: true },
      build: (x, y) => ta.isclose(x, y, { equalNan: true }),
      inputs: [{ dtype, data: a }, { dtype, data: b }],
    });
  }
  // Casts, including NaN, the infinities and values outside the target's range.
  for (const from of ['float64', 'float32', 'int64', 'int32', 'uint64', 'int16', 'bool'] as const) {
    const float = from === 'float64' || from === 'float32';
    const a = [...values(from, 0), ...(float ? [3e9, -3e9, 2147483647.9, 255.9, 300.7] : [])].slice(0, SHAPE[0]! * SHAPE[1]!);
    for (const to of DTYPES) {
      if (to === from) continue;
      // Floats outside uint32 / uint64 (NaN, the infinities, negatives past the range): C leaves the
      // cast undefined and numpy's answer depends on the CPU's vector unit; ours is x86-64's scalar one.
      const b = float && (to === 'uint32' || to === 'uint64') ? a.map((v) => (Number.isFinite(v) && v > -(2 ** 31) && v < 2 ** 32 ? v : 7)) : a;
      if (b !== a) {
        out.push({ label: `astype(${from} -> ${to})`, np: 'astype', args: [wireArray(from, b)], kwargs: { dtype: to }, build: (x) => x.astype(to), inputs: [{ dtype: from, data: b }] });
        continue;
      }
      out.push({ label: `astype(${from} -> ${to})`, np: 'astype', args: [wireArray(from, a)], kwargs: { dtype: to }, build: (x) => x.astype(to), inputs: [{ dtype: from, data: a }] });
    }
  }
  // Promotion across dtypes.
  for (const [d1, d2, np, name] of [
    ['int32', 'uint8', 'floor_divide', 'floorDivide'],
    ['uint8', 'int32', 'bitwise_xor', 'bitwiseXor'],
    ['float32', 'int32', 'remainder', 'remainder'],
    ['float32', 'uint8', 'arctan2', 'arctan2'],
    ['bool', 'int8', 'floor_divide', 'floorDivide'],
    ['uint16', 'bool', 'bitwise_or', 'bitwiseOr'],
    ['bool', 'float32', 'arctan2', 'arctan2'],
  ] as const) {
    const a = values(d1, 0);
    const b = values(d2, 1);
    out.push({
      label: `${name}(${d1}, ${d2})`,
      np,
      args: [wireArray(d1, a), wireArray(d2, b)],
      build: (x, y) => fnOf(name)(x, y),
      inputs: [{ dtype: d1, data: a }, { dtype: d2, data: b }],
    });
  }
  return out;
}

// ---- the runs -----------------------------------------------------------------------------------
const CASES = cases();
const numpy = numpyAnswers(CASES.map((c) => ({ fn: c.np, args: c.args, ...(c.kwargs ? { kwargs: c.kwargs } : {}) })));

describe('numpy refuses, and so do we, when the expression is built', () => {
  it('bitwise functions of floats are DtypeErrors naming the op and the dtypes', async () => {
    const x = ta.fromArray(values('float64', 0), { shape: SHAPE, chunks: CHUNKS });
    const i = ta.fromArray(new Int32Array(values('int32', 0)), { shape: SHAPE, chunks: CHUNKS });
    for (const f of [() => ta.invert(x), () => ta.bitwiseAnd(x, i), () => ta.leftShift(i, x), () => x.bitwiseXor(1)]) {
      expect(f).toThrow(ta.DtypeError);
    }
    expect(() => ta.bitwiseOr(i, 1.5)).toThrow(/bitwise_or takes integer arrays, not float64/);
    expect(() => ta.clip(x)).toThrow(/at least one of the bounds/);
    expect(() => ta.round(x, 1.5)).toThrow(/decimals must be an integer/);
  });
});

describe.each(['local', 'cluster'] as const)('numpy conformance on the %s engine', (engine) => {
  const e = engineClient(engine);

  it(`${CASES.length} cases of elementwise functions and their composites match numpy`, { timeout: 240_000 }, async () => {
    const make = (i: { dtype: Dtype; data: number[] }): ta.ChunkedArray => {
      return ta.fromArray(typedFrom(i.dtype, i.data), { shape: SHAPE, chunks: CHUNKS, dtype: i.dtype });
    };
    const all = CASES.map((c, k) => ({ c, want: numpy.answers[k]! }));
    // What numpy refuses (negating a bool, ...) we refuse when the expression is built.
    for (const { c, want } of all.filter((x) => 'error' in x.want)) {
      expect(() => c.build(...c.inputs.map(make)), `${c.label}: numpy says ${(want as { error: string }).error}`).toThrow(ta.DtypeError);
    }
    const runnable = all.filter((x) => !('error' in x.want));
    expect(runnable.length).toBeGreaterThan(CASES.length * 0.9);
    const exprs = runnable.map(({ c }) => c.build(...c.inputs.map(make)));
    const got = (await e.client.compute(exprs)) as ta.NDArray[];
    runnable.forEach(({ c, want }, k) => expectMatch(c.label, got[k]!, want as WireArray));
  });

  it('allclose, all and any reduce to 1 or 0 like numpy', async () => {
    const a = ta.fromArray([1, 2, 3, 4, 5, 6, 7], { chunks: 3 });
    expect(await e.client.compute(ta.allclose(a, a.add(1e-9)))).toBe(1);
    expect(await e.client.compute(ta.allclose(a, a.add(1e-3)))).toBe(0);
    expect(await e.client.compute(a.sub(1).all())).toBe(0);
    expect(await e.client.compute(a.sub(1).any())).toBe(1);
    const rows = await e.client.compute(ta.fromArray([0, 1, 2, 0, 0, 0], { shape: [2, 3], chunks: [1, 2] }).any({ axis: 1 }));
    expect([...rows.data]).toEqual([1, 0]);
  });
});
