import { createRequire } from 'node:module';
import type { NumericArray } from '@tessera/protocol';

/** C[cOff + i*ldc + j] += Σ_k A[aOff + i*aRs + k*aCs] · B[bOff + k*bRs + j*bCs]. */
export type GemmFn<C> = (
  M: number,
  N: number,
  K: number,
  A: NumericArray,
  aOff: number,
  aRs: number,
  aCs: number,
  B: NumericArray,
  bOff: number,
  bRs: number,
  bCs: number,
  C: C,
  cOff: number,
  ldc: number,
) => void;

/** The kernels of native/gemm.cc, built by node-gyp at install (scripts/build-native.mjs). */
export interface NativeKernels {
  /** float64 accumulation whatever A and B are. */
  gemm: GemmFn<Float64Array>;
  /** The micro-kernel the CPU got: avx512, avx2 or plain. */
  readonly isa: string;
  /** madvise(MADV_HUGEPAGE) under a buffer not yet touched; false where the kernel refuses. */
  adviseHugePages(view: Uint8Array): boolean;
  /** Sorts each run of n elements in place, NaN last (native/sort.cc); the order of -0 and 0 is the caller's to fix. */
  sortLanes(data: Float64Array | Float32Array, n: number): void;
  /** The CPUs this process may run on (sched_getaffinity; native/affinity.cc). */
  getAffinity(): number[];
  /** Pin every thread of the process to these CPUs; gives how many threads it pinned. */
  setAffinity(cpus: readonly number[]): number;
}

/** Float matrices LAPACK works on in place (row-major, contiguous). */
export type FloatMatrix = Float64Array | Float32Array;

/**
 * native/blas.cc and native/lapack.cc: OpenBLAS and LAPACKE, built where pkg-config found them.
 * LAPACK routines return LAPACK's info (0 done, > 0 the routine's own failure) and overwrite
 * their arrays as LAPACK does; all arrays of one call are of one type (d or s routines).
 */
export interface BlasKernels {
  /** dgemm into a Float64Array C (A and B converted to float64 where they are not), sgemm into a Float32Array C (float32 A and B only). */
  gemm: GemmFn<FloatMatrix>;
  /** OpenBLAS threads per call: n (at most maxThreads) always, or (auto) n when no other call is in flight in the process, else one. */
  setThreads(n: number, auto: boolean): void;
  readonly maxThreads: number;
  /** openblas_get_config() and the kernel family OpenBLAS chose for this CPU (e.g. Haswell, SkylakeX). */
  readonly config: string;
  readonly core: string;
  geqrf(m: number, n: number, A: FloatMatrix, tau: FloatMatrix): number;
  orgqr(m: number, n: number, k: number, A: FloatMatrix, tau: FloatMatrix): number;
  gesdd(m: number, n: number, A: FloatMatrix, S: FloatMatrix, U: FloatMatrix, VT: FloatMatrix, vectors: boolean): number;
  getrf(m: number, n: number, A: FloatMatrix, ipiv: Int32Array): number;
  potrf(lower: boolean, n: number, A: FloatMatrix): number;
  /** C's lower triangle (n x n) minus A A^T (A n x k), in place; C's upper triangle untouched. */
  syrk(n: number, k: number, A: FloatMatrix, C: FloatMatrix): number;
  trsm(left: boolean, lower: boolean, transpose: boolean, unitDiagonal: boolean, m: number, n: number, alpha: number, A: FloatMatrix, B: FloatMatrix): number;
  gesv(n: number, nrhs: number, A: FloatMatrix, ipiv: Int32Array, B: FloatMatrix): number;
}

/** libzstd (tessera_zstd), for Zarr chunks: see native/zstd.cc. */
export interface ZstdKernels {
  /** The decompressed size of all frames, -1 where a frame does not record it. */
  contentSize(src: Uint8Array): number;
  /** Decompress into `dst` (exactly contentSize bytes); gives the bytes written. */
  decompressInto(src: Uint8Array, dst: Uint8Array): number;
  decompress(src: Uint8Array): Uint8Array;
  compress(src: Uint8Array, level: number): Uint8Array;
  version: string;
}

