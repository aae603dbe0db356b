import { ChunkError, InvalidArgumentError, ShapeError, fmtShape, type Dtype } from '@tessera/protocol';
import { ChunkedArray } from './array.js';
import { checkKernel, kernelArray } from './map-blocks.js';
import { type Chunks, fmtChunks, gridIndices, unifyAxis } from './chunks.js';
import { checkDtype } from './elementwise.js';
import { rechunk } from './slicing.js';

export interface BlockwiseOptions {
  /** Output dtype; default the first input's. */
  dtype?: Dtype;
  /** JSON-like parameters handed to the kernel with every block. */
  params?: Record<string, unknown>;
  /**
   * Contracted indices (in the inputs, not the output) gathered into one block per input (dask's
   * concatenate=True); otherwise the kernel gets every block along them, input by input.
   */
  concatenate?: boolean;
  /** Sizes of output indices no input has (each one block). */
  newAxes?: Readonly<Record<string, number>>;
  /** Output block sizes along an index where the kernel changes them (one per block along it). */
  adjustChunks?: Readonly<Record<string, readonly number[]>>;
}

/** An index string: letters, each once. */
function checkIndex(fn: string, what: string, ix: unknown): string {
  if (typeof ix !== 'string' || !/^[a-zA-Z]*$/.test(ix) || new Set(ix).size !== ix.length) {
    throw new InvalidArgumentError(`${fn}: ${what} must be a string of distinct letters (like 'ij'), got ${JSON.stringify(ix)}`);
  }
  return ix;
}

/**
 * dask.array.blockwise: a registered kernel over blocks named by index notation. Each output
 * block (one per combination of the output indices' blocks) reads, of every input, the block at
 * the same positions of its indices; an index no output has is contracted: with `concatenate`
 * each input holds it in one block, without it the kernel gets all blocks along it (input by
 * input, in C order of the contracted indices). Inputs that share an index are cut alike
 * (rechunked where they differ, as dask's unify_chunks). `blockwise('k', 'ik', a, 'ij', b, 'jk',
 * { concatenate: true })` is a matrix product by a kernel of blocks.
 */
export function blockwise(kernel: string, outIndex: string, ...args: (ChunkedArray | string | BlockwiseOptions)[]): ChunkedArray {
  const fn = `blockwise(${String(kernel)})`;
  checkKernel('blockwise', kernel);
  const out = checkIndex(fn, 'the output index', outIndex);
  const last = args[args.length - 1];
  const opts: BlockwiseOptions = last !== undefined && !(last instanceof ChunkedArray) && typeof last === 'object' ? last : {};
  const pairs = last === opts ? args.slice(0, -1) : args;
  if (pairs.length === 0 || pairs.length % 2 !== 0) throw new InvalidArgumentError(`${fn}: give arrays and their index strings in pairs, then the options`);
  const inputs: { a: ChunkedArray; ix: string }[] = [];
  for (let k = 0; k < pairs.length; k += 2) {
    const a = pairs[k];
    if (!(a instanceof ChunkedArray)) throw new InvalidArgumentError(`${fn}: argument ${k + 2} must be an array`);
    const ix = checkIndex(fn, `the index of input ${k / 2}`, pairs[k + 1]);
    if (ix.length !== a.ndim) throw new ShapeError(`${fn}: index '${ix}' has ${ix.length} letters for an array of shape ${fmtShape(a.shape)}`);
    inputs.push({ a, ix });
  }
  // Each index's extent and common cuts across the inputs that have it.
  const sizes = new Map<string, number>();
  const cuts = new Map<string, (readonly number[])[]>();
  for (const { a, ix } of inputs) {
    [...ix].forEach((l, ax) => {
      const had = sizes.get(l);
      if (had !== undefined && had !== a.shape[ax]) throw new ShapeError(`${fn}: index '${l}' is ${had} long in one input and ${a.shape[ax]} in another`);
      sizes.set(l, a.shape[ax]!);
      cuts.set(l, [...(cuts.get(l) ?? []), a.chunks[ax]!]);
    });
  }
  const contracted = [...new Set(inputs.flatMap(({ ix }) => [...ix]))].filter((l) => !out.includes(l));
  const concatenate = opts.concatenate ?? false;
  const common = new Map<string, number[]>();
  for (const [l, lists] of cuts) common.set(l, concatenate && contracted.includes(l) ? [sizes.get(l)!] : unifyAxis(lists));
  const arrays = inputs.map(({ a, ix }) => {
    const want: Chunks = [...ix].map((l) => common.get(l)!);
    return want.every((c, ax) => c.length === a.chunks[ax]!.length && c.every((s, i) => s === a.chunks[ax]![i])) ? a : rechunk(a, want);
  });
  const chunks: Chunks = [...out].map((l) => {
    const adjusted = opts.adjustChunks?.[l];
    const base = common.get(l) ?? (opts.newAxes?.[l] !== undefined ? [opts.newAxes[l]!] : undefined);
    if (!base) throw new InvalidArgumentError(`${fn}: output index '${l}' is in no input; give its size in newAxes`);
    if (adjusted) {
      if (adjusted.length !== base.length || !adjusted.every((s) => Number.isInteger(s) && s >= 0)) throw new ChunkError(`${fn}: adjustChunks for '${l}' must give ${base.length} block sizes, got ${fmtChunks([[...adjusted]])}`);
      return [...adjusted];
    }
    return base;
  });
  const grid = (ls: string): number[] => [...ls].map((l) => common.get(l)!.length);
  const contractedBlocks = [...gridIndices(grid(contracted.join('')))];
  const dtype = checkDtype(fn, opts.dtype ?? arrays[0]!.dtype);
  const { params } = checkKernel(fn, kernel, opts.params ?? {});
  return kernelArray({
    kernel,
    params,
    chunks,
    dtype,
    inputs: arrays,
    token: { out, ix: inputs.map((i) => i.ix), concatenate },
    block: (index) => {
      const at = new Map([...out].map((l, k) => [l, index[k]!]));
      // Of each input, every block along its contracted indices (one when concatenated), in C order.
      const deps = arrays.flatMap((a, k) => {
        const ix = [...inputs[k]!.ix];
        return [...new Set(contractedBlocks.map((cb) => a.key(ix.map((l) => at.get(l) ?? cb[contracted.indexOf(l)]!))))];
      });
      return { deps };
    },
  });
}
