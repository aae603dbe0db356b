import { fftAxis, irfftAxis, rfftAxis, type FloatData } from './fft-core.js';
import { fftwKernels } from './native.js';

/**
 * The 1-d FFTs the fft op calls: FFTW where its addon loaded, else fft-core.ts (same contract: see
 * there). The arrays of one call are of one type (FFTW refuses a mix) and do not overlap.
 */
export interface FftKernel {
  name: 'fftw' | 'typescript';
  /** Complex [outer, n, inner] interleaved, in place, along n; unnormalised both ways. */
  fftAxis(data: FloatData, outer: number, n: number, inner: number, inverse: boolean): void;
  /** Real [outer, n, inner] to complex [outer, floor(n/2)+1, inner]. */
  rfftAxis(input: FloatData, output: FloatData, outer: number, n: number, inner: number): void;
  /** Complex [outer, floor(n/2)+1, inner] to real [outer, n, inner]; the input is kept. */
  irfftAxis(input: FloatData, output: FloatData, outer: number, n: number, inner: number): void;
}

const typescript: FftKernel = { name: 'typescript', fftAxis, rfftAxis, irfftAxis };
let fftw: FftKernel | undefined;

/** FFTW (native/fftw.cc) where it was built and not turned off (TESSERA_FFTW=0), else the TypeScript kernels. */
export function fftKernel(): FftKernel {
  const k = fftwKernels();
  if (!k) return typescript;
  fftw ??= { name: 'fftw', fftAxis: k.fftAxis, rfftAxis: k.rfftAxis, irfftAxis: k.irfftAxis };
  return fftw;
}
