import { allocChunk, cumulateDtype, isComplex, sizeOf, type Chunk, type CumulateParams, type Dtype } from '@tessera/protocol';
import { storeFloats, toFloat64 } from './wide.js';

/**
 * The running sum or product along one axis of a block, numpy's cumsum / cumprod within it (the
 * client adds the carry of the blocks before). Accumulated in the output dtype one step at a time,
 * as numpy does: float32 rounds after every step.
 */
export function cumulate(p: CumulateParams, inputs: readonly Chunk[], shape: readonly number[], dtype: Dtype): Chunk {
  const x = inputs[0];
  if (inputs.length !== 1 || !x) throw new Error(`cumulate: takes 1 input, got ${inputs.length}`);
  if (dtype !== cumulateDtype(x.dtype)) throw new Error(`cumulate: running ${p.kind} of ${x.dtype} is ${cumulateDtype(x.dtype)}, not ${dtype}`);
  if (p.axis >= x.shape.length) throw new Error(`cumulate: axis ${p.axis} of a ${x.shape.length}-D chunk`);
  const out = allocChunk(dtype, shape);
  const n = x.shape[p.axis]!;
  const inner = sizeOf(x.shape.slice(p.axis + 1));
  const outer = sizeOf(x.shape.slice(0, p.axis));
  if (isComplex(dtype)) {
    complexScan(p.kind === 'sum', x.data as Float64Array | Float32Array, out.data as Float64Array | Float32Array, outer, n, inner, dtype === 'complex64');
    return out;
  }
  // In doubles (exact while the running value stays below 2^53), stored into the dtype at the end.
  const src = toFloat64(x.data);
  const dst = out.data instanceof Float64Array ? out.data : new Float64Array(out.data.length);
  const f32 = dtype === 'float32';
  const sum = p.kind === 'sum';
  // Integer products stay integers: 0 times a negative is 0, not float64's -0.
  const ints = dtype !== 'float64' && dtype !== 'float32';
  for (let o = 0; o < outer; o++) {
    const base = o * n * inner;
    for (let i = 0; i < inner; i++) {
      let acc = sum ? 0 : 1;
      for (let k = 0, at = base + i; k < n; k++, at += inner) {
        acc = sum ? acc + src[at]! : acc * src[at]!;
        if (f32) acc = Math.fround(acc);
        dst[at] = ints ? acc + 0 : acc;
      }
    }
  }
  if (dst !== out.data) storeFloats(out.data, 0, dst, 0, dst.length);
  return out;
}

/** The complex scan on interleaved (re, im) pairs: numpy's product (ar br - ai bi, ar bi + ai br), one step at a time. */
function complexScan(sum: boolean, s: Float64Array | Float32Array, d: Float64Array | Float32Array, outer: number, n: number, inner: number, f32: boolean): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let re = sum ? 0 : 1;
      let im = 0;
      for (let k = 0, at = 2 * (o * n * inner + i); k < n; k++, at += 2 * inner) {
        const a = s[at]!, b = s[at + 1]!;
        if (sum) [re, im] = [re + a, im + b];
        else [re, im] = [re * a - im * b, re * b + im * a];
        if (f32) [re, im] = [Math.fround(re), Math.fround(im)];
        d[at] = re;
        d[at + 1] = im;
      }
    }
  }
}
