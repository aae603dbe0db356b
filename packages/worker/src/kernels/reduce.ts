import {
  allocChunk,
  partialComponents,
  type Chunk,
  type Dtype,
  type ReduceMergeParams,
  type ReductionKind,
} from '@tessera/protocol';
import { exactSumInMemory, sumInMemory } from './wasm.js';
import { halves, storeFloats } from './wide.js';
import type { Exact } from './exact.js';

/**
 * Reduction partials (layout in protocol ops/reduction.ts): float64, one slot per kept position,
 * C components per slot, stored slot-major (data[slot * C + component]).
 *
 * Empty partials (nothing fed to a slot) merge as identities:
 *   sum [0], prod [1], min [+Inf], max [-Inf], mean [0, 0], var/std [0, 0, 0],
 *   argmin [+Inf, -1], argmax [-Inf, -1]   (index -1 marks "no element"; merging skips it).
 * NaN wins min/max (numpy propagates it); for argmin/argmax the first NaN's index wins.
 */

export const K_SUM = 0, K_PROD = 1, K_MIN = 2, K_MAX = 3, K_MEAN = 4, K_VAR = 5, K_ARGMIN = 6, K_ARGMAX = 7, K_ISUM = 8, K_IPROD = 9;

export function kindCode(kind: ReductionKind): number {
  switch (kind) {
    case 'sum': return K_SUM;
    case 'prod': return K_PROD;
    case 'min': return K_MIN;
    case 'max': return K_MAX;
    case 'mean': return K_MEAN;
    case 'var':
    case 'std': return K_VAR;
    case 'argmin': return K_ARGMIN;
    case 'argmax': return K_ARGMAX;
    case 'isum': return K_ISUM;
    case 'iprod': return K_IPROD;
  }
}

/**
 * isum / iprod slots hold a value modulo 2^64 as [hi, lo]: hi an int32, lo in [0, 2^32). Every
 * fed value is an integer-valued double (exact: the interpreter checked it) or, from the exact
 * path, a bigint; sums of halves stay exact in doubles for far more than a tile's elements.
 */
const TWO32 = 4294967296;
/** 2^-32: multiplying by it is exact and cheaper than dividing by 2^32. */
const INV32 = 1 / TWO32;

function carry(d: Float64Array, p: number): void {
  const c = Math.floor(d[p + 1]! * INV32);
  d[p + 1] = d[p + 1]! - c * TWO32;
  d[p] = (d[p]! + c) | 0;
}

function addSplit(d: Float64Array, p: number, h: number, l: number): void {
  d[p] = d[p]! + h;
  d[p + 1] = d[p + 1]! + l;
  carry(d, p);
}

function addValue(d: Float64Array, p: number, v: number): void {
  const h = Math.floor(v * INV32);
  addSplit(d, p, h, v - h * TWO32);
}

function bigOf(d: Float64Array, p: number): bigint {
  return (BigInt(d[p]!) << 32n) + BigInt(d[p + 1]!);
}

function setBig(d: Float64Array, p: number, x: bigint): void {
  const w = BigInt.asIntN(64, x);
  d[p] = Number(BigInt.asIntN(32, w >> 32n));
  d[p + 1] = Number(w & 0xffffffffn);
}

/** Slot p times v (an integer-valued double): in doubles while the product is exact, else BigInt. */
function mulValue(d: Float64Array, p: number, v: number): void {
  const h = d[p]!;
  if (h >= -2097152 && h < 2097152) {
    const m = (h * TWO32 + d[p + 1]!) * v;
    if (m > -9007199254740992 && m < 9007199254740992) {
      d[p] = 0; d[p + 1] = 0;
      addValue(d, p, m);
      return;
    }
  }
  setBig(d, p, bigOf(d, p) * BigInt(v));
}

/** One value from the exact path (a bigint for 64-bit integers) into slot p of any kind's partial. */
export function feedExact(k: number, d: Float64Array, v: Exact, p: number, g: number): void {
  if (k === K_ISUM && typeof v === 'bigint') setBig(d, p, bigOf(d, p) + v);
  else if (k === K_IPROD && typeof v === 'bigint') setBig(d, p, bigOf(d, p) * v);
  else feed(k, d, Float64Array.of(Number(v)), 0, 1, p, 0, g, 0);
}

