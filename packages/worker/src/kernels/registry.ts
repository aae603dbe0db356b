import {
  allocChunk,
  checkChunk,
  KernelNotFoundError,
  InvalidArgumentError,
  type Chunk,
  type Dtype,
  type MapBlocksParams,
  type ChunkData,
  dtypeOfData,
} from '@tessera/protocol';

/** User kernels for op `map-blocks`, registered by name in the worker (and pool threads) that run them. */

export interface UserKernelContext {
  key: string;
  blockIndex: number[];
  shape: number[];
  dtype: Dtype;
}

export type UserKernel = (inputs: Chunk[], params: Record<string, unknown>, ctx: UserKernelContext) => Chunk | ChunkData;

const kernels = new Map<string, UserKernel>();

function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 200) {
    throw new InvalidArgumentError(`kernel name must be a non-empty string of at most 200 characters, got ${typeof name === 'string' ? `a string of ${name.length}` : typeof name}`);
  }
}

/** Register a kernel. Re-registering the same function is a no-op; another function under a taken name throws. */
export function registerKernel(name: string, fn: UserKernel): void {
  checkName(name);
  if (typeof fn !== 'function') throw new InvalidArgumentError(`kernel "${name}" must be a function`);
  const had = kernels.get(name);
  if (had && had !== fn) throw new InvalidArgumentError(`a different kernel is already registered under the name "${name}"`);
  kernels.set(name, fn);
}

export function getKernel(name: string): UserKernel {
  checkName(name);
  const fn = kernels.get(name);
  if (!fn) throw new KernelNotFoundError(name);
  return fn;
}

export function hasKernel(name: string): boolean {
  return kernels.has(name);
}

/** Testing aid: forget a registration. */
export function unregisterKernel(name: string): boolean {
  return kernels.delete(name);
}

/** Run a user kernel and hold its result to the task's declared dtype and shape. */
export function mapBlocks(p: MapBlocksParams, inputs: Chunk[], key: string, shape: number[], dtype: Dtype): Chunk {
  const fn = getKernel(p.kernel);
  const ret = fn(inputs, p.params, { key, blockIndex: [...p.blockIndex], shape: [...shape], dtype });
  const chunk: unknown = ArrayBuffer.isView(ret) ? { dtype, shape: [...shape], data: ret } : ret;
  if (ArrayBuffer.isView(ret) && !dtypeOfData(ret)) {
    throw new Error(`kernel "${p.kernel}" returned a ${(ret as object).constructor.name}; expected ${dtype} data of shape [${shape.join(', ')}]`);
  }
  const bad = checkChunk(chunk, { dtype, shape });
  if (bad) throw new Error(`kernel "${p.kernel}" returned a bad chunk for ${key}: ${bad}`);
  const c = chunk as Chunk;
  // A fresh shared buffer of its own is kept as is. A kernel may also hand back (a view of) an
  // input's buffer: that memory belongs to the input's chunk, so the result gets a copy.
  const own = c.data.buffer instanceof SharedArrayBuffer && c.data.byteOffset === 0 && c.data.byteLength === c.data.buffer.byteLength;
  if (own && !inputs.some((i) => i.data.buffer === c.data.buffer)) return c;
  const out = allocChunk(dtype, shape);
  new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength).set(new Uint8Array(c.data.buffer, c.data.byteOffset, c.data.byteLength));
  return out;
}
