import {
  allocChunk,
  type AssembleParams,
  type Chunk,
  type Dtype,
  lanes,
  type NumericArray,
  type ReshapeParams,
  type TransposeParams,
} from '@tessera/protocol';
import { collapse, cStrides, nextIndex } from './strided.js';
import { moveView } from './wide.js';

/** Kernels that move data without computing: transpose, reshape, assemble. */

const TB = 32; // transpose tile edge: 32x32 float64 = 8 KiB per side, stays in L1

export function transpose(p: TransposeParams, inputs: readonly Chunk[], shape: number[], dtype: Dtype): Chunk {
  const x = one('transpose', inputs);
  if (x.dtype !== dtype) throw new Error(`transpose: input is ${x.dtype}, declared ${dtype}`);
  const out = allocChunk(dtype, shape, { overwrite: true });
  // A complex element's pair is a last axis of 2 that stays last.
  if (lanes(dtype) === 2) permuteInto(x.data as NumericArray, [...x.shape, 2], [...p.axes, p.axes.length], out.data as NumericArray);
  else permuteInto(moveView(x.data), x.shape, p.axes, moveView(out.data));
  return out;
}

/**
 * dst (C order) = src permuted: dst axis i is src axis perm[i]. Axes are collapsed first; the
 * last two are copied in TB x TB tiles so both the strided reads and the writes stay in cache.
 */
export function permuteInto(src: NumericArray, srcShape: readonly number[], perm: readonly number[], dst: NumericArray): void {
  if (perm.length !== srcShape.length || new Set(perm).size !== perm.length || perm.some((a) => a >= srcShape.length)) {
    throw new Error(`transpose: axes [${perm.join(', ')}] are not a permutation of ${srcShape.length} axes`);
  }
  const ss = cStrides(srcShape);
  const outShape = perm.map((a) => srcShape[a]!);
  let n = 1;
  for (const d of outShape) n *= d;
  if (n === 0) return;
  if (dst.length !== n) throw new Error(`transpose: output holds ${dst.length} elements, needs ${n}`);
  const { dims, strides } = collapse(outShape, [perm.map((a) => ss[a]!)]);
  const st = strides[0]!;
  const r = dims.length;
  if (r === 0) {
    dst[0] = src[0]!;
    return;
  }
  if (r === 1) {
    if (st[0] === 1) dst.set(src.subarray(0, n));
    else for (let i = 0, q = 0; i < n; i++, q += st[0]!) dst[i] = src[q]!;
    return;
  }
  const R = dims[r - 2]!, C = dims[r - 1]!, sR = st[r - 2]!, sC = st[r - 1]!;
  const idx = new Array<number>(r - 2).fill(0);
  let o = 0;
  do {
    let b = 0;
    for (let a = 0; a < r - 2; a++) b += idx[a]! * st[a]!;
    for (let i0 = 0; i0 < R; i0 += TB) {
      const i1 = Math.min(R, i0 + TB);
      for (let j0 = 0; j0 < C; j0 += TB) {
        const j1 = Math.min(C, j0 + TB);
        for (let i = i0; i < i1; i++) {
          const rb = b + i * sR;
          const ob = o + i * C;
          for (let j = j0; j < j1; j++) dst[ob + j] = src[rb + j * sC]!;
        }
      }
    }
    o += R * C;
  } while (nextIndex(idx, dims, r - 2));
}

/** Same buffer, new shape: zero copy. */
export function reshape(p: ReshapeParams, inputs: readonly Chunk[]): Chunk {
  const x = one('reshape', inputs);
  let n = 1;
  for (const d of p.shape) n *= d;
  if (n * lanes(x.dtype) !== x.data.length) throw new Error(`reshape: cannot reshape ${x.data.length / lanes(x.dtype)} elements to [${p.shape.join(', ')}]`);
  return { dtype: x.dtype, shape: [...p.shape], data: x.data };
}

