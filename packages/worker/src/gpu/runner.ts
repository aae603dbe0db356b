/// <reference types="@webgpu/types" />
import {
  paramsOf,
  allocChunk,
  gpuUnsupported,
  itemsize,
  matrixStrides,
  sizeOf,
  type Chunk,
  type Dtype,
  type ElementwiseParams,
  type GpuInfo,
  type ReducePartialSpec,
  type TensordotParams,
  type TransposeParams,
} from '@tessera/protocol';
import { DeviceBuffer, GpuBufferPool, MAP_READ, StagingPool, type DeviceChunk } from './buffers.js';
import { openGpu, type GpuDevice, type GpuOpenOptions } from './device.js';
import { decodeHalf, encodeHalf } from './half.js';
import { finishPartial } from './partial.js';
import { PipelineCache } from './pipeline-cache.js';
import { Submitter } from './submitter.js';
import { GpuTaskError, type GpuOutput, type GpuTask } from './task.js';
import { storageBytes, storageOf, type Storage } from './wgsl/common.js';
import { elementwisePlan, type DeviceInput, type KernelPlan } from './wgsl/elementwise.js';
import { ACC_WORDS, reducePlan } from './wgsl/reduce.js';
import { matmulPlan, transposePlan } from './wgsl/structure.js';

export { GpuTaskError, type GpuOutput, type GpuTask } from './task.js';

export interface GpuRunnerStats {
  /** Tasks run on the device. */
  tasks: number;
  /** Chunks copied host -> device, and their bytes. */
  uploads: number;
  uploadBytes: number;
  /** Chunks copied device -> host (results, CPU consumers, eviction; partials not counted), and bytes. */
  readbacks: number;
  readbackBytes: number;
  /** Compiled pipelines (one per generated shader). */
  pipelines: number;
  /** Device bytes held by chunks and running tasks, and idle in the pool. */
  liveBytes: number;
  pooledBytes: number;
}

/**
 * Runs tasks on the process's one WebGPU device. Chunks stay in device buffers between tasks
 * (DeviceChunk); `upload` and `readback` move them, `readback` batching many chunks into one
 * submission. Each `run` encodes its passes into one command buffer and resolves when the queue
 * has finished it, so several tasks are in flight at once (the caller bounds how many) and a
 * readback of one chunk overlaps the compute of the next.
 */
export class GpuRunner {
  readonly info: GpuInfo;
  private readonly device: GPUDevice;
  private readonly pool: GpuBufferPool;
  private readonly staging: StagingPool;
  private readonly pipelines: PipelineCache;
  private readonly maxWorkgroups: number;
  private readonly maxBinding: number;
  private closed = false;
  private readonly counters = { tasks: 0, uploads: 0, uploadBytes: 0, readbacks: 0, readbackBytes: 0 };
  private readonly submitter: Submitter;
  /** Called when device memory is short: free (evict) at least `bytes`, if possible. */
  onPressure: ((bytes: number) => Promise<void>) | undefined;

  private constructor(private readonly gpu: GpuDevice) {
    this.device = gpu.device;
    this.info = gpu.info;
    this.maxWorkgroups = gpu.info.limits['maxComputeWorkgroupsPerDimension'] ?? 65535;
    this.maxBinding = gpu.info.limits['maxStorageBufferBindingSize'] ?? 2 ** 27;
    this.pool = new GpuBufferPool(this.device, gpu.info.memoryLimit, this.maxBinding);
    this.staging = new StagingPool(this.device, 64 * 2 ** 20);
    this.pipelines = new PipelineCache(this.device);
    this.submitter = new Submitter(this.device);
    this.device.addEventListener?.('uncapturederror', (ev) => {
      process.emitWarning(`tessera gpu: ${(ev as GPUUncapturedErrorEvent).error.message}`);
    });
  }

  /** Open the device (throws GpuUnavailable, with the reason, when there is none). */
  static async open(options: GpuOpenOptions = {}): Promise<GpuRunner> {
    return new GpuRunner(await openGpu(options));
  }

  get f16(): boolean {
    return this.info.f16;
  }

  /** Whether the device is still usable (not closed, not lost). */
  get usable(): boolean {
    return !this.closed && !this.gpu.isLost();
  }

  stats(): GpuRunnerStats {
    return { ...this.counters, pipelines: this.pipelines.size, liveBytes: this.pool.live, pooledBytes: this.pool.pooled };
  }

  storageOf(dtype: Dtype): Storage {
    return storageOf(dtype, this.info.f16);
  }

