import { closeSync, fstatSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { allocChunk, itemsize, lanes, npyHeaderBytes, type Chunk, type Dtype, type ReadNpyParams, type WriteNpyParams } from '@tessera/protocol';

/**
 * A chunk read from a file on this worker's filesystem: the bytes go from the file into the chunk
 * here, never through the client. Errors name the path (the task failure adds the task and worker).
 */
export function readNpy(p: ReadNpyParams, shape: number[], dtype: Dtype): Chunk {
  const out = allocChunk(dtype, shape);
  const size = itemsize(dtype) / lanes(dtype); // a complex element's halves are swapped each on its own
  const want = out.data.byteLength;
  const bytes = new Uint8Array(out.data.buffer, out.data.byteOffset, want);
  let fd: number;
  try {
    fd = openSync(p.path, 'r');
  } catch (e) {
    throw new Error(`read-npy: cannot open ${p.path}: ${(e as Error).message}`);
  }
  try {
    const have = fstatSync(fd).size - p.offset;
    if (have < want) throw new Error(`read-npy: ${p.path} has ${Math.max(0, have)} bytes of data, ${dtype}[${shape.join(', ')}] needs ${want}`);
    let done = 0;
    while (done < want) {
      const n = readSync(fd, bytes, done, want - done, p.offset + done);
      if (n === 0) throw new Error(`read-npy: ${p.path} ended after ${done} of ${want} bytes`);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  if (p.bigEndian && size > 1) for (let i = 0; i < want; i += size) bytes.subarray(i, i + size).reverse();
  if (dtype === 'bool') for (let i = 0; i < want; i++) if (bytes[i]! > 1) bytes[i] = 1;
  return out;
}

/**
 * Write a chunk as a .npy file: header and data straight from the chunk's memory to a temporary
 * name, then a rename, so a reader sees the whole file or none. Gives the bytes written.
 */
export function writeNpy(p: WriteNpyParams, x: Chunk): Chunk {
  const tmp = `${p.path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  let fd: number;
  try {
    fd = openSync(tmp, 'w');
  } catch (e) {
    throw new Error(`write-npy: cannot create ${tmp}: ${(e as Error).message}`);
  }
  const head = npyHeaderBytes(x.dtype, x.shape);
  const body = new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength);
  try {
    for (const part of [head, body]) {
      let done = 0;
      while (done < part.length) done += writeSync(fd, part, done, part.length - done);
    }
    closeSync(fd);
    renameSync(tmp, p.path);
  } catch (e) {
    try { closeSync(fd); } catch { /* closed already */ }
    try { unlinkSync(tmp); } catch { /* never made */ }
    throw new Error(`write-npy: cannot write ${p.path}: ${(e as Error).message}`);
  }
  const out = allocChunk('int64', [1]);
  (out.data as BigInt64Array)[0] = BigInt(head.length + body.length);
  return out;
}