/**
 * Zeroed output, then each piece copies a strided region of one input (per axis: start, step,
 * count; step may be negative) to offset `dst`. Contiguous last-axis runs use TypedArray.set.
 */
export function assemble(p: AssembleParams, inputs: readonly Chunk[], shape: number[], dtype: Dtype): Chunk {
  return assembleInto(p.pieces, inputs, allocChunk(dtype, shape));
}

/** assemble's copies into a zeroed chunk of the caller's (the fft op's gather). */
export function assembleInto(pieces: readonly AssembleParams['pieces'][number][], inputs: readonly Chunk[], out: Chunk): Chunk {
  const { shape, dtype } = out;
  // Complex: strides of the typed array's slots, and each element's pair copied as a last axis of 2.
  const pair = lanes(dtype) === 2;
  const os = cStrides(pair ? [...shape, 2] : shape);
  const r = shape.length;
  for (const [pi, pc] of pieces.entries()) {
    const x = inputs[pc.input];
    if (!x) throw new Error(`assemble: piece ${pi} reads input ${pc.input}, but the task has ${inputs.length}`);
    if (x.dtype !== dtype) throw new Error(`assemble: piece ${pi}: input is ${x.dtype}, output ${dtype}`);
    if (x.shape.length !== r || pc.src.length !== r || pc.dst.length !== r) throw new Error(`assemble: piece ${pi}: rank mismatch`);
    const xs = cStrides(pair ? [...x.shape, 2] : x.shape);
    const counts = pc.src.map((s) => s.count);
    if (counts.some((c) => c === 0)) continue;
    let sb = 0, db = 0;
    for (let a = 0; a < r; a++) {
      const s = pc.src[a]!;
      const last = s.start + (s.count - 1) * s.step;
      if (s.start >= x.shape[a]! || last < 0 || last >= x.shape[a]! || pc.dst[a]! + s.count > shape[a]!) {
        throw new Error(`assemble: piece ${pi} axis ${a} is out of bounds`);
      }
      sb += s.start * xs[a]!;
      db += pc.dst[a]! * os[a]!;
    }
    const srcStrides = pc.src.map((s, a) => s.step * xs[a]!);
    if (pair) copyRegion(x.data as NumericArray, sb, [...srcStrides, 1], out.data as NumericArray, db, os, [...counts, 2]);
    else copyRegion(moveView(x.data), sb, srcStrides, moveView(out.data), db, os, counts);
  }
  return out;
}

/** Runs shorter than this are copied element by element: a subarray per run costs more than it saves. */
const SET_MIN = 64;

function copyRegion(src: NumericArray, sb: number, sst: number[], dst: NumericArray, db: number, dstr: number[], counts: number[]): void {
  const { dims, strides } = collapse(counts, [sst, dstr]);
  const [ss, ds] = strides as [number[], number[]];
  if (dims.length === 0) {
    dst[db] = src[sb]!;
    return;
  }
  const r = dims.length;
  const n = dims[r - 1]!, s1 = ss[r - 1]!, d1 = ds[r - 1]!;
  const idx = new Array<number>(r - 1).fill(0);
  // Offsets move with the index (an odometer), never recomputed from it.
  let so = sb, d = db;
  for (;;) {
    if (s1 === 1 && d1 === 1 && n >= SET_MIN) dst.set(src.subarray(so, so + n), d);
    else for (let j = 0, x = so, y = d; j < n; j++, x += s1, y += d1) dst[y] = src[x]!;
    let a = r - 2;
    for (; a >= 0; a--) {
      so += ss[a]!;
      d += ds[a]!;
      if (++idx[a]! < dims[a]!) break;
      so -= ss[a]! * dims[a]!;
      d -= ds[a]! * dims[a]!;
      idx[a] = 0;
    }
    if (a < 0) return;
  }
}

function one(op: string, inputs: readonly Chunk[]): Chunk {
  const x = inputs[0];
  if (inputs.length !== 1 || !x) throw new Error(`${op}: takes 1 input, got ${inputs.length}`);
  return x;
}
