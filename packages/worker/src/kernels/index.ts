import { checkChunk, isOpName, OPS, setLargeBufferAdvice, type ElementwiseParams, type Chunk, type Dtype, type OpName, type OpParams } from '@tessera/protocol';
import { arange, fromBytes, full } from './creation.js';
import { elementwise, reducePartial } from './elementwise.js';
import { tensordot } from './gemm.js';
import { mapBlocks } from './registry.js';
import { random } from './random.js';
import { reduceMerge } from './reduce.js';
import { assemble, reshape, transpose } from './structure.js';
import { cumulate } from './cumulate.js';
import { quantile } from './quantile.js';
import { correlate, gradient } from './stencil.js';
import { fft } from './spectral.js';
import { complexElementwise } from './complex.js';
import { bincount, histogram, histogramdd, searchCount, sort, topk } from './sort.js';
import { cholesky, det, lu, qr, solve, svd, triangularSolve } from './linalg.js';
import { compress, countNonzero } from './compress.js';
import { unique } from './unique.js';
import { readNpy, writeNpy } from './files.js';
import { readColumnPart, readHdf5, writeParquet } from './formats.js';
import { readZarr, writeZarr } from './zarr.js';
import { nativeKernels } from './native.js';

// Every thread that runs kernels (or reads chunks from peers) allocates big chunks: huge pages under them.
const native = nativeKernels();
if (native) setLargeBufferAdvice((view) => void native.adviseHugePages(view));

export { registerKernel, getKernel, hasKernel, unregisterKernel, type UserKernel, type UserKernelContext } from './registry.js';
export { uniformAt } from './random.js';
export { defaultEngine as gemmChoice, setGemmThreads } from './gemm.js';

/** What a kernel needs of a task: its spec without dependency keys or scheduling fields. */
export interface KernelTask {
  key: string;
  op: string;
  params: Record<string, unknown>;
  shape: number[];
  dtype: Dtype;
}

export interface ExecuteOptions {
  /**
   * Skip the zod parse of params: only for tasks of a graph that validateGraph accepted (it
   * parsed every task's params already). Kernels still check what they index with.
   */
  trusted?: boolean;
}

/**
 * Run one task synchronously on the CPU. Outputs are fresh SharedArrayBuffer chunks, except
 * `reshape` (a view of its input's buffer) and map-blocks kernels that return shared data.
 */
export function executeTask(task: KernelTask, inputs: Chunk[], options?: ExecuteOptions): Chunk {
  const [op, params] = checkedParams(task, options);
  return checkedOutput(task, dispatch(op, params, inputs, task));
}

/** Run one task of an ASYNC_OPS op (it waits on a store): on a pool thread, beside its other tasks. */
export async function executeAsyncTask(task: KernelTask, inputs: Chunk[], options?: ExecuteOptions & { spare?: SharedArrayBuffer }): Promise<Chunk> {
  const [op, params] = checkedParams(task, options);
  const p = <N extends OpName>(_n: N): OpParams<N> => params as OpParams<N>;
  let out: Chunk;
  if (op === 'read-zarr') out = await readZarr(p('read-zarr'), task.shape, task.dtype, options?.spare);
  else if (op === 'write-zarr') out = await writeZarr(p('write-zarr'), inputs[0]!);
  else if (op === 'read-hdf5') out = await readHdf5(p('read-hdf5'), task.shape, task.dtype, options?.spare);
  else if (op === 'read-parquet' || op === 'read-arrow') out = await readColumnPart(op === 'read-parquet' ? 'parquet' : 'arrow', p(op), task.shape, task.dtype, options?.spare);
  else if (op === 'write-parquet') out = await writeParquet(p('write-parquet'), inputs);
  else out = executeTask(task, inputs, { trusted: true });
  return checkedOutput(task, out);
}

function checkedParams(task: KernelTask, options: ExecuteOptions | undefined): [OpName, unknown] {
  const { op } = task;
  if (!isOpName(op)) throw new Error(`task ${task.key}: unknown op "${op}"`);
  if (options?.trusted) return [op, task.params];
  const parsed = OPS[op].params.safeParse(task.params);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new Error(`task ${task.key}: bad ${op} params: ${first ? `${first.path.join('.') || 'params'}: ${first.message}` : parsed.error.message}`);
  }
  if (op === 'elementwise') checkSources(task.key, parsed.data as ElementwiseParams);
  return [op, parsed.data];
}

