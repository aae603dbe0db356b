import {
  allocChunk,
  type Chunk,
  type Dtype,
  type FftParams,
  type FftStep,
  fftStepDtype,
  fftStepLength,
  isWideData,
  lanes,
  type NumericArray,
} from '@tessera/protocol';
import { fftKernel } from './fft-kernel.js';
import { assembleInto } from './structure.js';

/**
 * The `fft` op: 1-d transforms along axes the block holds whole, one after another (fftn, rfftn,
 * irfftn are several steps of one task). A step copies its input into a new chunk cut or
 * zero-padded to n along the axis, converted to the step's type, and transforms it there; where
 * the block is the task's own already and keeps its length and type, in place; an rfft or irfft
 * reads a block of its type and length where it is.
 */
export function fft(p: FftParams, inputs: readonly Chunk[], shape: number[], dtype: Dtype): Chunk {
  let cur: Chunk;
  let owned = false;
  if (p.gather) {
    // The rechunk fused in: the pieces land in this task's own block, which a first c2c step of
    // the block's length then transforms in place.
    cur = assembleInto(p.gather.pieces, inputs, allocChunk(inputs[0]?.dtype ?? dtype, p.gather.shape));
    owned = true;
  } else {
    const x = inputs[0];
    if (inputs.length !== 1 || !x) throw new Error(`fft: takes 1 input, got ${inputs.length}`);
    cur = x;
  }
  for (const s of p.steps) {
    cur = step(s, cur, owned);
    owned = true;
  }
  if (cur.dtype !== dtype || cur.shape.some((d, i) => d !== shape[i])) throw new Error(`fft: steps give ${cur.dtype}[${cur.shape.join(', ')}], declared ${dtype}[${shape.join(', ')}]`);
  return cur;
}

/** One transform; `owned`: x is this task's own (not an input), so a c2c of its length runs in place. */
function step(s: FftStep, x: Chunk, owned: boolean): Chunk {
  const to = fftStepDtype(s.kind, x.dtype) as Dtype;
  if (s.axis >= x.shape.length) throw new Error(`fft: axis ${s.axis} of a ${x.shape.length}-d block`);
  const outer = x.shape.slice(0, s.axis).reduce((a, b) => a * b, 1);
  const inner = x.shape.slice(s.axis + 1).reduce((a, b) => a * b, 1);
  const k = fftKernel();
  const outShape = x.shape.map((d, i) => (i === s.axis ? fftStepLength(s) : d));
  let out: Chunk;
  if (s.kind === 'c2c' && owned && x.dtype === to && x.shape[s.axis] === s.n) {
    out = x;
    k.fftAxis(out.data as Float64Array, outer, s.n, inner, s.inverse);
  } else if (s.kind === 'c2c') {
    out = allocChunk(to, outShape);
    copyAlong(x, out.data as NumericArray, true, outer, s.n, inner, s.axis);
    k.fftAxis(out.data as Float64Array, outer, s.n, inner, s.inverse);
  } else if (s.kind === 'r2c') {
    // The kernels read their input without writing it: a block of the right type and length is read as it is.
    const realType = to === 'complex64' ? 'float32' : 'float64';
    const real = x.dtype === realType && x.shape[s.axis] === s.n ? x : allocChunk(realType, x.shape.map((d, i) => (i === s.axis ? s.n : d)));
    out = allocChunk(to, outShape);
    if (real !== x) copyAlong(x, real.data as NumericArray, false, outer, s.n, inner, s.axis);
    k.rfftAxis(real.data as Float64Array, out.data as Float64Array, outer, s.n, inner);
  } else {
    const h = Math.floor(s.n / 2) + 1;
    const halfType = to === 'float32' ? 'complex64' : 'complex128';
    const half = x.dtype === halfType && x.shape[s.axis] === h ? x : allocChunk(halfType, x.shape.map((d, i) => (i === s.axis ? h : d)));
    out = allocChunk(to, outShape);
    if (half !== x) copyAlong(x, half.data as NumericArray, true, outer, h, inner, s.axis);
    k.irfftAxis(half.data as Float64Array, out.data as Float64Array, outer, s.n, inner);
  }
  const f = scale(s);
  if (f !== 1) {
    const d = out.data as NumericArray;
    for (let i = 0; i < d.length; i++) d[i] = d[i]! * f;
  }
  return out;
}

/** numpy's norm: the factor on this direction of the transform. */
function scale(s: FftStep): number {
  if (s.norm === 'ortho') return 1 / Math.sqrt(s.n);
  return (s.norm === 'backward') === s.inverse ? 1 / s.n : 1;
}

/**
 * dst (C order [outer, n, inner], interleaved when `pair`) = x cut or zero-padded to n along
 * `axis`, converted: reals gain a 0 imaginary part, 64-bit integers become doubles.
 */
function copyAlong(x: Chunk, dst: NumericArray, pair: boolean, outer: number, n: number, inner: number, axis: number): void {
  const m = x.shape[axis]!;
  const src = isWideData(x.data) ? Float64Array.from(x.data, Number) : x.data;
  const sl = lanes(x.dtype), dl = pair ? 2 : 1;
  const keep = Math.min(m, n) * inner;
  for (let o = 0; o < outer; o++) {
    const sb = o * m * inner, db = o * n * inner;
    if (sl === dl) {
      dst.set(src.subarray(sb * sl, (sb + keep) * sl), db * dl);
    } else if (sl === 1) {
      for (let i = 0; i < keep; i++) dst[(db + i) * 2] = src[sb + i]!;
    } else {
      throw new Error('fft: a complex block cannot be read as real');
    }
  }
}
