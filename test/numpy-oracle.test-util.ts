// numpy as the oracle (Debian's /usr/bin/python3 with python3-numpy; TESSERA_NUMPY_PYTHON to
// change): inputs made the same way on both sides, one python run for every case of a test file,
// and the comparison with numpy's answer (dtype, shape, values within stated tolerances).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, expect } from 'vitest';
import type * as ta from '@tessera/client';
import { isWideData, typedArrayCtor, type ChunkData, type Dtype, type RealDtype } from '@tessera/protocol';

const PYTHON = process.env['TESSERA_NUMPY_PYTHON'] ?? '/usr/bin/python3';
const ORACLE = fileURLToPath(new URL('./fixtures/numpy_oracle.py', import.meta.url));
export const SHAPE = [7, 5];
export const CHUNKS = [3, 2];
export const DTYPES: Dtype[] = ['float64', 'float32', 'int64', 'int32', 'int16', 'int8', 'uint64', 'uint32', 'uint16', 'uint8', 'bool'];

/** A value on the wire: numbers, the specials, and integers beyond 2^53 as `i:<digits>`. */
export type Wire = number | 'nan' | 'inf' | '-inf' | '-0' | `i:${string}`;
export interface WireArray {
  dtype: string;
  shape: number[];
  data: Wire[];
}
/** numpy's answer: an array, a list of arrays (split, meshgrid), or its refusal. */
export type Answer = WireArray | { list: WireArray[] } | { error: string };

export interface NumpyCall {
  fn: string;
  args: unknown[];
  kwargs?: Record<string, unknown>;
}

/** numpy's answers to a test file's calls, asked once before its tests: read `.answers` inside them. */
export function numpyAnswers(calls: readonly NumpyCall[]): { readonly answers: Answer[] } {
  const box = { answers: [] as Answer[] };
  beforeAll(() => {
    box.answers = askNumpy(calls);
  }, 120_000);
  return box;
}

