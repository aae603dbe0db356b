import { type FftNorm, type FftStep, InvalidArgumentError, fftStepDtype, fftStepLength, isDtypeName } from '@tessera/protocol';
import { type ChunkedArray, makeArray } from './array.js';
import { AUTO_CHUNK_BYTES, type ChunksSpec } from './chunks.js';
import { arange } from './creation.js';
import { lt, mul, sub, where } from './elementwise.js';
import { normalizeAxis } from './reductions.js';
import { roll } from './shape-ops.js';
import { rechunk } from './slicing.js';

/**
 * numpy.fft as dask.array.fft gives it, with what Dask leaves to the user done here: an axis to
 * transform is rechunked into one block for the user (Dask refuses a chunked axis), and an n-d
 * transform over axes no one block holds runs as 1-d transforms, axis after axis, each after a
 * rechunk that makes its axis whole (the blocks of the other axes stay near 128 MiB), so a 2-d
 * FFT of an array larger than memory per worker still runs in parallel. Any length (Bluestein's
 * algorithm or FFTW's). Results are complex64 for float32 and complex64 input, else complex128
 * (numpy 2's rule; numpy 1 gives complex128 always).
 */

export interface FftOptions {
  /** Length of the transform: the input is cut or zero-padded to it along the axis. */
  n?: number;
  /** Default the last axis. */
  axis?: number;
  norm?: FftNorm;
}

export interface FftnOptions {
  /** Lengths per transformed axis (numpy's `s`). */
  s?: readonly number[];
  /** Default: the last len(s) axes, or every axis. */
  axes?: readonly number[];
  norm?: FftNorm;
}

export const fft = (a: ChunkedArray, opts: FftOptions = {}): ChunkedArray => oneAxis('fft', a, opts, 'c2c', false);
export const ifft = (a: ChunkedArray, opts: FftOptions = {}): ChunkedArray => oneAxis('ifft', a, opts, 'c2c', true);
export const rfft = (a: ChunkedArray, opts: FftOptions = {}): ChunkedArray => oneAxis('rfft', a, opts, 'r2c', false);
/** The inverse of rfft: n defaults to 2 (m - 1) for m input points, as numpy's. */
export const irfft = (a: ChunkedArray, opts: FftOptions = {}): ChunkedArray => oneAxis('irfft', a, opts, 'c2r', true);
export const fftn = (a: ChunkedArray, opts: FftnOptions = {}): ChunkedArray => manyAxes('fftn', a, opts, 'c2c', false);
export const ifftn = (a: ChunkedArray, opts: FftnOptions = {}): ChunkedArray => manyAxes('ifftn', a, opts, 'c2c', true);
export const rfftn = (a: ChunkedArray, opts: FftnOptions = {}): ChunkedArray => manyAxes('rfftn', a, opts, 'r2c', false);
export const irfftn = (a: ChunkedArray, opts: FftnOptions = {}): ChunkedArray => manyAxes('irfftn', a, opts, 'c2r', true);
export const fft2 = (a: ChunkedArray, opts: FftnOptions = {}): ChunkedArray => manyAxes('fft2', a, twoAxes(opts), 'c2c', false);
export const ifft2 = (a: ChunkedArray, opts: FftnOptions = {}): ChunkedArray => manyAxes('ifft2', a, twoAxes(opts), 'c2c', true);
export const rfft2 = (a: ChunkedArray, opts: FftnOptions = {}): ChunkedArray => manyAxes('rfft2', a, twoAxes(opts), 'r2c', false);
export const irfft2 = (a: ChunkedArray, opts: FftnOptions = {}): ChunkedArray => manyAxes('irfft2', a, twoAxes(opts), 'c2r', true);

function twoAxes(opts: FftnOptions): FftnOptions {
  return { ...opts, axes: opts.axes ?? [-2, -1] };
}

function checkNorm(fn: string, norm: unknown): FftNorm {
  if (norm === undefined || norm === null) return 'backward';
  if (norm === 'backward' || norm === 'ortho' || norm === 'forward') return norm;
  throw new InvalidArgumentError(`${fn}: norm must be "backward", "ortho" or "forward", got ${JSON.stringify(norm)}`);
}