/**
 * FFTW 3 (tessera_fftw): see native/fftw.cc. The contract of fft-core.ts (interleaved complex,
 * the middle axis of [outer, n, inner], unnormalised); Float64Array arrays run fftw_*, Float32Array
 * ones fftwf_* (float32 arithmetic); the arrays of one call share one type and must not overlap.
 */
export interface FftwKernels {
  fftAxis(data: FloatMatrix, outer: number, n: number, inner: number, inverse: boolean): void;
  rfftAxis(input: FloatMatrix, output: FloatMatrix, outer: number, n: number, inner: number): void;
  /** Reads the input without changing it. */
  irfftAxis(input: FloatMatrix, output: FloatMatrix, outer: number, n: number, inner: number): void;
  /** fftw_version, e.g. fftw-3.3.10-sse2-avx. */
  readonly version: string;
}

interface Loaded<T> {
  kernels?: T;
  why?: string;
}

const loaded = new Map<string, Loaded<unknown>>();

function load<T>(addon: string, off: string | undefined): Loaded<T> {
  let l = loaded.get(addon) as Loaded<T> | undefined;
  if (l) return l;
  if (off) l = { why: `turned off (${off})` };
  else {
    try {
      // src/kernels or dist/kernels: the addons are in the package's build/Release either way.
      l = { kernels: createRequire(import.meta.url)(`../../build/Release/${addon}.node`) as T };
    } catch (e) {
      l = { why: `not built (${e instanceof Error ? e.message.split('\n')[0] : String(e)})` };
    }
  }
  loaded.set(addon, l);
  return l;
}

const nativeOff = (): string | undefined => (process.env.TESSERA_NATIVE === '0' ? 'TESSERA_NATIVE=0' : undefined);

/**
 * The native kernels, or undefined where they were not built (no C++ compiler at install) or are
 * turned off (TESSERA_NATIVE=0): then the WebAssembly ones run. Loaded once per thread.
 */
export function nativeKernels(): NativeKernels | undefined {
  return load<NativeKernels>('tessera_native', nativeOff()).kernels;
}

/** Why nativeKernels() is undefined (for a log line), or undefined when they are loaded. */
export function nativeUnavailable(): string | undefined {
  return load<NativeKernels>('tessera_native', nativeOff()).why;
}

const blasOff = (): string | undefined => nativeOff() ?? (process.env.TESSERA_BLAS === '0' ? 'TESSERA_BLAS=0' : undefined);

/** OpenBLAS and LAPACKE, or undefined where they were not found at build time or are turned off (TESSERA_BLAS=0). */
export function blasKernels(): BlasKernels | undefined {
  return load<BlasKernels>('tessera_blas', blasOff()).kernels;
}

/** Why blasKernels() is undefined, or undefined when they are loaded. */
export function blasUnavailable(): string | undefined {
  return load<BlasKernels>('tessera_blas', blasOff()).why;
}

const zstdOff = (): string | undefined => nativeOff() ?? (process.env.TESSERA_ZSTD === '0' ? 'TESSERA_ZSTD=0' : undefined);

/** libzstd, or undefined where it was not found at build time or is turned off (TESSERA_ZSTD=0): then zarrita's WebAssembly zstd runs. */
export function zstdKernels(): ZstdKernels | undefined {
  return load<ZstdKernels>('tessera_zstd', zstdOff()).kernels;
}

/** Why zstdKernels() is undefined, or undefined when it is loaded. */
export function zstdUnavailable(): string | undefined {
  return load<ZstdKernels>('tessera_zstd', zstdOff()).why;
}

const fftwOff = (): string | undefined => nativeOff() ?? (process.env.TESSERA_FFTW === '0' ? 'TESSERA_FFTW=0' : undefined);

/** FFTW, or undefined where it was not found at build time or is turned off (TESSERA_FFTW=0): then fft-core.ts runs. */
export function fftwKernels(): FftwKernels | undefined {
  return load<FftwKernels>('tessera_fftw', fftwOff()).kernels;
}

/** Why fftwKernels() is undefined, or undefined when it is loaded. */
export function fftwUnavailable(): string | undefined {
  return load<FftwKernels>('tessera_fftw', fftwOff()).why;
}
