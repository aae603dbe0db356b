import { isWideData, typedArrayCtor, type ChunkData, type Dtype } from '@tessera/protocol';
/** Index helpers for the kernels' plain references (test-only: excluded from the build). */

/** Call fn with every multi-index of shape, in C order (nothing for an empty shape). */
export function forEachIndex(shape: readonly number[], fn: (idx: number[]) => void): void {
  if (shape.some((d) => d === 0)) return;
  const idx = shape.map(() => 0);
  for (;;) {
    fn([...idx]);
    let k = shape.length - 1;
    while (k >= 0 && ++idx[k]! === shape[k]!) idx[k--] = 0;
    if (k < 0) return;
  }
}

/** C-order flat position of a multi-index. */
export function flat(shape: readonly number[], idx: readonly number[]): number {
  let f = 0;
  for (let k = 0; k < shape.length; k++) f = f * shape[k]! + idx[k]!;
  return f;
}

/** A typed array of `dtype` holding `values` as storing them does (bigints for int64 / uint64). */
export function fromNumbers(dtype: Dtype, values: readonly number[]): ChunkData {
  const data = new (typedArrayCtor(dtype))(values.length);
  values.forEach((v, i) => setNumber(data, i, dtype === 'bool' ? Number(v !== 0) : v));
  return data;
}

/** data[i] = v, converted as a typed-array store converts it (int64 / uint64: truncated and wrapped, NaN 0). */
export function setNumber(data: ChunkData, i: number, v: number): void {
  if (isWideData(data)) data[i] = Number.isFinite(v) ? (data instanceof BigInt64Array ? BigInt.asIntN : BigInt.asUintN)(64, BigInt(Math.trunc(v))) : 0n;
  else data[i] = v;
}