export function isArg(k: number): boolean {
  return k === K_ARGMIN || k === K_ARGMAX;
}

/** Fill every slot of a fresh partial with the identity of its kind. */
export function initPartial(k: number, d: Float64Array): void {
  switch (k) {
    case K_PROD: d.fill(1); break;
    case K_IPROD: for (let i = 0; i < d.length; i += 2) { d[i] = 0; d[i + 1] = 1; } break;
    case K_MIN: d.fill(Infinity); break;
    case K_MAX: d.fill(-Infinity); break;
    case K_ARGMIN: case K_ARGMAX: {
      const v = k === K_ARGMIN ? Infinity : -Infinity;
      for (let i = 0; i < d.length; i += 2) { d[i] = v; d[i + 1] = -1; }
      break;
    }
    default: d.fill(0); // sum, mean, var: zeros (allocChunk already zeroed, cheap anyway)
  }
}

/**
 * Sum with four accumulators (independent add chains run in parallel); WebAssembly SIMD when v
 * is a register in its memory, with the same accumulators and so the same bits.
 */
function sumRange(v: Float64Array, off: number, n: number): number {
  const fast = sumInMemory(v, off, n);
  if (fast !== undefined) return fast;
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let i = off;
  const end = off + n, end4 = off + (n & ~3);
  for (; i < end4; i += 4) { s0 += v[i]!; s1 += v[i + 1]!; s2 += v[i + 2]!; s3 += v[i + 3]!; }
  for (; i < end; i++) s0 += v[i]!;
  return (s0 + s1) + (s2 + s3);
}

/** Chan et al. merge of (n, mean, M2) into slot p of d. */
function mergeVar(d: Float64Array, p: number, nb: number, mb: number, m2b: number): void {
  if (nb === 0) return;
  const na = d[p]!;
  if (na === 0) { d[p] = nb; d[p + 1] = mb; d[p + 2] = m2b; return; }
  const n = na + nb;
  const delta = mb - d[p + 1]!;
  d[p] = n;
  d[p + 1] = d[p + 1]! + (delta * nb) / n;
  d[p + 2] = d[p + 2]! + m2b + ((delta * delta) * na * nb) / n;
}

/** Merge (value, index) into slot p: skip empties, first NaN wins, then better value, then smaller index. */
function mergeArg(d: Float64Array, p: number, v: number, g: number, isMin: boolean): void {
  if (g < 0) return;
  const cv = d[p]!, cg = d[p + 1]!;
  let take: boolean;
  if (cg < 0) take = true;
  else if (v !== v) take = cv === cv || g < cg;
  else if (cv !== cv) take = false;
  else if (v === cv) take = g < cg;
  else take = isMin ? v < cv : v > cv;
  if (take) { d[p] = v; d[p + 1] = g; }
}

/**
 * Feed n values v[off..off+n) into partial d. Value j goes to slot offset slot0 + j*slotStep
 * (offsets already multiplied by the component count) and has global index g0 + j*gStep.
 */
export function feed(
  k: number, d: Float64Array, v: Float64Array, off: number, n: number,
  slot0: number, slotStep: number, g0: number, gStep: number,
): void {
  if (n <= 0) return;
  if (slotStep === 0) return feedOne(k, d, v, off, n, slot0, g0, gStep);
  const end = off + n;
  switch (k) {
    case K_SUM: for (let i = off, p = slot0; i < end; i++, p += slotStep) d[p] = d[p]! + v[i]!; break;
    case K_PROD: for (let i = off, p = slot0; i < end; i++, p += slotStep) d[p] = d[p]! * v[i]!; break;
    case K_MIN: for (let i = off, p = slot0; i < end; i++, p += slotStep) { const x = v[i]!; if (x < d[p]! || x !== x) d[p] = x; } break;
    case K_MAX: for (let i = off, p = slot0; i < end; i++, p += slotStep) { const x = v[i]!; if (x > d[p]! || x !== x) d[p] = x; } break;
    case K_MEAN: for (let i = off, p = slot0; i < end; i++, p += slotStep) { d[p] = d[p]! + 1; d[p + 1] = d[p + 1]! + v[i]!; } break;
    case K_ISUM: for (let i = off, p = slot0; i < end; i++, p += slotStep) addValue(d, p, v[i]!); break;
    case K_IPROD: for (let i = off, p = slot0; i < end; i++, p += slotStep) mulValue(d, p, v[i]!); break;
    case K_VAR:
      // Welford, one element per slot at a time.
      for (let i = off, p = slot0; i < end; i++, p += slotStep) {
        const x = v[i]!;
        const c = d[p]! + 1;
        const delta = x - d[p + 1]!;
        const mean = d[p + 1]! + delta / c;
        d[p] = c; d[p + 1] = mean; d[p + 2] = d[p + 2]! + delta * (x - mean);
      }
      break;
    default: {
      const isMin = k === K_ARGMIN;
      for (let i = off, p = slot0, g = g0; i < end; i++, p += slotStep, g += gStep) mergeArg(d, p, v[i]!, g, isMin);
    }
  }
}

