// User kernels of the bench (mapBlocks / mapOverlap workloads), registered in every pool thread.
import { registerKernel } from '@tessera/worker';

// The 7-point Laplacian of a 3-d block, x[i±1] + x[j±1] + x[k±1] - 6 x, inside the block; 0 on its
// faces (mapOverlap's trim drops them). One pass with flat indices, as a user would write it, into
// the zeroed output the engine hands out (ctx.alloc: recycled memory, no copy of the result).
registerKernel('laplace7', ([x], _params, ctx) => {
  const [a, b, c] = x.shape;
  const d = x.data;
  const out = ctx.alloc();
  const sj = c, si = b * c;
  for (let i = 1; i < a - 1; i++) {
    for (let j = 1; j < b - 1; j++) {
      const row = i * si + j * sj;
      for (let k = row + 1, end = row + c - 1; k < end; k++) {
        out[k] = d[k - si] + d[k + si] + d[k - sj] + d[k + sj] + d[k - 1] + d[k + 1] - 6 * d[k];
      }
    }
  }
  if (ctx.dtype !== 'float64') throw new Error(`laplace7 computes float64, asked for ${ctx.dtype}`);
  return out;
});
