import {
  ArangeParams,
  FullParams,
  RandomParams,
  sizeOf,
  typedArrayCtor,
  type Chunk,
  type Dtype,
  type ElementwiseParams,
  type NumericArray,
  type SourceSpec,
} from '@tessera/protocol';
import { arange, full } from './creation.js';
import { random } from './random.js';

/**
 * Fused creation sources: a `full`, `arange` or `random` chunk regenerated inside the task that
 * reads it, into per-thread scratch that is reused from task to task. Regenerating is cheaper
 * than holding the chunk (Dask fuses creation into blockwise ops for the same reason), and
 * scratch never becomes a chunk, so nothing is left for the garbage collector.
 */
const scratch = new Map<string, NumericArray[]>();

function scratchFor(dtype: Dtype, n: number, slot: number): NumericArray {
  let list = scratch.get(dtype);
  if (!list) scratch.set(dtype, (list = []));
  const have = list[slot];
  if (have && have.length >= n) return have.subarray(0, n);
  const Ctor = typedArrayCtor(dtype);
  const made = new Ctor(Math.max(n, have ? have.length * 2 : 0));
  list[slot] = made;
  return made.subarray(0, n);
}

/** Generate a source chunk; a random one is generated already permuted when `perm` is given. */
function generate(src: SourceSpec, slot: number, perm: number[] | undefined): Chunk {
  const into = scratchFor(src.dtype, sizeOf(src.shape), slot);
  // Source params were validated with the graph; parse defensively all the same (they are tiny).
  switch (src.op) {
    case 'full':
      return full(FullParams.parse(src.params), src.shape, src.dtype, into);
    case 'arange':
      return arange(ArangeParams.parse(src.params), src.shape, src.dtype, into);
    case 'random':
      return random(RandomParams.parse(src.params), src.shape, src.dtype, into, perm);
  }
}

/**
 * The program's inputs in view order (dependencies in order, sources generated in place) and
 * their views: a random source read through a perm comes back already permuted, so its view
 * loses the perm and the program reads it contiguously.
 */
export function resolveInputs(p: ElementwiseParams, deps: readonly Chunk[]): { inputs: Chunk[]; views: ElementwiseParams['inputs'] } {
  if (!p.inputs.some((v) => v.source)) return { inputs: deps as Chunk[], views: p.inputs };
  const out: Chunk[] = [];
  const views: ElementwiseParams['inputs'] = [];
  let next = 0;
  let slot = 0;
  for (const v of p.inputs) {
    if (v.source) {
      const inPlace = v.source.op === 'random' && v.perm !== undefined;
      out.push(generate(v.source, slot++, inPlace ? v.perm : undefined));
      views.push(inPlace || !v.perm ? {} : { perm: v.perm });
      continue;
    }
    views.push(v);
    const c = deps[next++];
    if (!c) throw new Error(`elementwise: the input views read ${next} dependencies, the task has ${deps.length}`);
    out.push(c);
  }
  if (next !== deps.length) throw new Error(`elementwise: ${deps.length} dependencies but ${next} input views read them`);
  return { inputs: out, views };
}
