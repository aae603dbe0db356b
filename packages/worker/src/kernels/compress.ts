import { allocChunk, type Chunk, type CompressParams, type Dtype } from '@tessera/protocol';

/** The number of true elements of a 1-D bool chunk (int64[1]). */
export function countNonzero(inputs: readonly Chunk[]): Chunk {
  const c = inputs[0]!.data as Uint8Array;
  let n = 0;
  for (let i = 0; i < c.length; i++) n += c[i]! !== 0 ? 1 : 0;
  const out = allocChunk('int64', [1]);
  (out.data as BigInt64Array)[0] = BigInt(n);
  return out;
}

/**
 * numpy.compress of one block: the slices of x along `axis` where the 1-D bool condition is true.
 * The declared shape says how many there are (the client counted them first); a different count
 * means the condition's chunk is not the one counted, which is an error, not a silent reshape.
 */
export function compress(p: CompressParams, inputs: readonly Chunk[], shape: number[], dtype: Dtype): Chunk {
  const [x, cond] = inputs as [Chunk, Chunk];
  const c = cond.data as Uint8Array;
  const n = x.shape[p.axis]!;
  let kept = 0;
  for (let i = 0; i < c.length; i++) kept += c[i]! !== 0 ? 1 : 0;
  if (kept !== shape[p.axis]) throw new Error(`compress: the condition keeps ${kept} of ${n} along axis ${p.axis}, the task declares ${shape[p.axis]}`);
  const out = allocChunk(dtype, shape);
  const inner = x.shape.slice(p.axis + 1).reduce((a, b) => a * b, 1);
  const outer = x.shape.slice(0, p.axis).reduce((a, b) => a * b, 1);
  const src = x.data as unknown as { [i: number]: number | bigint; subarray(a: number, b: number): ArrayLike<number> & ArrayLike<bigint> };
  const dst = out.data as unknown as { [i: number]: number | bigint; set(a: ArrayLike<number> & ArrayLike<bigint>, o: number): void };
  let k = 0;
  for (let o = 0; o < outer; o++) {
    const base = o * n * inner;
    for (let j = 0; j < n; j++) {
      if (c[j] === 0) continue;
      const at = base + j * inner;
      if (inner === 1) dst[k] = src[at]!;
      else dst.set(src.subarray(at, at + inner), k);
      k += inner;
    }
  }
  return out;
}
