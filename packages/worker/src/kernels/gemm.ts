import { allocChunk, InvalidArgumentError, type Chunk, type Dtype, type NumericArray, type TensordotParams } from '@tessera/protocol';
import { storeFloats, toFloat64 } from './wide.js';
import { exactTensordot, gemmIsExact } from './gemm-exact.js';
import { collapse, cStrides } from './strided.js';
import { permuteInto } from './structure.js';
import { blasKernels, blasUnavailable, nativeKernels, nativeUnavailable, type FloatMatrix } from './native.js';
import { GEMM_KC as KC, GEMM_MC as MC, GEMM_MR as MR, GEMM_NC as NC, GEMM_NR as NR, gemmBlock, gemmScratch } from './wasm.js';

/**
 * tensordot as GEMM. Each operand is seen as a matrix with two strides (A: M x K, B: K x N)
 * without copying when its free and contracted axes collapse that way (any dtype: packing
 * converts), else it is first permuted into a float64 matrix.
 *
 * Three GEMMs, the first that is there and not turned off (gemmEngine() says which):
 * - OpenBLAS (native/blas.cc) where `npm run build` found it: dgemm, or sgemm when both operands
 *   and the result are float32 (float32 accumulation, as numpy's matmul);
 * - our own native GEMM (native/gemm.cc: BLIS-shaped, AVX-512 or AVX2 micro-kernels). It is
 *   chosen over OpenBLAS where it has AVX-512 and OpenBLAS's kernels for the CPU do not: on a
 *   Zen 4 EPYC, OpenBLAS 0.3.21 runs its Haswell kernels at 52 GFLOPS a thread, ours 100;
 * - WebAssembly: B is packed in KC x NC blocks of 4-column panels, A in MC x KC blocks of 4-row
 *   panels, both into WebAssembly memory, where a SIMD macro-kernel (assembly/gemm.ts)
 *   multiplies them into a C tile that is then added to the result.
 * TESSERA_GEMM=blas|native|wasm picks one. Accumulation is float64 but for sgemm; the result is
 * rounded or wrapped to the declared dtype at the end (TypedArray.set does exactly castScalar's
 * conversion).
 */

interface MatView {
  data: NumericArray;
  rs: number; // stride between rows
  cs: number; // stride between columns
}

export function tensordot(p: TensordotParams, inputs: readonly Chunk[], shape: number[], dtype: Dtype): Chunk {
  const { axesA, axesB, pairs } = p;
  if (inputs.length !== 2 * pairs) throw new Error(`tensordot: takes ${2 * pairs} inputs (pairs=${pairs}), got ${inputs.length}`);
  if (axesA.length !== axesB.length) throw new Error('tensordot: axesA and axesB differ in length');
  checkPairs(p, inputs, shape);
  if (!gemmIsExact(inputs, pairs, axesA, dtype)) return exactTensordot(inputs, pairs, axesA, axesB, shape, dtype);
  const out = allocChunk(dtype, shape);
  const products: { M: number; N: number; K: number; A: MatView; B: MatView }[] = [];
  for (let k = 0; k < pairs; k++) {
    const a = inputs[k]!,
      b = inputs[pairs + k]!;
    const freeA = a.shape.map((_, i) => i).filter((i) => !axesA.includes(i));
    const freeB = b.shape.map((_, i) => i).filter((i) => !axesB.includes(i));
    const prod = (s: number[], ax: number[]): number => ax.reduce((m, i) => m * s[i]!, 1);
    const M = prod(a.shape, freeA),
      N = prod(b.shape, freeB),
      K = prod(a.shape, axesA);
    if (M * N !== out.data.length) throw new Error(`tensordot: result has ${M * N} elements, declared shape [${shape.join(', ')}]`);
    if (M * N === 0 || K === 0) continue;
    products.push({ M, N, K, A: matView(a, freeA, axesA, M, K), B: matView(b, axesB, freeB, K, N) });
  }
  if (products.length === 0) return out;
  // sgemm straight into a float32 result where every operand is float32, as numpy does.
  const f32 = engine === 'blas' && out.data instanceof Float32Array && products.every((q) => q.A.data instanceof Float32Array && q.B.data instanceof Float32Array);
  const acc: FloatMatrix = out.data instanceof Float64Array || f32 ? (out.data as FloatMatrix) : new Float64Array(out.data.length);
  for (const { M, N, K, A, B } of products) gemm(M, N, K, A, B, acc, N);
  // numpy's bool dot is an or of ands: any non-zero sum is true.
  if (dtype === 'bool') for (let i = 0; i < acc.length; i++) out.data[i] = acc[i] !== 0 ? 1 : 0;
  else if (acc !== out.data) storeFloats(out.data, 0, acc as Float64Array, 0, acc.length);
  return out;
}

