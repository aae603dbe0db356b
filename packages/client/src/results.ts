import { type Chunk, TesseraError, checkChunk, lanes, sizeOf, typedArrayCtor } from '@tessera/protocol';
import type { ChunkedArray, ChunkedScalar, NDArray } from './array.js';
import { boundaries, gridIndices } from './chunks.js';
import { copyBox } from './layout.js';

/** What computing an array gives: a number for a 0-d array, else an NDArray. */
export type Result<T> = T extends ChunkedScalar ? number : NDArray;
export type Results<T extends readonly ChunkedArray[]> = { -readonly [K in keyof T]: Result<T[K]> };

/**
 * Put the gathered blocks of `a` (in the C order of `a.keys()`) into one plain typed array,
 * checking each against its declared dtype and shape.
 */
export function assembleResult(a: ChunkedArray, blocks: readonly Chunk[]): NDArray | number {
  const data = new (typedArrayCtor(a.dtype))(sizeOf(a.shape) * lanes(a.dtype));
  // A complex element's pair is a last axis of 2 to the copies.
  const pair = (s: readonly number[], at: number): number[] => (lanes(a.dtype) === 2 ? [...s, at] : [...s]);
  const starts = a.chunks.map(boundaries);
  let k = 0;
  for (const index of gridIndices(a.numblocks)) {
    const c = blocks[k++];
    const shape = a.blockShape(index);
    const bad = checkChunk(c, { dtype: a.dtype, shape });
    if (bad) throw new TesseraError('INTERNAL', `the engine returned a bad chunk for ${a.key(index)}: ${bad}`);
    copyBox(c!.data, pair(shape, 2), pair(shape.map(() => 0), 0), data, pair(a.shape, 2), pair(index.map((b, ax) => starts[ax]![b]!), 0), pair(shape, 2));
  }
  // A complex 0-d result stays an NDArray: a number cannot hold both parts.
  if (a.ndim === 0 && lanes(a.dtype) === 1) return Number(data[0]!);
  return { shape: [...a.shape], dtype: a.dtype, data };
}
