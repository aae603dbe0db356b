import { toFloat64 } from './wide.js';
import { allocChunk, quantileDtype, sizeOf, type Chunk, type Dtype, type QuantileParams } from '@tessera/protocol';

/** numpy's _lerp: a + (b - a) t, from the nearer end, so that t = 1 gives b exactly. */
function lerp(a: number, b: number, t: number): number {
  const d = b - a;
  return t >= 0.5 ? b - d * (1 - t) : a + d * t;
}

/**
 * Quantiles of each lane along `axis` (the block holds it whole), numpy's 'linear' method: the
 * lane sorted, then for each q the value at virtual index (n - 1) q, interpolated between its two
 * neighbours. A lane with NaN gives NaN unless `skipNan` (then its NaN are left out; all NaN: NaN).
 */
export function quantile(p: QuantileParams, inputs: readonly Chunk[], shape: readonly number[], dtype: Dtype): Chunk {
  const x = inputs[0];
  if (inputs.length !== 1 || !x) throw new Error(`quantile: takes 1 input, got ${inputs.length}`);
  if (dtype !== quantileDtype(x.dtype)) throw new Error(`quantile: quantiles of ${x.dtype} are ${quantileDtype(x.dtype)}, not ${dtype}`);
  if (p.axis >= x.shape.length) throw new Error(`quantile: axis ${p.axis} of a ${x.shape.length}-D chunk`);
  const out = allocChunk(dtype, shape);
  const n = x.shape[p.axis]!;
  const inner = sizeOf(x.shape.slice(p.axis + 1));
  const outer = sizeOf(x.shape.slice(0, p.axis));
  const lanes = outer * inner;
  const lane = new Float64Array(n);
  const src = toFloat64(x.data);
  const dst = out.data;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let m = 0;
      let nan = false;
      for (let k = 0, at = o * n * inner + i; k < n; k++, at += inner) {
        const v = src[at]!;
        if (v !== v) nan = true;
        else lane[m++] = v;
      }
      const values = lane.subarray(0, m).sort();
      const target = o * inner + i;
      p.q.forEach((q, j) => {
        let r: number;
        if ((nan && !p.skipNan) || m === 0) r = NaN;
        else {
          const pos = (m - 1) * q;
          const lo = Math.floor(pos);
          const hi = Math.min(lo + 1, m - 1);
          r = lerp(values[lo]!, values[hi]!, pos - lo);
        }
        dst[j * lanes + target] = r;
      });
    }
  }
  return out;
}