/** Each pair's contracted axes match and its free axes give the declared shape (both paths rely on it). */
function checkPairs(p: TensordotParams, inputs: readonly Chunk[], shape: number[]): void {
  const n = shape.reduce((a, b) => a * b, 1);
  for (let k = 0; k < p.pairs; k++) {
    const a = inputs[k]!, b = inputs[p.pairs + k]!;
    p.axesA.forEach((ax, i) => {
      if (a.shape[ax] === undefined || a.shape[ax] !== b.shape[p.axesB[i]!]) {
        throw new Error(`tensordot: pair ${k}: contracted axes of [${a.shape.join(', ')}] and [${b.shape.join(', ')}] do not match`);
      }
    });
    const free = (s: number[], ax: readonly number[]): number => s.reduce((m, d, i) => (ax.includes(i) ? m : m * d), 1);
    if (free(a.shape, p.axesA) * free(b.shape, p.axesB) !== n) throw new Error(`tensordot: pair ${k} does not give declared shape [${shape.join(', ')}]`);
  }
}

/** Matrix view of x with rows = axes `rows` (flattened in order), columns = axes `cols`. */
function matView(x: Chunk, rows: number[], cols: number[], nr: number, nc: number): MatView {
  const st = cStrides(x.shape);
  const group = (ax: number[]): number | undefined => {
    const { dims, strides } = collapse(
      ax.map((i) => x.shape[i]!),
      [ax.map((i) => st[i]!)],
    );
    return dims.length === 0 ? 1 : dims.length === 1 ? strides[0]![0] : undefined;
  };
  const rs = group(rows),
    cs = group(cols);
  // The GEMMs read float64, float32, int32 and uint8; other dtypes as doubles (exact: 64-bit
  // integers below 2^53, as the GEMM's float64 accumulation is).
  const d = x.data;
  const data = d instanceof Float64Array || d instanceof Float32Array || d instanceof Int32Array || d instanceof Uint8Array ? d : toFloat64(d);
  if (rs !== undefined && cs !== undefined) return { data, rs, cs };
  const m = new Float64Array(nr * nc);
  permuteInto(data, x.shape, [...rows, ...cols], m);
  return { data: m, rs: nc, cs: 1 };
}

export type GemmEngine = 'blas' | 'native' | 'wasm';

/** OpenBLAS's kernel families with AVX-512 (its core names). */
const BLAS_AVX512 = /skylakex|cooperlake|sapphirerapids|zen4|zen5/i;

const blas = blasKernels();
let engine: GemmEngine = defaultEngine().engine;
setGemmThreads(blas?.maxThreads ?? 1);

/**
 * OpenBLAS's threads for this process's GEMMs: up to `cores` (the pool's size, the cores the
 * worker was given) for a GEMM that runs alone, one each while several run (the pool is the
 * parallelism then). TESSERA_BLAS_THREADS=n fixes n per call instead.
 */
export function setGemmThreads(cores: number): void {
  if (!blas) return;
  const v = process.env.TESSERA_BLAS_THREADS;
  if (v === undefined || v === '') return blas.setThreads(Math.max(1, cores), true);
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`TESSERA_BLAS_THREADS must be a positive integer, got ${JSON.stringify(v)}`);
  blas.setThreads(n, false);
}

/** The GEMM tensordot runs by default, and why, for the worker's start-up log line. */
export function defaultEngine(): { engine: GemmEngine; why: string } {
  const own = nativeKernels();
  const wanted = process.env.TESSERA_GEMM;
  if (wanted !== undefined && wanted !== '') {
    if (wanted === 'blas' && blas) return { engine: 'blas', why: 'TESSERA_GEMM=blas' };
    if (wanted === 'native' && own) return { engine: 'native', why: 'TESSERA_GEMM=native' };
    if (wanted === 'wasm') return { engine: 'wasm', why: 'TESSERA_GEMM=wasm' };
    if (wanted !== 'blas' && wanted !== 'native') throw new InvalidArgumentError(`TESSERA_GEMM must be blas, native or wasm, got ${JSON.stringify(wanted)}`);
  }
  if (blas && !(own?.isa === 'avx512' && !BLAS_AVX512.test(blas.core))) return { engine: 'blas', why: `${blas.config.split(' ').slice(0, 2).join(' ')} on ${blas.core} kernels` };
  if (own && blas) return { engine: 'native', why: `own AVX-512 kernels, faster here than OpenBLAS's ${blas.core} kernels` };
  if (own) return { engine: 'native', why: `${own.isa} kernels; OpenBLAS ${blasUnavailable() ?? 'unavailable'}` };
  return { engine: 'wasm', why: `native GEMM ${nativeUnavailable() ?? 'unavailable'}` };
}