  /**
   * Why this task cannot run on this device with inputs of these shapes and dtypes, or undefined
   * when it can: the op has no GPU kernel for them (float64, ...), or a chunk is larger than the
   * largest storage binding the device allows.
   */
  unsupported(task: GpuTask, inputs: readonly { dtype: Dtype; shape: readonly number[] }[]): string | undefined {
    if (!this.usable) return 'the GPU is closed or lost';
    const why = gpuUnsupported(task as never, inputs);
    if (why) return why;
    if (task.op === 'elementwise' && sizeOf(paramsOf(task, 'elementwise').domain) === 0) return 'empty domain';
    const big = (d: Dtype, shape: readonly number[]): boolean =>
      d !== 'float64' && storageBytes(this.storageOf(d), sizeOf(shape)) > this.maxBinding;
    if (inputs.some((i) => big(i.dtype, i.shape)) || (task.dtype !== 'float64' && big(task.dtype, task.shape)))
      return 'chunk larger than the device allows in one binding';
    return undefined;
  }

  /** Copy a host chunk to the device. */
  upload(c: Chunk): DeviceChunk {
    const storage = this.storageOf(c.dtype);
    const n = c.data.length;
    const bytes = storageBytes(storage, n);
    const buf = this.pool.acquire(bytes, true);
    const range = buf.gpu.getMappedRange(0, buf.size);
    if (storage === 'f16') encodeHalf(c.data as Float32Array | Float64Array, new Uint16Array(range, 0, n));
    else new Uint8Array(range, 0, c.data.byteLength).set(new Uint8Array(c.data.buffer, c.data.byteOffset, c.data.byteLength));
    buf.gpu.unmap();
    this.counters.uploads++;
    this.counters.uploadBytes += c.data.byteLength;
    return { dtype: c.dtype, shape: [...c.shape], storage, nbytes: c.data.byteLength, buffer: buf };
  }

  /** A chunk with a new shape over the same device buffer (reshape: no copy). */
  view(c: DeviceChunk, shape: readonly number[]): DeviceChunk {
    if (sizeOf(shape) !== sizeOf(c.shape)) throw new Error(`reshape: cannot reshape [${c.shape.join(', ')}] to [${shape.join(', ')}]`);
    c.buffer.refs++;
    return { ...c, shape: [...shape] };
  }

  /** Drop one reference to a chunk's buffer (it goes back to the pool when none is left). */
  release(c: DeviceChunk): void {
    this.pool.release(c.buffer);
  }

  /** Bytes of device memory that would have to be freed before `bytes` more fit. */
  shortfall(bytes: number): number {
    return this.pool.shortfall(bytes);
  }

