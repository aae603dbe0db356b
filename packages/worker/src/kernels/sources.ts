import {
  castScalar,
  isWide,
  paramsOf,
  sizeOf,
  typedArrayCtor,
  type Chunk,
  type Dtype,
  type ElementwiseParams,
  type ChunkData,
  type SourceSpec,
} from '@tessera/protocol';
import { arange, full } from './creation.js';
import { globalLayout, randomTile } from './random.js';
import { arangeInMemory } from './wasm.js';
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

/** Materialise a `full` or `arange` source into scratch (one store per element). */
function generate(src: SourceSpec, slot: number): Chunk {
  const into = scratchFor(src.dtype, sizeOf(src.shape), slot);
  // Source params were checked by validateGraph, or by executeTask for an untrusted task.
  return src.op === 'full'
    ? full(paramsOf(src, 'full'), src.shape, src.dtype, into)
    : arange(paramsOf(src, 'arange'), src.shape, src.dtype, into);
}

/**
 * A `full` or `arange` source whose values are doubles as they are (float64, or 64-bit integers
 * below 2^53) is generated where it is read, tile by tile into the program's register, like a
 * random source: nothing is materialised (a 1M-element int64 arange was 8 MB written and read
 * back per task).
 */
function tileSource(src: SourceSpec): TileSource | undefined {
  if (src.dtype !== 'float64' && !(isWide(src.dtype) && exactInDoubles(src))) return undefined;
  if (src.op === 'full') {
    const v = castScalar(src.dtype, paramsOf(src, 'full').value);
    return (out, o, nr, nc) => out.fill(v, o, o + nr * nc);
  }
  const { start, step } = paramsOf(src, 'arange');
  // The values the dtype stores (castScalar truncates), as doubles; float64 as arange() makes them.
  // Integer start and step below 2^53 give integers as they are.
  const trunc = src.dtype !== 'float64' && !(Number.isInteger(start) && Number.isInteger(step));
  return (out, o, nr, nc, g0, gR, gC) => {
    if (arangeInMemory(out, o, nr, nc, g0, gR, gC, start, step, trunc)) return;
    for (let i = 0, q = o; i < nr; i++) {
      for (let j = 0, g = g0 + i * gR; j < nc; j++, q++, g += gC) {
        const v = start + g * step;
        out[q] = trunc ? Math.trunc(v) : v;
      }
    }
  };
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
 * before the view's perm) is data[base + sum(i[k] * strides[k])]. A generated source has no
 * data: `tile` is set (for random, base and strides are global indices), and the driver
 * generates each tile's values where they are read, so the source is never materialised and a
 * transposed read (`x.T`) costs nothing extra.
 */
/** out[o + i*nc + j] = the value at index g0 + i*gR + j*gC, for an nr x nc tile. */
export type TileSource = (out: Float64Array, o: number, nr: number, nc: number, g0: number, gR: number, gC: number) => void;

export interface ProgramInput {
  /** The input's dtype (a generated int64 source below 2^53 is float64: exact, and no halves to split). */
  dtype: Dtype;
  data: ChunkData;
  shape: number[];
  strides: number[];
  base: number;
  perm: number[] | undefined;
  /** Set for a source generated where it is read (random, and full / arange held exactly in doubles); data is then empty. */
  tile?: TileSource;
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
      const f32 = src.dtype === 'float32';
      const tile: TileSource = (out, o, nr, nc, g0, gR, gC) => randomTile(rp, f32, out, o, nr, nc, g0, gR, gC);
      out.push({ dtype: src.dtype, data: NO_DATA, shape: src.shape, strides, base, perm: v.perm, tile });
      continue;
    }
    const tile = src ? tileSource(src) : undefined;
    if (src && tile) {
      out.push({ dtype: isWide(src.dtype) ? 'float64' : src.dtype, data: NO_DATA, shape: src.shape, strides: cStrides(src.shape), base: 0, perm: v.perm, tile });
      continue;
    }
    const c = src ? generate(src, slot++) : deps[next++];
    if (!c) throw new Error(`elementwise: the input views read ${next} dependencies, the task has ${deps.length}`);
    out.push({ dtype: src?.dtype ?? c.dtype, data: c.data, shape: c.shape, strides: cStrides(c.shape), base: 0, perm: v.perm });
  }
  if (next !== deps.length) throw new Error(`elementwise: ${deps.length} dependencies but ${next} input views read them`);
  return out;
}
