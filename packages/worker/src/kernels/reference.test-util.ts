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
