/** Small helpers for strided N-d iteration, shared by the kernels. */

/** C-order strides in elements (the protocol's definition). */
export { stridesOf as cStrides } from '@tessera/protocol';

/**
 * Drop size-1 axes and merge neighbouring axes wherever every stride vector allows it
 * (stride[k] === stride[k+1] * dims[k+1]), so loops run over as few, as long axes as possible.
 * Each stride vector describes one operand over the same dims (0 for a broadcast axis).
 */
export function collapse(dims: readonly number[], strides: readonly (readonly number[])[]): { dims: number[]; strides: number[][] } {
  const od: number[] = [];
  const os: number[][] = strides.map(() => []);
  for (let k = 0; k < dims.length; k++) {
    const d = dims[k]!;
    if (d === 1) continue;
    const last = od.length - 1;
    if (last >= 0 && strides.every((s, j) => os[j]![last] === s[k]! * d)) {
      od[last] = od[last]! * d;
      strides.forEach((s, j) => (os[j]![last] = s[k]!));
      continue;
    }
    od.push(d);
    strides.forEach((s, j) => os[j]!.push(s[k]!));
  }
  return { dims: od, strides: os };
}

/** Advance a multi-index over dims[0..rank) (C order); returns false after the last one. */
export function nextIndex(idx: number[], dims: readonly number[], rank: number): boolean {
  for (let k = rank - 1; k >= 0; k--) {
    if (++idx[k]! < dims[k]!) return true;
    idx[k] = 0;
  }
  return false;
}