/** numpy's answers to every call, in order (one python process). */
export function askNumpy(calls: readonly NumpyCall[]): Answer[] {
  const req = JSON.stringify({ cases: calls.map((c) => ({ fn: c.fn, args: c.args, kwargs: c.kwargs ?? {} })) });
  const r = spawnSync(PYTHON, [ORACLE], { input: req, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  if (r.status !== 0) throw new Error(`numpy oracle (${PYTHON}) failed: ${r.stderr || r.error?.message}`);
  return (JSON.parse(r.stdout) as { results: Answer[] }).results;
}

// ---- inputs: specials first, then a deterministic spread ----------------------------------------
export function values(dtype: Dtype, salt: number): number[] {
  if (dtype === 'complex128' || dtype === 'complex64') throw new Error(`values: ${dtype} inputs are pairs the test makes itself`);
  const n = SHAPE[0]! * SHAPE[1]!;
  // The ends of each range and values whose products wrap; int64 / uint64 ones past 2^53 (doubles
  // that hold them exactly) send tiles through the exact BigInt path.
  const specials: Record<RealDtype, number[]> = {
    float64: [0, -0, 0.5, -0.5, 1.5, 2.5, -2.5, 1, -1, NaN, Infinity, -Infinity, 1e-10, -3.7, 100.25, 0.999, 2, -7, 1e300],
    float32: [0, -0, 0.5, -0.5, 1.5, 2.5, -2.5, 1, -1, NaN, Infinity, -Infinity, 1e-10, -3.7, 100.25, 0.999, 2, -7, 3e38],
    int64: [0, 1, -1, 2, -2, 7, -7, 2 ** 62, -(2 ** 63), 2 ** 53 + 2, -(2 ** 53) - 2, 3037000500, 2147483648, 100, -100, 3, 31, 33, 63, 64, 1000],
    int32: [0, 1, -1, 2, -2, 7, -7, 2147483647, -2147483648, 100, -100, 3, 31, 33, 5, -5, 64, 1000],
    int16: [0, 1, -1, 2, -2, 7, -7, 32767, -32768, 100, -100, 3, 15, 17, 5, -5, 64, 1000],
    int8: [0, 1, -1, 2, -2, 7, -7, 127, -128, 100, -100, 3, 7, 9, 5, -5, 64, 10],
    uint64: [0, 1, 2, 7, 2 ** 64 - 2048, 2 ** 63, 2 ** 53 + 2, 3, 8, 9, 100, 200, 5, 16, 64, 127],
    uint32: [0, 1, 2, 7, 4294967295, 4294967294, 2147483648, 3, 8, 9, 100, 200, 5, 16, 64, 127],
    uint16: [0, 1, 2, 7, 65535, 65534, 32768, 3, 8, 9, 100, 200, 5, 16, 64, 127],
    uint8: [0, 1, 2, 7, 255, 254, 128, 3, 8, 9, 100, 200, 5, 16, 64, 127],
    bool: [0, 1, 1, 0, 1, 0, 0, 1],
  };
  const out = salt === 0 ? [...specials[dtype]] : [...specials[dtype]].reverse();
  for (let i = 0; out.length < n; i++) {
    const u = Math.sin((i + 1) * 12.9898 + salt * 78.233) * 43758.5453;
    const f = u - Math.floor(u); // [0, 1)
    if (dtype === 'bool') out.push(f < 0.5 ? 0 : 1);
    else if (dtype === 'int8') out.push(Math.round((f - 0.5) * 200));
    else if (dtype.startsWith('int')) out.push(Math.round((f - 0.5) * 2000));
    else if (dtype.startsWith('uint')) out.push(Math.floor(f * 256));
    else out.push((f - 0.5) * 20);
  }
  return out.slice(0, n).map((v) => (dtype === 'float32' ? Math.fround(v) : v));
}

export const shifts = (dtype: Dtype): number[] => values(dtype, 1).map((v) => Math.abs(v) % (dtype === 'uint8' || dtype === 'int8' || dtype === 'bool' ? 10 : 40));

/** Our typed array of `dtype` for these values (bigints for int64 / uint64: the values are integer doubles). */
export function typedFrom(dtype: Dtype, data: readonly number[]): ChunkData {
  const out = new (typedArrayCtor(dtype))(data.length);
  if (isWideData(out)) data.forEach((v, i) => (out[i] = (out instanceof BigInt64Array ? BigInt.asIntN : BigInt.asUintN)(64, BigInt(v))));
  else out.set(data);
  return out;
}

export const wire = (v: number): Wire =>
  Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : Object.is(v, -0) ? '-0' : Number.isInteger(v) && Math.abs(v) > 2 ** 53 ? `i:${BigInt(v)}` : v;
export const unwire = (v: Wire): number =>
  v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v === '-0' ? -0 : typeof v === 'string' ? Number(v.slice(2)) : v;
/** An integer on the wire, exactly. */
const unwireInt = (v: Wire): bigint => BigInt(typeof v === 'string' ? v.slice(2) : v);
export const wireArray = (dtype: Dtype, data: number[], shape: readonly number[] = SHAPE): WireArray => ({ dtype, shape: [...shape], data: data.map(wire) });

// ---- comparison ---------------------------------------------------------------------------------
/** numpy's dtype as ours: float16 is float32 (no float16 here). */
const OURS_OF: Record<string, Dtype> = { float16: 'float32' };

/**
 * `as`: our dtype where it differs on purpose (integer sums are float64 here, int64 in numpy);
 * `rel`: a relative tolerance of its own (sums over many elements, added in another order);
 * `abs`: an absolute one besides (sums of products that cancel).
 */
export function expectMatch(label: string, result: ta.NDArray | number, want: WireArray, o: { as?: Dtype; rel?: number; abs?: number } = {}): void {
  const got: ta.NDArray =
    typeof result === 'number' ? { dtype: o.as ?? OURS_OF[want.dtype] ?? (want.dtype as Dtype), shape: [], data: new Float64Array([result]) } : result;
  const dtype = o.as ?? OURS_OF[want.dtype] ?? (want.dtype as Dtype);
  expect(got.dtype, `${label}: dtype (numpy ${want.dtype})`).toBe(dtype);
  expect(got.shape, `${label}: shape`).toEqual(want.shape);
  if (isWideData(got.data)) {
    // int64 / uint64: exact, compared as integers.
    for (let i = 0; i < want.data.length; i++) {
      if (got.data[i] !== unwireInt(want.data[i]!)) expect.fail(`${label}: element ${i}: got ${got.data[i]}, numpy ${want.data[i]}`);
    }
    return;
  }
  const ulp =
    o.rel ?? (want.dtype === 'float16' ? 1e-3 : want.dtype === 'float32' ? 2 * 2 ** -23 : want.dtype === 'float64' || dtype === 'float64' ? 4 * 2 ** -52 : 0);
  for (let i = 0; i < want.data.length; i++) {
    const w = unwire(want.data[i]!);
    const g = got.data[i] as number;
    // float16's range is ours too, but not its overflow to infinity and underflow to 0.
    const half = want.dtype === 'float16' && (Math.abs(w) === Infinity ? Math.abs(g) > 65504 && Math.sign(g) === Math.sign(w) : w === 0 && Math.abs(g) < 6e-8);
    const ok = half
      ? true
      : Number.isNaN(w)
      ? Number.isNaN(g)
      : !Number.isFinite(w) || ulp === 0
        ? Object.is(g, w) || (g === w && w !== 0)
        : w === 0
          ? Object.is(g, w) || (o.abs !== undefined && Math.abs(g) <= o.abs)
          : Math.abs(g - w) <= ulp * Math.abs(w) + (o.abs ?? (want.dtype === 'float16' ? 6e-8 : 0));
    if (!ok) expect.fail(`${label}: element ${i}: got ${Object.is(g, -0) ? '-0' : g}, numpy ${want.data[i]}`);
  }
}


/** A case of an oracle test: numpy's call and ours, one array or a list (split, nonzero, meshgrid). */
export interface OracleCase {
  label: string;
  np: NumpyCall;
  build: () => ta.ChunkedArray | ta.ChunkedArray[];
}

/** Build every case, compute them in one graph, and compare each result with numpy's answer. */
export async function expectCasesMatch(client: ta.Client, cases: readonly OracleCase[], answers: readonly Answer[]): Promise<void> {
  const built = cases.map((c) => c.build());
  const got = (await client.compute(built.flat())) as ta.NDArray[];
  let k = 0;
  cases.forEach((c, i) => {
    const want = answers[i]!;
    if ('error' in want) expect.fail(`${c.label}: numpy refused: ${want.error}`);
    const b = built[i]!;
    const wants: WireArray[] = 'list' in want ? want.list : [want];
    const n = Array.isArray(b) ? b.length : 1;
    expect(n, `${c.label}: number of arrays`).toBe(wants.length);
    wants.forEach((w, j) => expectMatch(n > 1 || Array.isArray(b) ? `${c.label}[${j}]` : c.label, got[k + j]!, w));
    k += n;
  });
}
