import { allocChunk, partialComponents, stridesOf, type Chunk, type ReducePartialSpec } from '@tessera/protocol';
import { ACC_WORDS, NO_INDEX } from './wgsl/reduce.js';

/** The float64 partial (reduction.ts layout) from the device's accumulators. */
export function finishPartial(
  spec: ReducePartialSpec,
  D: readonly number[],
  words: Uint32Array,
  S: number,
  R: number,
  shape: readonly number[],
): Chunk {
  const C = partialComponents(spec.kind);
  const out = allocChunk('float64', shape);
  const d = out.data as Float64Array;
  if (d.length !== S * C) throw new Error(`reduce: ${S} slots of ${C} components do not fill [${shape.join(', ')}]`);
  const f = new Float32Array(words.buffer, words.byteOffset, words.length);
  let toGlobal: ((r: number) => number) | undefined;
  if (spec.kind === 'argmin' || spec.kind === 'argmax') {
    const { offset, fullShape, axes } = spec;
    if (!offset || !fullShape) throw new Error(`${spec.kind}: offset and fullShape must be given`);
    if (axes.length === D.length) {
      const fs = stridesOf(fullShape);
      const ds = stridesOf(D);
      toGlobal = (r) => {
        let g = 0;
        let rest = r;
        for (let a = 0; a < D.length; a++) {
          const m = Math.floor(rest / ds[a]!);
          rest -= m * ds[a]!;
          g += (offset[a]! + m) * fs[a]!;
        }
        return g;
      };
    } else if (axes.length === 1) {
      const o = offset[axes[0]!]!;
      toGlobal = (r) => o + r;
    } else throw new Error(`${spec.kind}: reduces over one axis or all of them`);
  }
  for (let s = 0; s < S; s++) {
    const w = s * ACC_WORDS;
    const q = s * C;
    switch (spec.kind) {
      case 'mean':
        d[q] = R;
        d[q + 1] = f[w]!;
        break;
      case 'var':
      case 'std':
        d[q] = R;
        d[q + 1] = f[w + 1]!;
        d[q + 2] = f[w + 2]!;
        break;
      case 'argmin':
      case 'argmax': {
        const i = words[w + 3]!;
        if (i === NO_INDEX) {
          d[q] = spec.kind === 'argmin' ? Infinity : -Infinity;
          d[q + 1] = -1;
        } else {
          d[q] = f[w]!;
          d[q + 1] = toGlobal!(i);
        }
        break;
      }
      default:
        d[q] = f[w]!;
    }
  }
  return out;
}
