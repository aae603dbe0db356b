import { allocChunk, sizeOf, type Chunk, type CorrelateParams, type Dtype, type GradientParams } from '@tessera/protocol';

/** A block seen as outer x n x inner along `axis` (C order). */
function lanes(shape: readonly number[], axis: number): { outer: number; n: number; inner: number } {
  return { outer: sizeOf(shape.slice(0, axis)), n: shape[axis]!, inner: sizeOf(shape.slice(axis + 1)) };
}

/**
 * numpy.gradient of one block along an axis, numpy's formulas term for term (in float64, stored
 * once into the dtype): second-order central differences inside, one-sided of edgeOrder at the
 * ends; uneven steps as numpy's. Rows trim[0] and trim[1] at the ends are dropped (halos).
 */
export function gradient(p: GradientParams, inputs: readonly Chunk[], shape: readonly number[], dtype: Dtype): Chunk {
  const x = inputs[0];
  if (inputs.length !== 1 || !x || x.dtype !== dtype) throw new Error(`gradient: takes one ${dtype} block`);
  const f = x.data as Float64Array | Float32Array;
  const { outer, n, inner } = lanes(x.shape, p.axis);
  const [t0, t1] = p.trim;
  const out = allocChunk(dtype, shape);
  const o = out.data as Float64Array | Float32Array;
  const m = n - t0 - t1;
  const uniform = typeof p.spacing === 'number';
  const dx = (i: number): number => (uniform ? (p.spacing as number) : (p.spacing as number[])[i]!);
  // The three weights of row i (of f[i-1], f[i], f[i+1], or the one-sided stencils at the ends).
  const w = new Float64Array(3 * n);
  const rows = new Int32Array(n); // the first row each stencil reads
  for (let i = 0; i < n; i++) {
    let a: number, b: number, c: number, r: number;
    if (i > 0 && i < n - 1) {
      r = i - 1;
      if (uniform) [a, b, c] = [-1 / (2 * dx(0)), 0, 1 / (2 * dx(0))];
      else {
        const [d1, d2] = [dx(i - 1), dx(i)];
        [a, b, c] = [-d2 / (d1 * (d1 + d2)), (d2 - d1) / (d1 * d2), d1 / (d2 * (d1 + d2))];
      }
    } else if (p.edgeOrder === 1) {
      const d = dx(i === 0 ? 0 : n - 2);
      r = i === 0 ? 0 : n - 2;
      [a, b, c] = [-1 / d, 1 / d, 0];
    } else if (i === 0) {
      r = 0;
      if (uniform) [a, b, c] = [-1.5 / dx(0), 2 / dx(0), -0.5 / dx(0)];
      else {
        const [d1, d2] = [dx(0), dx(1)];
        [a, b, c] = [-(2 * d1 + d2) / (d1 * (d1 + d2)), (d1 + d2) / (d1 * d2), -d1 / (d2 * (d1 + d2))];
      }
    } else {
      r = n - 3;
      if (uniform) [a, b, c] = [0.5 / dx(0), -2 / dx(0), 1.5 / dx(0)];
      else {
        const [d1, d2] = [dx(n - 3), dx(n - 2)];
        [a, b, c] = [d2 / (d1 * (d1 + d2)), -(d2 + d1) / (d1 * d2), (2 * d2 + d1) / (d2 * (d1 + d2))];
      }
    }
    w.set([a, b, c], 3 * i);
    rows[i] = r;
  }
  for (let q = 0; q < outer; q++) {
    for (let i = t0; i < n - t1; i++) {
      const src = (q * n + rows[i]!) * inner;
      const dst = (q * m + i - t0) * inner;
      const [a, b, c] = [w[3 * i]!, w[3 * i + 1]!, w[3 * i + 2]!];
      const central = i > 0 && i < n - 1 && uniform;
      const d2 = 2 * dx(0);
      const one = i === 0 || i === n - 1 ? p.edgeOrder === 1 : false;
      const d1 = one ? dx(i === 0 ? 0 : n - 2) : 0;
      for (let k = 0; k < inner; k++) {
        const f0 = f[src + k]!, f1 = f[src + inner + k]!;
        // numpy's order of operations: differences over the step where it divides.
        if (central) o[dst + k] = (f[src + 2 * inner + k]! - f0) / d2;
        else if (one) o[dst + k] = (f1 - f0) / d1;
        else o[dst + k] = a * f0 + b * f1 + c * f[src + 2 * inner + k]!;
      }
    }
  }
  return out;
}

/** The valid correlation of a block with 1-d weights along an axis, in the dtype's arithmetic. */
export function correlate(p: CorrelateParams, inputs: readonly Chunk[], shape: readonly number[], dtype: Dtype): Chunk {
  const [x, wc] = inputs;
  if (inputs.length !== 2 || !x || !wc || x.dtype !== dtype || wc.dtype !== dtype) throw new Error(`correlate: takes a ${dtype} block and ${dtype} weights`);
  const { outer, n, inner } = lanes(x.shape, p.axis);
  const k = wc.data.length;
  const m = n - k + 1;
  const out = allocChunk(dtype, shape);
  const src = x.data, w = wc.data, dst = out.data;
  const at = (q: number, i: number): number => (q * n + i) * inner;
  if (dtype === 'int64' || dtype === 'uint64') {
    const s = src as BigInt64Array, ww = w as BigInt64Array, d = dst as BigInt64Array;
    for (let q = 0; q < outer; q++)
      for (let i = 0; i < m; i++)
        for (let e = 0; e < inner; e++) {
          let acc = 0n;
          for (let j = 0; j < k; j++) acc += s[at(q, i + j) + e]! * ww[j]!;
          d[(q * m + i) * inner + e] = BigInt.asIntN(64, acc); // the array's store wraps unsigned
        }
    return out;
  }
  const s = src as Float64Array, ww = w as Float64Array, d = dst as Float64Array;
  const float = dtype === 'float64' || dtype === 'float32';
  for (let q = 0; q < outer; q++)
    for (let i = 0; i < m; i++) {
      const o = (q * m + i) * inner;
      for (let e = 0; e < inner; e++) {
        let acc = 0;
        if (float) for (let j = 0; j < k; j++) acc += s[at(q, i + j) + e]! * ww[j]!;
        else if (dtype === 'bool') for (let j = 0; j < k && !acc; j++) acc = s[at(q, i + j) + e]! && ww[j]! ? 1 : 0;
        // Integers of 32 bits or fewer: products and sums modulo 2^32, which the store narrows.
        else for (let j = 0; j < k; j++) acc = (acc + Math.imul(s[at(q, i + j) + e]!, ww[j]!)) | 0;
        d[o + e] = acc;
      }
    }
  return out;
}
