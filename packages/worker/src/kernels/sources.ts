import {
  castScalar,
  isWide,
  paramsOf,
  sizeOf,
  type RandomParams,
  typedArrayCtor,
  type Chunk,
  type Dtype,
  type ElementwiseParams,
  type ChunkData,
  type SourceSpec,
} from '@tessera/protocol';
import { arange, full } from './creation.js';
import { globalLayout } from './random.js';
import { cStrides } from './strided.js';

/**
 * Fused creation sources: a creation op regenerated inside the task that reads it, as Dask
 * fuses `random` or `ones` into blockwise ops, so the chunk is never held. `full` and `arange`
 * are written into per-thread scratch reused from task to task (nothing left for the garbage
 * collector); `random` is not materialised at all (see ProgramInput).
 */
const scratch = new Map<string, ChunkData[]>();

function scratchFor(dtype: Dtype, n: number, slot: number): ChunkData {
  let list = scratch.get(dtype);
  if (!list) scratch.set(dtype, (list = []));
  const have = list[slot];
  if (have && have.length >= n) return have.subarray(0, n);
  const Ctor = typedArrayCtor(dtype);
  const made: ChunkData = new Ctor(Math.max(n, have ? have.length * 2 : 0));
  list[slot] = made;
  return made.subarray(0, n);
}

/** Materialise a `full` or `arange` source into scratch (cheap: one store per element). */
function generate(src: SourceSpec, slot: number): Chunk {
  // 64-bit integers below 2^53 are generated straight as doubles, the interpreter's registers.
  const dtype = isWide(src.dtype) && exactInDoubles(src) ? 'float64' : src.dtype;
  const into = scratchFor(dtype, sizeOf(src.shape), slot);
  // Source params were checked by validateGraph, or by executeTask for an untrusted task.
  if (dtype !== src.dtype) {
    // The values the dtype stores (castScalar truncates and wraps), as doubles.
    if (src.op === 'full') (into as Float64Array).fill(castScalar(src.dtype, paramsOf(src, 'full').value));
    else {
      const { start, step } = paramsOf(src, 'arange');
      const d = into as Float64Array;
      for (let i = 0; i < d.length; i++) d[i] = Math.trunc(start + i * step);
    }
    return { dtype, shape: src.shape, data: into };
  }
  return src.op === 'full'
    ? full(paramsOf(src, 'full'), src.shape, src.dtype, into)
    : arange(paramsOf(src, 'arange'), src.shape, src.dtype, into);
}

function exactInDoubles(src: SourceSpec): boolean {
  const limit = 2 ** 53;
  if (src.op === 'full') {
    const v = castScalar(src.dtype, paramsOf(src, 'full').value);
    return Math.abs(v) < limit;
  }
  if (src.op !== 'arange') return false;
  const { start, step } = paramsOf(src, 'arange');
  const last = start + (sizeOf(src.shape) - 1) * step;
  return Math.abs(start) < limit && Math.abs(last) < limit && (src.dtype === 'int64' || (start >= 0 && last >= 0));
}

/**
 * One input of a fused program as the driver reads it: element at multi-index i (of `shape`,
 * before the view's perm) is data[base + sum(i[k] * strides[k])]. A random source has no data:
 * `random` is set, base and strides are global indices, and the driver generates each tile's
 * values where they are read (values depend only on the global index), so the source is never
 * materialised and a transposed read (`x.T`) costs nothing extra.
 */
export interface ProgramInput {
  /** The input's dtype (a fused int64 arange below 2^53 is generated as float64 data: exact, and no halves to split). */
  dtype: Dtype;
  data: ChunkData;
  shape: number[];
  strides: number[];
  base: number;
  perm: number[] | undefined;
  random?: { p: RandomParams; f32: boolean };
}

const NO_DATA = new Float64Array(0);

/** The program's inputs in view order: dependencies in order, sources generated or described. */
export function resolveInputs(p: ElementwiseParams, deps: readonly Chunk[]): ProgramInput[] {
  const out: ProgramInput[] = [];
  let next = 0;
  let slot = 0;
  for (const v of p.inputs) {
    const src = v.source;
    if (src?.op === 'random') {
      if (src.dtype !== 'float64' && src.dtype !== 'float32') throw new Error(`random: values are float, declared ${src.dtype}`);
      const rp = paramsOf(src, 'random');
      const { base, strides } = globalLayout(rp, src.shape);
      out.push({ dtype: src.dtype, data: NO_DATA, shape: src.shape, strides, base, perm: v.perm, random: { p: rp, f32: src.dtype === 'float32' } });
      continue;
    }
    const c = src ? generate(src, slot++) : deps[next++];
    if (!c) throw new Error(`elementwise: the input views read ${next} dependencies, the task has ${deps.length}`);
    out.push({ dtype: src?.dtype ?? c.dtype, data: c.data, shape: c.shape, strides: cStrides(c.shape), base: 0, perm: v.perm });
  }
  if (next !== deps.length) throw new Error(`elementwise: ${deps.length} dependencies but ${next} input views read them`);
  return out;
}
