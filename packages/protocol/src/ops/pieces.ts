import { z } from 'zod';

const nonneg = z.number().int().nonnegative();

/** One axis of a strided region: `count` elements from `start`, `step` apart (negative steps go backwards). */
export const AxisSlice = z.object({ start: nonneg, step: z.number().int().refine((s) => s !== 0, 'step must not be 0'), count: nonneg }).strict();
/** A strided region of input `input` copied to offset `dst` of the output: what slicing, rechunking and concatenation are made of. */
export const Piece = z
  .object({ input: nonneg, src: z.array(AxisSlice), dst: z.array(nonneg) })
  .strict();
export type Piece = z.infer<typeof Piece>;
