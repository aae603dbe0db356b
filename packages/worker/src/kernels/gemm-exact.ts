import { allocChunk, isFloat, isUnsigned, isWideData, itemsize, type Chunk, type Dtype } from '@tessera/protocol';
import { permuteInto } from './structure.js';
import { moveView } from './wide.js';

/**
 * Integer tensordot whose float64 GEMM could round: numpy's integer matmul is exact, wrapping to
 * the result dtype. The float64 GEMM is exact while every partial sum stays below 2^53, which
 * `gemmIsExact` bounds from the operands' magnitudes (the common case: small integers). Past it,
 * `exactTensordot` sums BigInt products (slow, but only for data that needs it).
 */

function maxAbs(c: Chunk): number {
  const d = c.data;
  let m = 0;
  if (isWideData(d)) {
    for (let i = 0; i < d.length; i++) {
      const v = d[i]!;
      const a = Number(v < 0n ? -v : v);
      if (a > m) m = a;
    }
  } else for (let i = 0; i < d.length; i++) m = Math.max(m, Math.abs(d[i]!));
  return m;
}

/** Whether float64 accumulation of these pairs is exact: every |a| |b| K summed stays below 2^53. */
export function gemmIsExact(inputs: readonly Chunk[], pairs: number, axesA: readonly number[], dtype: Dtype): boolean {
  if (isFloat(dtype)) return true;
  let bound = 0;
  for (let k = 0; k < pairs; k++) {
    const a = inputs[k]!, b = inputs[pairs + k]!;
    const K = axesA.reduce((m, ax) => m * a.shape[ax]!, 1);
    bound += K * maxAbs(a) * maxAbs(b);
  }
  return bound < 2 ** 53;
}

/** The operand as a matrix (rows = `rows` axes, columns = `cols` axes) of exact bigints. */
function bigMatrix(x: Chunk, rows: number[], cols: number[]): bigint[] {
  const n = x.data.length;
  if (isWideData(x.data)) {
    const m = new (x.data instanceof BigInt64Array ? BigInt64Array : BigUint64Array)(n);
    permuteInto(moveView(x.data), x.shape, [...rows, ...cols], moveView(m));
    return Array.from(m);
  }
  const m = new Float64Array(n);
  permuteInto(x.data, x.shape, [...rows, ...cols], m);
  return Array.from(m, (v) => BigInt(v));
}

export function exactTensordot(inputs: readonly Chunk[], pairs: number, axesA: number[], axesB: number[], shape: number[], dtype: Dtype): Chunk {
  const out = allocChunk(dtype, shape);
  const acc = new Array<bigint>(out.data.length).fill(0n);
  for (let k = 0; k < pairs; k++) {
    const a = inputs[k]!, b = inputs[pairs + k]!;
    const freeA = a.shape.map((_, i) => i).filter((i) => !axesA.includes(i));
    const freeB = b.shape.map((_, i) => i).filter((i) => !axesB.includes(i));
    const K = axesA.reduce((m, ax) => m * a.shape[ax]!, 1);
    const M = freeA.reduce((m, ax) => m * a.shape[ax]!, 1);
    const N = freeB.reduce((m, ax) => m * b.shape[ax]!, 1);
    const A = bigMatrix(a, freeA, axesA); // M x K
    const B = bigMatrix(b, axesB, freeB); // K x N
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0n;
        for (let q = 0; q < K; q++) s += A[i * K + q]! * B[q * N + j]!;
        acc[i * N + j] = acc[i * N + j]! + s;
      }
    }
  }
  const bits = itemsize(dtype) * 8;
  const wrap = isUnsigned(dtype) ? BigInt.asUintN : BigInt.asIntN;
  const d = out.data;
  if (dtype === 'bool') acc.forEach((v, i) => (d[i] = v !== 0n ? 1 : 0));
  else if (isWideData(d)) acc.forEach((v, i) => (d[i] = wrap(64, v)));
  else acc.forEach((v, i) => (d[i] = Number(wrap(bits, v))));
  return out;
}
