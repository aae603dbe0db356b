import { createRequire } from 'node:module';
import type { NumericArray } from '@tessera/protocol';

/** The kernels of native/gemm.cc, built by node-gyp at install (scripts/build-native.mjs). */
export interface NativeKernels {
  /** C[cOff + i*ldc + j] += Σ_k A[aOff + i*aRs + k*aCs] · B[bOff + k*bRs + j*bCs]; float64 accumulation. */
  gemm(
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
    C: Float64Array,
    cOff: number,
    ldc: number,
  ): void;
  /** The micro-kernel the CPU got: avx512, avx2 or plain. */
  readonly isa: string;
}

let loaded: { kernels?: NativeKernels; why?: string } | undefined;

/**
 * The native kernels, or undefined where they were not built (no C++ compiler at install) or are
 * turned off (TESSERA_NATIVE=0): then the WebAssembly ones run. Loaded once per thread.
 */
export function nativeKernels(): NativeKernels | undefined {
  loaded ??= load();
  return loaded.kernels;
}

/** Why nativeKernels() is undefined (for a log line), or undefined when they are loaded. */
export function nativeUnavailable(): string | undefined {
  loaded ??= load();
  return loaded.why;
}

function load(): { kernels?: NativeKernels; why?: string } {
  if (process.env.TESSERA_NATIVE === '0') return { why: 'turned off (TESSERA_NATIVE=0)' };
  try {
    // src/kernels or dist/kernels: the addon is in the package's build/Release either way.
    const kernels = createRequire(import.meta.url)('../../build/Release/tessera_native.node') as NativeKernels;
    return { kernels };
  } catch (e) {
    return { why: `not built (${e instanceof Error ? e.message.split('\n')[0] : String(e)})` };
  }
}