/** Which GEMM tensordot runs. */
export function gemmEngine(): GemmEngine {
  return engine;
}

/** The GEMMs built here (tests run each). */
export function gemmEngines(): GemmEngine[] {
  return [...(blas ? (['blas'] as const) : []), ...(nativeKernels() ? (['native'] as const) : []), 'wasm'];
}

/** Run tensordot through one GEMM or another (tests of each; only one that is built). */
export function useGemmEngine(e: GemmEngine): void {
  if (e === 'blas' && !blas) throw new Error(`OpenBLAS is ${blasUnavailable() ?? 'unavailable'}`);
  if (e === 'native' && !nativeKernels()) throw new Error(`the native GEMM is ${nativeUnavailable() ?? 'unavailable'}`);
  engine = e;
}

/** C[M x N] (row stride ldc) += A * B. */
export function gemm(M: number, N: number, K: number, A: MatView, B: MatView, C: FloatMatrix, ldc: number): void {
  if (engine === 'blas') return blas!.gemm(M, N, K, A.data, 0, A.rs, A.cs, B.data, 0, B.rs, B.cs, C, 0, ldc);
  if (!(C instanceof Float64Array)) throw new Error('gemm: only OpenBLAS accumulates into a Float32Array');
  if (engine === 'native') return nativeKernels()!.gemm(M, N, K, A.data, 0, A.rs, A.cs, B.data, 0, B.rs, B.cs, C, 0, ldc);
  const { a: packA, b: packB, c: tile } = gemmScratch;
  for (let jc = 0; jc < N; jc += NC) {
    const nc = Math.min(NC, N - jc);
    const ncp = Math.ceil(nc / NR) * NR;
    for (let pc = 0; pc < K; pc += KC) {
      const kc = Math.min(KC, K - pc);
      pack(B.data, pc * B.rs + jc * B.cs, B.cs, B.rs, nc, kc, packB);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = Math.min(MC, M - ic);
        pack(A.data, ic * A.rs + pc * A.cs, A.rs, A.cs, mc, kc, packA);
        gemmBlock(Math.ceil(mc / MR) * MR, ncp, kc);
        for (let i = 0; i < mc; i++) {
          for (let j = 0, o = (ic + i) * ldc + jc, t = i * ncp; j < nc; j++, o++, t++) C[o] = C[o]! + tile[t]!;
        }
      }
    }
  }
}

/**
 * Pack `len` lines (line i at base + i*ls) of kc elements (element k at + k*es) into panels of 4
 * lines, k-major inside a panel: out[(panel*kc + k)*4 + lane]. A full panel reads its 4 lines
 * side by side, so both a row-major A and a row-major B stream forward. Missing lanes only feed
 * C tile entries that are never read back; they are zeroed so stale memory (a NaN, a subnormal)
 * cannot slow the multiplies.
 */
function pack(src: NumericArray, base: number, ls: number, es: number, len: number, kc: number, out: Float64Array): void {
  const full = len - (len % 4);
  let o = 0;
  for (let p0 = 0; p0 < full; p0 += 4) {
    const l0 = base + p0 * ls,
      l1 = l0 + ls,
      l2 = l1 + ls,
      l3 = l2 + ls;
    for (let k = 0, q = 0; k < kc; k++, q += es, o += 4) {
      out[o] = src[l0 + q]!;
      out[o + 1] = src[l1 + q]!;
      out[o + 2] = src[l2 + q]!;
      out[o + 3] = src[l3 + q]!;
    }
  }
  if (full === len) return;
  for (let k = 0; k < kc; k++, o += 4) {
    for (let l = 0; l < 4; l++) out[o + l] = full + l < len ? src[base + (full + l) * ls + k * es]! : 0;
  }
}