  /** Copy device chunks to the host, in one submission; each becomes a SharedArrayBuffer chunk. */
  async readback(chunks: readonly DeviceChunk[]): Promise<Chunk[]> {
    if (chunks.length === 0) return [];
    for (const c of chunks) c.buffer.refs++;
    const enc = this.device.createCommandEncoder();
    const stages = chunks.map((c) => {
      const bytes = storageBytes(c.storage, sizeOf(c.shape));
      const s = this.staging.acquire(bytes);
      enc.copyBufferToBuffer(c.buffer.gpu, 0, s, 0, bytes);
      return { s, bytes };
    });
    try {
      this.device.queue.submit([enc.finish()]);
      await Promise.all(stages.map(({ s, bytes }) => s.mapAsync(MAP_READ, 0, bytes)));
      return chunks.map((c, i) => {
        const { s, bytes } = stages[i]!;
        const out = allocChunk(c.dtype, c.shape);
        const n = out.data.length;
        const range = s.getMappedRange(0, bytes);
        if (c.storage === 'f16') decodeHalf(new Uint16Array(range, 0, n), out.data as Float32Array | Float64Array);
        else new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength).set(new Uint8Array(range, 0, out.data.byteLength));
        s.unmap();
        this.counters.readbacks++;
        this.counters.readbackBytes += c.nbytes;
        return out;
      });
    } finally {
      for (const { s } of stages) {
        if (s.mapState === 'mapped') s.unmap();
        this.staging.release(s);
      }
      for (const c of chunks) this.pool.release(c.buffer);
    }
  }

  /** Run one task whose inputs are on the device. */
  async run(task: GpuTask, inputs: readonly DeviceChunk[]): Promise<GpuOutput> {
    if (!this.usable) throw new GpuTaskError('the GPU is closed or lost', false);
    for (const c of inputs) c.buffer.refs++;
    try {
      const out = await this.dispatch(task, inputs);
      this.counters.tasks++;
      return out;
    } finally {
      for (const c of inputs) this.pool.release(c.buffer);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pipelines.clear();
    this.staging.destroy();
    this.pool.destroy();
    this.gpu.close();
  }

  // ---- tasks ----------------------------------------------------------------------------------

  private async dispatch(task: GpuTask, inputs: readonly DeviceChunk[]): Promise<GpuOutput> {
    const p = task.params;
    switch (task.op) {
      case 'elementwise': {
        const ep = p as unknown as ElementwiseParams;
        if (ep.reduce) return { host: await this.reduce(task, { ...ep, reduce: ep.reduce }, inputs) };
        return { device: await this.elementwise(task, ep, inputs) };
      }
      case 'random':
      case 'full':
      case 'arange':
        return { device: await this.elementwise(task, sourceProgram(task), []) };
      case 'reduce-partial': {
        const x = inputs[0];
        if (!x) throw new Error('reduce-partial: takes 1 input');
        const ep: ElementwiseParams & { reduce: ReducePartialSpec } = {
          program: [{ op: 'astype', args: [{ input: 0 }], dtype: x.dtype }],
          inputs: [{}],
          domain: [...x.shape],
          reduce: p as unknown as ReducePartialSpec,
        };
        return { host: await this.reduce(task, ep, inputs) };
      }
      case 'transpose':
        return { device: await this.transpose(task, p as unknown as TransposeParams, inputs) };
      case 'tensordot':
        return { device: await this.tensordot(task, p as unknown as TensordotParams, inputs) };
      default:
        throw new Error(`no GPU kernel for ${task.op}`);
    }
  }

  private deviceInputs(inputs: readonly DeviceChunk[]): DeviceInput[] {
    return inputs.map((c) => ({ dtype: c.dtype, storage: c.storage, shape: c.shape }));
  }

  private async elementwise(task: GpuTask, p: ElementwiseParams, inputs: readonly DeviceChunk[]): Promise<DeviceChunk> {
    const plan = elementwisePlan(p, this.deviceInputs(inputs), task.dtype, { f16: this.f16, maxWorkgroups: this.maxWorkgroups });
    const pipeline = await this.pipeline(plan.code);
    const out = await this.alloc(plan.outBytes);
    try {
      await this.submitter.submit((enc) => this.submitter.pass(enc, pipeline, [out.gpu, ...inputs.map((c) => c.buffer.gpu)], plan));
    } catch (e) {
      this.pool.release(out);
      throw e;
    }
    return {
      dtype: task.dtype,
      shape: [...task.shape],
      storage: plan.outStorage,
      nbytes: sizeOf(task.shape) * itemsize(task.dtype),
      buffer: out,
    };
  }

  private async reduce(
    task: GpuTask,
    p: ElementwiseParams & { reduce: ReducePartialSpec },
    inputs: readonly DeviceChunk[],
  ): Promise<Chunk> {
    const plan = reducePlan(p, this.deviceInputs(inputs), { maxWorkgroups: this.maxWorkgroups });
    const { S, R, G } = plan;
    const [p1, p2] = await Promise.all([this.pipeline(plan.pass1.code), plan.pass2 ? this.pipeline(plan.pass2.code) : undefined]);
    const finalBytes = S * ACC_WORDS * 4;
    const scratch = G > 1 ? await this.alloc(S * G * ACC_WORDS * 4) : undefined;
    const final = await this.alloc(finalBytes);
    const stage = this.staging.acquire(finalBytes);
    let words: Uint32Array;
    try {
      await this.submitter.submit((enc) => {
        this.submitter.pass(enc, p1, [(scratch ?? final).gpu, ...inputs.map((c) => c.buffer.gpu)], plan.pass1);
        if (p2 && scratch) this.submitter.pass(enc, p2, [final.gpu, scratch.gpu], plan.pass2!);
        enc.copyBufferToBuffer(final.gpu, 0, stage, 0, finalBytes);
      });
      await stage.mapAsync(MAP_READ, 0, finalBytes);
      words = new Uint32Array(stage.getMappedRange(0, finalBytes).slice(0));
      stage.unmap();
    } finally {
      if (stage.mapState === 'mapped') stage.unmap();
      this.staging.release(stage);
      if (scratch) this.pool.release(scratch);
      this.pool.release(final);
    }
    return finishPartial(p.reduce, p.domain, words, S, R, task.shape);
  }

  private async transpose(task: GpuTask, p: TransposeParams, inputs: readonly DeviceChunk[]): Promise<DeviceChunk> {
    const x = inputs[0];
    if (!x || inputs.length !== 1) throw new Error('transpose: takes 1 input');
    const plan = transposePlan(x.shape, p.axes, x.storage, { maxWorkgroups: this.maxWorkgroups });
    const pipeline = await this.pipeline(plan.code);
    const bytes = storageBytes(x.storage, sizeOf(x.shape));
    const out = await this.alloc(bytes);
    try {
      await this.submitter.submit((enc) => this.submitter.pass(enc, pipeline, [out.gpu, x.buffer.gpu], plan, plan.z));
    } catch (e) {
      this.pool.release(out);
      throw e;
    }
    return { dtype: task.dtype, shape: [...task.shape], storage: x.storage, nbytes: x.nbytes, buffer: out };
  }

  private async tensordot(task: GpuTask, p: TensordotParams, inputs: readonly DeviceChunk[]): Promise<DeviceChunk> {
    const { axesA, axesB, pairs } = p;
    if (inputs.length !== 2 * pairs) throw new Error(`tensordot: takes ${2 * pairs} inputs (pairs=${pairs}), got ${inputs.length}`);
    const outStorage = this.storageOf(task.dtype);
    const steps: { plan: KernelPlan; a: DeviceChunk; b: DeviceChunk }[] = [];
    let M = 0;
    let N = 0;
    for (let k = 0; k < pairs; k++) {
      const a = inputs[k]!;
      const b = inputs[pairs + k]!;
      const freeA = a.shape.map((_, i) => i).filter((i) => !axesA.includes(i));
      const freeB = b.shape.map((_, i) => i).filter((i) => !axesB.includes(i));
      const prod = (s: readonly number[], ax: readonly number[]): number => ax.reduce((m, i) => m * s[i]!, 1);
      M = prod(a.shape, freeA);
      N = prod(b.shape, freeB);
      const K = prod(a.shape, axesA);
      if (K !== prod(b.shape, axesB))
        throw new Error(`tensordot: pair ${k}: contracted axes of [${a.shape.join(', ')}] and [${b.shape.join(', ')}] do not match`);
      if (M * N !== sizeOf(task.shape))
        throw new Error(`tensordot: result has ${M * N} elements, declared shape [${task.shape.join(', ')}]`);
      if (K === 0) continue;
      const sa = matrixStrides(a.shape, freeA, axesA);
      const sb = matrixStrides(b.shape, axesB, freeB);
      if (!sa || !sb) throw new Error('tensordot: an operand is not a strided matrix');
      const plan = matmulPlan(
        M,
        N,
        K,
        { rs: sa[0], cs: sa[1], storage: a.storage },
        { rs: sb[0], cs: sb[1], storage: b.storage },
        outStorage,
        steps.length > 0,
      );
      steps.push({ plan, a, b });
    }
    const pipelines = await Promise.all(steps.map((s) => this.pipeline(s.plan.code)));
    const bytes = storageBytes(outStorage, sizeOf(task.shape));
    const out = await this.alloc(bytes);
    try {
      await this.submitter.submit((enc) => {
        if (steps.length === 0) enc.clearBuffer(out.gpu, 0, bytes);
        steps.forEach((s, i) => this.submitter.pass(enc, pipelines[i]!, [out.gpu, s.a.buffer.gpu, s.b.buffer.gpu], s.plan));
      });
    } catch (e) {
      this.pool.release(out);
      throw e;
    }
    return {
      dtype: task.dtype,
      shape: [...task.shape],
      storage: outStorage,
      nbytes: sizeOf(task.shape) * itemsize(task.dtype),
      buffer: out,
    };
  }

  // ---- plumbing -------------------------------------------------------------------------------

  /** A pooled buffer, after asking the owner to evict chunks if device memory is short. */
  private async alloc(bytes: number): Promise<DeviceBuffer> {
    const short = this.pool.shortfall(bytes);
    if (short > 0 && this.onPressure) await this.onPressure(short);
    return this.pool.acquire(bytes);
  }

  private pipeline(code: string): Promise<GPUComputePipeline> {
    return this.pipelines.get(code);
  }
}

/** A creation task (random, full, arange) as a one-instruction program over its own source. */
function sourceProgram(task: GpuTask): ElementwiseParams {
  return {
    program: [{ op: 'astype', args: [{ input: 0 }], dtype: task.dtype }],
    inputs: [{ source: { op: task.op as 'random' | 'full' | 'arange', params: task.params, shape: [...task.shape], dtype: task.dtype } }],
    domain: [...task.shape],
  };
}
