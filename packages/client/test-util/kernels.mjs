// User kernels for the client's unit tests, loaded by every pool thread of the local engine
// (by absolute path, as a user's kernel module would be).
import { registerKernel } from '@tessera/worker';

// out = a * k (+ b, read cyclically when it is smaller), the shape of the first input.
registerKernel('scale-add', (inputs, params) => {
  const [a, b] = inputs;
  const out = new Float64Array(a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = a.data[i] * params.k + (b ? b.data[i % b.data.length] : 0);
  return out;
});

// One int32 per block: its block index along axis 0.
registerKernel('block-id', (_inputs, _params, ctx) => Int32Array.of(ctx.blockIndex[0]));

registerKernel('boom', (_inputs, params) => {
  throw new RangeError(`exploded: ${params.why}`);
});

// Busy-waits, then copies its input: keeps a graph running long enough to cancel it.
registerKernel('slow-copy', (inputs, params) => {
  const until = Date.now() + params.ms;
  while (Date.now() < until);
  return inputs[0].data.slice();
});
