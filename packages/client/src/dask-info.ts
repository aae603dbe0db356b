import { NUMPY_TYPE_CHARS as CHARS, type Dtype } from '@tessera/protocol';

/**
 * The `info` file of Dask's npy stack: a pickle (protocol 2) of
 * {'chunks': ((...), ...), 'dtype': numpy.dtype(...), 'axis': k}, which `da.from_npy_stack`
 * loads. Written opcode by opcode: these three values are all it ever holds.
 */

export function daskStackInfo(chunks: readonly (readonly number[])[], dtype: Dtype, axis: number): Uint8Array {
  const out: number[] = [0x80, 2, 0x7d, 0x28]; // PROTO 2, EMPTY_DICT, MARK
  const ascii = (s: string): void => {
    for (const c of s) out.push(c.charCodeAt(0));
  };
  const str = (s: string): void => {
    out.push(0x58, s.length & 255, (s.length >> 8) & 255, 0, 0); // BINUNICODE, 4-byte length
    ascii(s);
  };
  const int = (n: number): void => ascii(`I${n}\n`); // INT: any size, as text
  const tuple = (items: (() => void)[]): void => {
    out.push(0x28); // MARK
    for (const f of items) f();
    out.push(0x74); // TUPLE
  };
  str('chunks');
  tuple(chunks.map((c) => () => tuple(c.map((n) => () => int(n)))));
  str('dtype');
  ascii('cnumpy\ndtype\n'); // GLOBAL numpy.dtype
  tuple([() => str(CHARS[dtype]), () => out.push(0x89), () => out.push(0x88)]); // (chars, False, True)
  out.push(0x52); // REDUCE
  const order = CHARS[dtype].endsWith('1') ? '|' : '<';
  tuple([() => int(3), () => str(order), () => out.push(0x4e), () => out.push(0x4e), () => out.push(0x4e), () => int(-1), () => int(-1), () => int(0)]);
  out.push(0x62); // BUILD
  str('axis');
  int(axis);
  out.push(0x75, 0x2e); // SETITEMS, STOP
  return Uint8Array.from(out);
}

/**
 * The axis a Dask npy stack's `info` names, or undefined where the pickle does not hold one in a
 * form read here. Only the int after the 'axis' key is read (BININT1, BININT2, BININT or INT), never
 * anything executed: a pickle is not otherwise trusted.
 */
export function daskStackAxis(info: Uint8Array): number | undefined {
  const key = [0x61, 0x78, 0x69, 0x73]; // 'axis'
  for (let i = 0; i + 5 < info.length; i++) {
    if (!key.every((b, k) => info[i + k] === b)) continue;
    let j = i + 4;
    if (info[j] === 0x94) j++; // MEMOIZE (protocol 4+)
    else if (info[j] === 0x71) j += 2; // BINPUT
    const op = info[j];
    if (op === 0x4b) return info[j + 1]; // BININT1
    if (op === 0x4d && j + 2 < info.length) return info[j + 1]! | (info[j + 2]! << 8); // BININT2
    if (op === 0x4a && j + 4 < info.length) return new DataView(info.buffer, info.byteOffset + j + 1, 4).getInt32(0, true); // BININT
    if (op === 0x49) {
      const m = /^I(-?\d+)\n/.exec(new TextDecoder('latin1').decode(info.subarray(j, j + 24)));
      if (m) return Number(m[1]);
    }
    return undefined;
  }
  return undefined;
}