function checkLength(fn: string, n: unknown): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${fn}: invalid number of data points (${String(n)}) specified`);
  return n;
}

function oneAxis(fn: string, a: ChunkedArray, opts: FftOptions, kind: FftStep['kind'], inverse: boolean): ChunkedArray {
  if (a.ndim === 0) throw new InvalidArgumentError(`${fn}: takes an array of at least one dimension, got a 0-d array`);
  const axis = normalizeAxis(fn, opts.axis ?? -1, a.ndim);
  const m = a.shape[axis]!;
  const n = checkLength(fn, opts.n ?? (kind === 'c2r' ? 2 * (m - 1) : m));
  return transform(fn, a, [{ axis, n, kind, inverse, norm: checkNorm(fn, opts.norm) }]);
}

function manyAxes(fn: string, a: ChunkedArray, opts: FftnOptions, kind: FftStep['kind'], inverse: boolean): ChunkedArray {
  const norm = checkNorm(fn, opts.norm);
  const { s } = opts;
  let axes = opts.axes ? opts.axes.map((x) => normalizeAxis(fn, x, a.ndim)) : undefined;
  if (s && axes && s.length !== axes.length) throw new InvalidArgumentError(`${fn}: s and axes have different lengths (${s.length}, ${axes.length})`);
  axes ??= s ? Array.from({ length: s.length }, (_, i) => a.ndim - s.length + i) : Array.from({ length: a.ndim }, (_, i) => i);
  if (s && s.length > a.ndim) throw new InvalidArgumentError(`${fn}: s has ${s.length} lengths for a ${a.ndim}-d array`);
  if (axes.length === 0) throw new InvalidArgumentError(`${fn}: no axes to transform`);
  const last = axes.length - 1;
  const lengths = axes.map((ax, i) => {
    const given = s?.[i];
    if (given !== undefined) return checkLength(fn, given);
    const m = a.shape[ax]!;
    return checkLength(fn, kind === 'c2r' && i === last ? 2 * (m - 1) : m);
  });
  // numpy's order: rfftn's real transform is along the last axis, first; irfftn's the last, after the rest.
  const c2c = (i: number): FftStep => ({ axis: axes[i]!, n: lengths[i]!, kind: 'c2c', inverse, norm });
  const rest = Array.from({ length: kind === 'c2c' ? axes.length : last }, (_, i) => c2c(i)).reverse();
  const edge: FftStep = { axis: axes[last]!, n: lengths[last]!, kind, inverse, norm };
  const steps = kind === 'c2c' ? rest : kind === 'r2c' ? [edge, ...rest] : [...rest, edge];
  return transform(fn, a, steps);
}

/**
 * The steps in one task per block where the blocks hold every transformed axis whole already, or
 * can after a rechunk while the transformed axes alone fill at most a quarter of a 128 MiB block;
 * else each step after its own rechunk (blocks of many lanes of one axis, in parallel).
 */
function transform(fn: string, a: ChunkedArray, steps: readonly FftStep[]): ChunkedArray {
  const axes = [...new Set(steps.map((s) => s.axis))];
  for (const s of steps) {
    const d = fftStepDtype(s.kind, a.dtype);
    if (!isDtypeName(d)) throw new InvalidArgumentError(`${fn}: ${d}`);
  }
  const span = axes.reduce((p, ax) => p * Math.max(a.shape[ax]!, ...steps.filter((s) => s.axis === ax).map((s) => s.n)), 1) * 16;
  if (axes.every((ax) => a.chunks[ax]!.length === 1) || span <= AUTO_CHUNK_BYTES / 4) return layer(fn, a, axes, steps);
  let x = a;
  for (const s of steps) x = layer(fn, x, [s.axis], [s]);
  return x;
}

/**
 * x with `axes` in one block each; the other axes' blocks split (the last axes first) so a
 * complex128 block is no larger than x's largest was (nor 128 MiB): the rechunk between the
 * axes of an n-d transform keeps as many blocks to run in parallel.
 */
function wholeAlong(x: ChunkedArray, axes: readonly number[]): ChunkedArray {
  if (axes.every((ax) => x.chunks[ax]!.length === 1)) return x;
  const along = axes.reduce((p, ax) => p * x.shape[ax]!, 1) * 16;
  const largest = x.chunks.reduce((p, c) => p * Math.max(...c), 16);
  let room = Math.max(1, Math.floor(Math.min(AUTO_CHUNK_BYTES, largest) / along));
  const target = x.chunks.map((c) => [...c]);
  for (const ax of axes) target[ax] = [x.shape[ax]!];
  for (let ax = x.ndim - 1; ax >= 0; ax--) {
    if (axes.includes(ax)) continue;
    const biggest = Math.max(...x.chunks[ax]!);
    const size = Math.max(1, Math.min(biggest, room));
    if (size < biggest) target[ax] = splitEvenly(x.shape[ax]!, size);
    room = Math.max(1, Math.floor(room / size));
  }
  return rechunk(x, target as ChunksSpec);
}

function splitEvenly(dim: number, size: number): number[] {
  const k = Math.ceil(dim / size);
  const base = Math.floor(dim / k);
  return Array.from({ length: k }, (_, i) => base + (i < dim % k ? 1 : 0));
}

/**
 * The fft layer over x with `axes` whole: where x's blocks do not hold them, the rechunk's pieces
 * are gathered by the fft tasks themselves (no block of the rechunk is held on its own).
 */
function layer(fn: string, x: ChunkedArray, axes: readonly number[], steps: readonly FftStep[]): ChunkedArray {
  const r = wholeAlong(x, axes);
  const fused = r !== x && r.op === 'assemble';
  let dtype = x.dtype;
  const shape = [...x.shape];
  for (const s of steps) {
    dtype = fftStepDtype(s.kind, dtype) as typeof dtype;
    shape[s.axis] = fftStepLength(s);
  }
  return makeArray({
    label: fn,
    op: 'fft',
    shape,
    dtype,
    chunks: r.chunks.map((c, ax) => (steps.some((s) => s.axis === ax) ? [shape[ax]!] : [...c])),
    inputs: fused ? r.inputs : [r],
    token: { steps, chunks: r.chunks },
    block: (index) => {
      if (!fused) return { params: { steps: [...steps] }, deps: [r.key(index)] };
      const b = r.blockTask(index);
      return { params: { steps: [...steps], gather: { pieces: b.params['pieces'], shape: r.blockShape(index) } }, deps: b.deps };
    },
  });
}

export interface FreqOptions {
  /** Sample spacing (default 1). */
  d?: number;
  chunks?: ChunksSpec;
}

/** The sample frequencies of an n-point fft: [0, 1, ..., (n-1)//2, -(n//2), ..., -1] / (d n). */
export function fftfreq(n: number, opts: FreqOptions = {}): ChunkedArray {
  const d = freqArgs('fftfreq', n, opts);
  const i = arange(0, n, { dtype: 'float64', ...(opts.chunks === undefined ? {} : { chunks: opts.chunks }) });
  return mul(where(lt(i, Math.floor((n - 1) / 2) + 1), i, sub(i, n)), 1 / (n * d));
}

/** The sample frequencies of an n-point rfft: [0, 1, ..., n//2] / (d n). */
export function rfftfreq(n: number, opts: FreqOptions = {}): ChunkedArray {
  const d = freqArgs('rfftfreq', n, opts);
  return mul(arange(0, Math.floor(n / 2) + 1, { dtype: 'float64', ...(opts.chunks === undefined ? {} : { chunks: opts.chunks }) }), 1 / (n * d));
}

function freqArgs(fn: string, n: number, opts: FreqOptions): number {
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${fn}: n must be a positive integer, got ${n}`);
  const d = opts.d ?? 1;
  if (typeof d !== 'number' || !Number.isFinite(d) || d === 0) throw new InvalidArgumentError(`${fn}: d must be a finite non-zero number, got ${String(d)}`);
  return d;
}

/** The zero frequency moved to the middle (numpy.fft.fftshift): a roll by n//2 along each axis (default every axis). */
export function fftshift(x: ChunkedArray, opts: { axes?: number | readonly number[] } = {}): ChunkedArray {
  return shift('fftshift', x, opts.axes, (n) => Math.floor(n / 2));
}

/** The inverse of fftshift: a roll by -(n//2). */
export function ifftshift(x: ChunkedArray, opts: { axes?: number | readonly number[] } = {}): ChunkedArray {
  return shift('ifftshift', x, opts.axes, (n) => -Math.floor(n / 2));
}

function shift(fn: string, x: ChunkedArray, axes: number | readonly number[] | undefined, by: (n: number) => number): ChunkedArray {
  const list = axes === undefined ? x.shape.map((_, i) => i) : (typeof axes === 'number' ? [axes] : [...axes]).map((a) => normalizeAxis(fn, a, x.ndim));
  if (list.length === 0) return x;
  return roll(x, list.map((a) => by(x.shape[a]!)), list);
}
