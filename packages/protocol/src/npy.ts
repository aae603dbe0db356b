import { type ChunkData, type Dtype, NO_FLOAT16, itemsize, lanes, typedArrayCtor } from './dtype.js';
import { FileFormatError } from './errors.js';

/**
 * numpy's .npy format (versions 1.0, 2.0 and 3.0): a magic string, a header that is a Python dict
 * literal ({'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }) padded to 64 bytes, then
 * the elements. Reading takes either byte order and Fortran order; writing gives version 1.0 (2.0
 * when the header needs it), little-endian, C order, as numpy.save does.
 */

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** numpy's type characters by dtype (the byte-order mark apart): 'f8', 'b1', ... */
export const NUMPY_TYPE_CHARS: Record<Dtype, string> = {
  float64: 'f8', float32: 'f4', int64: 'i8', int32: 'i4', int16: 'i2', int8: 'i1',
  uint64: 'u8', uint32: 'u4', uint16: 'u2', uint8: 'u1', bool: 'b1', complex128: 'c16', complex64: 'c8',
};
const BY_DESCR = new Map(Object.entries(NUMPY_TYPE_CHARS).map(([d, c]) => [c, d as Dtype]));

export interface NpyHeader {
  dtype: Dtype;
  shape: number[];
  fortranOrder: boolean;
  bigEndian: boolean;
  /** Where the elements start. */
  dataOffset: number;
}

/** The header of a .npy file, from its first bytes (the whole header must be there). */
export function parseNpyHeader(bytes: Uint8Array, what = 'npy data'): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new FileFormatError(`${what}: not a .npy file (no \\x93NUMPY magic)`);
  const major = bytes[6]!;
  if (major < 1 || major > 3) throw new FileFormatError(`${what}: .npy format version ${major}.${bytes[7]} is not one this reader knows (1.0, 2.0, 3.0)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenBytes) throw new FileFormatError(`${what}: truncated header`);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lenBytes;
  if (bytes.length < start + headerLen) throw new FileFormatError(`${what}: truncated header (${headerLen} bytes announced)`);
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr'\s*:\s*'([<>|=])([a-z]\d+)'/.exec(text);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) throw new FileFormatError(`${what}: header ${JSON.stringify(text.trim())} lacks descr, fortran_order or shape (structured dtypes are not arrays here)`);
  const dtype = BY_DESCR.get(descr[2]!);
  if (!dtype && descr[2] === 'f2') throw new FileFormatError(`${what}: dtype '${descr[1]}f2' is ${NO_FLOAT16}`);
  if (!dtype) throw new FileFormatError(`${what}: dtype '${descr[1]}${descr[2]}' has no Tessera dtype (${[...BY_DESCR.keys()].join(', ')})`);
  const dims = shape[1]!.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (!dims.every((s) => /^\d+L?$/.test(s))) throw new FileFormatError(`${what}: shape (${shape[1]}) is not a tuple of integers`);
  return { dtype, shape: dims.map((s) => Number.parseInt(s, 10)), fortranOrder: fortran[1] === 'True', bigEndian: descr[1] === '>', dataOffset: start + headerLen };
}

export interface NpyArray {
  dtype: Dtype;
  /** The file's shape. */
  shape: number[];
  /** Elements in the file's order (Fortran order when `fortranOrder`), native byte order. */
  data: ChunkData;
  fortranOrder: boolean;
}

/** A whole .npy file's array. */
export function decodeNpy(bytes: Uint8Array, what = 'npy data'): NpyArray {
  const h = parseNpyHeader(bytes, what);
  const n = h.shape.reduce((a, b) => a * b, 1);
  const size = itemsize(h.dtype);
  const have = bytes.length - h.dataOffset;
  if (have < n * size) throw new FileFormatError(`${what}: ${n} ${h.dtype} elements of shape (${h.shape.join(', ')}) need ${n * size} bytes, the file has ${have}`);
  // A copy (a Buffer's slice would be a view of its pool): aligned, and ours to swap.
  const raw = new Uint8Array(bytes.subarray(h.dataOffset, h.dataOffset + n * size));
  // A complex element's halves are swapped each on its own.
  const word = size / lanes(h.dtype);
  if (h.bigEndian && word > 1) {
    for (let i = 0; i < raw.length; i += word) raw.subarray(i, i + word).reverse();
  }
  const Ctor = typedArrayCtor(h.dtype);
  const data = new Ctor(raw.buffer, 0, n * lanes(h.dtype)) as ChunkData;
  if (h.dtype === 'bool') {
    const b = data as Uint8Array;
    for (let i = 0; i < n; i++) if (b[i]! > 1) b[i] = 1;
  }
  return { dtype: h.dtype, shape: h.shape, data, fortranOrder: h.fortranOrder };
}

/** The magic, version and padded header of a C-order array's .npy file (numpy.save's first bytes). */
export function npyHeaderBytes(dtype: Dtype, shape: readonly number[]): Uint8Array {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  const body = `{'descr': '${itemsize(dtype) === 1 ? '|' : '<'}${NUMPY_TYPE_CHARS[dtype]}', 'fortran_order': False, 'shape': (${dims}), }`;
  const v1 = body.length + 1 <= 0xffff - 64;
  const pre = v1 ? 10 : 12;
  const padded = Math.ceil((pre + body.length + 1) / 64) * 64;
  const header = body + ' '.repeat(padded - pre - body.length - 1) + '\n';
  const bytes = new Uint8Array(padded);
  bytes.set(MAGIC);
  bytes[6] = v1 ? 1 : 2;
  const view = new DataView(bytes.buffer);
  if (v1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  bytes.set(new TextEncoder().encode(header), pre);
  return bytes;
}

/** A .npy file of a C-order array (numpy.save's bytes). */
export function encodeNpy(a: { dtype: Dtype; shape: readonly number[]; data: ChunkData }): Uint8Array {
  const head = npyHeaderBytes(a.dtype, a.shape);
  const bytes = new Uint8Array(head.length + a.data.byteLength);
  bytes.set(head);
  bytes.set(new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength), head.length);
  return bytes;
}
