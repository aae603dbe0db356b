import { allocChunk, type Chunk, type Dtype, type NumericArray, type TensordotParams } from '@tessera/protocol';
import { collapse, cStrides } from './strided.js';
import { permuteInto } from './structure.js';

/**
 * tensordot as GEMM. Each operand is seen as a matrix with two strides (A: M x K, B: K x N)
 * without copying when its free and contracted axes collapse that way (any dtype: packing
 * converts), else it is first permuted into a float64 matrix.
 *
 * The GEMM is BLIS-shaped: B is packed in KC x NC blocks of 4-column panels, A in MC x KC blocks
 * of 4-row panels, and a 4x4 micro-kernel keeps 16 accumulators in locals over KC steps, so each
 * k step does 8 loads for 16 multiply-adds. Accumulation is float64; the result is rounded or
 * wrapped to the declared dtype at the end (TypedArray.set does exactly castScalar's conversion).
 */

const MR = 4, NR = 4;
const KC = 256, MC = 128, NC = 1024;

interface MatView {
  data: NumericArray;
  rs: number; // stride between rows
  cs: number; // stride between columns
}

export function tensordot(p: TensordotParams, inputs: readonly Chunk[], shape: number[], dtype: Dtype): Chunk {
  const { axesA, axesB, pairs } = p;
  if (inputs.length !== 2 * pairs) throw new Error(`tensordot: takes ${2 * pairs} inputs (pairs=${pairs}), got ${inputs.length}`);
  if (axesA.length !== axesB.length) throw new Error('tensordot: axesA and axesB differ in length');
  const out = allocChunk(dtype, shape);
  let acc: Float64Array | undefined;
  let M = 0, N = 0;
  for (let k = 0; k < pairs; k++) {
    const a = inputs[k]!, b = inputs[pairs + k]!;
    const freeA = a.shape.map((_, i) => i).filter((i) => !axesA.includes(i));
    const freeB = b.shape.map((_, i) => i).filter((i) => !axesB.includes(i));
    axesA.forEach((ax, i) => {
      if (a.shape[ax] === undefined || a.shape[ax] !== b.shape[axesB[i]!]) {
        throw new Error(`tensordot: pair ${k}: contracted axes of [${a.shape.join(', ')}] and [${b.shape.join(', ')}] do not match`);
      }
    });
    const prod = (s: number[], ax: number[]): number => ax.reduce((m, i) => m * s[i]!, 1);
    M = prod(a.shape, freeA);
    N = prod(b.shape, freeB);
    const K = prod(a.shape, axesA);
    if (M * N !== out.data.length) throw new Error(`tensordot: result has ${M * N} elements, declared shape [${shape.join(', ')}]`);
    if (!acc) acc = out.data instanceof Float64Array ? out.data : new Float64Array(M * N);
    if (M * N === 0 || K === 0) continue;
    const A = matView(a, freeA, axesA, M, K);
    const B = matView(b, axesB, freeB, K, N);
    gemm(M, N, K, A, B, acc, N);
  }
  if (acc && acc !== out.data) out.data.set(acc);
  return out;
}

/** Matrix view of x with rows = axes `rows` (flattened in order), columns = axes `cols`. */
function matView(x: Chunk, rows: number[], cols: number[], nr: number, nc: number): MatView {
  const st = cStrides(x.shape);
  const group = (ax: number[]): number | undefined => {
    const { dims, strides } = collapse(ax.map((i) => x.shape[i]!), [ax.map((i) => st[i]!)]);
    return dims.length === 0 ? 1 : dims.length === 1 ? strides[0]![0] : undefined;
  };
  const rs = group(rows), cs = group(cols);
  if (rs !== undefined && cs !== undefined) return { data: x.data, rs, cs };
  const m = new Float64Array(nr * nc);
  permuteInto(x.data, x.shape, [...rows, ...cols], m);
  return { data: m, rs: nc, cs: 1 };
}

let packA = new Float64Array(MC * KC);
let packB = new Float64Array(KC * NC);

/** C[M x N] (row stride ldc) += A * B. */
export function gemm(M: number, N: number, K: number, A: MatView, B: MatView, C: Float64Array, ldc: number): void {
  for (let jc = 0; jc < N; jc += NC) {
    const nc = Math.min(NC, N - jc);
    const ncp = Math.ceil(nc / NR) * NR;
    for (let pc = 0; pc < K; pc += KC) {
      const kc = Math.min(KC, K - pc);
      if (packB.length < kc * ncp) packB = new Float64Array(kc * ncp);
      pack(B.data, pc * B.rs + jc * B.cs, B.cs, B.rs, nc, kc, NR, packB);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = Math.min(MC, M - ic);
        const mcp = Math.ceil(mc / MR) * MR;
        if (packA.length < kc * mcp) packA = new Float64Array(kc * mcp);
        pack(A.data, ic * A.rs + pc * A.cs, A.rs, A.cs, mc, kc, MR, packA);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = Math.min(NR, nc - jr);
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = Math.min(MR, mc - ir);
            micro(kc, packA, ir * kc, packB, jr * kc, C, (ic + ir) * ldc + jc + jr, ldc, mr, nr);
          }
        }
      }
    }
  }
}

/**
 * Pack `len` lines (line i at base + i*ls) of kc elements (element k at + k*es) into panels of
 * w lines, k-major inside a panel: out[(panel*kc + k)*w + lane]. Missing lanes are zero.
 */
function pack(src: NumericArray, base: number, ls: number, es: number, len: number, kc: number, w: number, out: Float64Array): void {
  for (let p0 = 0; p0 < len; p0 += w) {
    const lanes = Math.min(w, len - p0);
    const ob = p0 * kc;
    for (let l = 0; l < w; l++) {
      if (l >= lanes) {
        for (let k = 0; k < kc; k++) out[ob + k * w + l] = 0;
        continue;
      }
      const sb = base + (p0 + l) * ls;
      for (let k = 0, q = sb, o = ob + l; k < kc; k++, q += es, o += w) out[o] = src[q]!;
    }
  }
}

function micro(kc: number, A: Float64Array, ao: number, B: Float64Array, bo: number, C: Float64Array, co: number, ldc: number, mr: number, nr: number): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let k = 0; k < kc; k++, ao += 4, bo += 4) {
    const a0 = A[ao]!, a1 = A[ao + 1]!, a2 = A[ao + 2]!, a3 = A[ao + 3]!;
    const b0 = B[bo]!, b1 = B[bo + 1]!, b2 = B[bo + 2]!, b3 = B[bo + 3]!;
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
  }
  if (mr === 4 && nr === 4) {
    let o = co;
    C[o] = C[o]! + c00; C[o + 1] = C[o + 1]! + c01; C[o + 2] = C[o + 2]! + c02; C[o + 3] = C[o + 3]! + c03; o += ldc;
    C[o] = C[o]! + c10; C[o + 1] = C[o + 1]! + c11; C[o + 2] = C[o + 2]! + c12; C[o + 3] = C[o + 3]! + c13; o += ldc;
    C[o] = C[o]! + c20; C[o + 1] = C[o + 1]! + c21; C[o + 2] = C[o + 2]! + c22; C[o + 3] = C[o + 3]! + c23; o += ldc;
    C[o] = C[o]! + c30; C[o + 1] = C[o + 1]! + c31; C[o + 2] = C[o + 2]! + c32; C[o + 3] = C[o + 3]! + c33;
    return;
  }
  const t = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
  for (let i = 0; i < mr; i++) for (let j = 0; j < nr; j++) C[co + i * ldc + j] = C[co + i * ldc + j]! + t[i * 4 + j]!;
}
