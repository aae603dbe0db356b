import {
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
  const into = scratchFor(src.dtype, sizeOf(src.shape), slot);
  // Source params were checked by validateGraph, or by executeTask for an untrusted task.
  return src.op === 'full'
    ? full(paramsOf(src, 'full'), src.shape, src.dtype, into)
    : arange(paramsOf(src, 'arange'), src.shape, src.dtype, into);
}

/**
 * One input of a fused program as the driver reads it: element at multi-index i (of `shape`,
 * before the view's perm) is data[base + sum(i[k] * strides[k])]. A random source has no data:
 * `random` is set, base and strides are global indices, and the driver generates each tile's
 * values where they are read (values depend only on the global index), so the source is never
 * materialised and a transposed read (`x.T`) costs nothing extra.
 */
export interface ProgramInput {
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
      out.push({ data: NO_DATA, shape: src.shape, strides, base, perm: v.perm, random: { p: rp, f32: src.dtype === 'float32' } });
      continue;
    }
    const c = src ? generate(src, slot++) : deps[next++];
    if (!c) throw new Error(`elementwise: the input views read ${next} dependencies, the task has ${deps.length}`);
    out.push({ data: c.data, shape: c.shape, strides: cStrides(c.shape), base: 0, perm: v.perm });
  }
  if (next !== deps.length) throw new Error(`elementwise: ${deps.length} dependencies but ${next} input views read them`);
  return out;
}
