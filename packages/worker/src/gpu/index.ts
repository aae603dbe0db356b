/**
 * The GPU path: one WebGPU device per process (device.ts), WGSL generated per fused chain,
 * reduction, transpose and matrix product (wgsl/), a runner that keeps chunks in pooled device
 * buffers between tasks (runner.ts, buffers.ts).
 */
export { listGpuAdapters, openGpu, probeGpu, GpuUnavailable, type GpuAdapterEntry, type GpuDevice, type GpuOpenOptions } from './device.js';
export { GpuRunner, GpuTaskError, type GpuTask, type GpuOutput, type GpuRunnerStats } from './runner.js';
export { DeviceBuffer, GpuBufferPool, sizeClass, type DeviceChunk } from './buffers.js';
export { elementwisePlan, type DeviceInput, type ElementwisePlan, type KernelPlan } from './wgsl/elementwise.js';
export { reducePlan, type ReducePlan } from './wgsl/reduce.js';
export { transposePlan, matmulPlan, type MatOperand } from './wgsl/structure.js';
export { storageOf, storageBytes, type Storage } from './wgsl/common.js';
export { toHalfBits, fromHalfBits } from './half.js';
