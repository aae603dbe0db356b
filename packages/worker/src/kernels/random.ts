import { allocChunk, type Chunk, type Dtype, type NumericArray, type RandomParams } from '@tessera/protocol';
import { cStrides, nextIndex } from './strided.js';

/**
 * Counter-based random numbers: a value depends only on (seed, global C-order flat index g into
 * fullShape, stream), never on chunking, worker or retry.
 *
 * word(seed, w, g) = fmix32(mix(mix(mix(seed, w), hi), lo)), where lo/hi are the low/high 32
 * bits of g and mix/fmix32 are MurmurHash3's block mix and finaliser (all Math.imul, 32-bit).
 * Uniform stream s at g: u = ((word(2s) >>> 6) * 2^27 + (word(2s+1) >>> 5)) / 2^53, a 53-bit
 * double in [0, 1).
 *   uniform: a + (b - a) * u(stream 0)
 *   normal:  a + b * sqrt(-2 ln(1 - u0)) * cos(2 pi u1)   (Box-Muller, u0 from stream 0, u1 from stream 1)
 * The (seed, w, hi) prefix is hashed once per row, so each element costs two mixes per word.
 * float32 output stores Math.fround of the float64 value (so a uniform may round up to b).
 */

const TWO32 = 4294967296;
const TWO27 = 134217728;
const TWO53 = 9007199254740992;

function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function prefix(seed: number, w: number, hi: number): number {
  return mix(mix(seed | 0, w), hi);
}

/** One uniform of stream s at global index g (slow path, exported for tests and row edges). */
export function uniformAt(seed: number, s: number, g: number): number {
  const lo = g % TWO32 | 0, hi = Math.floor(g / TWO32);
  const x = fmix(mix(prefix(seed, 2 * s, hi), lo)), y = fmix(mix(prefix(seed, 2 * s + 1, hi), lo));
  return ((x >>> 6) * TWO27 + (y >>> 5)) / TWO53;
}

/**
 * Write n values of the distribution into out[o..o+n), for global indices g, g + step, ...
 * (step may be 0 or anything: a transposed or broadcast read generates in the order it is read).
 * The fused elementwise driver calls this per tile row, so a source is never materialised.
 */
export function randomRow(p: RandomParams, f32: boolean, out: NumericArray, o: number, n: number, g: number, step: number): void {
  const normal = p.dist === 'normal';
  const { seed, a, b } = p;
  const scale = b - a;
  const lo0 = g % TWO32, hi = Math.floor(g / TWO32);
  if (step < 0 || lo0 + (n - 1) * step >= TWO32) {
    // The row crosses a 2^32 boundary of the counter: take the slow path for it.
    for (let j = 0; j < n; j++) {
      const gj = g + j * step;
      out[o + j] = normal
        ? a + b * Math.sqrt(-2 * Math.log(1 - uniformAt(seed, 0, gj))) * Math.cos(2 * Math.PI * uniformAt(seed, 1, gj))
        : a + scale * uniformAt(seed, 0, gj);
    }
  } else if (!normal) {
    const p0 = prefix(seed, 0, hi), p1 = prefix(seed, 1, hi);
    for (let j = 0, lo = lo0 | 0; j < n; j++, lo = (lo + step) | 0) {
      const x = fmix(mix(p0, lo)), y = fmix(mix(p1, lo));
      out[o + j] = a + scale * (((x >>> 6) * TWO27 + (y >>> 5)) / TWO53);
    }
  } else {
    const p0 = prefix(seed, 0, hi), p1 = prefix(seed, 1, hi), p2 = prefix(seed, 2, hi), p3 = prefix(seed, 3, hi);
    for (let j = 0, lo = lo0 | 0; j < n; j++, lo = (lo + step) | 0) {
      const u0 = ((fmix(mix(p0, lo)) >>> 6) * TWO27 + (fmix(mix(p1, lo)) >>> 5)) / TWO53;
      const u1 = ((fmix(mix(p2, lo)) >>> 6) * TWO27 + (fmix(mix(p3, lo)) >>> 5)) / TWO53;
      out[o + j] = a + b * (Math.sqrt(-2 * Math.log(1 - u0)) * Math.cos(2 * Math.PI * u1));
    }
  }
  // A float64 register standing for a float32 source holds float32 values.
  if (f32 && out instanceof Float64Array) for (let j = 0; j < n; j++) out[o + j] = Math.fround(out[o + j]!);
}

/** Global C-order index of the chunk's first element, and the global stride of each chunk axis. */
export function globalLayout(p: RandomParams, shape: readonly number[]): { base: number; strides: number[] } {
  const r = shape.length;
  if (p.offset.length !== r || p.fullShape.length !== r || shape.some((d, i) => p.offset[i]! + d > p.fullShape[i]!)) {
    throw new Error(`random: chunk [${shape.join(', ')}] at offset [${p.offset.join(', ')}] does not fit in [${p.fullShape.join(', ')}]`);
  }
  const strides = cStrides(p.fullShape);
  let base = 0;
  for (let k = 0; k < r; k++) base += p.offset[k]! * strides[k]!;
  return { base, strides };
}

/** A random chunk (C order). */
export function random(p: RandomParams, shape: number[], dtype: Dtype): Chunk {
  if (dtype !== 'float64' && dtype !== 'float32') throw new Error(`random: values are float, declared ${dtype}`);
  const r = shape.length;
  const { base, strides: gs } = globalLayout(p, shape);
  const out = allocChunk(dtype, shape);
  const d = out.data;
  if (d.length === 0) return out;
  const L = r === 0 ? 1 : shape[r - 1]!;
  const step = r === 0 ? 1 : gs[r - 1]!;
  const idx = new Array<number>(Math.max(0, r - 1)).fill(0);
  let o = 0;
  do {
    let g = base;
    for (let k = 0; k < r - 1; k++) g += idx[k]! * gs[k]!;
    randomRow(p, false, d, o, L, g, step);
    o += L;
  } while (nextIndex(idx, shape, r - 1));
  return out;
}
