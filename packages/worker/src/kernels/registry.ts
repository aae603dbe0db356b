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
  /**
   * A zeroed buffer of the declared dtype and shape on memory the engine recycles (a chunk freed
   * earlier): return it, or a chunk on it, and the result is kept without a copy. Cheaper than a
   * new typed array of one's own, whose first touch pays a page fault every 4 KiB.
   */
  alloc(): ChunkData;
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
  if (p.along) return alongAxis(p, p.along, inputs, key, shape, dtype);
  const fn = getKernel(p.kernel);
  const ret = fn(inputs, p.params, { key, blockIndex: [...p.blockIndex], shape: [...shape], dtype, alloc: () => allocChunk(dtype, shape).data });
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
  const out = allocChunk(dtype, shape, { overwrite: true });
  new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength).set(new Uint8Array(c.data.buffer, c.data.byteOffset, c.data.byteLength));
  return out;
}

/**
 * numpy.apply_along_axis within one block: the kernel on every 1-d lane along the axis (a copy of
 * it, as numpy hands func a 1-d array), its result checked and written where the axis was.
 */
function alongAxis(p: MapBlocksParams, along: { axis: number; out: number[] }, inputs: Chunk[], key: string, shape: number[], dtype: Dtype): Chunk {
  const fn = getKernel(p.kernel);
  const x = inputs[0];
  if (inputs.length !== 1 || !x) throw new Error(`applyAlongAxis: kernel "${p.kernel}" takes one input per task, got ${inputs.length}`);
  const { axis, out: laneShape } = along;
  const n = x.shape[axis]!;
  const inner = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const m = laneShape.reduce((a, b) => a * b, 1);
  const out = allocChunk(dtype, shape);
  const Lane = x.data.constructor as new (n: number) => ChunkData;
  const lane = new Lane(n);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      for (let k = 0; k < n; k++) (lane as Float64Array)[k] = (x.data as Float64Array)[base + k * inner]!;
      const ret = fn([{ dtype: x.dtype, shape: [n], data: lane.slice() as ChunkData }], p.params, {
        key,
        blockIndex: [...p.blockIndex],
        shape: [...laneShape],
        dtype,
        alloc: () => allocChunk(dtype, laneShape).data,
      });
      const data = ArrayBuffer.isView(ret) ? ret : (ret as Chunk).data;
      if (!dtypeOfData(data) || dtypeOfData(data) !== dtype || data.length !== m) {
        throw new Error(`kernel "${p.kernel}" returned ${dtypeOfData(data) ?? 'no typed array'}[${(data as ChunkData).length}] for a lane of ${key}; expected ${dtype} data of shape [${laneShape.join(', ')}]`);
      }
      // The lane's result takes the axis's place: element j at (o, j, i) of outer x m x inner.
      for (let j = 0; j < m; j++) (out.data as Float64Array)[(o * m + j) * inner + i] = (data as Float64Array)[j]!;
    }
  }
  return out;
}
