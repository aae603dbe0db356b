// The values that file-format tests write on one side and expect on the other, and how both
// sides print them for comparison: one definition, in Python for numpy and in TypeScript.
import type * as ta from '@tessera/client';

/**
 * Python: make(dtype, shape, seed) gives values that exercise a dtype's range (64-bit integers
 * beyond 2^53); dump(a) prints them as JSON (64-bit integers as strings, bools as 0/1).
 */
export const PY_VALUES = `
import numpy as np, json
null = None
def make(dt, shape, seed=0):
    i = np.arange(int(np.prod(shape)), dtype=np.int64) + seed
    if dt == 'bool': v = (i * 7919) % 3 == 0
    elif dt.startswith('float'): v = np.sin(i * 0.37) * 100
    elif dt == 'int64': v = ((i * 7919) % 1000 - 500) * 2**41 + i
    elif dt == 'uint64': v = ((i * 7919) % 1000).astype(np.uint64) * np.uint64(2**53) + i.astype(np.uint64)
    else: v = (i * 7919) % 65536 - 32768
    return v.astype(dt).reshape(shape)
def dump(a):
    a = np.asarray(a)
    if a.dtype.kind in 'iu' and a.dtype.itemsize == 8: return [str(v) for v in a.ravel().tolist()]
    if a.dtype.kind == 'b': return [int(v) for v in a.ravel().tolist()]
    return a.ravel().tolist()
`;

/** A computed result as Python's dump() prints it. */
export function dump(r: ta.NDArray | number): (number | string)[] {
  if (typeof r === 'number') return [r];
  return r.dtype === 'int64' || r.dtype === 'uint64' ? Array.from(r.data as BigInt64Array, String) : Array.from(r.data as Float64Array, Number);
}
