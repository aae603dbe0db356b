import { allocChunk, type Chunk, type Dtype, type RandomParams } from '@tessera/protocol';
import { cStrides, nextIndex } from './strided.js';
import { stage, TILE, uniformStage, uniformTile } from './wasm.js';

/**
 * Counter-based random numbers: a value depends only on (seed, global C-order flat index g into
 * fullShape, stream), never on chunking, worker or retry. The generator is SplitMix64 evaluated
 * at a counter (assembly/random.ts, WebAssembly; uniformAt below is its BigInt reference):
 *   key = mix64(seed | (stream + 1) << 32),  u(g) = (mix64(key + (g + 1) * GAMMA) >>> 11) / 2^53
 *   uniform: a + (b - a) * u(stream 0)
 *   normal:  a + b * sqrt(-2 ln(1 - u0)) * cos(2 pi u1)   (Box-Muller, u0 from stream 0, u1 from stream 1)
 * float32 output stores Math.fround of the float64 value (so a uniform may round up to b).
 */

const M64 = (1n << 64n) - 1n;
const GAMMA = 0x9e3779b97f4a7c15n;

function mix64(z: bigint): bigint {
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64;
  return z ^ (z >> 31n);
}

/** One uniform of stream s at global index g: the reference the WebAssembly generator must match. */
export function uniformAt(seed: number, s: number, g: number): number {
  const key = mix64(BigInt(seed) | (BigInt(s + 1) << 32n));
  return Number(mix64((key + (BigInt(g) + 1n) * GAMMA) & M64) >> 11n) / 2 ** 53;
}

/**
 * Write an nr x nc tile of the distribution into out[o..o + nr*nc) (row-major), element (i, j)
 * being the value at global index g0 + i*gR + j*gC (strides may be 0, or a transposed read's):
 * the fused elementwise driver generates each tile where the program reads it. nr * nc <= TILE.
 * f32: round each value to float32, what a float32 source holds.
 */
export function randomTile(
  p: RandomParams, f32: boolean, out: Float64Array, o: number, nr: number, nc: number, g0: number, gR: number, gC: number,
): void {
  const { seed, a, b } = p;
  if (p.dist === 'uniform') return uniformTile(out, o, nr, nc, g0, gR, gC, seed, 0, a, b - a, f32);
  // Box-Muller in JS (Math.log, Math.cos: exactly the reference's numbers), one row at a time.
  for (let i = 0; i < nr; i++) {
    const g = g0 + i * gR;
    const u0 = uniformStage(0, nc, g, gC, seed, 0), u1 = uniformStage(2, nc, g, gC, seed, 1);
    const q = o + i * nc;
    for (let j = 0; j < nc; j++) {
      const v = a + b * (Math.sqrt(-2 * Math.log(1 - u0[j]!)) * Math.cos(2 * Math.PI * u1[j]!));
      out[q + j] = f32 ? Math.fround(v) : v;
    }
  }
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
  const out = allocChunk(dtype, shape, { overwrite: true });
  const d = out.data;
  if (d.length === 0) return out;
  const L = r === 0 ? 1 : shape[r - 1]!;
  const step = r === 0 ? 1 : gs[r - 1]!;
  const idx = new Array<number>(Math.max(0, r - 1)).fill(0);
  const f32 = dtype === 'float32';
  const tile = d instanceof Float64Array ? d : stage(1);
  let o = 0;
  do {
    let g = base;
    for (let k = 0; k < r - 1; k++) g += idx[k]! * gs[k]!;
    for (let j = 0; j < L; j += TILE) {
      const n = Math.min(TILE, L - j);
      // A float32 chunk goes through a float64 staging tile (the store rounds it).
      randomTile(p, f32, tile, tile === d ? o + j : 0, 1, n, g + j * step, 0, step);
      if (tile !== d) (d as Float32Array).set(tile.subarray(0, n), o + j);
    }
    o += L;
  } while (nextIndex(idx, shape, r - 1));
  return out;
}
