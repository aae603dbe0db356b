import { ChunkError, type Dtype, InvalidArgumentError, fmtShape, keySafe } from '@tessera/protocol';
import { ChunkedArray, makeArray } from './array.js';
import { align } from './blockwise.js';
import { type Chunks, fmtChunks } from './chunks.js';
import { checkDtype } from './elementwise.js';

export interface MapBlocksOptions {
  /** Output dtype; default the first input's. */
  dtype?: Dtype;
  /** JSON-like parameters handed to the kernel with every block. */
  params?: Record<string, unknown>;
  /** Explicit output block sizes per axis, on the same block grid as the inputs; default theirs. */
  chunks?: readonly (readonly number[])[];
  /** Output shape, when every axis is a single block (otherwise give chunks). */
  shape?: readonly number[];
  /**
   * The kernel is pure: its output depends only on its inputs and params (no clock, no files, no
   * unseeded randomness), so a result cache may keep its blocks (entries go stale when a kernel
   * module's file changes). Default false: user kernels are never cached.
   */
  pure?: boolean;
}

function checkExplicit(chunks: unknown): Chunks {
  if (!Array.isArray(chunks) || !chunks.every((c) => Array.isArray(c) && c.every((b) => Number.isInteger(b) && b >= 0))) {
    throw new InvalidArgumentError(`mapBlocks: chunks must list the block sizes of every axis, got ${JSON.stringify(chunks)}`);
  }
  return chunks.map((c: number[]) => [...c]);
}

/** A user kernel's name and params, checked as every op that runs one checks them. */
export function checkKernel(fn: string, kernel: unknown, params: unknown = {}): { kernel: string; params: Record<string, unknown> } {
  if (typeof kernel !== 'string' || kernel.length === 0 || kernel.length > 200) {
    throw new InvalidArgumentError(`${fn}: kernel must be a registered kernel's name (1-200 characters), got ${JSON.stringify(kernel)}`);
  }
  if (typeof params !== 'object' || params === null || Array.isArray(params)) throw new InvalidArgumentError(`${fn}: params must be an object`);
  return { kernel, params: params as Record<string, unknown> };
}

/** The `map-blocks` array of a user kernel: one task per output block, its deps and extra params given per block. */
export function kernelArray(init: {
  kernel: string;
  params: Record<string, unknown>;
  chunks: Chunks;
  dtype: Dtype;
  inputs: readonly ChunkedArray[];
  token: unknown;
  block: (index: readonly number[]) => { deps: string[]; blockIndex?: number[]; along?: { axis: number; out: number[] } };
  pure?: boolean;
}): ChunkedArray {
  const { kernel, params } = init;
  const pure = init.pure === true ? { pure: true as const } : {};
  return makeArray({
    label: keySafe(kernel),
    op: 'map-blocks',
    shape: init.chunks.map((c) => c.reduce((a, b) => a + b, 0)),
    dtype: init.dtype,
    chunks: init.chunks,
    inputs: [...init.inputs],
    token: init.token === null ? { kernel, params, ...pure } : { kernel, params, ...pure, more: init.token },
    block: (index) => {
      const b = init.block(index);
      return { params: { kernel, params, blockIndex: b.blockIndex ?? [...index], ...(b.along && { along: b.along }), ...pure }, deps: b.deps };
    },
  });
}

/**
 * Run a user kernel (registered by name on the workers) on every block: op `map-blocks`, one
 * task per block of the inputs' common grid (broadcast and unified like an elementwise op).
 * Only the kernel's name and JSON params travel; no code is shipped.
 */
export function mapBlocks(kernel: string, ...args: [...ChunkedArray[], MapBlocksOptions] | ChunkedArray[]): ChunkedArray {
  checkKernel('mapBlocks', kernel);
  const last = args[args.length - 1];
  const opts: MapBlocksOptions = last !== undefined && !(last instanceof ChunkedArray) ? (last as MapBlocksOptions) : {};
  const arrays = (last === opts ? args.slice(0, -1) : args) as ChunkedArray[];
  if (!arrays.every((a) => a instanceof ChunkedArray)) throw new InvalidArgumentError('mapBlocks: inputs must be ChunkedArrays, followed by an optional options object');
  const al = arrays.length ? align(`mapBlocks(${kernel})`, arrays) : undefined;
  const grid = al?.chunks.map((c) => c.length);
  let chunks: Chunks;
  if (opts.chunks !== undefined) {
    chunks = checkExplicit(opts.chunks);
    if (grid && (chunks.length !== grid.length || chunks.some((c, ax) => c.length !== grid[ax]))) {
      throw new ChunkError(`mapBlocks(${kernel}): chunks ${fmtChunks(chunks)} do not match the inputs' block grid ${fmtShape(grid)}`);
    }
  } else if (opts.shape !== undefined) {
    if (grid && grid.some((n) => n !== 1)) {
      throw new ChunkError(`mapBlocks(${kernel}): shape alone needs single-block inputs, the inputs have a ${fmtShape(grid)} grid; give chunks`);
    }
    chunks = opts.shape.map((d) => [d]);
  } else if (al) {
    chunks = al.chunks;
  } else {
    throw new InvalidArgumentError(`mapBlocks(${kernel}): without inputs, give chunks (or shape) of the output`);
  }
  if (opts.shape !== undefined && !chunks.every((c, ax) => c.reduce((a, b) => a + b, 0) === opts.shape![ax])) {
    throw new ChunkError(`mapBlocks(${kernel}): chunks ${fmtChunks(chunks)} do not add up to shape ${fmtShape(opts.shape)}`);
  }
  const dtype = checkDtype(`mapBlocks(${kernel})`, opts.dtype ?? arrays[0]?.dtype ?? 'float64');
  const { params } = checkKernel('mapBlocks', kernel, opts.params ?? {});
  if (opts.pure !== undefined && typeof opts.pure !== 'boolean') throw new InvalidArgumentError(`mapBlocks(${kernel}): pure must be true or false, got ${JSON.stringify(opts.pure)}`);
  return kernelArray({
    kernel,
    params,
    pure: opts.pure === true,
    chunks,
    dtype,
    inputs: al?.arrays ?? [],
    token: null,
    // With `shape` the output rank may differ from the inputs': then they are single blocks.
    block: (index) => ({ deps: al ? al.arrays.map((a, k) => a.key(chunks.length === al.chunks.length ? al.blockOf(k, index) : a.shape.map(() => 0))) : [] }),
  });
}
