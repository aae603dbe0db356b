import { z } from 'zod';
import { type Dtype, complexOf, isComplex, isDtypeName, promoteTypes, realPart } from '../dtype.js';
import { fmtShape, shapeEquals } from '../shape.js';
import { Piece } from './pieces.js';

/**
 * Ops on complex values: the discrete Fourier transforms (`fft`), and the elementwise functions
 * of complex numbers (`complex`). Complex chunks are interleaved (re, im) pairs, see `lanes`.
 */

const nonneg = z.number().int().nonnegative();

interface Meta {
  shape: readonly number[];
  dtype: Dtype;
}

/**
 * One 1-d transform along `axis`, which the block holds whole (the client rechunks it so).
 * The input is cut or zero-padded to `n` along the axis first (numpy's `n`):
 * - c2c: complex to complex, n out;
 * - r2c: real to complex (rfft), n/2 + 1 out;
 * - c2r: complex (the Hermitian half: n/2 + 1 in) to real (irfft), n out.
 * `norm` is numpy's: backward (1/n on the inverse), ortho (1/sqrt(n) both ways), forward (1/n on
 * the forward transform).
 */
export const FftStep = z
  .object({
    axis: nonneg,
    n: z.number().int().positive(),
    kind: z.enum(['c2c', 'r2c', 'c2r']),
    inverse: z.boolean(),
    norm: z.enum(['backward', 'ortho', 'forward']),
  })
  .strict();
export type FftStep = z.infer<typeof FftStep>;
export type FftNorm = FftStep['norm'];

/**
 * Transforms applied in order to one block: fftn is one c2c step per axis; rfftn starts with its
 * r2c step, irfftn ends with its c2r. With `gather`, the block is first put together from the
 * task's inputs as an assemble task would (a rechunk that makes the axis whole, fused: its
 * pieces land in the transform's own buffer, no block of the rechunk is ever held).
 */
export const FftParams = z
  .object({
    steps: z.array(FftStep).min(1),
    gather: z.object({ pieces: z.array(Piece), shape: z.array(nonneg) }).strict().optional(),
  })
  .strict();
export type FftParams = z.infer<typeof FftParams>;

/**
 * The dtype an fft step gives (numpy 2's: the precision is kept, so float32 and complex64 give
 * complex64; integers give complex128), or a message when the step does not take `dtype`.
 */
export function fftStepDtype(kind: FftStep['kind'], dtype: Dtype): Dtype | string {
  if (kind === 'r2c' && isComplex(dtype)) return `rfft takes real input, got ${dtype}`;
  if (dtype === 'bool' && kind !== 'c2c') return `${kind === 'r2c' ? 'rfft' : 'irfft'} takes numbers, got bool`;
  const c = dtype === 'float32' || dtype === 'complex64' ? 'complex64' : 'complex128';
  return kind === 'c2r' ? realPart(c) : c;
}

/** The extent along the axis a step leaves: its n, or n/2 + 1 for r2c. */
export function fftStepLength(s: FftStep): number {
  return s.kind === 'r2c' ? Math.floor(s.n / 2) + 1 : s.n;
}

/** The fft check of the block the task transforms (after its gather, which the catalogue checks as an assemble's). */
export function checkFft(p: FftParams, deps: readonly Meta[], out: Meta): string | undefined {
  if (deps.length !== 1) return `takes 1 input, got ${deps.length}`;
  let { dtype } = deps[0]!;
  const shape = [...deps[0]!.shape];
  for (const [i, s] of p.steps.entries()) {
    if (s.axis >= shape.length) return `step ${i}: axis ${s.axis} is out of range for ${fmtShape(shape)}`;
    const d = fftStepDtype(s.kind, dtype);
    if (!isDtypeName(d)) return `step ${i}: ${d}`;
    dtype = d;
    shape[s.axis] = fftStepLength(s);
  }
  return shapeEquals(out.shape, shape) && out.dtype === dtype ? undefined : `gives ${dtype}${fmtShape(shape)}, declared ${out.dtype}${fmtShape(out.shape)}`;
}

export const COMPLEX_UNARY = ['conj', 'negative', 'exp', 'log', 'sqrt', 'square', 'reciprocal', 'sin', 'cos', 'tan', 'sinh', 'cosh', 'tanh'] as const;
export const COMPLEX_TO_REAL = ['real', 'imag', 'abs', 'angle', 'isnan', 'isfinite'] as const;
export const COMPLEX_BINARY = ['add', 'subtract', 'multiply', 'divide', 'power', 'make', 'equal', 'not_equal'] as const;
export const COMPLEX_KINDS = [...COMPLEX_UNARY, ...COMPLEX_TO_REAL, ...COMPLEX_BINARY, 'astype'] as const;
export type ComplexKind = (typeof COMPLEX_KINDS)[number];

/**
 * numpy's functions of complex numbers, elementwise over one or two inputs (any dtype: reals are
 * complex numbers with no imaginary part) broadcast numpy-style to `domain`, or one input and a
 * real JS number (`scalar`, on the left when `scalarFirst`). `make` is re + i·im of two real
 * inputs; `astype` converts to the declared complex dtype.
 */
export const ComplexParams = z
  .object({
    kind: z.enum(COMPLEX_KINDS),
    domain: z.array(nonneg),
    scalar: z.number().optional(),
    scalarFirst: z.boolean().optional(),
  })
  .strict();
export type ComplexParams = z.infer<typeof ComplexParams>;

/** What a complex kind gives for inputs of `dtypes` (one or two), or a message when it does not take them. */
export function complexResultDtype(kind: ComplexKind, dtypes: readonly Dtype[], castTo?: Dtype): Dtype | string {
  const binary = (COMPLEX_BINARY as readonly string[]).includes(kind);
  const arity = binary ? 2 : 1;
  if (dtypes.length !== arity) return `${kind} takes ${arity} operand${arity === 1 ? '' : 's'}, got ${dtypes.length}`;
  const all = dtypes.reduce(promoteTypes);
  if (kind === 'make') {
    if (dtypes.some(isComplex)) return `make takes real and imaginary parts that are real, got ${dtypes.join(', ')}`;
    return complexOf(all);
  }
  if (kind === 'astype') return castTo && isComplex(castTo) ? castTo : `astype by the complex kernel gives a complex dtype, asked for ${castTo ?? 'none'}`;
  if (kind === 'equal' || kind === 'not_equal' || kind === 'isnan' || kind === 'isfinite') return 'bool';
  if ((COMPLEX_TO_REAL as readonly string[]).includes(kind)) return realPart(complexOf(all));
  return complexOf(all);
}

export function checkComplex(p: ComplexParams, deps: readonly Meta[], out: Meta): string | undefined {
  const dtypes = deps.map((d) => d.dtype);
  if (p.scalar !== undefined) dtypes.push(complexOf(dtypes[0] ?? 'float64') === 'complex64' ? 'float32' : 'float64');
  const want = complexResultDtype(p.kind, dtypes, out.dtype);
  if (want !== out.dtype) return isDtypeName(want) ? `${p.kind} of ${dtypes.join(', ')} gives ${want}, declared ${out.dtype}` : want;
  for (const [i, d] of deps.entries()) {
    const off = p.domain.length - d.shape.length;
    if (off < 0 || d.shape.some((e, a) => e !== 1 && e !== p.domain[off + a])) return `input ${i} ${fmtShape(d.shape)} does not broadcast to ${fmtShape(p.domain)}`;
  }
  return shapeEquals(out.shape, p.domain) ? undefined : `output ${fmtShape(out.shape)} differs from the domain ${fmtShape(p.domain)}`;
}