function checkedOutput(task: KernelTask, out: Chunk): Chunk {
  const bad = checkChunk(out, { dtype: task.dtype, shape: task.shape });
  if (bad) throw new Error(`task ${task.key}: kernel ${task.op} produced a bad chunk: ${bad}`);
  return out;
}

/** Fused sources carry another op's params: check them by that op's schema too (untrusted tasks). */
function checkSources(key: string, p: ElementwiseParams): void {
  p.inputs.forEach((v, i) => {
    if (!v.source) return;
    const parsed = OPS[v.source.op].params.safeParse(v.source.params);
    if (!parsed.success) throw new Error(`task ${key}: input ${i}: bad ${v.source.op} source params: ${parsed.error.issues[0]?.message ?? ''}`);
  });
}

function dispatch(op: OpName, params: unknown, inputs: Chunk[], t: KernelTask): Chunk {
  const p = <N extends OpName>(_n: N): OpParams<N> => params as OpParams<N>;
  switch (op) {
    case 'full': return full(p('full'), t.shape, t.dtype);
    case 'arange': return arange(p('arange'), t.shape, t.dtype);
    case 'random': return random(p('random'), t.shape, t.dtype);
    case 'from-bytes': return fromBytes(p('from-bytes'), t.shape, t.dtype);
    case 'read-npy': return readNpy(p('read-npy'), t.shape, t.dtype);
    case 'write-npy': return writeNpy(p('write-npy'), inputs[0]!);
    case 'read-zarr':
    case 'write-zarr':
    case 'read-hdf5':
    case 'read-parquet':
    case 'read-arrow':
    case 'write-parquet': throw new Error(`task ${t.key}: ${op} waits on a store or a file: it runs by executeAsyncTask`);
    case 'persisted': throw new Error(`task ${t.key}: persisted chunks are served by the engine, not computed by a kernel`);
    case 'elementwise': return elementwise(p('elementwise'), inputs, t.shape, t.dtype);
    case 'reduce-partial': return reducePartial(p('reduce-partial'), inputs, t.shape);
    case 'reduce-merge': return reduceMerge(p('reduce-merge'), inputs, t.shape, t.dtype);
    case 'transpose': return transpose(p('transpose'), inputs, t.shape, t.dtype);
    case 'cumulate': return cumulate(p('cumulate'), inputs, t.shape, t.dtype);
    case 'quantile': return quantile(p('quantile'), inputs, t.shape, t.dtype);
    case 'reshape': return reshape(p('reshape'), inputs);
    case 'assemble': return assemble(p('assemble'), inputs, t.shape, t.dtype);
    case 'tensordot': return tensordot(p('tensordot'), inputs, t.shape, t.dtype);
    case 'compress': return compress(p('compress'), inputs, t.shape, t.dtype);
    case 'count-nonzero': return countNonzero(inputs);
    case 'sort': return sort(p('sort'), inputs, t.shape, t.dtype);
    case 'topk': return topk(p('topk'), inputs, t.shape, t.dtype);
    case 'search-count': return searchCount(p('search-count'), inputs, t.shape);
    case 'histogram': return histogram(p('histogram'), inputs, t.shape, t.dtype);
    case 'histogramdd': return histogramdd(p('histogramdd'), inputs, t.shape);
    case 'bincount': return bincount(p('bincount'), inputs, t.shape, t.dtype);
    case 'unique': return unique(p('unique'), inputs, t.shape, t.dtype);
    case 'qr': return qr(inputs, t.shape, t.dtype);
    case 'svd': return svd(inputs, t.shape, t.dtype);
    case 'cholesky': return cholesky(p('cholesky'), inputs, t.shape, t.dtype);
    case 'triangular-solve': return triangularSolve(p('triangular-solve'), inputs, t.shape, t.dtype);
    case 'solve': return solve(inputs, t.shape, t.dtype);
    case 'lu': return lu(inputs, t.shape, t.dtype);
    case 'det': return det(p('det'), inputs, t.shape, t.dtype);
    case 'gradient': return gradient(p('gradient'), inputs, t.shape, t.dtype);
    case 'correlate': return correlate(p('correlate'), inputs, t.shape, t.dtype);
    case 'fft': return fft(p('fft'), inputs, t.shape, t.dtype);
    case 'complex': return complexElementwise(p('complex'), inputs, t.shape, t.dtype);
    case 'map-blocks': return mapBlocks(p('map-blocks'), inputs, t.key, t.shape, t.dtype);
  }
}
