import { isWideData, type ChunkData, type WideArray } from '@tessera/protocol';

/**
 * int64 / uint64 data as the float64 interpreter sees it. A 64-bit integer is read as two 32-bit
 * halves (hi * 2^32 + lo, plain number arithmetic, no BigInt objects): exact whenever |value| <
 * 2^53, which `loadWide` reports. Stores split an integer-valued double back into halves, exact
 * for every double in the dtype's range. Data that only moves (transpose, slicing, concatenation)
 * is moved through a Float64Array view of the same bytes (`moveView`): V8 copies float64 typed
 * array elements bit for bit, NaN patterns included (the kernels' tests hold it to that).
 */

const TWO32 = 4294967296;
export function halves(w: WideArray): { lo: Uint32Array; hi: Int32Array | Uint32Array } {
  const n = w.length * 2;
  const lo = new Uint32Array(w.buffer, w.byteOffset, n);
  const hi = w instanceof BigInt64Array ? new Int32Array(w.buffer, w.byteOffset, n) : lo;
  return { lo, hi };
}

/** A view for kernels that only move elements: 64-bit integers as float64 bit patterns. */
export function moveView(d: ChunkData): Exclude<ChunkData, WideArray> {
  return isWideData(d) ? new Float64Array(d.buffer, d.byteOffset, d.length) : d;
}

/**
 * Read an nr x nc tile (element (i, j) at b + i*sR + j*sC) of 64-bit integers as doubles into
 * buf; false when some value is not exact there (the caller then takes the exact path).
 */
export function loadWide(src: WideArray, b: number, sR: number, sC: number, nr: number, nc: number, buf: Float64Array): boolean {
  const { lo, hi } = halves(src);
  // Signed: |value| < 2^53 iff the high half is within [-2^21, 2^21). Unsigned: below 2^21.
  const min = src instanceof BigInt64Array ? -2097152 : 0;
  let ok = true;
  for (let i = 0, o = 0; i < nr; i++) {
    for (let j = 0, q = b + i * sR; j < nc; j++, q += sC, o++) {
      const h = hi[2 * q + 1]!;
      if (h < min || h >= 2097152) ok = false;
      buf[o] = h * TWO32 + lo[2 * q]!;
    }
  }
  return ok;
}

/** The first element of a wide array as a double, and whether that is exact. */
export function wideAt(src: WideArray, q: number): { value: number; exact: boolean } {
  const one = new Float64Array(1);
  const exact = loadWide(src, q, 0, 0, 1, 1, one);
  return { value: one[0]!, exact };
}

/** dst[o + j] = v[off + j] for n integer-valued doubles (wrapped into the dtype's 64 bits). */
export function storeWide(dst: WideArray, o: number, v: Float64Array, off: number, n: number): void {
  const { lo, hi } = halves(dst);
  for (let j = 0; j < n; j++) {
    const x = v[off + j]!;
    const h = Math.floor(x / TWO32);
    lo[2 * (o + j)] = x - h * TWO32;
    // ToInt32 / ToUint32 of h: the high half modulo 2^32 (a uint64 above 2^63 arrives as is).
    hi[2 * (o + j) + 1] = h;
  }
}

/** Store doubles into any chunk data at offset o (typed-array conversion; halves for 64-bit integers). */
export function storeFloats(dst: ChunkData, o: number, v: Float64Array, off: number, n: number): void {
  if (isWideData(dst)) storeWide(dst, o, v, off, n);
  else dst.set(off === 0 && n === v.length ? v : v.subarray(off, off + n), o);
}

/** A whole chunk's values as doubles (nearest double for 64-bit integers beyond 2^53). */
export function toFloat64(d: ChunkData): Float64Array {
  if (d instanceof Float64Array) return d;
  const out = new Float64Array(d.length);
  if (isWideData(d)) loadWide(d, 0, 0, 1, 1, d.length, out);
  else out.set(d);
  return out;
}
