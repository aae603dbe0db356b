import { z } from 'zod';
import type { Dtype } from '../dtype.js';
import { fmtShape, shapeEquals } from '../shape.js';

/**
 * Ops that read a neighbourhood along an axis. Their input is a block with halos (the client's
 * overlap: each block extended by the rows of its neighbours, or by the boundary), and each
 * drops what it only read, so no separate trim task follows.
 */

const nonneg = z.number().int().nonnegative();

interface Meta {
  shape: readonly number[];
  dtype: Dtype;
}

/**
 * numpy.gradient along `axis` of the block: central differences inside, one-sided ones of
 * `edgeOrder` at the block's two ends (the array's ends, where the block has no halo there).
 * `spacing` is the step, or the block's coordinate steps along the axis (length - 1 of them,
 * uneven spacing as numpy's). The result drops `trim` = [before, after] rows of the axis (the
 * halos). Input and output are float32 or float64, the same.
 */
export const GradientParams = z
  .object({
    axis: nonneg,
    edgeOrder: z.union([z.literal(1), z.literal(2)]),
    spacing: z.union([z.number(), z.array(z.number())]),
    trim: z.tuple([nonneg, nonneg]),
  })
  .strict();
export type GradientParams = z.infer<typeof GradientParams>;

/**
 * The valid correlation along `axis` of the block (input 0) with a 1-d weights block (input 1,
 * K long): out[.., i, ..] = sum_j in[.., i + j, ..] w[j], the axis K - 1 shorter. Arithmetic of
 * the dtype, as numpy's (integers wrap, bool is or-of-and); floats sum in float64.
 */
export const CorrelateParams = z.object({ axis: nonneg }).strict();
export type CorrelateParams = z.infer<typeof CorrelateParams>;

export function checkGradient(p: GradientParams, deps: readonly Meta[], out: Meta): string | undefined {
  if (deps.length !== 1) return `takes 1 input, got ${deps.length}`;
  const x = deps[0]!;
  if (x.dtype !== 'float32' && x.dtype !== 'float64') return `takes float32 or float64, got ${x.dtype}`;
  if (p.axis >= x.shape.length) return `axis ${p.axis} is out of range for ${fmtShape(x.shape)}`;
  const n = x.shape[p.axis]!;
  if (n < p.edgeOrder + 1) return `needs at least ${p.edgeOrder + 1} elements along axis ${p.axis}, the block has ${n}`;
  if (Array.isArray(p.spacing) && p.spacing.length !== n - 1) return `${p.spacing.length} coordinate steps for ${n} elements along axis ${p.axis}`;
  if (p.trim[0] + p.trim[1] > n) return `trims ${p.trim[0] + p.trim[1]} of ${n} elements`;
  const want = x.shape.map((d, i) => (i === p.axis ? d - p.trim[0] - p.trim[1] : d));
  return shapeEquals(out.shape, want) && out.dtype === x.dtype ? undefined : `gives ${x.dtype}${fmtShape(want)}, declared ${out.dtype}${fmtShape(out.shape)}`;
}

export function checkCorrelate(p: CorrelateParams, deps: readonly Meta[], out: Meta): string | undefined {
  if (deps.length !== 2) return `takes 2 inputs (a block and the weights), got ${deps.length}`;
  const [x, w] = [deps[0]!, deps[1]!];
  if (w.shape.length !== 1 || w.shape[0] === 0) return `the weights must be a non-empty 1-d block, got ${fmtShape(w.shape)}`;
  if (w.dtype !== x.dtype) return `the weights are ${w.dtype}, the block ${x.dtype}`;
  if (p.axis >= x.shape.length) return `axis ${p.axis} is out of range for ${fmtShape(x.shape)}`;
  const k = w.shape[0]!;
  if (x.shape[p.axis]! < k - 1) return `a block of ${x.shape[p.axis]} along axis ${p.axis} is shorter than the ${k - 1} rows of halo ${k} weights need`;
  const want = x.shape.map((d, i) => (i === p.axis ? d - k + 1 : d));
  return shapeEquals(out.shape, want) && out.dtype === x.dtype ? undefined : `gives ${x.dtype}${fmtShape(want)}, declared ${out.dtype}${fmtShape(out.shape)}`;
}