/** All n values go to one slot: reduce them locally first, then merge once. */
function feedOne(k: number, d: Float64Array, v: Float64Array, off: number, n: number, p: number, g0: number, gStep: number): void {
  const end = off + n;
  switch (k) {
    case K_SUM: d[p] = d[p]! + sumRange(v, off, n); return;
    case K_PROD: { let m = 1; for (let i = off; i < end; i++) m *= v[i]!; d[p] = d[p]! * m; return; }
    case K_MIN: { let m = d[p]!; for (let i = off; i < end; i++) { const x = v[i]!; if (x < m || x !== x) m = x; } d[p] = m; return; }
    case K_MAX: { let m = d[p]!; for (let i = off; i < end; i++) { const x = v[i]!; if (x > m || x !== x) m = x; } d[p] = m; return; }
    case K_MEAN: d[p] = d[p]! + n; d[p + 1] = d[p + 1]! + sumRange(v, off, n); return;
    case K_ISUM: {
      // Values below 2^53 / n add up exactly in doubles (the common case: one loop, no split),
      // checked and summed by WebAssembly SIMD where the values are in its memory.
      const fast = exactSumInMemory(v, off, n);
      if (fast !== undefined && fast === fast) {
        addValue(d, p, fast);
        return;
      }
      let s0 = 0, s1 = 0, big = 0;
      let i = off;
      for (; i + 1 < end; i += 2) { const x = v[i]!, y = v[i + 1]!; s0 += x; s1 += y; big = Math.max(big, Math.abs(x), Math.abs(y)); }
      if (i < end) { const x = v[i]!; s0 += x; big = Math.max(big, Math.abs(x)); }
      if (big * n < 9007199254740992) { addValue(d, p, s0 + s1); return; }
      // Else the halves summed apart: each sum of a tile's halves is far below 2^53, so exact.
      let sh = 0, sl = 0;
      for (let i = off; i < end; i++) { const x = v[i]!; const h = Math.floor(x * INV32); sh += h; sl += x - h * TWO32; }
      addSplit(d, p, sh | 0, sl);
      return;
    }
    case K_IPROD: for (let i = off; i < end; i++) mulValue(d, p, v[i]!); return;
    case K_VAR: {
      // Two passes over the block (it is in cache): exact-ish mean, then M2; Chan-merge into the slot.
      const mean = sumRange(v, off, n) / n;
      let m0 = 0, m1 = 0;
      let i = off;
      for (; i + 1 < end; i += 2) { const a = v[i]! - mean, b = v[i + 1]! - mean; m0 += a * a; m1 += b * b; }
      if (i < end) { const a = v[i]! - mean; m0 += a * a; }
      mergeVar(d, p, n, mean, m0 + m1);
      return;
    }
    default: {
      // Local best; strict comparisons keep the first occurrence (indices grow along the run).
      const isMin = k === K_ARGMIN;
      let bv = v[off]!, bj = 0;
      if (bv === bv) {
        for (let i = off + 1; i < end; i++) {
          const x = v[i]!;
          if (x !== x) { bv = x; bj = i - off; break; }
          if (isMin ? x < bv : x > bv) { bv = x; bj = i - off; }
        }
      }
      mergeArg(d, p, bv, g0 + bj * gStep, isMin);
    }
  }
}

/** Merge partial src into dst, slot by slot (both slot-major with the same shape). */
function mergeInto(k: number, dst: Float64Array, src: Float64Array): void {
  const len = dst.length;
  switch (k) {
    case K_SUM: for (let i = 0; i < len; i++) dst[i] = dst[i]! + src[i]!; break;
    case K_PROD: for (let i = 0; i < len; i++) dst[i] = dst[i]! * src[i]!; break;
    case K_MIN: for (let i = 0; i < len; i++) { const x = src[i]!; if (x < dst[i]! || x !== x) dst[i] = x; } break;
    case K_MAX: for (let i = 0; i < len; i++) { const x = src[i]!; if (x > dst[i]! || x !== x) dst[i] = x; } break;
    case K_MEAN: for (let i = 0; i < len; i++) dst[i] = dst[i]! + src[i]!; break;
    case K_ISUM: for (let p = 0; p < len; p += 2) addSplit(dst, p, src[p]!, src[p + 1]!); break;
    case K_IPROD: for (let p = 0; p < len; p += 2) setBig(dst, p, bigOf(dst, p) * bigOf(src, p)); break;
    case K_VAR: for (let p = 0; p < len; p += 3) mergeVar(dst, p, src[p]!, src[p + 1]!, src[p + 2]!); break;
    default: {
      const isMin = k === K_ARGMIN;
      for (let p = 0; p < len; p += 2) mergeArg(dst, p, src[p]!, src[p + 1]!, isMin);
    }
  }
}

/** reduce-merge: combine k >= 1 partials; with `final`, finish into the result array. */
export function reduceMerge(p: ReduceMergeParams, inputs: readonly Chunk[], shape: number[], dtype: Dtype): Chunk {
  const first = inputs[0];
  if (!first) throw new Error('reduce-merge: needs at least one partial');
  const C = partialComponents(p.kind);
  const len = first.data.length;
  for (const [i, c] of inputs.entries()) {
    if (!(c.data instanceof Float64Array) || c.data.length !== len || c.shape[c.shape.length - 1] !== C) {
      throw new Error(`reduce-merge: partial ${i} is ${c.dtype}[${c.shape.join(', ')}], expected float64 with ${len / C} slots of ${C} components`);
    }
  }
  const k = kindCode(p.kind);
  const merged = p.final ? new Float64Array(len) : allocChunk('float64', shape).data as Float64Array;
  merged.set(first.data as Float64Array);
  for (let i = 1; i < inputs.length; i++) mergeInto(k, merged, inputs[i]!.data as Float64Array);
  if (!p.final) return { dtype: 'float64', shape, data: merged };
  const out = allocChunk(dtype, shape);
  const slots = len / C;
  if (out.data.length !== slots) throw new Error(`reduce-merge: ${slots} result values do not fill ${dtype}[${shape.join(', ')}]`);
  if (k === K_ISUM || k === K_IPROD) {
    if (!(out.data instanceof BigInt64Array || out.data instanceof BigUint64Array)) throw new Error(`reduce-merge: ${p.kind} gives int64 or uint64, declared ${dtype}`);
    // The slot's halves are the result's two 32-bit words.
    const { lo, hi } = halves(out.data);
    for (let s = 0; s < slots; s++) { lo[2 * s] = merged[2 * s + 1]!; hi[2 * s + 1] = merged[2 * s]!; }
    return out;
  }
  const r = out.data instanceof Float64Array ? out.data : new Float64Array(slots);
  const ddof = p.final.ddof;
  for (let s = 0; s < slots; s++) {
    const q = s * C;
    let x: number;
    switch (k) {
      case K_MEAN: { const n = merged[q]!; x = n === 0 ? NaN : merged[q + 1]! / n; break; }
      case K_VAR: {
        const dof = merged[q]! - ddof;
        x = dof <= 0 ? NaN : merged[q + 2]! / dof;
        if (p.kind === 'std') x = Math.sqrt(x);
        break;
      }
      case K_ARGMIN: case K_ARGMAX: x = merged[q + 1]!; break;
      default: x = merged[q]!;
    }
    r[s] = x;
  }
  // TypedArray.set converts like castScalar: fround for float32, modulo wrap for narrow integers.
  if (r !== out.data) storeFloats(out.data, 0, r, 0, slots);
  return out;
}
